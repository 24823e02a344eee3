//! Watching a recorded match (`/#replay=ID`): pause, speed and seek. The server plays a replay
//! from a tick at a speed, so each control is a new connection asking for the new values
//! (pausing is closing it and remembering the tick); no platform code here.

use snapwire_shared::protocol::{MAX_REPLAY_SPEED_PERCENT, MIN_REPLAY_SPEED_PERCENT, RoomRequest};

/// Speeds offered, in percent of the match's own.
pub const SPEEDS: [u16; 4] = [MIN_REPLAY_SPEED_PERCENT, 100, 200, MAX_REPLAY_SPEED_PERCENT];

/// Seeking moves by this many seconds, to a multiple of it: the replay's keyframes (where a
/// viewer can start).
pub const SEEK_SECONDS: u32 = 5;

#[derive(Debug, Clone, PartialEq)]
pub struct Replay {
    pub id: String,
    /// Percent of the match's speed.
    pub speed: u16,
    /// The match's tick rate and its last recorded tick (from `/replays`).
    pub tick_rate: u16,
    pub last_tick: u32,
    /// The tick shown when paused; `None` while playing.
    pub paused_at: Option<u32>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Control {
    TogglePause,
    /// Back (negative) or forward, in seek steps.
    Seek(i32),
    Faster,
    Slower,
}

/// What the shell must do with the socket after a control.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reconnect {
    /// Open a new connection at this tick (the app has a new session for it).
    From(u32),
    /// Close the connection and open none (paused).
    Pause,
}

impl Replay {
    pub fn request(&self, from_tick: u32) -> RoomRequest {
        RoomRequest::Replay {
            id: self.id.clone(),
            from_tick,
            speed_percent: self.speed,
        }
    }

    /// Applies a control while the viewer sees tick `now`; says how the connection changes.
    pub fn control(&mut self, control: Control, now: u32) -> Reconnect {
        let step = SEEK_SECONDS * u32::from(self.tick_rate.max(1));
        let here = self.paused_at.unwrap_or(now);
        match control {
            Control::TogglePause => match self.paused_at.take() {
                Some(at) => Reconnect::From(at),
                None => {
                    self.paused_at = Some(now);
                    Reconnect::Pause
                }
            },
            Control::Seek(steps) => {
                // To the keyframe before (or after) the one the viewer is in.
                let base = here / step * step;
                let target = if steps < 0 {
                    let back = step * steps.unsigned_abs();
                    // Within the first second of a keyframe, "back" means the one before.
                    if here - base < u32::from(self.tick_rate) {
                        base.saturating_sub(back)
                    } else {
                        base.saturating_sub(back - step)
                    }
                } else {
                    base.saturating_add(step * steps as u32)
                };
                self.paused_at = None;
                Reconnect::From(target.min(self.last_tick.saturating_sub(1)))
            }
            Control::Faster | Control::Slower => {
                let i = SPEEDS.iter().position(|s| *s == self.speed).unwrap_or(1);
                let i = match control {
                    Control::Faster => (i + 1).min(SPEEDS.len() - 1),
                    _ => i.saturating_sub(1),
                };
                self.speed = SPEEDS[i];
                self.paused_at = None;
                Reconnect::From(here)
            }
        }
    }

    /// The status line: where the replay is, its length, its speed, and the keys.
    pub fn status(&self, now: u32) -> String {
        let rate = u32::from(self.tick_rate.max(1));
        let at = self.paused_at.unwrap_or(now);
        let clock = |t: u32| format!("{}:{:02}", t / rate / 60, t / rate % 60);
        let state = if self.paused_at.is_some() {
            "paused".to_owned()
        } else {
            format!("{}x", f64::from(self.speed) / 100.0)
        };
        format!(
            "replay {} - {} / {} - {state} - Space pause, arrows seek {SEEK_SECONDS} s, [ ] speed",
            self.id,
            clock(at),
            clock(self.last_tick)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn replay() -> Replay {
        Replay {
            id: "abc-1".into(),
            speed: 100,
            tick_rate: 60,
            last_tick: 3600,
            paused_at: None,
        }
    }

    #[test]
    fn pausing_remembers_the_tick_and_resuming_starts_there() {
        let mut r = replay();
        assert_eq!(r.control(Control::TogglePause, 700), Reconnect::Pause);
        assert_eq!(
            r.status(900),
            "replay abc-1 - 0:11 / 1:00 - paused - Space pause, arrows seek 5 s, [ ] speed"
        );
        assert_eq!(r.control(Control::TogglePause, 900), Reconnect::From(700));
        assert_eq!(r.paused_at, None);
    }

    #[test]
    fn seeking_lands_on_keyframes_within_the_match() {
        let mut r = replay();
        assert_eq!(r.control(Control::Seek(1), 700), Reconnect::From(900));
        assert_eq!(r.control(Control::Seek(-1), 700), Reconnect::From(600));
        // Just past a keyframe, back goes to the one before.
        assert_eq!(r.control(Control::Seek(-1), 610), Reconnect::From(300));
        assert_eq!(r.control(Control::Seek(-1), 10), Reconnect::From(0));
        assert_eq!(r.control(Control::Seek(3), 3500), Reconnect::From(3599));
    }

    #[test]
    fn speed_steps_through_the_offered_ones() {
        let mut r = replay();
        assert_eq!(r.control(Control::Faster, 100), Reconnect::From(100));
        assert_eq!(r.speed, 200);
        r.control(Control::Faster, 100);
        r.control(Control::Faster, 100);
        assert_eq!(r.speed, 400);
        for _ in 0..5 {
            r.control(Control::Slower, 100);
        }
        assert_eq!(r.speed, 50);
        assert!(matches!(
            r.request(5),
            RoomRequest::Replay {
                from_tick: 5,
                speed_percent: 50,
                ..
            }
        ));
    }
}
