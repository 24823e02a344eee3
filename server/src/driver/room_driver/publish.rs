//! Stage 4 of a tick: the room's figures for `/metrics`, `/rooms` and `/players` (tick
//! durations and their p99, clients, snapshots, the player list).

use std::sync::atomic::Ordering;
use std::time::Duration;

use snapwire_shared::game::Game;
use snapwire_shared::quantize::pos_to_units;

use super::RoomDriver;
use crate::stats::PlayerSummary;

/// How often the player list for `/players` is republished: ten times a second at 60 Hz.
const PLAYERS_EVERY_TICKS: u32 = 6;

/// Tick durations kept for the room's p99 in `/rooms`.
pub(super) const DURATIONS_KEPT: usize = 256;

impl<G: Game> RoomDriver<G> {
    pub(super) fn record_duration(&mut self, took: Duration) {
        if self.durations.len() == DURATIONS_KEPT {
            let mut sorted = self.durations.clone();
            sorted.sort_unstable();
            let p99 = sorted[DURATIONS_KEPT * 99 / 100];
            self.handle.tick_p99_us.store(p99, Ordering::Relaxed);
            self.durations.clear();
        }
        self.durations.push(took.as_micros() as u64);
    }

    pub(super) fn publish_stats(&mut self) {
        let tick_s = 1.0 / f64::from(self.room.settings().tick_rate.max(1));
        for back in self.room.drain_claim_ages() {
            self.stats.claim_age.observe(f64::from(back) * tick_s);
        }
        let counters = self.room.take_counters();
        self.stats.inputs_applied.inc_by(counters.inputs_applied);
        self.stats.inputs_late.inc_by(counters.inputs_late);
        self.stats.shots_judged.inc_by(counters.shots_judged);
        self.stats.rewinds_clamped.inc_by(counters.rewinds_clamped);
        self.stats.inputs_dropped.inc_by(counters.inputs_dropped);
        self.stats
            .inputs_over_rate
            .inc_by(counters.inputs_over_rate);
        self.stats.snapshots_full.inc_by(counters.snapshots_full);
        self.stats.snapshots_delta.inc_by(counters.snapshots_delta);
        self.stats.snapshots_held.inc_by(counters.snapshots_held);
        self.stats
            .snapshots_over_budget
            .inc_by(counters.snapshots_over_budget);
        self.stats
            .entities_deferred
            .inc_by(counters.entities_deferred);
        let tick = self.room.tick_number();
        if tick.0.is_multiple_of(PLAYERS_EVERY_TICKS) {
            let game = self.room.world();
            let mut players: Vec<PlayerSummary> = self
                .room
                .members()
                .filter_map(|m| m.entity)
                .filter_map(|id| {
                    let at = game.player_position(id)?;
                    Some(PlayerSummary {
                        room: self.handle.id.clone(),
                        id: id.0,
                        name: game.player_name(id)?.to_owned(),
                        x: pos_to_units(at.x),
                        y: pos_to_units(at.y),
                        health: game.player_health(id),
                        score: game.player_score(id)?,
                    })
                })
                .collect();
            players.sort_by_key(|p| p.id);
            self.stats.publish_players(&self.handle.id, players);
        }
        self.handle.tick.store(tick.0, Ordering::Relaxed);
        if self.handle.persistent {
            self.stats.tick.store(tick.0, Ordering::Relaxed);
        }
        self.stats.ticks.inc();
    }
}
