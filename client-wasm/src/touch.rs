//! Touch controls, as geometry: the first touch on the left half of the screen is a virtual
//! stick (its start is the stick's centre, how far it moves is how fast the player runs); a
//! touch elsewhere aims at where it is and fires while held. No browser API here.

/// How far (CSS pixels) a stick touch moves from its start for full speed.
pub const STICK_RADIUS: f64 = 56.0;

#[derive(Debug, Default, Clone, PartialEq)]
pub struct Touches {
    stick: Option<Tracked>,
    aim: Option<Tracked>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
struct Tracked {
    id: i32,
    start: (f64, f64),
    at: (f64, f64),
}

impl Touches {
    /// A new touch at `(x, y)` on a screen `width` pixels wide.
    pub fn start(&mut self, id: i32, x: f64, y: f64, width: f64) {
        let t = Tracked {
            id,
            start: (x, y),
            at: (x, y),
        };
        if x < width / 2.0 && self.stick.is_none() {
            self.stick = Some(t);
        } else if self.aim.is_none() {
            self.aim = Some(t);
        }
    }

    pub fn moved(&mut self, id: i32, x: f64, y: f64) {
        for t in [&mut self.stick, &mut self.aim].into_iter().flatten() {
            if t.id == id {
                t.at = (x, y);
            }
        }
    }

    /// The touch ended or was cancelled.
    pub fn end(&mut self, id: i32) {
        if self.stick.is_some_and(|t| t.id == id) {
            self.stick = None;
        }
        if self.aim.is_some_and(|t| t.id == id) {
            self.aim = None;
        }
    }

    pub fn clear(&mut self) {
        *self = Touches::default();
    }

    /// Movement axes in `[-1, 1]` from the stick (length at most 1); `None` without a stick.
    pub fn axes(&self) -> Option<(f32, f32)> {
        let t = self.stick?;
        let (dx, dy) = (t.at.0 - t.start.0, t.at.1 - t.start.1);
        let len = dx.hypot(dy);
        let k = if len > STICK_RADIUS {
            1.0 / len
        } else {
            1.0 / STICK_RADIUS
        };
        Some(((dx * k) as f32, (dy * k) as f32))
    }

    /// Where the aiming touch is, while one is down.
    pub fn aim_point(&self) -> Option<(f64, f64)> {
        self.aim.map(|t| t.at)
    }

    /// The stick's centre and the touch, for drawing it.
    pub fn stick(&self) -> Option<((f64, f64), (f64, f64))> {
        self.stick.map(|t| (t.start, t.at))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn left_touch_steers_and_right_touch_aims() {
        let mut t = Touches::default();
        t.start(1, 80.0, 700.0, 390.0);
        t.start(2, 300.0, 200.0, 390.0);
        assert_eq!(t.axes(), Some((0.0, 0.0)));
        t.moved(1, 80.0 + STICK_RADIUS / 2.0, 700.0);
        assert_eq!(t.axes(), Some((0.5, 0.0)));
        // Past the radius: full speed, never more.
        t.moved(1, 80.0 + 300.0, 700.0 + 400.0);
        let (x, y) = t.axes().expect("stick");
        assert!(((x * x + y * y).sqrt() - 1.0).abs() < 1e-6);
        assert_eq!(t.aim_point(), Some((300.0, 200.0)));
        t.end(1);
        assert_eq!(t.axes(), None);
        assert!(t.aim_point().is_some());
        // A second touch on the left while the stick is free becomes the stick again.
        t.start(3, 10.0, 10.0, 390.0);
        assert!(t.stick().is_some());
        t.clear();
        assert_eq!((t.axes(), t.aim_point()), (None, None));
    }
}
