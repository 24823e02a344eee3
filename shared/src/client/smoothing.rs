//! Small prediction corrections are blended in over a few frames instead of snapped: the drawn
//! position carries an offset that decays towards zero. Large ones (a respawn) snap.

use crate::quantize::POS_SCALE;

/// Half-life of a correction on screen, in milliseconds.
const HALF_LIFE_MS: f64 = 50.0;

/// Corrections longer than this (position quanta) are shown at once.
const SNAP: f64 = 2.0 * POS_SCALE as f64;

#[derive(Debug, Default, Clone, Copy, PartialEq)]
pub struct Smoother {
    /// Drawn position minus true predicted position, in position quanta.
    offset: (f64, f64),
}

impl Smoother {
    /// The predicted present moved by `delta`: keep drawing where we were, then glide.
    pub fn correct(&mut self, delta: (i32, i32)) {
        let (dx, dy) = (f64::from(delta.0), f64::from(delta.1));
        self.offset = (self.offset.0 - dx, self.offset.1 - dy);
        if self.offset.0.hypot(self.offset.1) > SNAP {
            self.offset = (0.0, 0.0);
        }
    }

    /// Decays the offset by `dt_ms` and returns where to draw a body predicted at `(x, y)`.
    pub fn draw(&mut self, x: f64, y: f64, dt_ms: f64) -> (f64, f64) {
        let keep = 0.5f64.powf(dt_ms.max(0.0) / HALF_LIFE_MS);
        self.offset = (self.offset.0 * keep, self.offset.1 * keep);
        (x + self.offset.0, y + self.offset.1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_corrections_glide_and_large_ones_snap() {
        let mut s = Smoother::default();
        s.correct((100, 0));
        let (x, _) = s.draw(1100.0, 0.0, 0.0);
        assert_eq!(x, 1000.0, "starts where it was drawn");
        let (x, _) = s.draw(1100.0, 0.0, 50.0);
        assert!(
            (x - 1050.0).abs() < 1e-9,
            "half-way after one half-life: {x}"
        );
        s.correct((5000, 0));
        assert_eq!(s.draw(0.0, 0.0, 0.0), (0.0, 0.0));
    }
}
