//! Remote entities are drawn a little in the past, between two snapshots, so they move smoothly
//! although snapshots arrive with jitter (and some are skipped). The delay adapts to the jitter
//! measured on arrival times: it starts near two snapshot intervals and grows when the network
//! is rough. Past the newest snapshot it extrapolates at most a little, then holds.

use std::collections::VecDeque;

use crate::game::Game;
use crate::map::Point;
use crate::quantize::POS_SCALE;
use crate::sim::{EntityId, World};
use crate::snapshot::{EntityState, View};
use crate::tick::Tick;

/// Snapshots kept for interpolation: half a second at 60 Hz covers any delay we choose.
const KEPT: usize = 32;

/// Arrival samples used to find the best-case (minimum) transit.
const OFFSET_WINDOW: usize = 120;

/// A jump longer than this between two snapshots (a respawn, a wrap at the map edge) is drawn
/// as a jump, not a slide across the map.
const TELEPORT: f64 = 4.0 * POS_SCALE as f64;

/// Largest delay the adaptation may choose, in milliseconds.
const MAX_DELAY_MS: f64 = 250.0;

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
    /// Exponential average of how late snapshots arrive beyond the best case, in ms.
    jitter_ms: f64,
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
            jitter_ms: 0.0,
            delay_ms: 2.0 * tick_ms,
            epoch: None,
        }
    }

    /// The current interpolation delay, in milliseconds.
    pub fn delay_ms(&self) -> f64 {
        self.delay_ms
    }

    pub fn jitter_ms(&self) -> f64 {
        self.jitter_ms
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
        let late = offset - best;
        self.jitter_ms += (late - self.jitter_ms) * 0.1;
        // Two snapshot intervals, plus enough to ride out typical lateness.
        let target = (2.0 * self.tick_ms + 2.0 * self.jitter_ms).min(MAX_DELAY_MS);
        self.delay_ms += (target - self.delay_ms) * 0.05;
        self.snapshots.push_back((tick, view.clone()));
        if self.snapshots.len() > KEPT {
            self.snapshots.pop_front();
        }
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
