//! The drawing interface: what the HUD ([`crate::render`]) and each game's renderer
//! ([`crate::games`]) draw through, in CSS pixels. The page implements it over the browser's 2D
//! canvas (in `web`, the one place that touches the DOM); a test can implement it to see what
//! a frame draws. The shapes every game uses are here too.
//!
//! The methods are the 2D canvas's own, by the same names, so a renderer reads like canvas
//! code; what the browser may refuse (an arc of negative radius) is dropped, as a canvas drops
//! a bad path.

/// A 2D canvas: state (colours, font, line, alpha, transform), paths and text.
pub trait Canvas {
    fn set_transform(&self, a: f64, b: f64, c: f64, d: f64, e: f64, f: f64);
    fn set_fill_style_str(&self, css: &str);
    fn set_stroke_style_str(&self, css: &str);
    fn set_line_width(&self, width: f64);
    /// Dash and gap lengths; empty for a solid line.
    fn set_line_dash(&self, segments: &[f64]);
    fn set_global_alpha(&self, alpha: f64);
    fn set_font(&self, css: &str);
    /// `left`, `center` or `right`.
    fn set_text_align(&self, align: &str);
    fn fill_rect(&self, x: f64, y: f64, w: f64, h: f64);
    fn stroke_rect(&self, x: f64, y: f64, w: f64, h: f64);
    fn fill_text(&self, text: &str, x: f64, y: f64);
    /// The width `text` takes in the current font.
    fn measure_text(&self, text: &str) -> f64;
    fn begin_path(&self);
    fn close_path(&self);
    fn move_to(&self, x: f64, y: f64);
    fn line_to(&self, x: f64, y: f64);
    fn arc(&self, x: f64, y: f64, r: f64, start: f64, end: f64);
    fn fill(&self);
    fn stroke(&self);
}

/// The screen being drawn on: its size in CSS pixels and its device pixel ratio.
#[derive(Debug, Clone, Copy)]
pub struct Screen {
    pub width: f64,
    pub height: f64,
    pub dpr: f64,
}

impl Screen {
    /// Narrow screens (phones held upright) get a smaller HUD.
    pub fn narrow(&self) -> bool {
        self.width < 600.0
    }
}

pub fn player_colour(id: u32) -> String {
    format!("hsl({}, 70%, 55%)", id.wrapping_mul(137) % 360)
}

pub fn circle(ctx: &dyn Canvas, x: f64, y: f64, r: f64) {
    ctx.begin_path();
    ctx.arc(x, y, r.max(1.0), 0.0, std::f64::consts::TAU);
    ctx.fill();
}

/// A player's name above it.
pub fn name_tag(ctx: &dyn Canvas, name: &str, x: f64, y: f64) {
    ctx.set_fill_style_str("#e8e8e8");
    ctx.set_font("13px system-ui, sans-serif");
    ctx.set_text_align("center");
    ctx.fill_text(name, x, y);
    ctx.set_text_align("left");
}

/// A ring around the own player.
pub fn own_ring(ctx: &dyn Canvas, x: f64, y: f64, r: f64) {
    ctx.set_stroke_style_str("#ffffff");
    ctx.set_line_width(2.0);
    ctx.begin_path();
    ctx.arc(x, y, r + 2.0, 0.0, std::f64::consts::TAU);
    ctx.stroke();
}

/// A line of news across the middle of the screen ("You are it").
pub fn banner(ctx: &dyn Canvas, screen: Screen, text: &str) {
    ctx.set_font("bold 18px system-ui, sans-serif");
    ctx.set_text_align("center");
    ctx.set_fill_style_str("#ffd166");
    ctx.fill_text(text, screen.width / 2.0, screen.height / 2.0 - 40.0);
    ctx.set_text_align("left");
}
