//! Where players were: lag compensation's memory of the last few ticks, and the moment a shot
//! is judged at.
//!
//! A client draws remote players an interpolation delay plus half a round trip in the past, so
//! a shot aimed where it saw a moving target misses the target's present position. Each input
//! says which moment the client was drawing ([`ViewTime`]); a shot is judged against players
//! where they were then, as the client drew them: between the snapshots of `tick` and
//! `tick + 1`. The claim is the client's word, so it is bounded: never further back than the
//! rules' maximum rewind, never in the future (ARCHITECTURE.md, "Lag compensation", says what
//! a liar gains).

use std::collections::VecDeque;

use crate::sim::EntityId;
use crate::sim::input::ViewTime;
use crate::tick::Tick;

/// A living player's position at one tick; `life` tells a respawn from a move.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
struct Seen {
    id: EntityId,
    x: i32,
    y: i32,
    life: u8,
}

/// The positions of living players after each of the last few steps (the snapshots clients
/// were sent), oldest first.
#[derive(Debug, Clone, PartialEq, Default, serde::Serialize, serde::Deserialize)]
pub struct Past {
    ticks: VecDeque<(Tick, Vec<Seen>)>,
    /// Ticks kept: the maximum rewind plus the newest and the one after a claimed tick.
    keep: usize,
}

/// A claimed moment, judged: the moment used and whether the claim had to be moved into the
/// allowed window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Judged {
    pub at: ViewTime,
    /// How many whole ticks back `at` lies.
    pub rewind: u16,
    pub clamped: bool,
}

impl Past {
    pub fn new(max_rewind_ticks: u16) -> Past {
        Past {
            ticks: VecDeque::new(),
            keep: usize::from(max_rewind_ticks) + 2,
        }
    }

    /// Records the living players after the step that made `tick`, in ascending id order.
    pub fn record(&mut self, tick: Tick, players: impl Iterator<Item = (EntityId, i32, i32, u8)>) {
        // The oldest tick's buffer is reused: no allocation per tick in steady state.
        let mut seen = if self.ticks.len() >= self.keep {
            self.ticks.pop_front().map(|(_, v)| v).unwrap_or_default()
        } else {
            Vec::new()
        };
        seen.clear();
        seen.extend(players.map(|(id, x, y, life)| Seen { id, x, y, life }));
        self.ticks.push_back((tick, seen));
    }

    /// The moment a claim is judged at when the newest snapshot is of tick `now`: at most
    /// `max_rewind` ticks back and not after `now`.
    pub fn judge(claim: ViewTime, now: Tick, max_rewind: u16) -> Judged {
        let back = now.since(claim.tick);
        if back < 0 {
            return Judged {
                at: ViewTime { tick: now, frac: 0 },
                rewind: 0,
                clamped: true,
            };
        }
        if back > i32::from(max_rewind) || (back == i32::from(max_rewind) && claim.frac > 0) {
            let tick = Tick(now.0.wrapping_sub(u32::from(max_rewind)));
            return Judged {
                at: ViewTime { tick, frac: 0 },
                rewind: max_rewind,
                clamped: true,
            };
        }
        Judged {
            at: claim,
            rewind: back as u16,
            clamped: false,
        }
    }

    /// Every living player at moment `at` (interpolated as a client draws them), with its
    /// position in position quanta; empty when that tick is no longer (or not yet) kept.
    pub fn players_at(&self, at: ViewTime) -> impl Iterator<Item = (EntityId, f64, f64)> + '_ {
        let from = self.ticks.iter().position(|(t, _)| *t == at.tick);
        let seen = from.map_or(&[][..], |i| self.ticks[i].1.as_slice());
        let next = from
            .and_then(|i| self.ticks.get(i + 1))
            .filter(|_| at.frac > 0)
            .map(|(_, v)| v.as_slice());
        let t = f64::from(at.frac) / 256.0;
        seen.iter().map(move |s| {
            let later = next.and_then(|n| {
                n.binary_search_by_key(&s.id, |o| o.id)
                    .ok()
                    .map(|i| n[i])
                    .filter(|o| o.life == s.life)
            });
            let (x, y) = (f64::from(s.x), f64::from(s.y));
            match later {
                Some(o) => (
                    s.id,
                    x + (f64::from(o.x) - x) * t,
                    y + (f64::from(o.y) - y) * t,
                ),
                None => (s.id, x, y),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(tick: u32, frac: u8) -> ViewTime {
        ViewTime {
            tick: Tick(tick),
            frac,
        }
    }

    #[test]
    fn claims_are_bounded_by_the_maximum_rewind_and_the_present() {
        let j = Past::judge(at(95, 128), Tick(100), 12);
        assert_eq!((j.at, j.rewind, j.clamped), (at(95, 128), 5, false));
        let j = Past::judge(at(80, 0), Tick(100), 12);
        assert_eq!((j.at, j.rewind, j.clamped), (at(88, 0), 12, true));
        let j = Past::judge(at(88, 1), Tick(100), 12);
        assert!(j.clamped, "past the bound by a fraction of a tick");
        let j = Past::judge(at(101, 0), Tick(100), 12);
        assert_eq!((j.at, j.clamped), (at(100, 0), true));
        // Across the wrap of the tick counter.
        let j = Past::judge(at(u32::MAX - 1, 0), Tick(2), 12);
        assert_eq!((j.rewind, j.clamped), (4, false));
        // No rewind at all: every claim is the present.
        assert_eq!(Past::judge(at(99, 0), Tick(100), 0).at, at(100, 0));
    }

    #[test]
    fn positions_are_interpolated_as_a_client_draws_them() {
        let mut past = Past::new(2);
        for t in 0..6u32 {
            let x = 1000 * t as i32;
            // Player 2 respawns between ticks 4 and 5: no slide across the map.
            let life = u8::from(t >= 5);
            past.record(
                Tick(t),
                [(EntityId(1), x, 0, 0), (EntityId(2), -x, 7, life)].into_iter(),
            );
        }
        assert_eq!(past.players_at(at(1, 0)).count(), 0, "forgotten");
        let p: Vec<_> = past.players_at(at(3, 64)).collect();
        assert_eq!(
            p,
            vec![(EntityId(1), 3250.0, 0.0), (EntityId(2), -3250.0, 7.0)]
        );
        let p: Vec<_> = past.players_at(at(4, 128)).collect();
        assert_eq!(p[1], (EntityId(2), -4000.0, 7.0));
        // The newest tick has no next one to move towards.
        let p: Vec<_> = past.players_at(at(5, 200)).collect();
        assert_eq!(p[0], (EntityId(1), 5000.0, 0.0));
    }
}
