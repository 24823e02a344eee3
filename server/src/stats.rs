//! Counters the tick loop and connections publish for `/healthz` and for tests.

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};

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
}

impl ServerStats {
    pub fn load(&self, counter: &AtomicU64) -> u64 {
        counter.load(Ordering::Relaxed)
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
