//! When each datagram of one direction of a UDP flow is delivered, if at all: pure arithmetic
//! over a seeded generator, like [`crate::schedule`] for TCP, but with what UDP does instead:
//! a lost datagram is gone (nothing waits for it), a link slower than what is sent queues
//! datagrams up to [`MAX_QUEUE`] and then drops them, and one datagram in a hundred
//! ([`REORDER`]) may overtake the one before it. The rest keep their order: a path's delay
//! varies over time, not packet by packet, so real paths reorder rarely.

use std::time::Duration;

use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

use crate::profile::Profile;

/// The most a bandwidth cap queues: a router's buffer of a quarter second. A datagram that
/// would wait longer is dropped.
pub const MAX_QUEUE: Duration = Duration::from_millis(250);

/// The chance that a datagram's jitter may take it past the one before it.
pub const REORDER: f64 = 0.01;

/// One direction of one flow.
#[derive(Debug)]
pub struct DatagramSchedule {
    profile: Profile,
    rng: SmallRng,
    /// Until when the link is busy sending what it took before (with a bandwidth cap).
    busy_until: Duration,
    /// When the latest datagram so far is delivered.
    last: Duration,
}

impl DatagramSchedule {
    pub fn new(profile: Profile, seed: u64) -> DatagramSchedule {
        DatagramSchedule {
            profile,
            rng: SmallRng::seed_from_u64(seed),
            busy_until: Duration::ZERO,
            last: Duration::ZERO,
        }
    }

    /// When a datagram of `bytes` sent at `now` (since the flow started) arrives: `None` when
    /// it is lost, or dropped by a full queue.
    pub fn deliver_at(&mut self, now: Duration, bytes: usize) -> Option<Duration> {
        let p = &self.profile;
        if p.loss > 0.0 && self.rng.random_bool(p.loss.min(1.0)) {
            return None;
        }
        let delay = p.delay(&mut self.rng);
        let sent = match p.bandwidth {
            Some(rate) => {
                let start = self.busy_until.max(now);
                if start - now > MAX_QUEUE {
                    return None;
                }
                self.busy_until =
                    start + Duration::from_secs_f64(bytes as f64 / rate.max(1) as f64);
                self.busy_until
            }
            None => now,
        };
        let mut at = sent + delay;
        if !self.rng.random_bool(REORDER) {
            at = at.max(self.last);
        }
        self.last = self.last.max(at);
        Some(at)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn loss_drops_about_its_share_and_a_few_datagrams_overtake() {
        let mut s = DatagramSchedule::new(Profile::AVERAGE, 9);
        let times: Vec<Option<Duration>> = (0..5000u32)
            .map(|k| s.deliver_at(k * 2 * MS, 100))
            .collect();
        let lost = times.iter().filter(|t| t.is_none()).count();
        assert!((60..=140).contains(&lost), "{lost} of 5000 lost at 2%");
        let delivered: Vec<Duration> = times.iter().flatten().copied().collect();
        let overtaken = delivered.windows(2).filter(|w| w[1] < w[0]).count();
        assert!(
            (5..=100).contains(&overtaken),
            "{overtaken} of about 4900 datagrams overtook the one before"
        );
        let mut last = Duration::ZERO;
        for (k, t) in times.iter().enumerate() {
            if let Some(t) = t {
                let sent = k as u32 * 2 * MS;
                // Never sooner than the least delay, never later than the worst or the one
                // before it.
                assert!(*t >= sent + 75 * MS, "datagram {k} at {t:?}");
                assert!(*t <= (sent + 125 * MS).max(last), "datagram {k} at {t:?}");
                last = last.max(*t);
            }
        }
    }

    #[test]
    fn a_bandwidth_cap_queues_then_drops() {
        let profile = Profile {
            bandwidth: Some(10_000),
            ..Profile::LAN
        };
        let mut s = DatagramSchedule::new(profile, 3);
        // 1,000 bytes at 10,000 bytes/s take 100 ms each: three fit the quarter-second queue,
        // the fourth would wait 300 ms and is dropped.
        let times: Vec<Option<Duration>> =
            (0..4).map(|_| s.deliver_at(Duration::ZERO, 1000)).collect();
        assert_eq!(
            times,
            [Some(100 * MS), Some(200 * MS), Some(300 * MS), None]
        );
        // Once the queue drains, datagrams go through again.
        assert_eq!(s.deliver_at(300 * MS, 1000), Some(400 * MS));
    }

    #[test]
    fn the_same_seed_gives_the_same_flow() {
        let run = |seed| {
            let mut s = DatagramSchedule::new(Profile::BAD, seed);
            (0..500u32)
                .map(|k| s.deliver_at(k * 16 * MS, 300))
                .collect::<Vec<_>>()
        };
        assert_eq!(run(42), run(42));
        assert_ne!(run(42), run(43));
    }
}
