//! The browser's 2D canvas behind [`Canvas`]. A call the browser refuses (a negative radius, a
//! bad transform) throws in JavaScript; a frame skips that shape rather than stop drawing.

use wasm_bindgen::JsValue;
use web_sys::CanvasRenderingContext2d;

use crate::draw::Canvas;

impl Canvas for CanvasRenderingContext2d {
    fn set_transform(&self, a: f64, b: f64, c: f64, d: f64, e: f64, f: f64) {
        let _ = CanvasRenderingContext2d::set_transform(self, a, b, c, d, e, f);
    }

    fn set_fill_style_str(&self, css: &str) {
        CanvasRenderingContext2d::set_fill_style_str(self, css);
    }

    fn set_stroke_style_str(&self, css: &str) {
        CanvasRenderingContext2d::set_stroke_style_str(self, css);
    }

    fn set_line_width(&self, width: f64) {
        CanvasRenderingContext2d::set_line_width(self, width);
    }

    fn set_line_dash(&self, segments: &[f64]) {
        let array: js_sys::Array = segments.iter().map(|s| JsValue::from_f64(*s)).collect();
        let _ = CanvasRenderingContext2d::set_line_dash(self, &array);
    }

    fn set_global_alpha(&self, alpha: f64) {
        CanvasRenderingContext2d::set_global_alpha(self, alpha);
    }

    fn set_font(&self, css: &str) {
        CanvasRenderingContext2d::set_font(self, css);
    }

    fn set_text_align(&self, align: &str) {
        CanvasRenderingContext2d::set_text_align(self, align);
    }

    fn fill_rect(&self, x: f64, y: f64, w: f64, h: f64) {
        CanvasRenderingContext2d::fill_rect(self, x, y, w, h);
    }

    fn stroke_rect(&self, x: f64, y: f64, w: f64, h: f64) {
        CanvasRenderingContext2d::stroke_rect(self, x, y, w, h);
    }

    fn fill_text(&self, text: &str, x: f64, y: f64) {
        let _ = CanvasRenderingContext2d::fill_text(self, text, x, y);
    }

    fn measure_text(&self, text: &str) -> f64 {
        CanvasRenderingContext2d::measure_text(self, text).map_or(0.0, |m| m.width())
    }

    fn begin_path(&self) {
        CanvasRenderingContext2d::begin_path(self);
    }

    fn close_path(&self) {
        CanvasRenderingContext2d::close_path(self);
    }

    fn move_to(&self, x: f64, y: f64) {
        CanvasRenderingContext2d::move_to(self, x, y);
    }

    fn line_to(&self, x: f64, y: f64) {
        CanvasRenderingContext2d::line_to(self, x, y);
    }

    fn arc(&self, x: f64, y: f64, r: f64, start: f64, end: f64) {
        let _ = CanvasRenderingContext2d::arc(self, x, y, r, start, end);
    }

    fn fill(&self) {
        CanvasRenderingContext2d::fill(self);
    }

    fn stroke(&self) {
        CanvasRenderingContext2d::stroke(self);
    }
}
