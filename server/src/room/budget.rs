//! What one client's snapshot may weigh, and which entities wait when it would weigh more.
//!
//! Two limits, one mechanism. A client on WebTransport can take each delta as one datagram
//! ([`crate::driver::link::ClientLink::datagram_limit`]; the driver does not set it yet, see
//! its `DELTAS_WITHIN_DATAGRAM`): a lost one then costs that snapshot and nothing else. A client with a byte budget (`--max-kbps-per-client`, either transport) has
//! a token bucket: each snapshot spends its size, a client whose bucket is empty is skipped
//! that tick (Quake 3's `rate`), and no snapshot is built larger than what the bucket holds:
//! one that would be even with every new entity left out waits for a full bucket.
//!
//! What makes a snapshot large is entities new to the client: a kept entity costs its change
//! from a prediction, a new one its whole state. So when a snapshot would not fit, entities
//! new to the client wait, the lowest priority first. Each tick an entity waits its priority
//! grows by a gain (more for one near the player: naia's priority accumulator, with distance
//! as lightyear weighs it), so one that waited long enough goes ahead of a newer, nearer one;
//! once sent it starts from nothing again. An entity already sent since the acknowledged
//! snapshot never waits: it is in the client's state, and leaving it out would remove it there.
//!
//! A delta whose kept entities alone exceed the limit is sent anyway (in parts over
//! WebTransport); so is a client's first snapshot when only the datagram bounds it, since a
//! client without a baseline has nothing to show until all of it is in.

use snapwire_shared::map::Point;
use snapwire_shared::sim::EntityId;

/// Bits a snapshot is cut below its limit when entities wait: the estimate of what one
/// entity saves (its id's gap may merge with its neighbour's) is not exact.
pub const MARGIN_BITS: u32 = 64;

/// A client's byte budget: `--max-kbps-per-client` as a token bucket refilled every tick.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ByteBudget {
    /// Bytes the bucket gains per tick.
    per_tick: f64,
    /// Bytes it holds at most: a quarter second's worth (at least one datagram), so a client
    /// that was sent little may take a burst (its first full view) but not a second's worth.
    burst: f64,
    tokens: f64,
}

/// What the smallest bucket holds at least: one full datagram.
const MIN_BURST: f64 = 1200.0;

impl ByteBudget {
    pub fn new(kbps: u32, tick_rate: u16) -> ByteBudget {
        let per_second = f64::from(kbps) * 1000.0 / 8.0;
        let burst = (per_second / 4.0).max(MIN_BURST);
        ByteBudget {
            per_tick: per_second / f64::from(tick_rate.max(1)),
            burst,
            tokens: burst,
        }
    }

    /// One tick passed.
    pub fn refill(&mut self) {
        self.tokens = (self.tokens + self.per_tick).min(self.burst);
    }

    /// Bytes the next snapshot may take; `None` when the client must skip this tick (it spent
    /// more than it had).
    pub fn allowance(&self) -> Option<usize> {
        (self.tokens > 0.0).then_some(self.tokens as usize)
    }

    /// Whether the bucket holds all it can: a snapshot larger than that may then go, or it
    /// never would.
    pub fn is_full(&self) -> bool {
        self.tokens >= self.burst
    }

    pub fn spend(&mut self, bytes: usize) {
        self.tokens -= bytes as f64;
    }
}

/// An entity new to the client, that could wait.
#[derive(Debug, Clone, Copy)]
pub struct Candidate {
    /// Its position in the client's view list.
    pub at: u32,
    pub id: EntityId,
    /// What sending it costs: its id's gap, kind and fields.
    pub bits: u32,
    /// What its priority gains this tick.
    pub gain: f32,
    priority: f32,
}

impl Candidate {
    pub fn new(at: u32, id: EntityId, bits: u32, gain: f32) -> Candidate {
        Candidate {
            at,
            id,
            bits,
            gain,
            priority: 0.0,
        }
    }
}

/// Priority gained per tick: 1 for an entity at the view's edge (or anywhere, for a spectator),
/// up to 4 at the player's own position; `half` is half the view's size.
pub fn gain(center: Option<Point>, at: Point, half: (i32, i32)) -> f32 {
    let Some(c) = center else { return 1.0 };
    let dx = (i64::from(at.x) - i64::from(c.x)).abs() as f32 / half.0.max(1) as f32;
    let dy = (i64::from(at.y) - i64::from(c.y)).abs() as f32 / half.1.max(1) as f32;
    1.0 + 3.0 * (1.0 - dx.max(dy).min(1.0))
}

/// The entities waiting to enter one client's view, with their priority, ascending by id.
#[derive(Debug, Default, Clone)]
pub struct Waiting {
    priorities: Vec<(EntityId, f32)>,
}

impl Waiting {
    /// Whether no entity waits.
    pub fn is_empty(&self) -> bool {
        self.priorities.is_empty()
    }

    /// Nothing waits: every entity new to the client was sent.
    pub fn clear(&mut self) {
        self.priorities.clear();
    }

    /// This tick's candidates with their priority (what they had waiting, plus their gain),
    /// sorted so the first waits first: the lowest priority, then the highest id (the newest).
    pub fn rank(&self, candidates: &mut [Candidate]) {
        for c in candidates.iter_mut() {
            let before = self
                .priorities
                .binary_search_by_key(&c.id, |(id, _)| *id)
                .map_or(0.0, |i| self.priorities[i].1);
            c.priority = before + c.gain;
        }
        candidates.sort_by(|a, b| {
            a.priority
                .total_cmp(&b.priority)
                .then_with(|| b.id.cmp(&a.id))
        });
    }

    /// `deferred` (ranked candidates) wait with their priority; every other entity that
    /// waited was sent or left the view, and starts again from nothing.
    pub fn keep(&mut self, deferred: &[Candidate]) {
        self.priorities.clear();
        self.priorities
            .extend(deferred.iter().map(|c| (c.id, c.priority)));
        self.priorities.sort_unstable_by_key(|(id, _)| *id);
    }
}

/// How many of the ranked `candidates`, from the first, must wait to save `over_bits`.
pub fn how_many_wait(candidates: &[Candidate], already: usize, over_bits: u32) -> usize {
    let mut saved = 0u32;
    let mut n = already;
    while n < candidates.len() && saved < over_bits {
        saved += candidates[n].bits;
        n += 1;
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;

    fn candidate(id: u32, gain: f32) -> Candidate {
        Candidate::new(id, EntityId(id), 100, gain)
    }

    #[test]
    fn an_entity_that_waits_overtakes_nearer_newcomers() {
        let mut waiting = Waiting::default();
        // A far entity (gain 1) against a near one (gain 4), one of them sent each tick.
        let mut far_waited = 0;
        for tick in 0..10 {
            let mut c = vec![candidate(1, 1.0), candidate(2 + tick, 4.0)];
            waiting.rank(&mut c);
            let n = how_many_wait(&c, 0, 1);
            assert_eq!(n, 1);
            if c[0].id == EntityId(1) {
                far_waited += 1;
            } else {
                // The far one went: it had waited long enough.
                break;
            }
            waiting.keep(&c[..n]);
        }
        assert!(
            (3..=5).contains(&far_waited),
            "waited {far_waited} ticks behind nearer entities"
        );
    }

    #[test]
    fn the_bucket_refills_to_its_burst_and_skips_when_spent() {
        // 480 kbps at 60 Hz: 1,000 bytes a tick, 15,000 at most.
        let mut b = ByteBudget::new(480, 60);
        assert_eq!(b.allowance(), Some(15_000));
        b.spend(15_500);
        assert_eq!(b.allowance(), None);
        b.refill();
        assert_eq!(b.allowance(), Some(500));
        for _ in 0..100 {
            b.refill();
        }
        assert_eq!(b.allowance(), Some(15_000));
    }

    #[test]
    fn gain_is_highest_at_the_player_and_one_at_the_edge() {
        let c = Point { x: 0, y: 0 };
        let half = (20_000, 12_000);
        assert_eq!(gain(Some(c), c, half), 4.0);
        assert_eq!(gain(Some(c), Point { x: 20_000, y: 0 }, half), 1.0);
        assert_eq!(gain(Some(c), Point { x: 0, y: 30_000 }, half), 1.0);
        assert_eq!(gain(None, c, half), 1.0);
    }
}
