//! What part of the world the screen shows. Pure geometry, no browser API, so it is tested
//! natively.
//!
//! A player's camera is centred on their own player and shows the interest area the server
//! sends them (the `Welcome`'s view), fitted to the screen with the world's aspect kept. The
//! own player is therefore always at the centre of the screen, never under the HUD in a corner.
//! A spectator is sent the whole world, and sees the whole map.

/// World (position quanta) to screen (CSS pixels): `screen = offset + world * scale`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Camera {
    pub scale: f64,
    pub ox: f64,
    pub oy: f64,
    /// The screen's size in CSS pixels.
    pub width: f64,
    pub height: f64,
}

impl Camera {
    /// Shows a `view_w` x `view_h` area centred on `(cx, cy)`, as large as the screen allows.
    pub fn follow(cx: f64, cy: f64, view_w: f64, view_h: f64, width: f64, height: f64) -> Camera {
        let scale = (width / view_w.max(1.0)).min(height / view_h.max(1.0));
        Camera {
            scale,
            ox: width / 2.0 - cx * scale,
            oy: height / 2.0 - cy * scale,
            width,
            height,
        }
    }

    /// Shows the whole `map_w` x `map_h` map, centred.
    pub fn whole(map_w: f64, map_h: f64, width: f64, height: f64) -> Camera {
        Camera::follow(map_w / 2.0, map_h / 2.0, map_w, map_h, width, height)
    }

    pub fn at(&self, x: f64, y: f64) -> (f64, f64) {
        (self.ox + x * self.scale, self.oy + y * self.scale)
    }

    /// The world point under a screen point.
    pub fn world(&self, sx: f64, sy: f64) -> (f64, f64) {
        ((sx - self.ox) / self.scale, (sy - self.oy) / self.scale)
    }

    pub fn len(&self, quanta: f64) -> f64 {
        quanta * self.scale
    }

    /// Whether a screen point lies on the screen, `margin` pixels in from its edges.
    pub fn on_screen(&self, sx: f64, sy: f64, margin: f64) -> bool {
        (margin..=self.width - margin).contains(&sx)
            && (margin..=self.height - margin).contains(&sy)
    }

    /// For a point off the screen: where on the screen's edge (inset by `margin`) an arrow
    /// pointing at it goes, and the arrow's angle. `None` when the point is on screen.
    pub fn edge_marker(&self, sx: f64, sy: f64, margin: f64) -> Option<(f64, f64, f64)> {
        if self.on_screen(sx, sy, margin) {
            return None;
        }
        let (cx, cy) = (self.width / 2.0, self.height / 2.0);
        let (dx, dy) = (sx - cx, sy - cy);
        // Shrink the ray from the centre until it meets the inset rectangle.
        let fx = if dx.abs() > 0.0 {
            (cx - margin) / dx.abs()
        } else {
            f64::INFINITY
        };
        let fy = if dy.abs() > 0.0 {
            (cy - margin) / dy.abs()
        } else {
            f64::INFINITY
        };
        let f = fx.min(fy).min(1.0);
        Some((cx + dx * f, cy + dy * f, dy.atan2(dx)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_followed_player_is_at_the_centre_and_the_view_fits() {
        // A 40 x 24 unit view on a 1920 x 1080 screen: the height limits the scale.
        let cam = Camera::follow(5_000.0, 3_000.0, 40_000.0, 24_000.0, 1920.0, 1080.0);
        assert_eq!(cam.at(5_000.0, 3_000.0), (960.0, 540.0));
        assert!((cam.scale - 1080.0 / 24_000.0).abs() < 1e-12);
        let (left, top) = cam.at(5_000.0 - 20_000.0, 3_000.0 - 12_000.0);
        assert!(left >= 0.0 && top.abs() < 1e-9);
        // A phone held upright: the width limits it, the whole view width still shows.
        let cam = Camera::follow(0.0, 0.0, 40_000.0, 24_000.0, 390.0, 844.0);
        let (left, _) = cam.at(-20_000.0, 0.0);
        let (right, _) = cam.at(20_000.0, 0.0);
        assert!(left.abs() < 1e-9 && (right - 390.0).abs() < 1e-9);
        let back = cam.world(195.0, 422.0);
        assert!(back.0.abs() < 1e-9 && back.1.abs() < 1e-9);
    }

    #[test]
    fn off_screen_points_get_a_marker_on_the_edge_towards_them() {
        let cam = Camera::whole(64_000.0, 36_000.0, 1280.0, 720.0);
        assert_eq!(cam.edge_marker(640.0, 360.0, 10.0), None);
        let (x, y, angle) = cam
            .edge_marker(2000.0, 360.0, 10.0)
            .expect("off to the right");
        assert_eq!((x, y), (1270.0, 360.0));
        assert!(angle.abs() < 1e-12);
        let (x, y, _) = cam
            .edge_marker(-5000.0, -5000.0, 10.0)
            .expect("up and left");
        assert!(cam.on_screen(x, y, 9.999), "{x} {y}");
        assert!((y - 10.0).abs() < 1e-9 || (x - 10.0).abs() < 1e-9);
    }
}
