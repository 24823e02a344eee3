//! Headless load-testing clients for snapwire, built on the same platform-free client logic as
//! the browser (`snapwire_shared::client`): they decode every snapshot, verify its checksum,
//! acknowledge it, predict their own player and send random-walk inputs at the tick rate.
//!
//! - [`bot`]: one bot's connection loop.
//! - [`report`]: per-bot results and the JSON [`Report`] with its pass/fail verdict.
//! - [`run_bots`]: ramps up N bots, runs them for a bounded time, returns the report.

pub mod bot;
pub mod report;

use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::time::{Duration, Instant};

pub use report::{BotResult, Report};

#[derive(Debug, Clone)]
pub struct BotOptions {
    /// WebSocket URL, like `ws://127.0.0.1:8080/ws`.
    pub url: String,
    pub bots: usize,
    pub duration: Duration,
    /// Bots start evenly spread over this time.
    pub ramp: Duration,
    pub spectate: bool,
    /// Whether bots press fire.
    pub fire: bool,
    pub seed: u64,
    pub acks: AckPolicy,
}

/// Which snapshots a bot acknowledges: lets tests simulate lost acks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AckPolicy {
    Every,
    /// Only snapshots whose tick is a multiple of `k`.
    EveryKth(u32),
    /// None between these two offsets from the start of play.
    PauseBetween(Duration, Duration),
    Never,
}

impl AckPolicy {
    pub fn should_ack(&self, tick: u32, since_start: Duration) -> bool {
        match *self {
            AckPolicy::Every => true,
            AckPolicy::EveryKth(k) => tick.is_multiple_of(k.max(1)),
            AckPolicy::PauseBetween(from, to) => !(from..to).contains(&since_start),
            AckPolicy::Never => false,
        }
    }
}

impl BotOptions {
    pub fn new(url: impl Into<String>, bots: usize, duration: Duration) -> BotOptions {
        BotOptions {
            url: url.into(),
            bots,
            duration,
            ramp: (duration / 5).min(Duration::from_secs(2)),
            spectate: false,
            fire: true,
            seed: 0x5eed,
            acks: AckPolicy::Every,
        }
    }
}

/// Counters for a live progress line.
#[derive(Debug, Default)]
pub struct Live {
    pub connected: AtomicU64,
    pub snapshots: AtomicU64,
    pub desyncs: AtomicU64,
    pub finished: AtomicU64,
}

/// Runs `opts.bots` bots (ramped up) until `ramp + duration` has passed and reports.
pub async fn run_bots(opts: BotOptions, live: Arc<Live>) -> (Report, Vec<BotResult>) {
    let opts = Arc::new(opts);
    let start = Instant::now();
    let deadline = start + opts.ramp + opts.duration;
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..opts.bots {
        let delay = opts.ramp.mul_f64(i as f64 / opts.bots.max(1) as f64);
        let (opts, live) = (Arc::clone(&opts), Arc::clone(&live));
        tasks.spawn(async move {
            tokio::time::sleep(delay).await;
            let r = bot::run_bot(i, opts, Arc::clone(&live), deadline).await;
            live.finished
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            r
        });
    }
    let mut results = Vec::with_capacity(opts.bots);
    while let Some(joined) = tasks.join_next().await {
        results.push(joined.unwrap_or_else(|e| BotResult {
            error: Some(format!("bot task failed: {e}")),
            ..BotResult::default()
        }));
    }
    let report = Report::from_results(opts.bots, &results, start.elapsed().as_secs_f64());
    (report, results)
}
