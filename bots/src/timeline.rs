//! The run over time: one sample a second of what the live counters say, and a self-contained
//! HTML page that charts them (`--chart FILE`; inline SVG, no scripts, opens anywhere).

use std::fmt::Write as _;
use std::sync::atomic::Ordering;
use std::sync::{Mutex, PoisonError};

use hdrhistogram::Histogram;
use serde::Serialize;

use crate::Live;
use crate::report::latency_histogram;

/// One second of the run.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Sample {
    /// Seconds since the first bot started.
    pub t_s: f64,
    pub connected: u64,
    pub snapshots_per_bot_per_s: f64,
    pub kbps_per_bot: f64,
    pub input_to_ack_p50_ms: f64,
    pub input_to_ack_p99_ms: f64,
}

/// Input-to-ack latencies since the last sample, shared by every bot.
#[derive(Debug)]
pub struct IntervalLatency(Mutex<Histogram<u64>>);

impl Default for IntervalLatency {
    fn default() -> IntervalLatency {
        IntervalLatency(Mutex::new(latency_histogram()))
    }
}

impl IntervalLatency {
    pub fn record(&self, us: u64) {
        let mut h = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        let _ = h.record(us.max(1));
    }

    /// (p50, p99) in ms since the last call, and starts a new interval.
    fn take(&self) -> (f64, f64) {
        let mut h = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        let ms = |p| {
            if h.is_empty() {
                0.0
            } else {
                h.value_at_percentile(p) as f64 / 1000.0
            }
        };
        let out = (ms(50.0), ms(99.0));
        h.reset();
        out
    }
}

/// Turns counter readings a second apart into samples.
#[derive(Debug, Default)]
pub struct Sampler {
    last: Option<(f64, u64, u64)>,
    pub samples: Vec<Sample>,
}

impl Sampler {
    pub fn sample(&mut self, t_s: f64, live: &Live) {
        let snapshots = live.snapshots.load(Ordering::Relaxed);
        let bytes = live.bytes_in.load(Ordering::Relaxed);
        let connected = live
            .connected
            .load(Ordering::Relaxed)
            .saturating_sub(live.finished.load(Ordering::Relaxed));
        let (p50, p99) = live.latency.take();
        if let Some((t0, s0, b0)) = self.last {
            let dt = (t_s - t0).max(1e-3);
            let per_bot = |v: u64| v as f64 / dt / connected.max(1) as f64;
            self.samples.push(Sample {
                t_s,
                connected,
                snapshots_per_bot_per_s: per_bot(snapshots - s0),
                kbps_per_bot: per_bot(bytes - b0) * 8.0 / 1000.0,
                input_to_ack_p50_ms: p50,
                input_to_ack_p99_ms: p99,
            });
        }
        self.last = Some((t_s, snapshots, bytes));
    }
}

/// A chart's name and how to read its value from a sample.
type Series = (&'static str, fn(&Sample) -> f64);

/// The HTML page: a title, the report as JSON, and one chart per series.
pub fn chart_html(title: &str, report_json: &str, samples: &[Sample]) -> String {
    let series: [Series; 5] = [
        ("bots connected", |s| s.connected as f64),
        ("snapshots per bot per second", |s| {
            s.snapshots_per_bot_per_s
        }),
        ("kbps per bot (download)", |s| s.kbps_per_bot),
        ("input-to-ack p50 (ms)", |s| s.input_to_ack_p50_ms),
        ("input-to-ack p99 (ms)", |s| s.input_to_ack_p99_ms),
    ];
    let mut html = String::new();
    let _ = write!(
        html,
        "<!doctype html><meta charset=utf-8><title>{t}</title>\
         <style>body{{font:14px sans-serif;margin:2em}}svg{{background:#fafafa;border:1px solid #ddd}}\
         pre{{background:#f4f4f4;padding:1em}}</style><h1>{t}</h1>",
        t = escape(title)
    );
    for (name, f) in series {
        let points: Vec<(f64, f64)> = samples.iter().map(|s| (s.t_s, f(s))).collect();
        html.push_str(&svg_chart(name, &points));
    }
    let _ = write!(html, "<h2>report</h2><pre>{}</pre>", escape(report_json));
    html
}

fn svg_chart(name: &str, points: &[(f64, f64)]) -> String {
    const W: f64 = 720.0;
    const H: f64 = 160.0;
    const PAD: f64 = 40.0;
    let t_max = points.iter().map(|p| p.0).fold(1.0, f64::max);
    let v_max = points.iter().map(|p| p.1).fold(0.0, f64::max).max(1e-9) * 1.1;
    let xy = |(t, v): (f64, f64)| {
        (
            PAD + t / t_max * (W - 2.0 * PAD),
            H - PAD / 2.0 - v / v_max * (H - PAD),
        )
    };
    let line: Vec<String> = points
        .iter()
        .map(|&p| {
            let (x, y) = xy(p);
            format!("{x:.1},{y:.1}")
        })
        .collect();
    let last = points.last().map_or(0.0, |p| p.1);
    format!(
        "<h3>{name}</h3><svg width={W} height={H} viewBox='0 0 {W} {H}'>\
         <line x1={PAD} y1={y0} x2={x1} y2={y0} stroke=#999 />\
         <text x=2 y=14>{v_max:.1}</text><text x=2 y={y0}>0</text>\
         <text x={x1} y={ty} text-anchor=end>{t_max:.0} s</text>\
         <polyline fill=none stroke=#2a6 stroke-width=2 points='{pts}' />\
         <text x={x1} y=14 text-anchor=end>last {last:.2}</text></svg>",
        name = escape(name),
        y0 = H - PAD / 2.0,
        x1 = W - PAD,
        ty = H - 4.0,
        pts = line.join(" "),
    )
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples_are_rates_and_the_chart_is_self_contained() {
        let live = Live::default();
        let mut sampler = Sampler::default();
        live.connected.store(10, Ordering::Relaxed);
        sampler.sample(0.0, &live);
        live.snapshots.store(600, Ordering::Relaxed);
        live.bytes_in.store(60_000, Ordering::Relaxed);
        live.latency.record(17_000);
        sampler.sample(1.0, &live);
        let s = &sampler.samples[0];
        assert_eq!(s.connected, 10);
        assert!((s.snapshots_per_bot_per_s - 60.0).abs() < 1e-9);
        assert!((s.kbps_per_bot - 48.0).abs() < 1e-9);
        assert!((s.input_to_ack_p99_ms - 17.0).abs() < 0.1);
        let html = chart_html("run <1>", "{}", &sampler.samples);
        assert!(html.contains("<svg") && html.contains("run &lt;1&gt;"));
        assert!(!html.contains("<script"));
    }
}
