//! The browser client's state and decisions, free of any browser API so it is tested natively:
//! frames in, messages out, what to draw. `web.rs` feeds it events; `render.rs` draws it.

use snapwire_shared::client::{
    ClientSession, Drawn, Feel, Interpolator, NetGraph, NetStats, SessionError, SessionEvent,
    Smoother,
};
use snapwire_shared::protocol::{ClientMsg, ResumeToken, RoomRequest};
use snapwire_shared::sim::World;
use snapwire_shared::{CloseCode, codec};

use crate::camera::Camera;
pub use crate::controls::Controls;
use crate::games::{Me, WebGame};
use crate::replay::{Control, Reconnect, Replay};
use crate::touch::Touches;

/// Inputs generated per frame at most: after a stall (a hidden tab) the client does not burst.
const MAX_INPUTS_PER_FRAME: u32 = 4;

/// A server that sends nothing for this long (ms) is taken for dead: a dead link gives no
/// close and no error, only silence. It sends a snapshot a tick, a ping when we are quiet.
pub const SERVER_SILENT_MS: f64 = 5000.0;

#[derive(Debug, Clone, PartialEq)]
pub enum Status {
    Connecting,
    Playing,
    /// The connection dropped; a new one resumes the player once `at_ms` comes.
    Reconnecting {
        attempt: u32,
        at_ms: f64,
        /// When the first connection of this run of attempts dropped.
        since_ms: f64,
    },
    Closed(String),
}

/// First wait before reconnecting (ms), doubled per attempt up to [`RECONNECT_MAX_MS`], each
/// with jitter (half to all of it): pages dropped together (a server's network blip) do not
/// all come back in the same millisecond.
const RECONNECT_FIRST_MS: f64 = 250.0;
const RECONNECT_MAX_MS: f64 = 4000.0;

/// Reconnecting gives up after this long (ms): the server keeps a dropped player 30 s by
/// default, so later attempts would only make a new one.
pub const RECONNECT_GIVE_UP_MS: f64 = 25_000.0;

/// What a frame draws: every other entity where interpolation puts it, and the own player.
pub type Scene<S> = (Vec<Drawn<S>>, Option<Me<S>>);

/// The client of a room of game `G` (the arena unless the page asked for another).
#[derive(Debug)]
pub struct App<G: WebGame = World> {
    pub name: String,
    pub session: ClientSession<G>,
    pub status: Status,
    pub controls: Controls,
    pub touches: Touches,
    pub show_net_graph: bool,
    interpolator: Option<Interpolator<G>>,
    smoother: Smoother,
    stats: NetStats,
    input_clock_ms: Option<f64>,
    last_frame_ms: Option<f64>,
    /// When the server was last heard from (a frame arrived).
    last_heard_ms: Option<f64>,
    /// Where the camera looked last (the own player's drawn position), kept while the player is
    /// dead so the view does not jump.
    focus: Option<(f64, f64)>,
    /// Jitter for reconnect backoff (a small xorshift: no randomness crate in the page).
    jitter: u64,
    /// How the game felt over the whole session (the net graph shows the last second).
    pub feel: Feel,
    /// The game's own HUD state (hit marker, kill feed).
    pub hud: G::Hud,
    /// Where the mouse was last, in CSS pixels (where a hit marker shows).
    pub pointer: Option<(f64, f64)>,
    /// Watching a recorded match instead of playing.
    pub replay: Option<Replay>,
    /// What the shell must do with the socket next (a replay control changed it).
    socket_action: Option<SocketAction>,
}

/// A change of connection the app asks the shell for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SocketAction {
    /// Drop the socket and open a new one that sends this `Hello`.
    Open(Vec<u8>),
    /// Drop the socket (a paused replay).
    Close,
}

impl App {
    /// A new arena app and the encoded `Hello` to send once the socket opens.
    pub fn new(name: &str, spectate: bool) -> (App, Vec<u8>) {
        App::for_room(name, spectate, RoomRequest::quick_play())
    }
}

impl<G: WebGame> App<G> {
    /// A new app joining `room`, and the encoded `Hello`.
    pub fn for_room(name: &str, spectate: bool, room: RoomRequest) -> (App<G>, Vec<u8>) {
        let (session, hello) = ClientSession::<G>::joining(name, spectate, room);
        App::with_session(name, session, &hello)
    }

    /// A new app watching a recorded match from tick `from`, and the encoded `Hello`.
    pub fn watching(replay: Replay, from: u32) -> (App<G>, Vec<u8>) {
        let (session, hello) = ClientSession::<G>::joining("viewer", true, replay.request(from));
        let (mut app, hello) = App::with_session("viewer", session, &hello);
        app.replay = Some(replay);
        (app, hello)
    }

    /// A replay control (a key): a new connection at the new place, or none while paused.
    pub fn replay_control(&mut self, control: Control, now_ms: f64) {
        let now = self
            .interpolator
            .as_ref()
            .and_then(|i| i.view_time(now_ms))
            .map_or(self.session.latest_tick().0, |v| v.tick.0);
        let Some(replay) = &mut self.replay else {
            return;
        };
        match replay.control(control, now) {
            Reconnect::Pause => self.socket_action = Some(SocketAction::Close),
            Reconnect::From(tick) => {
                let (session, hello) =
                    ClientSession::<G>::joining("viewer", true, replay.request(tick));
                self.session = session;
                self.interpolator = None;
                self.status = Status::Connecting;
                self.socket_action = Some(SocketAction::Open(codec::encode_client(&hello)));
            }
        }
    }

    /// What the shell must do with the socket, once.
    pub fn take_socket_action(&mut self) -> Option<SocketAction> {
        self.socket_action.take()
    }

    /// A new app continuing the player `token` names (kept across a page reload): the same
    /// player if the server still holds it, else a new one in `room`.
    pub fn rejoining(
        name: &str,
        spectate: bool,
        room: RoomRequest,
        token: ResumeToken,
    ) -> (App<G>, Vec<u8>) {
        let (session, hello) = ClientSession::<G>::rejoining(name, spectate, room, token);
        App::with_session(name, session, &hello)
    }

    fn with_session(name: &str, session: ClientSession<G>, hello: &ClientMsg) -> (App<G>, Vec<u8>) {
        let jitter = name.bytes().fold(0x9e37_79b9_7f4a_7c15u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
        });
        let app = App {
            name: name.to_owned(),
            session,
            status: Status::Connecting,
            controls: Controls::default(),
            touches: Touches::default(),
            show_net_graph: true,
            interpolator: None,
            smoother: Smoother::default(),
            stats: NetStats::default(),
            input_clock_ms: None,
            last_frame_ms: None,
            last_heard_ms: None,
            focus: None,
            jitter: jitter | 1,
            feel: Feel::default(),
            hud: G::Hud::default(),
            pointer: None,
            replay: None,
            socket_action: None,
        };
        (app, codec::encode_client(hello))
    }

    /// Handles one frame from the server; returns frames to send back.
    pub fn on_frame(&mut self, bytes: &[u8], now_ms: f64) -> Vec<Vec<u8>> {
        self.last_heard_ms = Some(now_ms);
        match self.session.handle(bytes) {
            Ok(SessionEvent::Welcome(w)) => {
                self.status = Status::Playing;
                self.interpolator = Some(Interpolator::new(w.tick_rate));
                self.input_clock_ms = None;
                Vec::new()
            }
            Ok(SessionEvent::Resumed(_)) => {
                self.status = Status::Playing;
                // What was buffered is from before the drop: start the buffer again.
                let rate = self.tick_rate();
                self.interpolator = Some(Interpolator::new(rate));
                self.input_clock_ms = None;
                // Inputs the dead connection may have swallowed go again.
                self.session
                    .resend_after_resume()
                    .iter()
                    .map(|m| self.sent(now_ms, m))
                    .collect()
            }
            Ok(SessionEvent::Snapshot {
                tick,
                last_input_seq,
                correction,
            }) => {
                self.smoother.correct(correction);
                self.stats
                    .on_snapshot(now_ms, bytes.len(), last_input_seq, correction != (0, 0));
                let units = self.feel.on_correction(correction);
                self.stats.on_correction(now_ms, units);
                if let (Some(i), Some((_, view))) =
                    (self.interpolator.as_mut(), self.session.replica().latest())
                {
                    i.push(tick, view, now_ms);
                }
                G::on_snapshot(&mut self.hud, &self.session, now_ms);
                // A playing client's next input carries the acknowledgement.
                match self.session.take_ack() {
                    Some(ack) => vec![self.sent(now_ms, &ack)],
                    None => Vec::new(),
                }
            }
            Ok(SessionEvent::Stale) => Vec::new(),
            Ok(SessionEvent::Scores) => {
                self.stats.on_other_frame(now_ms, bytes.len());
                Vec::new()
            }
            Err(SessionError::Desync(_)) => {
                self.stats.checksum_failures += 1;
                Vec::new()
            }
            // A room of a game this page does not draw (a shared link to a tag room).
            Err(SessionError::BadWelcome(why)) => {
                self.status = Status::Closed(format!("cannot play this room: {why}"));
                Vec::new()
            }
            Err(e) => {
                self.status = Status::Closed(format!("bad data from server: {e}"));
                Vec::new()
            }
        }
    }

    /// The page lost focus or was hidden: its keys and button may be released elsewhere, and
    /// the page would never hear it (a player kept running into a wall after a tab switch).
    /// Every held control is let go; the aim stays.
    pub fn release_controls(&mut self) {
        self.controls = Controls {
            aim: self.controls.aim,
            ..Controls::default()
        };
        self.touches.clear();
    }

    /// Aims from the own player (always at the centre of a player's screen) towards a point on
    /// a `width` x `height` screen.
    pub fn aim_at(&mut self, x: f64, y: f64, width: f64, height: f64) {
        self.pointer = Some((x, y));
        if self.session.player_id().is_some() {
            self.controls.aim = (y - height / 2.0).atan2(x - width / 2.0) as f32;
        }
    }

    /// The time of the frame being drawn (the clock of `on_animation_frame`).
    pub fn now_ms(&self) -> f64 {
        self.last_frame_ms.unwrap_or(0.0)
    }

    /// The id of the room joined, once welcomed: what a link to the same match carries.
    pub fn room_id(&self) -> Option<&str> {
        self.session.welcome().map(|w| w.room.as_str())
    }

    /// Why the game ended, once it has.
    pub fn closed_reason(&self) -> Option<&str> {
        match &self.status {
            Status::Closed(why) => Some(why),
            _ => None,
        }
    }

    /// The socket closed. A dropped link (no close frame: 1005 or 1006, or the server's idle
    /// close) of a welcomed game is reconnected, with backoff, and resumes the player; any
    /// other close ends the game with its reason.
    pub fn on_close(&mut self, code: u16, reason: &str, now_ms: f64) {
        let dropped = matches!(code, 1005 | 1006) || code == CloseCode::Idle.code();
        let since_ms = match self.status {
            Status::Reconnecting { since_ms, .. } => since_ms,
            _ => now_ms,
        };
        let attempt = match self.status {
            Status::Reconnecting { attempt, .. } => attempt + 1,
            _ => 0,
        };
        if dropped
            && self.session.resume_token().is_some()
            && now_ms - since_ms < RECONNECT_GIVE_UP_MS
        {
            self.reconnect_later(attempt, since_ms, now_ms);
            return;
        }
        self.status = Status::Closed(match CloseCode::from_code(code) {
            Some(CloseCode::VersionMismatch) => {
                "A new version is deployed: reload the page.".to_owned()
            }
            Some(CloseCode::ServerFull) => "The server is full; try again later.".to_owned(),
            Some(CloseCode::GoingAway) => "The server shut down.".to_owned(),
            Some(CloseCode::Replaced) => {
                "This player continued in another tab or window.".to_owned()
            }
            Some(CloseCode::ReplayEnded) => "The replay ended.".to_owned(),
            _ if dropped => "The connection was lost and could not be resumed.".to_owned(),
            _ if reason.is_empty() => format!("Disconnected (code {code})."),
            _ => format!("Disconnected: {reason} (code {code})."),
        });
    }

    fn reconnect_later(&mut self, attempt: u32, since_ms: f64, now_ms: f64) {
        let backoff =
            (RECONNECT_FIRST_MS * f64::from(1u32 << attempt.min(5))).min(RECONNECT_MAX_MS);
        self.jitter ^= self.jitter << 13;
        self.jitter ^= self.jitter >> 7;
        self.jitter ^= self.jitter << 17;
        let spread = 0.5 + (self.jitter % 1000) as f64 / 2000.0;
        self.status = Status::Reconnecting {
            attempt,
            at_ms: now_ms + backoff * spread,
            since_ms,
        };
        self.release_controls();
    }

    /// While reconnecting: the encoded `Hello` for a new connection once its time has come
    /// (the shell opens the socket and sends it); `None` otherwise.
    pub fn reconnect_due(&mut self, now_ms: f64) -> Option<Vec<u8>> {
        let Status::Reconnecting { at_ms, .. } = self.status else {
            return None;
        };
        if now_ms < at_ms {
            return None;
        }
        // Far in the future: the shell's close (or this connection's reply) moves it on.
        if let Status::Reconnecting { at_ms, .. } = &mut self.status {
            *at_ms = f64::INFINITY;
        }
        self.last_heard_ms = Some(now_ms);
        Some(codec::encode_client(&self.session.reconnect()))
    }

    /// The resume token, as hex, once welcomed: the shell keeps it across a page reload.
    pub fn resume_token_hex(&self) -> Option<String> {
        self.session.resume_token().map(|t| t.to_hex())
    }

    /// Called every animation frame: makes the inputs due since the last frame (one per tick)
    /// and returns them encoded.
    pub fn on_animation_frame(&mut self, now_ms: f64) -> Vec<Vec<u8>> {
        let Some(tick_rate) = self.session.welcome().map(|w| w.tick_rate) else {
            return Vec::new();
        };
        if self.status == Status::Playing
            && self
                .last_heard_ms
                .is_some_and(|t| now_ms - t > SERVER_SILENT_MS)
        {
            // A dead link: no close will come. The shell drops the socket and reconnects.
            self.reconnect_later(0, now_ms, now_ms);
            return Vec::new();
        }
        if self.status != Status::Playing || self.session.player_id().is_none() {
            return Vec::new();
        }
        let tick_ms = 1000.0 / f64::from(tick_rate.max(1));
        let mut clock = self.input_clock_ms.unwrap_or(now_ms - tick_ms);
        clock = clock.max(now_ms - tick_ms * f64::from(MAX_INPUTS_PER_FRAME));
        let mut out = Vec::new();
        // Shots are judged where remote players are drawn now (lag compensation).
        if let Some(view) = self.interpolator.as_ref().and_then(|i| i.view_time(now_ms)) {
            self.session.set_view(view);
        }
        while now_ms - clock >= tick_ms {
            clock += tick_ms;
            let c = self.controls;
            let keys = (
                f32::from(i8::from(c.right) - i8::from(c.left)),
                f32::from(i8::from(c.down) - i8::from(c.up)),
            );
            // Keys win over the stick: a player with both is using the keyboard.
            let (mx, my) = match self.touches.axes() {
                Some(stick) if keys == (0.0, 0.0) => stick,
                _ => keys,
            };
            let fire = c.fire || self.touches.aim_point().is_some();
            if let Some(msg) = self.session.input_with_alt(mx, my, c.aim, fire, c.alt_fire) {
                G::on_input(&mut self.hud, &c, now_ms);
                out.push(self.sent(now_ms, &msg));
            }
        }
        self.input_clock_ms = Some(clock);
        out
    }

    /// Remote entities interpolated, the local player predicted and smoothed.
    pub fn drawn(&mut self, now_ms: f64) -> Scene<G::State> {
        let dt = self.last_frame_ms.map_or(0.0, |t| now_ms - t);
        self.last_frame_ms = Some(now_ms);
        let mut drawn = self
            .interpolator
            .as_ref()
            .map_or_else(Vec::new, |i| i.sample(now_ms));
        if let Some(i) = &self.interpolator
            && self.status == Status::Playing
        {
            let ahead = i.ahead_ms(now_ms);
            self.stats.on_frame(now_ms, ahead);
            if i.adapted() {
                self.feel.on_frame(ahead, dt);
            }
        }
        let me_id = self.session.player_id();
        let me = me_id.and_then(|id| {
            self.session.replica().latest()?.1.get(id)?;
            // Reconciled on every snapshot, so what the server alone decides (health, score)
            // is as fresh as the latest snapshot; movement and aim are predicted.
            let predicted = self.session.predictor()?.predicted()?;
            let at = G::position_of(&predicted);
            let (x, y) = self.smoother.draw(f64::from(at.x), f64::from(at.y), dt);
            Some(Me {
                state: predicted,
                x,
                y,
            })
        });
        drawn.retain(|d| Some(d.id) != me_id);
        if let Some(m) = &me {
            self.focus = Some((m.x, m.y));
        }
        (drawn, me)
    }

    /// The camera for a `width` x `height` (CSS pixels) screen: a player's follows the own
    /// player and shows the view the server sends; a spectator's shows the whole map.
    pub fn camera(&self, width: f64, height: f64) -> Option<Camera> {
        let w = self.session.welcome()?;
        let (mw, mh) = (f64::from(w.map.width), f64::from(w.map.height));
        match (self.session.player_id(), self.focus) {
            (Some(_), Some((x, y))) => Some(Camera::follow(
                x,
                y,
                f64::from(w.view_width),
                f64::from(w.view_height),
                width,
                height,
            )),
            _ => Some(Camera::whole(mw, mh, width, height)),
        }
    }

    /// The net graph's figures as JSON (for tests and debugging).
    pub fn net_graph_json(&mut self, now_ms: f64) -> String {
        let g = self.net_graph(now_ms);
        format!(
            "{{\"ping_ms\":{},\"snapshots_per_s\":{},\"kbps_in\":{:.2},\"kbps_out\":{:.2},\"last_snapshot_bytes\":{},\"corrections_per_s\":{},\"largest_correction_units\":{:.3},\"underrun_pct\":{:.2},\"interpolation_delay_ms\":{:.1},\"checksum_failures\":{},\"resumes\":{},\"restarts\":{},\"resume_bytes\":{},\"resume_full_bytes\":{},\"session_underruns\":{},\"session_frames\":{}}}",
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
            self.feel.frames
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

    /// The room's tick rate (60 before `Welcome`).
    pub fn tick_rate(&self) -> u16 {
        self.session.welcome().map_or(60, |w| w.tick_rate)
    }

    fn sent(&mut self, now_ms: f64, msg: &ClientMsg) -> Vec<u8> {
        let bytes = codec::encode_client(msg);
        let seq = match msg {
            ClientMsg::Input(_) => Some(self.session.last_sent_seq()),
            _ => None,
        };
        self.stats.on_send(now_ms, bytes.len(), seq);
        bytes
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use snapwire_shared::map::MapDef;
    use snapwire_shared::protocol::SnapshotMsg;
    use snapwire_shared::protocol::{BUTTON_FIRE, ScoreRow, Scores, ServerMsg, Welcome};
    use snapwire_shared::sim::EntityId;
    use snapwire_shared::snapshot::{EntityState, View, checksum, encode};
    use snapwire_shared::{PROTOCOL_VERSION, Tick};

    /// The `Welcome` frame of a 60 Hz arena at `tick`, for a player (`Some(id)`) or spectator.
    pub(crate) fn welcome(player_id: Option<u32>, tick: u32) -> Vec<u8> {
        codec::encode_server(&ServerMsg::Welcome(Welcome {
            player_id,
            tick: Tick(tick),
            tick_rate: 60,
            map: MapDef::arena(),
            view_width: 40_000,
            view_height: 24_000,
            room: "abc123".into(),
            kind: "default".into(),
            game: "arena".into(),
            resume: ResumeToken([7; 16]),
        }))
    }

    /// A full snapshot of `tick` holding these entities.
    pub(crate) fn snapshot(tick: u32, entities: Vec<(u32, EntityState)>) -> Vec<u8> {
        let view = View::from_sorted(
            entities
                .into_iter()
                .map(|(i, s)| (EntityId(i), s))
                .collect(),
        );
        codec::encode_server(&ServerMsg::Snapshot(SnapshotMsg {
            tick: Tick(tick),
            baseline_age: 0,
            last_input_seq: 0,
            checksum: checksum(&view),
            names: Vec::new(),
            body: encode(&View::default(), 0, &view),
        }))
    }

    fn welcomed() -> App {
        let (mut app, hello) = App::new("ann", false);
        assert!(matches!(
            codec::decode_client(&hello),
            Ok(ClientMsg::Hello {
                protocol_version: PROTOCOL_VERSION,
                ..
            })
        ));
        app.on_frame(&welcome(Some(1), 10), 0.0);
        app
    }

    #[test]
    fn one_input_per_tick_and_no_burst_after_a_stall() {
        let mut app = welcomed();
        app.controls.right = true;
        let mut sent = 0;
        for frame in 0..60 {
            sent += app
                .on_animation_frame(f64::from(frame) * 1000.0 / 60.0)
                .len();
        }
        assert!((59..=61).contains(&sent), "sent {sent}");
        // The page stalled for a minute (a hidden tab) while the server kept talking.
        let scores = ServerMsg::Scores(snapwire_shared::protocol::Scores {
            players: 1,
            top: Vec::new(),
            you: None,
        });
        app.on_frame(&codec::encode_server(&scores), 59_990.0);
        let after_stall = app.on_animation_frame(60_000.0).len();
        assert_eq!(after_stall, MAX_INPUTS_PER_FRAME as usize);
        let Ok(ClientMsg::Input(i)) = codec::decode_client(&app.on_animation_frame(60_020.0)[0])
        else {
            panic!("an input")
        };
        assert_eq!((i.move_x, i.move_y), (127, 0));
    }

    #[test]
    fn inputs_claim_the_moment_drawn_and_carry_the_rail() {
        use snapwire_shared::protocol::BUTTON_ALT;
        let mut app = welcomed();
        // Snapshots of ticks 11..=30 arriving on time, one per 1000/60 ms.
        for t in 11..=30u32 {
            let me = EntityState {
                x: 5000 + 10 * t as i32,
                y: 5000,
                health: 100,
                ..EntityState::default()
            };
            app.on_frame(
                &snapshot(t, vec![(1, me)]),
                f64::from(t - 11) * 1000.0 / 60.0,
            );
        }
        app.controls.alt_fire = true;
        let now = 19.5 * 1000.0 / 60.0;
        let sent = app.on_animation_frame(now);
        let Some(Ok(ClientMsg::Input(i))) = sent.last().map(|f| codec::decode_client(f)) else {
            panic!("an input: {sent:?}")
        };
        assert_ne!(i.buttons & BUTTON_ALT, 0, "the rail");
        // Drawn two ticks (the starting interpolation delay) behind the newest snapshot, and
        // between two snapshots.
        assert_eq!(i.view_tick, 28, "{i:?}");
        assert_ne!(i.view_frac, 0, "{i:?}");
    }

    #[test]
    fn a_room_of_another_game_ends_with_a_reason() {
        let (mut app, _) = App::new("ann", false);
        let mut w = codec::decode_server(&welcome(Some(1), 10));
        if let Ok(ServerMsg::Welcome(w)) = &mut w {
            w.game = "tag".into();
        }
        let frame = codec::encode_server(&w.expect("a welcome"));
        app.on_frame(&frame, 0.0);
        assert_eq!(
            app.status,
            Status::Closed(
                "cannot play this room: the room plays \"tag\"; this client plays \"arena\"".into()
            )
        );
    }

    #[test]
    fn a_silent_server_is_a_dropped_link_and_the_page_reconnects() {
        let mut app = welcomed();
        assert!(!app.on_animation_frame(SERVER_SILENT_MS).is_empty());
        assert_eq!(app.status, Status::Playing);
        app.on_animation_frame(SERVER_SILENT_MS + 1.0);
        assert!(
            matches!(app.status, Status::Reconnecting { attempt: 0, .. }),
            "{:?}",
            app.status
        );
        assert!(app.status_line().contains("reconnecting"));
        assert!(app.reconnect_due(SERVER_SILENT_MS + 1001.0).is_some());
        // The new socket hangs too (a dead route): the next attempt follows.
        app.on_close(1006, "", SERVER_SILENT_MS + 2000.0);
        assert!(matches!(
            app.status,
            Status::Reconnecting { attempt: 1, .. }
        ));
    }

    #[test]
    fn losing_focus_releases_held_keys() {
        let mut app = welcomed();
        app.controls.right = true;
        app.controls.fire = true;
        app.controls.aim = 1.5;
        app.on_animation_frame(0.0);
        app.release_controls();
        let sent = app.on_animation_frame(1000.0 / 60.0 * 2.0);
        let Some(Ok(ClientMsg::Input(i))) = sent.last().map(|b| codec::decode_client(b)) else {
            panic!("an input")
        };
        assert_eq!((i.move_x, i.move_y, i.buttons & BUTTON_FIRE), (0, 0, 0));
        assert_eq!(app.controls.aim, 1.5);
    }

    #[test]
    fn a_spectator_reads_words_not_a_tick_number() {
        let (mut app, _) = App::new("watcher", true);
        app.on_frame(&welcome(None, 60 * 125), 0.0);
        assert_eq!(
            app.status_line(),
            "spectating - 0 players in the room - server time 2:05"
        );
    }

    #[test]
    fn the_title_names_the_player_and_their_kills() {
        let (app, _) = App::new("ann", false);
        assert_eq!(app.title(), "Joining · snapwire arena");
        let mut app = welcomed();
        assert_eq!(app.title(), "ann · 0 kills · snapwire arena");
        app.on_close(CloseCode::GoingAway.code(), "", 0.0);
        assert_eq!(app.title(), "Disconnected · snapwire arena");
    }

    #[test]
    fn the_virtual_stick_moves_and_a_second_touch_fires() {
        let mut app = welcomed();
        app.on_animation_frame(0.0);
        app.touches.start(1, 100.0, 700.0, 390.0);
        app.touches.moved(1, 100.0, 700.0 - 200.0);
        app.touches.start(2, 300.0, 300.0, 390.0);
        let sent = app.on_animation_frame(1000.0 / 60.0);
        let Some(Ok(ClientMsg::Input(i))) = sent.last().map(|b| codec::decode_client(b)) else {
            panic!("an input")
        };
        assert_eq!(
            (i.move_x, i.move_y, i.buttons & BUTTON_FIRE),
            (0, -127, BUTTON_FIRE)
        );
        // Losing focus lets go of touches too.
        app.release_controls();
        let sent = app.on_animation_frame(1000.0 / 60.0 * 2.0);
        let Some(Ok(ClientMsg::Input(i))) = sent.last().map(|b| codec::decode_client(b)) else {
            panic!("an input")
        };
        assert_eq!((i.move_x, i.move_y, i.buttons & BUTTON_FIRE), (0, 0, 0));
    }

    #[test]
    fn the_scoreboard_is_the_matchs_not_the_views() {
        let mut app = welcomed();
        let rows = |n: u32| ScoreRow {
            id: n,
            name: format!("p{n}"),
            score: 20 - n as i32,
        };
        let scores = ServerMsg::Scores(Scores {
            players: 40,
            top: (2..12).map(rows).collect(),
            you: Some((31, 0)),
        });
        app.on_frame(&codec::encode_server(&scores), 10.0);
        let board = app.scoreboard();
        assert_eq!(board.len(), 10);
        assert_eq!(board[0], ("p2".to_owned(), 18, false));
        assert_eq!(app.own_rank(), Some((31, 40, 0)));
        assert_eq!(app.player_count(), 40);
    }

    #[test]
    fn a_player_camera_follows_and_a_spectator_sees_the_map() {
        let mut app = welcomed();
        assert!(app.camera(800.0, 450.0).is_some());
        app.focus = Some((10_000.0, 5_000.0));
        let cam = app.camera(800.0, 450.0).expect("camera");
        assert_eq!(cam.at(10_000.0, 5_000.0), (400.0, 225.0));
        let (mut spectator, _) = App::new("watcher", true);
        spectator.on_frame(&welcome(None, 1), 0.0);
        let cam = spectator.camera(1280.0, 720.0).expect("camera");
        let map = MapDef::arena();
        let (x1, y1) = cam.at(f64::from(map.width), f64::from(map.height));
        assert!(x1 <= 1280.0 + 1e-9 && y1 <= 720.0 + 1e-9);
    }

    #[test]
    fn a_close_keeps_its_reason_for_the_join_screen() {
        let mut app = welcomed();
        assert_eq!(app.closed_reason(), None);
        app.on_close(
            CloseCode::InvalidValue.code(),
            "name must be at most 24 characters",
            0.0,
        );
        let why = app.closed_reason().expect("closed");
        assert!(
            why.contains("name must be") && why.contains("4002"),
            "{why}"
        );
    }

    #[test]
    fn a_dropped_link_reconnects_with_backoff_and_resumes() {
        let mut app = welcomed();
        app.on_close(1006, "", 1000.0);
        let Status::Reconnecting {
            attempt: 0, at_ms, ..
        } = app.status
        else {
            panic!("{:?}", app.status)
        };
        assert!((1125.0..=1250.0).contains(&at_ms), "{at_ms}");
        assert_eq!(app.reconnect_due(at_ms - 1.0), None);
        let hello = app.reconnect_due(at_ms).expect("a Hello once due");
        let Ok(ClientMsg::Hello {
            resume: Some(r),
            room,
            ..
        }) = codec::decode_client(&hello)
        else {
            panic!("a resuming Hello")
        };
        assert_eq!((r.token, r.has_state), (ResumeToken([7; 16]), true));
        assert_eq!(
            room,
            RoomRequest::Join {
                id: "abc123".into()
            }
        );
        // That attempt fails too: the next waits longer.
        app.on_close(1006, "", 1300.0);
        let Status::Reconnecting {
            attempt: 1, at_ms, ..
        } = app.status
        else {
            panic!("{:?}", app.status)
        };
        assert!((1550.0..=1800.0).contains(&at_ms), "{at_ms}");
        app.reconnect_due(at_ms);
        let resumed = ServerMsg::Resumed(snapwire_shared::protocol::Resumed {
            player_id: Some(1),
            tick: Tick(500),
            resume: ResumeToken([8; 16]),
        });
        app.on_frame(&codec::encode_server(&resumed), 2000.0);
        assert_eq!(app.status, Status::Playing);
        assert_eq!(app.resume_token_hex(), Some("08".repeat(16)));
        // Past the give-up time a drop ends the game.
        app.on_close(1006, "", 3000.0);
        app.on_close(1006, "", 3000.0 + RECONNECT_GIVE_UP_MS);
        assert!(matches!(&app.status, Status::Closed(m) if m.contains("could not be resumed")));
    }

    #[test]
    fn a_version_mismatch_says_reload() {
        let mut app = welcomed();
        app.on_close(
            CloseCode::VersionMismatch.code(),
            "client protocol 0, server 1",
            0.0,
        );
        assert!(matches!(&app.status, Status::Closed(m) if m.contains("reload")));
    }
}
