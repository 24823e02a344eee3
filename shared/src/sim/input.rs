//! Player input: the wire form parsed into the quantized form the rules consume.

use thiserror::Error;

use crate::protocol::InputMsg;
use crate::quantize::angle_from_radians;

/// Input for one player step, quantized: this, not the wire floats, is what the rules see, so a
/// predicting client and the server step from identical values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PlayerInput {
    /// Movement axes in `[-127, 127]`.
    pub move_x: i8,
    pub move_y: i8,
    pub aim: u16,
    pub fire: bool,
}

#[derive(Debug, Error, PartialEq)]
pub enum InputError {
    #[error("movement axis {0} is not a finite number in [-1, 1]")]
    Axis(f32),
    #[error("aim angle {0} is not finite")]
    Aim(f32),
}

impl PlayerInput {
    pub fn parse(msg: &InputMsg) -> Result<PlayerInput, InputError> {
        let axis = |v: f32| {
            if v.is_finite() && (-1.0..=1.0).contains(&v) {
                Ok((v * 127.0).round() as i8)
            } else {
                Err(InputError::Axis(v))
            }
        };
        if !msg.aim.is_finite() {
            return Err(InputError::Aim(msg.aim));
        }
        Ok(PlayerInput {
            move_x: axis(msg.move_x)?,
            move_y: axis(msg.move_y)?,
            aim: angle_from_radians(msg.aim),
            fire: msg.fire,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tick::Tick;

    fn msg(move_x: f32, move_y: f32, aim: f32) -> InputMsg {
        InputMsg {
            seq: 1,
            tick: Tick(0),
            move_x,
            move_y,
            aim,
            fire: false,
            ack: false,
        }
    }

    #[test]
    fn rejects_non_finite_and_out_of_range() {
        assert!(PlayerInput::parse(&msg(f32::NAN, 0.0, 0.0)).is_err());
        assert!(PlayerInput::parse(&msg(0.0, f32::INFINITY, 0.0)).is_err());
        assert!(PlayerInput::parse(&msg(1.5, 0.0, 0.0)).is_err());
        assert!(PlayerInput::parse(&msg(0.0, 0.0, f32::NEG_INFINITY)).is_err());
        let ok = PlayerInput::parse(&msg(1.0, -1.0, 0.0)).expect("valid");
        assert_eq!((ok.move_x, ok.move_y), (127, -127));
    }
}
