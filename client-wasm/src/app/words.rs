//! What the page shows of the match in words and figures: the status line, the title, the
//! scoreboard and ranks, the net graph, the players in view.

use snapwire_shared::client::{Interpolator, NetGraph};

use crate::games::WebGame;

use super::{App, Status};

impl<G: WebGame> App<G> {
    /// The net graph's figures as JSON (for tests and debugging).
    pub fn net_graph_json(&mut self, now_ms: f64) -> String {
        let g = self.net_graph(now_ms);
        format!(
            "{{\"ping_ms\":{},\"snapshots_per_s\":{},\"kbps_in\":{:.2},\"kbps_out\":{:.2},\"last_snapshot_bytes\":{},\"corrections_per_s\":{},\"largest_correction_units\":{:.3},\"underrun_pct\":{:.2},\"interpolation_delay_ms\":{:.1},\"checksum_failures\":{},\"resumes\":{},\"restarts\":{},\"resume_bytes\":{},\"resume_full_bytes\":{},\"session_underruns\":{},\"session_frames\":{},\"transport\":\"{}\"}}",
            g.ping_ms.map_or("null".to_owned(), |p| format!("{p:.1}")),
            g.snapshots_per_s,
            g.kbps_in,
            g.kbps_out,
            g.last_snapshot_bytes,
            g.corrections_per_s,
            g.largest_correction_units,
            g.underrun_pct,
            self.interpolation_delay_ms(),
            g.checksum_failures,
            self.session.stats.resumes,
            self.session.stats.restarts,
            self.session.stats.resume_bytes,
            self.session.stats.resume_full_bytes,
            self.feel.underruns,
            self.feel.frames,
            self.transport
        )
    }

    pub fn net_graph(&mut self, now_ms: f64) -> NetGraph {
        self.stats.graph(now_ms)
    }

    pub fn interpolation_delay_ms(&self) -> f64 {
        self.interpolator
            .as_ref()
            .map_or(0.0, Interpolator::<G>::delay_ms)
    }

    /// The line under the arena: what is happening, in words.
    pub fn status_line(&self) -> String {
        match &self.status {
            Status::Playing | Status::Connecting if self.replay.is_some() => self
                .replay
                .as_ref()
                .map(|r| r.status(self.session.latest_tick().0))
                .unwrap_or_default(),
            Status::Connecting => "connecting...".to_owned(),
            Status::Reconnecting { attempt, .. } => {
                format!(
                    "connection lost - reconnecting (attempt {})...",
                    attempt + 1
                )
            }
            Status::Playing if self.session.player_id().is_none() => {
                let rate = self.session.welcome().map_or(60, |w| w.tick_rate).max(1);
                let seconds = self.session.latest_tick().0 / u32::from(rate);
                let players = self.player_count();
                let unit = if players == 1 { "player" } else { "players" };
                format!(
                    "spectating - {players} {unit} in the room - server time {}:{:02}",
                    seconds / 60,
                    seconds % 60
                )
            }
            Status::Playing => format!("playing as {} - {}", self.name, G::HELP),
            Status::Closed(why) => why.clone(),
        }
    }

    /// The page title: who is playing and their score, so a background tab shows the match.
    pub fn title(&self) -> String {
        let game = G::TITLE;
        match &self.status {
            Status::Connecting => format!("Joining · {game}"),
            Status::Reconnecting { .. } => format!("Reconnecting · {game}"),
            Status::Closed(_) => format!("Disconnected · {game}"),
            Status::Playing => match self.session.player_id() {
                None => format!("Spectating · {game}"),
                Some(id) => {
                    let score = self
                        .session
                        .replica()
                        .latest()
                        .and_then(|(_, view)| view.get(id).map(G::score_of))
                        .unwrap_or(0);
                    let score = G::score_words(score, self.tick_rate());
                    // The server's name for us: it adds a suffix when the name was taken.
                    let name = self.session.replica().name(id.0).unwrap_or(&self.name);
                    format!("{name} · {score} · {game}")
                }
            },
        }
    }

    /// The match's best players and their scores, best first, from the server's scoreboard;
    /// until the first one arrives, the players in view. The flag marks the own player.
    pub fn scoreboard(&self) -> Vec<(String, i32, bool)> {
        let me = self.session.player_id().map(|id| id.0);
        match self.session.scores() {
            Some(scores) => scores
                .top
                .iter()
                .map(|r| (r.name.clone(), r.score, Some(r.id) == me))
                .collect(),
            None => self
                .visible_players()
                .into_iter()
                .map(|(id, name, score)| (name, score, Some(id) == me))
                .collect(),
        }
    }

    /// The own place on the match's scoreboard: (rank, players, score).
    pub fn own_rank(&self) -> Option<(u32, u32, i32)> {
        let scores = self.session.scores()?;
        let (rank, score) = scores.you?;
        Some((rank, scores.players, score))
    }

    /// Players in the match: from the scoreboard, else those in view.
    pub fn player_count(&self) -> usize {
        self.session
            .scores()
            .map_or_else(|| self.visible_players().len(), |s| s.players as usize)
    }

    /// Ids, names and scores of the players in this client's view, best first.
    pub fn visible_players(&self) -> Vec<(u32, String, i32)> {
        let Some((_, view)) = self.session.replica().latest() else {
            return Vec::new();
        };
        // Players are the entities the server named.
        let mut rows: Vec<_> = view
            .entities()
            .iter()
            .filter_map(|(id, s)| {
                let name = self.session.replica().name(id.0)?;
                Some((id.0, name.to_owned(), G::score_of(s)))
            })
            .collect();
        rows.sort_by(|a, b| b.2.cmp(&a.2).then_with(|| a.1.cmp(&b.1)));
        rows
    }
}
