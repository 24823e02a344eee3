//! How the game feels on this client's link, in numbers: what the net graph shows and the bots
//! report. Prediction corrections (how often, how far), interpolation underruns (frames whose
//! render time is past the newest snapshot: remote entities extrapolated, then frozen), and the
//! time spent that way.

use crate::quantize::POS_SCALE;

/// A correction larger than this (world units) is visible: a player sees its own character
/// jump. Below it, smoothing hides it.
pub const VISIBLE_CORRECTION_UNITS: f64 = 0.1;

#[derive(Debug, Default, Clone, Copy, PartialEq)]
pub struct Feel {
    /// Frames rendered (or, for a bot, sampled at the tick rate).
    pub frames: u64,
    /// Frames whose render time was past the newest snapshot.
    pub underruns: u64,
    /// Time spent extrapolating or holding remote entities, in ms.
    pub extrapolating_ms: f64,
    /// Snapshots that moved the predicted own player.
    pub corrections: u64,
    /// Of those, corrections over [`VISIBLE_CORRECTION_UNITS`].
    pub visible_corrections: u64,
    pub largest_correction_units: f64,
}

impl Feel {
    /// A frame lasting `frame_ms` was drawn `ahead_ms` past the newest snapshot
    /// ([`crate::client::Interpolator::ahead_ms`]).
    pub fn on_frame(&mut self, ahead_ms: f64, frame_ms: f64) {
        self.frames += 1;
        if ahead_ms > 0.0 {
            self.underruns += 1;
            self.extrapolating_ms += frame_ms.min(ahead_ms);
        }
    }

    /// A snapshot moved the predicted player by `correction` (position quanta); returns its
    /// length in world units (0 for none).
    pub fn on_correction(&mut self, correction: (i32, i32)) -> f64 {
        if correction == (0, 0) {
            return 0.0;
        }
        let units = f64::from(correction.0).hypot(f64::from(correction.1)) / f64::from(POS_SCALE);
        self.corrections += 1;
        if units > VISIBLE_CORRECTION_UNITS {
            self.visible_corrections += 1;
        }
        self.largest_correction_units = self.largest_correction_units.max(units);
        units
    }

    /// Underruns as a fraction of frames.
    pub fn underrun_fraction(&self) -> f64 {
        if self.frames == 0 {
            0.0
        } else {
            self.underruns as f64 / self.frames as f64
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_underruns_and_visible_corrections() {
        let mut f = Feel::default();
        for k in 0..100 {
            f.on_frame(if k < 3 { 5.0 } else { 0.0 }, 16.0);
        }
        assert_eq!((f.frames, f.underruns), (100, 3));
        assert!((f.extrapolating_ms - 15.0).abs() < 1e-9);
        assert_eq!(f.on_correction((0, 0)), 0.0);
        assert!((f.on_correction((30, 40)) - 0.05).abs() < 1e-9);
        f.on_correction((300, 0));
        assert_eq!((f.corrections, f.visible_corrections), (2, 1));
        assert!((f.underrun_fraction() - 0.03).abs() < 1e-9);
    }
}
