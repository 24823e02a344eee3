//! Remote entities are drawn a little in the past, between two snapshots, so they move smoothly
//! although snapshots arrive with jitter (and some are skipped). The delay adapts to how late
//! snapshots arrive: it starts at two snapshot intervals and covers the 99th percentile of
//! lateness over the last five seconds, rising at once and falling slowly. Over TCP a lost
//! packet stalls everything behind it for a round trip or more, so lateness is not a bell
//! curve around the mean but mostly nothing and sometimes hundreds of milliseconds: an
//! average of it (what this used before) settled at 131 ms on the `average` link and the
//! buffer ran dry on a fifth of the frames. Past the newest snapshot it extrapolates at most a
//! little, then holds.

use std::collections::VecDeque;

use crate::game::Game;
use crate::map::Point;
use crate::quantize::POS_SCALE;
use crate::sim::{EntityId, ViewTime, World};
use crate::snapshot::{EntityState, View};
use crate::tick::Tick;

/// Snapshots kept for interpolation: half a second at 60 Hz covers any delay we choose.
const KEPT: usize = 32;

/// Arrival samples used to find the best-case (minimum) transit.
const OFFSET_WINDOW: usize = 120;

/// Lateness samples the delay covers: five seconds at 60 Hz.
const LATENESS_WINDOW: usize = 300;

/// The delay's target is recomputed once this many snapshots (a quarter second at 60 Hz).
const RETARGET_EVERY: usize = 15;

/// A jump longer than this between two snapshots (a respawn, a wrap at the map edge) is drawn
/// as a jump, not a slide across the map.
const TELEPORT: f64 = 4.0 * POS_SCALE as f64;

/// Largest delay the adaptation may choose, in milliseconds: half a second covers the stalls
/// of a 100 ms link losing a few percent of its packets; beyond, remote players would be too
/// far in the past to play against, and it is better to extrapolate briefly.
const MAX_DELAY_MS: f64 = 500.0;

/// How far past the newest snapshot positions may be extrapolated, in ticks.
const MAX_EXTRAPOLATION_TICKS: f64 = 1.0;

/// An entity where it should be drawn now.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Drawn<S = EntityState> {
    pub id: EntityId,
    pub state: S,
    /// Interpolated position in position quanta (fractional).
    pub x: f64,
    pub y: f64,
}

/// Snapshots of game `G` (the arena by default) drawn between two received ones.
#[derive(Debug)]
pub struct Interpolator<G: Game = World> {
    tick_ms: f64,
    snapshots: VecDeque<(Tick, View<G::State>)>,
    /// `arrival_ms - tick * tick_ms` for recent snapshots; its minimum is the clock offset.
    offsets: VecDeque<f64>,
    /// How late each recent snapshot arrived beyond the best case, in ms.
    lateness: VecDeque<f64>,
    /// The delay the lateness asks for, recomputed every [`RETARGET_EVERY`] snapshots.
    target_ms: f64,
    since_retarget: usize,
    delay_ms: f64,
    /// Tick 0 of the session, so tick arithmetic stays small after a wrap.
    epoch: Option<Tick>,
}

impl<G: Game> Interpolator<G> {
    pub fn new(tick_rate: u16) -> Interpolator<G> {
        let tick_ms = 1000.0 / f64::from(tick_rate.max(1));
        Interpolator {
            tick_ms,
            snapshots: VecDeque::new(),
            offsets: VecDeque::new(),
            lateness: VecDeque::new(),
            target_ms: 2.0 * tick_ms,
            since_retarget: 0,
            delay_ms: 2.0 * tick_ms,
            epoch: None,
        }
    }

    /// The current interpolation delay, in milliseconds.
    pub fn delay_ms(&self) -> f64 {
        self.delay_ms
    }

    /// The 99th percentile of lateness the delay now covers, in ms.
    pub fn jitter_ms(&self) -> f64 {
        self.target_ms - 2.0 * self.tick_ms
    }

    /// Records a verified snapshot that arrived at `arrival_ms` (any monotonic clock).
    pub fn push(&mut self, tick: Tick, view: &View<G::State>, arrival_ms: f64) {
        if self.snapshots.back().is_some_and(|(t, _)| tick <= *t) {
            return;
        }
        let epoch = *self.epoch.get_or_insert(tick);
        let offset = arrival_ms - f64::from(tick.since(epoch)) * self.tick_ms;
        self.offsets.push_back(offset);
        if self.offsets.len() > OFFSET_WINDOW {
            self.offsets.pop_front();
        }
        let best = self.offsets.iter().copied().fold(f64::INFINITY, f64::min);
        self.lateness.push_back(offset - best);
        if self.lateness.len() > LATENESS_WINDOW {
            self.lateness.pop_front();
        }
        self.since_retarget += 1;
        if self.since_retarget >= RETARGET_EVERY {
            self.since_retarget = 0;
            let mut sorted: Vec<f64> = self.lateness.iter().copied().collect();
            let k = (sorted.len() * 99 / 100).min(sorted.len() - 1);
            let (_, p99, _) = sorted.select_nth_unstable_by(k, f64::total_cmp);
            // Two snapshot intervals to interpolate between, plus the lateness to ride out.
            self.target_ms = (2.0 * self.tick_ms + *p99).min(MAX_DELAY_MS);
        }
        // Up at once (an underrun is what a user sees), down slowly (a calm spell is no promise).
        if self.target_ms > self.delay_ms {
            self.delay_ms = self.target_ms;
        } else {
            self.delay_ms += (self.target_ms - self.delay_ms) * 0.01;
        }
        self.snapshots.push_back((tick, view.clone()));
        if self.snapshots.len() > KEPT {
            self.snapshots.pop_front();
        }
    }

    /// How far the render time at `now_ms` is past the newest snapshot, in ms: above zero the
    /// buffer has run dry (an underrun) and remote entities are extrapolated (up to a tick),
    /// then held still.
    pub fn ahead_ms(&self, now_ms: f64) -> f64 {
        let (Some(epoch), Some((newest_tick, _))) = (self.epoch, self.snapshots.back()) else {
            return 0.0;
        };
        let best = self.offsets.iter().copied().fold(f64::INFINITY, f64::min);
        let render_tick = (now_ms - self.delay_ms - best) / self.tick_ms;
        ((render_tick - f64::from(newest_tick.since(epoch))) * self.tick_ms).max(0.0)
    }

    /// The moment drawn at `now_ms`, as a tick and a fraction of the next: what inputs tell the
    /// server a shot was aimed at (lag compensation). Never past the newest snapshot (beyond
    /// it nothing was seen).
    pub fn view_time(&self, now_ms: f64) -> Option<ViewTime> {
        let (epoch, (newest_tick, _)) = (self.epoch?, self.snapshots.back()?);
        let best = self.offsets.iter().copied().fold(f64::INFINITY, f64::min);
        let render_tick = (now_ms - self.delay_ms - best) / self.tick_ms;
        let newest = f64::from(newest_tick.since(epoch));
        let oldest = f64::from(self.snapshots.front()?.0.since(epoch));
        let at = render_tick.clamp(oldest, newest);
        let whole = at.floor();
        Some(ViewTime {
            tick: epoch.plus(whole as u32),
            frac: ((at - whole) * 256.0).floor().clamp(0.0, 255.0) as u8,
        })
    }

    /// Whether the delay has adapted: five seconds of lateness seen. Before, it is still
    /// learning the link (and starts short).
    pub fn adapted(&self) -> bool {
        self.lateness.len() >= LATENESS_WINDOW
    }

    /// The length of a tick, in ms.
    pub fn tick_ms(&self) -> f64 {
        self.tick_ms
    }

    /// Every entity of the newest snapshot, placed for time `now_ms` (the clock of `push`).
    pub fn sample(&self, now_ms: f64) -> Vec<Drawn<G::State>> {
        let (Some(epoch), Some((newest_tick, newest))) = (self.epoch, self.snapshots.back()) else {
            return Vec::new();
        };
        let best = self.offsets.iter().copied().fold(f64::INFINITY, f64::min);
        let render_tick = (now_ms - self.delay_ms - best) / self.tick_ms;
        let newest_at = f64::from(newest_tick.since(epoch));
        // The pair of snapshots around `render_tick`; past the newest, the newest with itself.
        let mut from = self.snapshots.len() - 1;
        while from > 0 && f64::from(self.snapshots[from].0.since(epoch)) > render_tick {
            from -= 1;
        }
        let (from_tick, from_view) = &self.snapshots[from];
        let to = (from + 1).min(self.snapshots.len() - 1);
        let (to_tick, to_view) = &self.snapshots[to];
        let (a, b) = (
            f64::from(from_tick.since(epoch)),
            f64::from(to_tick.since(epoch)),
        );
        let t = if b > a {
            ((render_tick - a) / (b - a)).clamp(0.0, 1.0)
        } else {
            0.0
        };
        let ahead = (render_tick - newest_at).clamp(0.0, MAX_EXTRAPOLATION_TICKS);

        newest
            .entities()
            .iter()
            .map(|(id, state)| {
                let at = G::position_of(state);
                let (x, y) = match (from_view.get(*id), to_view.get(*id)) {
                    (_, _) if ahead > 0.0 && G::extrapolate(state).is_some() => {
                        let (vx, vy) = G::extrapolate(state).unwrap_or_default();
                        (
                            f64::from(at.x) + f64::from(vx) * ahead,
                            f64::from(at.y) + f64::from(vy) * ahead,
                        )
                    }
                    (Some(p), Some(q)) => lerp(G::position_of(p), G::position_of(q), t),
                    (None, Some(q)) => {
                        let q = G::position_of(q);
                        (f64::from(q.x), f64::from(q.y))
                    }
                    // Not in the pair yet: newer than the render time; show where it appeared.
                    _ => (f64::from(at.x), f64::from(at.y)),
                };
                Drawn {
                    id: *id,
                    state: *state,
                    x,
                    y,
                }
            })
            .collect()
    }
}

fn lerp(p: Point, q: Point, t: f64) -> (f64, f64) {
    let (dx, dy) = (
        f64::from(q.x) - f64::from(p.x),
        f64::from(q.y) - f64::from(p.y),
    );
    if dx.abs() > TELEPORT || dy.abs() > TELEPORT {
        return if t < 1.0 {
            (f64::from(p.x), f64::from(p.y))
        } else {
            (f64::from(q.x), f64::from(q.y))
        };
    }
    (f64::from(p.x) + dx * t, f64::from(p.y) + dy * t)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::snapshot::EntityKind;

    fn view(x: i32) -> View {
        let s = EntityState {
            kind: EntityKind::Player,
            x,
            y: 0,
            ..Default::default()
        };
        View::from_sorted(vec![(EntityId(1), s)])
    }

    fn x_at(i: &Interpolator, now: f64) -> f64 {
        i.sample(now)[0].x
    }

    #[test]
    fn interpolates_between_snapshots_two_intervals_back() {
        let mut i: Interpolator = Interpolator::new(50); // 20 ms per tick
        for k in 0..10 {
            i.push(
                Tick(100 + k),
                &view(k as i32 * 1000),
                1000.0 + f64::from(k) * 20.0,
            );
        }
        // Tick 109 arrived at 1180; with a 40 ms delay, at 1190 we draw tick 107.5.
        assert!((i.delay_ms() - 40.0).abs() < 1e-9);
        assert!((x_at(&i, 1190.0) - 7500.0).abs() < 1e-6);
    }

    #[test]
    fn never_extrapolates_players_and_only_briefly_others() {
        let mut i: Interpolator = Interpolator::new(50);
        for k in 0..3 {
            i.push(Tick(k), &view(k as i32 * 1000), f64::from(k) * 20.0);
        }
        assert_eq!(x_at(&i, 10_000.0), 2000.0);
    }

    #[test]
    fn jitter_grows_the_delay() {
        let mut i: Interpolator = Interpolator::new(60);
        let start = i.delay_ms();
        for k in 0..300u32 {
            let late = if k % 2 == 0 { 0.0 } else { 30.0 };
            i.push(Tick(k), &view(0), f64::from(k) * 1000.0 / 60.0 + late);
        }
        assert!(
            i.delay_ms() > start + 10.0,
            "delay {} from {start}",
            i.delay_ms()
        );
        assert!(i.delay_ms() <= MAX_DELAY_MS);
    }

    #[test]
    fn respawns_jump_instead_of_sliding() {
        let mut i: Interpolator = Interpolator::new(50);
        i.push(Tick(0), &view(0), 0.0);
        i.push(Tick(1), &view(50_000), 20.0);
        i.push(Tick(2), &view(50_000), 40.0);
        let x = x_at(&i, 20.0 + 40.0 + 10.0); // halfway between ticks 0 and 1... of a teleport
        assert!(x == 0.0 || x == 50_000.0, "slid to {x}");
    }
}
