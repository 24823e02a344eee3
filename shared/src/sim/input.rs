//! Player input: the wire form parsed into the quantized form the rules consume.

use thiserror::Error;

use crate::protocol::{BUTTON_ACK, BUTTON_ALT, BUTTON_FIRE, InputMsg};
use crate::quantize::angle_from_radians;
use crate::tick::Tick;

/// Input for one player step, quantized: this, not the wire floats, is what the rules see, so a
/// predicting client and the server step from identical values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct PlayerInput {
    /// Movement axes in `[-127, 127]`.
    pub move_x: i8,
    pub move_y: i8,
    pub aim: u16,
    pub fire: bool,
    /// The alternate weapon (the arena's hitscan rail).
    pub alt_fire: bool,
    /// The moment the player was looking at remote entities when it made this input: shots are
    /// judged against the world as it was then, within the rules' maximum rewind.
    pub view: ViewTime,
}

/// A point in the past of the world as a client drew it: `frac`/256 of the way from the
/// snapshot of `tick` to the next.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct ViewTime {
    pub tick: Tick,
    pub frac: u8,
}

#[derive(Debug, Error, PartialEq)]
pub enum InputError {
    #[error("movement axis {0} is outside [-127, 127]")]
    Axis(i8),
    #[error("unknown button bits {0:#04x}")]
    Buttons(u8),
}

impl PlayerInput {
    /// Checks an input from the wire: every value the message can hold is either meaningful
    /// or refused, so a client cannot find a value the rules were not written for.
    pub fn parse(msg: &InputMsg) -> Result<PlayerInput, InputError> {
        for axis in [msg.move_x, msg.move_y] {
            if axis == i8::MIN {
                return Err(InputError::Axis(axis));
            }
        }
        if msg.buttons & !(BUTTON_FIRE | BUTTON_ALT | BUTTON_ACK) != 0 {
            return Err(InputError::Buttons(msg.buttons));
        }
        Ok(PlayerInput {
            move_x: msg.move_x,
            move_y: msg.move_y,
            aim: msg.aim,
            fire: msg.buttons & BUTTON_FIRE != 0,
            alt_fire: msg.buttons & BUTTON_ALT != 0,
            // Only the low 16 bits travel: the room extends them near its own tick.
            view: ViewTime {
                tick: Tick(u32::from(msg.view_tick)),
                frac: msg.view_frac,
            },
        })
    }

    /// An input from a controller's state: axes in `[-1, 1]` (clamped; NaN is no movement) and
    /// an aim in radians (a non-finite aim points along +x).
    pub fn from_controls(move_x: f32, move_y: f32, aim: f32, fire: bool) -> PlayerInput {
        let axis = |v: f32| {
            if v.is_nan() {
                0
            } else {
                (v.clamp(-1.0, 1.0) * 127.0).round() as i8
            }
        };
        PlayerInput {
            move_x: axis(move_x),
            move_y: axis(move_y),
            aim: if aim.is_finite() {
                angle_from_radians(aim)
            } else {
                0
            },
            fire,
            alt_fire: false,
            view: ViewTime::default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(move_x: i8, move_y: i8, buttons: u8) -> InputMsg {
        InputMsg {
            seq: 1,
            tick: 0,
            move_x,
            move_y,
            aim: 0,
            buttons,
            view_tick: 0,
            view_frac: 0,
        }
    }

    #[test]
    fn rejects_values_outside_the_rules() {
        assert_eq!(
            PlayerInput::parse(&msg(i8::MIN, 0, 0)),
            Err(InputError::Axis(i8::MIN))
        );
        assert!(PlayerInput::parse(&msg(0, i8::MIN, 0)).is_err());
        assert_eq!(
            PlayerInput::parse(&msg(0, 0, 8)),
            Err(InputError::Buttons(8))
        );
        let ok = PlayerInput::parse(&msg(127, -127, BUTTON_FIRE | BUTTON_ACK)).expect("valid");
        assert_eq!((ok.move_x, ok.move_y, ok.fire), (127, -127, true));
    }

    #[test]
    fn controls_clamp_and_never_fail() {
        let i = PlayerInput::from_controls(f32::NAN, 2.0, f32::INFINITY, false);
        assert_eq!((i.move_x, i.move_y, i.aim), (0, 127, 0));
        let i = PlayerInput::from_controls(-1.0, 0.5, 0.0, true);
        assert_eq!((i.move_x, i.move_y, i.fire), (-127, 64, true));
    }
}
