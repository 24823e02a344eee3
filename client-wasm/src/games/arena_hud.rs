//! What the arena's HUD remembers between frames, from snapshots the server confirmed: the hit
//! marker (the own player's `hits` grew), the kill feed (obituaries seen, each once), who
//! killed the own player, its respawn, and the own rail's flash.

use std::collections::VecDeque;

use snapwire_shared::client::ClientSession;
use snapwire_shared::sim::World;
use snapwire_shared::snapshot::EntityKind;

use crate::controls::Controls;

/// How long a hit marker shows, in ms.
const HIT_MARKER_MS: f64 = 220.0;
/// How long a kill stays in the feed, in ms.
pub const FEED_MS: f64 = 6000.0;
const FEED_ROWS: usize = 5;
/// Obituary ids remembered, so one seen in many snapshots is one line.
const SEEN: usize = 64;
/// The rail's cooldown as the page guesses it (the rules': 0.6 s), for drawing its flash only.
const RAIL_COOLDOWN_MS: f64 = 600.0;

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Kill {
    pub killer: u32,
    pub victim: u32,
    pub at_ms: f64,
}

#[derive(Debug, Default)]
pub struct ArenaHud {
    /// The own player's hit count in the last snapshot.
    hits: Option<u8>,
    pub marker_until_ms: f64,
    pub feed: VecDeque<Kill>,
    seen: VecDeque<u32>,
    life: Option<u8>,
    /// Who killed the own player, while it is dead.
    pub killed_by: Option<u32>,
    pub respawned_at_ms: Option<f64>,
    pub rail_at_ms: Option<f64>,
    /// Kills and hits over the session (the end-to-end test reads them).
    pub hits_confirmed: u32,
    pub kills_seen: u32,
}

impl ArenaHud {
    pub fn on_snapshot(&mut self, session: &ClientSession<World>, now_ms: f64) {
        let Some((_, view)) = session.replica().latest() else {
            return;
        };
        let me = session.player_id();
        for (id, s) in view.entities() {
            if s.kind != EntityKind::Obituary || self.seen.contains(&id.0) {
                continue;
            }
            self.seen.push_back(id.0);
            if self.seen.len() > SEEN {
                self.seen.pop_front();
            }
            self.kills_seen += 1;
            self.feed.push_back(Kill {
                killer: s.owner,
                victim: s.target,
                at_ms: now_ms,
            });
            if self.feed.len() > FEED_ROWS {
                self.feed.pop_front();
            }
            if me.is_some_and(|m| m.0 == s.target) {
                self.killed_by = Some(s.owner);
            }
        }
        while self
            .feed
            .front()
            .is_some_and(|k| now_ms - k.at_ms > FEED_MS)
        {
            self.feed.pop_front();
        }
        let Some(own) = me.and_then(|m| view.get(m)) else {
            return;
        };
        if let Some(before) = self.hits
            && own.hits != before
        {
            self.hits_confirmed += u32::from(own.hits.wrapping_sub(before));
            self.marker_until_ms = now_ms + HIT_MARKER_MS;
        }
        self.hits = Some(own.hits);
        if self.life.is_some_and(|l| l != own.life) && own.health > 0 {
            self.respawned_at_ms = Some(now_ms);
            self.killed_by = None;
        }
        if own.health > 0 {
            self.life = Some(own.life);
        }
    }

    pub fn on_input(&mut self, controls: &Controls, now_ms: f64) {
        let ready = self
            .rail_at_ms
            .is_none_or(|t| now_ms - t >= RAIL_COOLDOWN_MS);
        if controls.alt_fire && ready {
            self.rail_at_ms = Some(now_ms);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use snapwire_shared::snapshot::EntityState;

    use crate::app::App;

    fn me(hits: u8, health: u8, life: u8) -> (u32, EntityState) {
        let s = EntityState {
            x: 5000,
            y: 5000,
            health,
            life,
            hits,
            ..EntityState::default()
        };
        (1, s)
    }

    fn obituary(killer: u32, victim: u32) -> EntityState {
        EntityState {
            kind: EntityKind::Obituary,
            x: 6000,
            y: 5000,
            owner: killer,
            target: victim,
            ..EntityState::default()
        }
    }

    #[test]
    fn confirmed_hits_kills_and_deaths_reach_the_hud_once() {
        let (mut app, _) = App::new("ann", false);
        app.on_frame(&crate::app::tests::welcome(Some(1), 10), 0.0);
        app.on_frame(&crate::app::tests::snapshot(11, vec![me(0, 100, 0)]), 10.0);
        assert_eq!(app.hud.marker_until_ms, 0.0, "no hit yet");
        // Two hits land; then a kill of player 9 shows up, in two snapshots.
        let kill = obituary(1, 9);
        app.on_frame(
            &crate::app::tests::snapshot(12, vec![me(2, 100, 0), (u32::MAX, kill)]),
            20.0,
        );
        app.on_frame(
            &crate::app::tests::snapshot(13, vec![me(2, 100, 0), (u32::MAX, kill)]),
            30.0,
        );
        assert_eq!(app.hud.hits_confirmed, 2);
        assert!(app.hud.marker_until_ms > 30.0, "the hit marker shows");
        assert_eq!(
            app.hud.kills_seen, 1,
            "one kill, however many snapshots hold it"
        );
        assert_eq!(
            app.hud.feed.back().map(|k| (k.killer, k.victim)),
            Some((1, 9))
        );
        // Player 4 kills us: the HUD knows who, until the respawn.
        app.on_frame(
            &crate::app::tests::snapshot(14, vec![me(2, 0, 1), (u32::MAX - 1, obituary(4, 1))]),
            40.0,
        );
        assert_eq!(app.hud.killed_by, Some(4));
        app.on_frame(&crate::app::tests::snapshot(15, vec![me(2, 100, 1)]), 50.0);
        assert_eq!(app.hud.killed_by, None);
        assert_eq!(app.hud.respawned_at_ms, Some(50.0));
        // The feed forgets kills after a while.
        app.on_frame(
            &crate::app::tests::snapshot(16, vec![me(2, 100, 1)]),
            50.0 + FEED_MS + 1.0,
        );
        assert!(app.hud.feed.is_empty());
    }
}
