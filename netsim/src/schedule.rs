//! When each chunk of one direction of a link is delivered: pure arithmetic over a seeded
//! generator, so a run can be repeated and the rules are tested without sockets.

use std::time::Duration;

use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

use crate::profile::Profile;

/// One direction of one connection.
#[derive(Debug)]
pub struct Schedule {
    profile: Profile,
    rng: SmallRng,
    /// When the previous chunk is delivered: nothing overtakes it (TCP is in order).
    last: Duration,
}

impl Schedule {
    pub fn new(profile: Profile, seed: u64) -> Schedule {
        Schedule {
            profile,
            rng: SmallRng::seed_from_u64(seed),
            last: Duration::ZERO,
        }
    }

    /// When a chunk of `bytes` read at `now` (since the link started) reaches the other side:
    /// after the latency give or take the jitter, after a stall if it is "lost", after the
    /// chunks before it, and no sooner than the bandwidth lets it through.
    pub fn deliver_at(&mut self, now: Duration, bytes: usize) -> Duration {
        let p = &self.profile;
        let delay = p.delay(&mut self.rng);
        let mut at = now + delay;
        if p.loss > 0.0 && self.rng.random_bool(p.loss.min(1.0)) {
            at += p.stall();
        }
        if let Some(rate) = p.bandwidth {
            let sending = Duration::from_secs_f64(bytes as f64 / rate.max(1) as f64);
            at = at.max(self.last + sending);
        }
        at = at.max(self.last);
        self.last = at;
        at
    }

    /// When this connection is cut, if its profile cuts connections.
    pub fn cut_after(&mut self) -> Option<Duration> {
        let (lo, hi) = self.profile.cut_after?;
        Some(if hi > lo {
            self.rng.random_range(lo..=hi)
        } else {
            lo
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn a_lan_delivers_at_once() {
        let mut s = Schedule::new(Profile::LAN, 1);
        assert_eq!(s.deliver_at(5 * MS, 100), 5 * MS);
        assert_eq!(s.deliver_at(6 * MS, 100), 6 * MS);
    }

    #[test]
    fn latency_and_jitter_stay_in_range_and_in_order() {
        let profile = Profile {
            loss: 0.0,
            ..Profile::AVERAGE
        };
        let mut s = Schedule::new(profile, 7);
        let mut last = Duration::ZERO;
        let mut early = 0;
        for k in 0..2000u32 {
            let now = k * 16 * MS;
            let at = s.deliver_at(now, 40);
            assert!(at >= last, "chunk {k} overtook the one before");
            assert!(at >= now + 75 * MS, "chunk {k} came too soon");
            // Held back only by the chunk before it, never beyond the worst jitter.
            assert!(at <= (now + 125 * MS).max(last), "chunk {k} came too late");
            early += u32::from(at < now + 100 * MS);
            last = at;
        }
        // Jitter goes both ways: some chunks beat the mean latency.
        assert!(early > 200, "{early} early chunks");
    }

    #[test]
    fn a_lost_chunk_stalls_everything_behind_it() {
        let profile = Profile {
            loss: 1.0,
            ..Profile::LAN
        };
        let mut s = Schedule::new(profile, 3);
        assert_eq!(s.deliver_at(Duration::ZERO, 10), 200 * MS);
        assert_eq!(s.deliver_at(MS, 10), 201 * MS);
        let average = Schedule::new(Profile::AVERAGE, 3).profile.stall();
        assert_eq!(average, 300 * MS, "a round trip and a half on a slow link");
    }

    #[test]
    fn bandwidth_spaces_chunks_out() {
        let profile = Profile {
            bandwidth: Some(10_000),
            ..Profile::LAN
        };
        let mut s = Schedule::new(profile, 3);
        // 1,000 bytes at 10,000 bytes/s take 100 ms each.
        let times: Vec<Duration> = (0..3).map(|_| s.deliver_at(Duration::ZERO, 1000)).collect();
        assert_eq!(times, [100 * MS, 200 * MS, 300 * MS]);
    }

    #[test]
    fn the_same_seed_gives_the_same_link() {
        let run = |seed| {
            let mut s = Schedule::new(Profile::FLAKY, seed);
            let times: Vec<Duration> = (0..500u32).map(|k| s.deliver_at(k * 16 * MS, 60)).collect();
            (times, s.cut_after())
        };
        assert_eq!(run(42), run(42));
        assert_ne!(run(42), run(43));
        let cut = run(42).1.expect("flaky cuts");
        assert!((5..=20).contains(&cut.as_secs()), "{cut:?}");
    }
}
