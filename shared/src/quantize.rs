//! Fixed-point units of the game rules.
//!
//! The simulation stores positions, velocities and angles as integers in these units, so the
//! server's state is exactly what a client reconstructs from the wire: there is no float state to
//! drift apart between native and wasm builds.

/// Position quanta per world unit: positions are in thousandths of a unit.
///
/// Decimal rather than a power of two so that speeds written in decimal (0.1 unit per tick) are
/// exact integers and constant motion has a constant per-tick step the delta codec can predict.
pub const POS_SCALE: i32 = 1000;

/// Angle quanta per full turn.
pub const ANGLE_STEPS: u32 = 1 << 16;

/// World units to position quanta, rounding to nearest. Saturates at the `i32` range, which the
/// map validation keeps far away.
pub fn pos_from_units(units: f64) -> i32 {
    (units * f64::from(POS_SCALE)).round() as i32
}

pub fn pos_to_units(q: i32) -> f64 {
    f64::from(q) / f64::from(POS_SCALE)
}

/// Radians (any finite value) to angle quanta, wrapping.
pub fn angle_from_radians(radians: f32) -> u16 {
    let turns = f64::from(radians) / std::f64::consts::TAU;
    let frac = turns - turns.floor();
    // `frac` is in [0, 1]; 1.0 itself (from rounding) wraps to 0 through the u16 cast of 65536.
    ((frac * f64::from(ANGLE_STEPS)).round() as u32 % ANGLE_STEPS) as u16
}

pub fn angle_to_radians(q: u16) -> f32 {
    (f64::from(q) / f64::from(ANGLE_STEPS) * std::f64::consts::TAU) as f32
}

/// Unit direction of an angle, using `libm` so native and wasm builds agree to the bit.
pub fn angle_direction(q: u16) -> (f64, f64) {
    let radians = f64::from(q) / f64::from(ANGLE_STEPS) * std::f64::consts::TAU;
    (libm::cos(radians), libm::sin(radians))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn position_quantization_is_idempotent(q in -10_000_000i32..10_000_000) {
            prop_assert_eq!(pos_from_units(pos_to_units(q)), q);
        }

        #[test]
        fn angle_quantization_is_idempotent(q: u16) {
            prop_assert_eq!(angle_from_radians(angle_to_radians(q)), q);
        }

        #[test]
        fn any_finite_angle_quantizes(r in -1.0e6f32..1.0e6) {
            let q = angle_from_radians(r);
            prop_assert_eq!(angle_from_radians(angle_to_radians(q)), q);
        }
    }
}
