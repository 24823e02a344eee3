//! Load shedding: when the sockets cannot keep up, every client gets a snapshot every second
//! (third, fourth) tick instead of every tick, staggered so each tick serves an even share.
//!
//! Without it an overloaded server spirals: writers fall behind, snapshots are skipped in the
//! outboxes, acknowledgements age, baselines spread over more ticks (less shared encoding
//! work, bigger deltas, full snapshots once an ack falls out of history), and each tick costs
//! more than the last; measured with 1,500 players on one core, runs collapsed to 5 snapshots a
//! second. Sending half as often halves stage 5 and the socket work instead. The simulation
//! and input handling still run every tick.
//!
//! The signal is the share of snapshots replaced in outboxes before their writer took them
//! (the sockets are behind) and the tick's own work against its period (the tick is behind).

/// Shedding never sends less often than one tick in this many (15 Hz at 60 Hz), or the
/// configured rate if that is lower.
pub const MAX_DIVISOR: u32 = 4;

/// Shed when more than this share of snapshots are skipped (a quarter of the clients are not
/// being written to in time: the sockets as a whole are behind, not a few slow readers), or the
/// tick works this share of its period.
const SKIP_HIGH: f64 = 0.25;
const WORK_HIGH: f64 = 0.85;

/// Recover one step when skips fall below this and the tick's work, scaled to the faster rate
/// (work x d / (d - 1)), would stay below the second: measured with 1,500 players, one step
/// down from 1/2 without that check overloaded the sockets again within a second, and the rate
/// flapped every second.
const SKIP_LOW: f64 = 0.02;
const WORK_LOW: f64 = 0.6;

/// Ticks to wait after a step down before the next change in either direction.
const RECOVER_HOLD_TICKS: u32 = 5 * HOLD_TICKS;

/// Ticks that sent fewer snapshots than this say nothing about skips: with a handful of
/// clients, one slow reader would look like an overloaded server.
const MIN_SENT: u64 = 64;

/// Ticks between two changes: the averages need time to show a change's effect.
const HOLD_TICKS: u32 = 60;

/// Weight of the newest tick in the moving averages (about a quarter second at 60 Hz).
const SMOOTHING: f64 = 0.06;

#[derive(Debug, Clone)]
pub struct SendRate {
    divisor: u32,
    /// The configured rate (`--snapshot-every`): never send more often than this.
    min: u32,
    skip: f64,
    work: f64,
    hold: u32,
}

impl Default for SendRate {
    fn default() -> SendRate {
        SendRate::new(1)
    }
}

impl SendRate {
    /// Clients get a snapshot one tick in `every` (at least), more rarely when shedding load.
    pub fn new(every: u32) -> SendRate {
        let every = every.max(1);
        SendRate {
            divisor: every,
            min: every,
            skip: 0.0,
            work: 0.0,
            hold: HOLD_TICKS,
        }
    }

    /// Clients get a snapshot one tick in this many.
    pub fn divisor(&self) -> u32 {
        self.divisor
    }

    /// Whether client `client` gets a snapshot on tick `tick`.
    pub fn due(&self, client: u64, tick: u32) -> bool {
        (u64::from(tick) + client).is_multiple_of(u64::from(self.divisor))
    }

    /// Feeds one tick's figures: `skipped` of `sent` snapshots replaced before their writer took
    /// them, and the tick's work as a share of its period.
    pub fn observe(&mut self, skipped: u64, sent: u64, work: f64) {
        let skip = if sent < MIN_SENT {
            0.0
        } else {
            skipped as f64 / sent as f64
        };
        self.skip += (skip - self.skip) * SMOOTHING;
        self.work += (work - self.work) * SMOOTHING;
        if self.hold > 0 {
            self.hold -= 1;
            return;
        }
        let before = self.divisor;
        let d = f64::from(self.divisor);
        let max = MAX_DIVISOR.max(self.min);
        if (self.skip > SKIP_HIGH || self.work > WORK_HIGH) && self.divisor < max {
            self.divisor += 1;
            self.hold = HOLD_TICKS;
        } else if self.divisor > self.min
            && self.skip < SKIP_LOW
            && self.work * d / (d - 1.0) < WORK_LOW
        {
            self.divisor -= 1;
            self.hold = RECOVER_HOLD_TICKS;
        }
        if self.divisor != before {
            tracing::info!(
                divisor = self.divisor,
                skipped = format!("{:.1}%", self.skip * 100.0),
                work = format!("{:.0}%", self.work * 100.0),
                "snapshot rate changed: one tick in `divisor` per client"
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sheds_under_load_and_recovers_after() {
        let mut rate = SendRate::default();
        for _ in 0..HOLD_TICKS * 2 {
            rate.observe(0, 1000, 0.3);
            rate.observe(3, 5, 0.3);
        }
        assert_eq!(
            rate.divisor(),
            1,
            "a server with room sends every tick, whatever a few slow readers do"
        );
        for _ in 0..HOLD_TICKS * 10 {
            rate.observe(400, 1000, 0.5);
        }
        assert_eq!(
            rate.divisor(),
            MAX_DIVISOR,
            "sockets far behind: shed to the floor"
        );
        for _ in 0..RECOVER_HOLD_TICKS * 2 {
            rate.observe(0, 250, 0.35);
        }
        // 35% of the period at 1/2 would be 70% at every tick: stay at 1/2.
        assert_eq!(
            rate.divisor(),
            2,
            "steps down only while the faster rate would fit"
        );
        for _ in 0..RECOVER_HOLD_TICKS * 10 {
            rate.observe(0, 250, 0.2);
        }
        assert_eq!(rate.divisor(), 1, "recovered");
    }

    #[test]
    fn the_configured_rate_is_the_fastest() {
        let mut rate = SendRate::new(3);
        for _ in 0..RECOVER_HOLD_TICKS * 3 {
            rate.observe(0, 1000, 0.01);
        }
        assert_eq!(rate.divisor(), 3);
    }

    #[test]
    fn every_client_is_served_once_per_divisor_ticks() {
        let mut rate = SendRate::default();
        for _ in 0..HOLD_TICKS * 3 {
            rate.observe(1000, 1000, 1.0);
        }
        let d = rate.divisor();
        assert!(d > 1);
        for client in 0..10u64 {
            let served = (100..100 + d).filter(|&t| rate.due(client, t)).count();
            assert_eq!(served, 1, "client {client}");
        }
        // Staggered: each tick serves about 1/d of the clients.
        let per_tick = (0..1000u64).filter(|&c| rate.due(c, 7)).count() as i64;
        assert!(
            (per_tick - 1000 / i64::from(d)).abs() <= 1,
            "{per_tick} of 1000 at 1/{d}"
        );
    }
}
