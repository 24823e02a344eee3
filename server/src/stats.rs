//! Counters the tick loop and connections publish for `/healthz` and for tests.

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

/// Shared by every task; each counter is updated with relaxed atomics because readers only
/// report them and never synchronise on them.
#[derive(Debug, Default)]
pub struct ServerStats {
    /// The tick the simulation last completed.
    pub tick: AtomicU32,
    pub clients: AtomicU64,
    pub ticks: AtomicU64,
    /// Ticks that finished after the next one was due.
    pub overruns: AtomicU64,
    /// Ticks skipped to catch up after falling far behind.
    pub skipped_ticks: AtomicU64,
    pub connections_closed_for_bad_input: AtomicU64,
    /// Time spent in the last tick's work, in microseconds.
    pub last_tick_us: AtomicU64,
    /// Every player, republished by the tick loop ten times a second.
    players: Mutex<Arc<Vec<PlayerSummary>>>,
}

/// One player as `/players` reports it.
#[derive(Debug, Clone, PartialEq)]
pub struct PlayerSummary {
    pub id: u32,
    pub name: String,
    /// World units.
    pub x: f64,
    pub y: f64,
    pub health: u8,
    pub score: i32,
}

impl ServerStats {
    pub fn load(&self, counter: &AtomicU64) -> u64 {
        counter.load(Ordering::Relaxed)
    }

    pub fn players(&self) -> Arc<Vec<PlayerSummary>> {
        Arc::clone(&self.players.lock().unwrap_or_else(PoisonError::into_inner))
    }

    pub fn publish_players(&self, players: Vec<PlayerSummary>) {
        *self.players.lock().unwrap_or_else(PoisonError::into_inner) = Arc::new(players);
    }

    pub fn players_json(&self) -> serde_json::Value {
        let players: Vec<_> = self
            .players()
            .iter()
            .map(|p| serde_json::json!({"id": p.id, "name": p.name, "x": p.x, "y": p.y, "health": p.health, "score": p.score}))
            .collect();
        serde_json::Value::Array(players)
    }

    pub fn to_json(&self) -> serde_json::Value {
        let r = |c: &AtomicU64| c.load(Ordering::Relaxed);
        serde_json::json!({
            "status": "ok",
            "tick": self.tick.load(Ordering::Relaxed),
            "clients": r(&self.clients),
            "ticks": r(&self.ticks),
            "overruns": r(&self.overruns),
            "skipped_ticks": r(&self.skipped_ticks),
            "closed_for_bad_input": r(&self.connections_closed_for_bad_input),
            "last_tick_us": r(&self.last_tick_us),
        })
    }
}
