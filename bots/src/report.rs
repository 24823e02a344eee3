//! The load run's JSON report and its pass/fail verdict.

use std::collections::BTreeMap;

use hdrhistogram::Histogram;
use serde::Serialize;

use snapwire_shared::client::Feel;

use crate::assertion::{Assertion, Checked};
use crate::server_metrics::ServerFigures;

/// Figures of one bot's run.
#[derive(Debug, Clone)]
pub struct BotResult {
    /// The bot's number (its name is `bot{index}`).
    pub index: usize,
    pub connected: bool,
    /// Why the bot failed, if it did (connection error, unexpected close, bad frame).
    pub error: Option<String>,
    /// The server's close code, if the server closed the connection.
    pub close_code: Option<u16>,
    /// The room the bot joined.
    pub room: Option<String>,
    /// Entities in the bot's last verified snapshot.
    pub last_view_entities: usize,
    /// Seconds over which the bot's rates are measured: from its first snapshot to the end
    /// of the run (or its whole life if no snapshot came).
    pub active_s: f64,
    /// From the start of the bot to its first snapshot (connect, hello, welcome), in ms.
    pub join_ms: Option<f64>,
    /// From the first `Welcome` to the first verified snapshot, in ms: how long the world
    /// took to arrive once the server knew the client (the transport's handshakes apart).
    pub view_ms: Option<f64>,
    /// When the first `Welcome` came.
    pub welcomed_at: Option<std::time::Instant>,
    /// The longest wait between two verified snapshots, in ms (a reconnect's included).
    pub max_snapshot_gap_ms: f64,
    pub snapshots: u64,
    pub full_snapshots: u64,
    /// Full snapshots after a delta had come: the server had lost its baseline.
    pub full_after_delta: u64,
    pub bytes_in: u64,
    pub bytes_out: u64,
    pub desyncs: u64,
    pub inputs_sent: u64,
    pub last_acked_input: u32,
    pub prediction_checks: u64,
    pub mispredictions: u64,
    /// Straight-line distance between the first and the farthest position of the bot's
    /// player, in world units.
    pub max_travel_units: f64,
    /// Input send to server acknowledgement, in microseconds.
    pub input_to_ack_us: Histogram<u64>,
    /// Connections that dropped and were reconnected.
    pub drops: u64,
    /// Reconnects the server answered `Resumed` (the same player went on).
    pub resumes: u64,
    /// Reconnects answered with a new player (the token had expired): lost state.
    pub restarts: u64,
    /// Resumes after which the own player's id, score or health differed from before the drop.
    pub resume_state_changes: u64,
    /// Bytes of the first snapshot after each resume, and of full snapshots of the same views.
    pub resume_bytes: u64,
    pub resume_full_bytes: u64,
    /// Resumes whose first snapshot was a full one (no baseline left).
    pub resumes_full: u64,
    /// The own player's entity id at the end.
    pub player_id: Option<u32>,
    /// Still connected when the run ended.
    pub connected_at_end: bool,
    /// How the game felt ([`BotOptions::feel`]): corrections and interpolation underruns.
    pub feel: Feel,
    /// Sizes of the nonzero prediction corrections, in position quanta (1/1000 unit).
    pub correction_quanta: Histogram<u64>,
    /// The interpolation delay the bot's interpolator had adapted to at the end, in ms.
    pub interpolation_delay_ms: f64,
    /// The length of a sampled frame (a tick), in ms.
    pub interpolation_tick_ms: f64,
}

impl BotResult {
    pub fn snapshots_per_s(&self) -> f64 {
        // The window opens with the first snapshot, so that one is not counted in it.
        let counted = if self.join_ms.is_some() {
            self.snapshots.saturating_sub(1)
        } else {
            self.snapshots
        };
        if self.active_s > 0.0 {
            counted as f64 / self.active_s
        } else {
            0.0
        }
    }
}

impl Default for BotResult {
    fn default() -> BotResult {
        BotResult {
            index: 0,
            connected: false,
            error: None,
            close_code: None,
            room: None,
            last_view_entities: 0,
            active_s: 0.0,
            join_ms: None,
            view_ms: None,
            welcomed_at: None,
            snapshots: 0,
            full_snapshots: 0,
            full_after_delta: 0,
            bytes_in: 0,
            bytes_out: 0,
            desyncs: 0,
            inputs_sent: 0,
            last_acked_input: 0,
            prediction_checks: 0,
            mispredictions: 0,
            max_travel_units: 0.0,
            input_to_ack_us: latency_histogram(),
            drops: 0,
            resumes: 0,
            restarts: 0,
            resume_state_changes: 0,
            resume_bytes: 0,
            resume_full_bytes: 0,
            resumes_full: 0,
            player_id: None,
            connected_at_end: false,
            feel: Feel::default(),
            correction_quanta: correction_histogram(),
            interpolation_delay_ms: 0.0,
            interpolation_tick_ms: 0.0,
            max_snapshot_gap_ms: 0.0,
        }
    }
}

/// One quantum (1/1000 unit) to 10,000 units, at two significant figures.
pub fn correction_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 10_000_000, 2)
        .unwrap_or_else(|e| unreachable!("histogram bounds: {e}"))
}

/// One microsecond to one minute at three significant figures: a few tens of KiB per bot.
pub fn latency_histogram() -> Histogram<u64> {
    // The bounds are constants that hdrhistogram accepts.
    Histogram::new_with_bounds(1, 60_000_000, 3)
        .unwrap_or_else(|e| unreachable!("histogram bounds: {e}"))
}

#[derive(Debug, Clone, Serialize)]
pub struct Latency {
    pub p50: f64,
    pub p99: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// `websocket` or `webtransport`.
    pub transport: &'static str,
    pub bots_requested: usize,
    pub bots_connected: usize,
    /// Distinct rooms the bots joined.
    pub rooms: usize,
    pub errors: usize,
    pub desyncs: u64,
    /// Medians over bots.
    pub snapshots_per_bot_per_s: f64,
    /// The slowest bot's snapshots per second: "every bot got at least" (0 when none ran).
    pub snapshots_per_bot_per_s_min: f64,
    pub bytes_per_bot_per_s: f64,
    pub kbps_per_bot: f64,
    pub bytes_per_snapshot: f64,
    pub full_snapshot_fraction: f64,
    pub input_to_ack_ms: Latency,
    /// From a bot's start to its first snapshot: connect, upgrade, hello and welcome, over
    /// bots that got one. The rates above are measured after it.
    pub join_ms: Latency,
    pub join_ms_max: f64,
    /// From a bot's first `Welcome` to its first verified snapshot (the whole view, without
    /// a byte budget), in ms: the world's transfer without the handshakes.
    pub view_ms: Latency,
    pub view_ms_max: f64,
    /// The longest wait any bot had between two verified snapshots, in ms, and the median
    /// over bots of each one's longest.
    pub snapshot_gap_ms_max: f64,
    pub snapshot_gap_ms_median: f64,
    pub prediction_checks: u64,
    pub mispredictions: u64,
    /// Bots connected when the run ended (a bot whose link dropped reconnects until then).
    pub bots_connected_at_end: usize,
    /// Connections that dropped and were reconnected, over all bots.
    pub drops: u64,
    /// Reconnects that continued the same player (`Resumed`).
    pub resumes: u64,
    /// Reconnects that got a new player instead (the server no longer knew the token): each
    /// one is a player's state lost. Any fails the run.
    pub restarts: u64,
    /// Resumes after which the own player's id, score or health differed from before the
    /// drop (with no one firing, any is lost state).
    pub resume_state_changes: u64,
    /// Bytes of the first snapshot after each resume, summed, and what full snapshots of the
    /// same views would have taken: the second over the first is what resuming from the
    /// acknowledged baseline saved.
    pub resume_snapshot_bytes: u64,
    pub resume_full_snapshot_bytes: u64,
    /// Resumes whose first snapshot was full anyway (the server no longer held the baseline).
    pub resumes_full: u64,
    /// Snapshots that moved a bot's predicted player, over all bots, and how far (units, of
    /// those that moved it); how many moved it visibly (over 0.1 units).
    pub corrections: u64,
    pub visible_corrections: u64,
    pub correction_units: Latency,
    pub largest_correction_units: f64,
    /// With `--feel`, once each bot's delay has adapted (five seconds into a connection):
    /// frames (sampled at the tick rate) whose render time was past the newest snapshot, as a
    /// fraction of all frames; the share of time spent extrapolating or holding; the median
    /// interpolation delay the bots adapted to.
    pub interpolation_underrun_fraction: f64,
    pub extrapolating_fraction: f64,
    pub interpolation_delay_ms: f64,
    pub duration_s: f64,
    /// The server's own figures over the run, from its `/metrics` (absent if unreachable).
    pub server_tick_p50_ms: Option<f64>,
    pub server_tick_p99_ms: Option<f64>,
    pub server_overruns: Option<f64>,
    pub server_skipped_ticks: Option<f64>,
    /// Snapshots the server replaced before a bot read them (the bots fell behind).
    pub server_outbox_skipped: Option<f64>,
    /// Errors by message, for a quick look at what went wrong.
    pub error_kinds: BTreeMap<String, usize>,
    /// `--assert` conditions and how they came out.
    pub assertions: Vec<Checked>,
    pub pass: bool,
}

impl Report {
    pub fn from_results(requested: usize, results: &[BotResult], duration_s: f64) -> Report {
        let connected = results.iter().filter(|r| r.connected).count();
        let errors = results.iter().filter(|r| r.error.is_some()).count();
        let desyncs = results.iter().map(|r| r.desyncs).sum();
        let restarts = results.iter().map(|r| r.restarts).sum();
        let active: Vec<_> = results
            .iter()
            .filter(|r| r.connected && r.active_s > 0.0)
            .collect();
        let rate = |f: &dyn Fn(&BotResult) -> f64| {
            median(active.iter().map(|r| f(r) / r.active_s).collect())
        };
        let bytes_per_s = rate(&|r| r.bytes_in as f64);
        let snapshots: u64 = active.iter().map(|r| r.snapshots).sum();
        let full: u64 = active.iter().map(|r| r.full_snapshots).sum();
        let mut latencies = latency_histogram();
        for r in results {
            // Same bounds on both sides, so adding cannot fail.
            let _ = latencies.add(&r.input_to_ack_us);
        }
        let mut corrections = correction_histogram();
        for r in results {
            let _ = corrections.add(&r.correction_quanta);
        }
        let frames: u64 = results.iter().map(|r| r.feel.frames).sum();
        let underruns: u64 = results.iter().map(|r| r.feel.underruns).sum();
        // Frames are sampled once a tick: their total time, in ms.
        let frame_ms: f64 = results
            .iter()
            .filter(|r| r.interpolation_delay_ms > 0.0)
            .map(|r| r.feel.frames as f64 * r.interpolation_tick_ms)
            .sum();
        let mut joins: Vec<f64> = results.iter().filter_map(|r| r.join_ms).collect();
        joins.sort_by(f64::total_cmp);
        let mut views: Vec<f64> = results.iter().filter_map(|r| r.view_ms).collect();
        views.sort_by(f64::total_cmp);
        let mut error_kinds = BTreeMap::new();
        for e in results.iter().filter_map(|r| r.error.as_ref()) {
            *error_kinds.entry(e.clone()).or_insert(0) += 1;
        }
        Report {
            transport: "websocket",
            bots_requested: requested,
            bots_connected: connected,
            rooms: results
                .iter()
                .filter_map(|r| r.room.as_deref())
                .collect::<std::collections::BTreeSet<_>>()
                .len(),
            errors,
            desyncs,
            snapshots_per_bot_per_s: median(active.iter().map(|r| r.snapshots_per_s()).collect()),
            snapshots_per_bot_per_s_min: active
                .iter()
                .map(|r| r.snapshots_per_s())
                .reduce(f64::min)
                .unwrap_or(0.0),
            bytes_per_bot_per_s: bytes_per_s,
            kbps_per_bot: bytes_per_s * 8.0 / 1000.0,
            bytes_per_snapshot: median(
                active
                    .iter()
                    .filter(|r| r.snapshots > 0)
                    .map(|r| r.bytes_in as f64 / r.snapshots as f64)
                    .collect(),
            ),
            full_snapshot_fraction: if snapshots == 0 {
                0.0
            } else {
                full as f64 / snapshots as f64
            },
            input_to_ack_ms: Latency {
                p50: percentile_ms(&latencies, 50.0),
                p99: percentile_ms(&latencies, 99.0),
            },
            join_ms: Latency {
                p50: nearest_rank(&joins, 50.0),
                p99: nearest_rank(&joins, 99.0),
            },
            join_ms_max: joins.last().copied().unwrap_or(0.0),
            view_ms: Latency {
                p50: nearest_rank(&views, 50.0),
                p99: nearest_rank(&views, 99.0),
            },
            view_ms_max: views.last().copied().unwrap_or(0.0),
            snapshot_gap_ms_max: results
                .iter()
                .map(|r| r.max_snapshot_gap_ms)
                .fold(0.0, f64::max),
            snapshot_gap_ms_median: median(active.iter().map(|r| r.max_snapshot_gap_ms).collect()),
            prediction_checks: results.iter().map(|r| r.prediction_checks).sum(),
            mispredictions: results.iter().map(|r| r.mispredictions).sum(),
            bots_connected_at_end: results.iter().filter(|r| r.connected_at_end).count(),
            drops: results.iter().map(|r| r.drops).sum(),
            resumes: results.iter().map(|r| r.resumes).sum(),
            restarts,
            resume_state_changes: results.iter().map(|r| r.resume_state_changes).sum(),
            resume_snapshot_bytes: results.iter().map(|r| r.resume_bytes).sum(),
            resume_full_snapshot_bytes: results.iter().map(|r| r.resume_full_bytes).sum(),
            resumes_full: results.iter().map(|r| r.resumes_full).sum(),
            corrections: results.iter().map(|r| r.feel.corrections).sum(),
            visible_corrections: results.iter().map(|r| r.feel.visible_corrections).sum(),
            correction_units: Latency {
                p50: percentile_ms(&corrections, 50.0),
                p99: percentile_ms(&corrections, 99.0),
            },
            largest_correction_units: results
                .iter()
                .map(|r| r.feel.largest_correction_units)
                .fold(0.0, f64::max),
            interpolation_underrun_fraction: if frames == 0 {
                0.0
            } else {
                underruns as f64 / frames as f64
            },
            extrapolating_fraction: if frame_ms == 0.0 {
                0.0
            } else {
                results.iter().map(|r| r.feel.extrapolating_ms).sum::<f64>() / frame_ms
            },
            interpolation_delay_ms: median(
                active
                    .iter()
                    .filter(|r| r.feel.frames > 0)
                    .map(|r| r.interpolation_delay_ms)
                    .collect(),
            ),
            duration_s,
            server_tick_p50_ms: None,
            server_tick_p99_ms: None,
            server_overruns: None,
            server_skipped_ticks: None,
            server_outbox_skipped: None,
            error_kinds,
            assertions: Vec::new(),
            pass: connected == requested && errors == 0 && desyncs == 0 && restarts == 0,
        }
    }

    pub fn set_server(&mut self, f: &ServerFigures) {
        self.server_tick_p50_ms = Some(f.tick_p50_ms);
        self.server_tick_p99_ms = Some(f.tick_p99_ms);
        self.server_overruns = Some(f.overruns);
        self.server_skipped_ticks = Some(f.skipped_ticks);
        self.server_outbox_skipped = Some(f.outbox_skipped);
    }

    /// A report with every field present, to check `--assert` keys before a run.
    pub fn template() -> Report {
        let mut r = Report::from_results(0, &[], 0.0);
        r.set_server(&ServerFigures {
            tick_p50_ms: 0.0,
            tick_p99_ms: 0.0,
            overruns: 0.0,
            skipped_ticks: 0.0,
            outbox_skipped: 0.0,
        });
        r
    }

    /// Checks each assertion; any that fails (or names a figure the run lacks) fails the run.
    pub fn apply(&mut self, assertions: &[Assertion]) {
        let json = serde_json::to_value(&*self).unwrap_or_default();
        self.assertions = assertions.iter().map(|a| a.check(&json)).collect();
        self.pass &= self.assertions.iter().all(|c| c.pass);
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    v.sort_by(f64::total_cmp);
    let mid = v.len() / 2;
    if v.len() % 2 == 1 {
        v[mid]
    } else {
        (v[mid - 1] + v[mid]) / 2.0
    }
}

/// The nearest-rank percentile of sorted values (0 when there are none).
fn nearest_rank(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// A percentile over 1000: milliseconds of a microsecond histogram, units of a quanta one.
fn percentile_ms(h: &Histogram<u64>, p: f64) -> f64 {
    if h.is_empty() {
        0.0
    } else {
        h.value_at_percentile(p) as f64 / 1000.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn medians_and_verdict() {
        let bot = |snapshots, desyncs| BotResult {
            connected: true,
            active_s: 2.0,
            snapshots,
            desyncs,
            bytes_in: snapshots * 100,
            ..BotResult::default()
        };
        let bot = |snapshots, desyncs| {
            let mut b = bot(snapshots, desyncs);
            for us in [1000, 2000, 30_000] {
                let _ = b.input_to_ack_us.record(us);
            }
            b
        };
        let r = Report::from_results(3, &[bot(100, 0), bot(120, 0), bot(140, 0)], 2.0);
        assert_eq!(r.snapshots_per_bot_per_s, 60.0);
        assert_eq!(r.snapshots_per_bot_per_s_min, 50.0);
        assert_eq!(r.kbps_per_bot, 48.0);
        assert!((r.input_to_ack_ms.p50 - 2.0).abs() < 0.01);
        assert!((r.input_to_ack_ms.p99 - 30.0).abs() < 0.05);
        assert!(r.pass);
        let r = Report::from_results(4, &[bot(100, 1), bot(120, 0), bot(140, 0)], 2.0);
        assert!(!r.pass);
    }

    #[test]
    fn rates_run_from_the_first_snapshot_and_the_join_time_is_reported_apart() {
        // Joined after 250 ms, then 121 snapshots over 2 s: the first opens the window, so
        // 120 count, 60 a second. A bot with no snapshot is 0 over its whole life.
        let joined = |ms: f64| BotResult {
            connected: true,
            active_s: 2.0,
            join_ms: Some(ms),
            snapshots: 121,
            ..BotResult::default()
        };
        let silent = BotResult {
            connected: true,
            active_s: 2.25,
            ..BotResult::default()
        };
        let r = Report::from_results(2, &[joined(250.0), joined(90.0)], 2.25);
        assert_eq!(r.snapshots_per_bot_per_s, 60.0);
        assert_eq!(r.snapshots_per_bot_per_s_min, 60.0);
        assert_eq!(r.join_ms.p50, 90.0);
        assert_eq!(r.join_ms.p99, 250.0);
        assert_eq!(r.join_ms_max, 250.0);
        let r = Report::from_results(2, &[joined(250.0), silent], 2.25);
        assert_eq!(r.snapshots_per_bot_per_s_min, 0.0);
        assert_eq!(r.join_ms_max, 250.0);
    }
}
