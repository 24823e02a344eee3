//! Headless load-testing clients for snapwire, built on the same platform-free client logic as
//! the browser (`snapwire_shared::client`): they decode every snapshot, verify its checksum,
//! acknowledge it, predict their own player and send inputs at the tick rate, in the arena or
//! in tag (`--kind tag`).
//!
//! - [`bot`]: one bot's connection loop, generic over the game.
//! - [`link`]: its connection, over WebSocket or WebTransport (`--transport`).
//! - [`pilot`]: what a bot of each game presses (arena: a random walk; tag: "it" chases).
//! - [`report`]: per-bot results and the JSON [`Report`] with its pass/fail verdict.
//! - [`assertion`]: `--assert KEY OP NUMBER` conditions on the report.
//! - [`server_metrics`]: the server's tick p99 and overruns over the run, from its `/metrics`
//!   (read by [`http_get`], over https too).
//! - [`timeline`]: one sample a second, and the HTML chart of them.
//! - [`run_bots`]: ramps up N bots, runs them for a bounded time, returns the report.

pub mod assertion;
pub mod bot;
pub mod http_get;
pub mod link;
pub mod pilot;
pub mod report;
pub mod server_metrics;
pub mod timeline;

use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::time::{Duration, Instant};

pub use report::{BotResult, Report};

use crate::server_metrics::{ServerFigures, metrics_url, scrape};
use crate::timeline::{IntervalLatency, Sample, Sampler};
use snapwire_shared::protocol::RoomRequest;
use thiserror::Error;

/// Why [`BotOptions::trust_ca`] could not trust a CA file.
#[derive(Debug, Error)]
pub enum CaError {
    #[error("{}: {source}", .file.display())]
    Pem {
        file: std::path::PathBuf,
        source: rustls::pki_types::pem::Error,
    },
    #[error("{}: {source}", .file.display())]
    Certificate {
        file: std::path::PathBuf,
        source: rustls::Error,
    },
    #[error("{} holds no certificate", .0.display())]
    Empty(std::path::PathBuf),
}

impl BotOptions {
    /// The URL each bot opens: `url`, with the ticket when there is one.
    pub fn socket_url(&self) -> String {
        match &self.ticket {
            None => self.url.clone(),
            Some(t) => {
                let sep = if self.url.contains('?') { '&' } else { '?' };
                format!("{}{sep}ticket={t}", self.url)
            }
        }
    }
}

#[derive(Debug, Clone)]
pub struct BotOptions {
    /// WebSocket URL, like `ws://127.0.0.1:8080/ws`.
    pub url: String,
    pub bots: usize,
    pub duration: Duration,
    /// Bots start evenly spread over this time.
    pub ramp: Duration,
    pub spectate: bool,
    /// The room every bot asks for (default: quick play in the default kind).
    pub room: RoomRequest,
    /// The game the room plays (a room of another game refuses the bot at `Welcome`).
    pub game: GameChoice,
    /// A join ticket for servers that require one (sent as `?ticket=`).
    pub ticket: Option<String>,
    /// Whether bots press fire.
    pub fire: bool,
    pub seed: u64,
    pub acks: AckPolicy,
    /// Read the server's `/metrics` before and after the run (on the same host and port).
    pub server_metrics: bool,
    /// Where the server's `/metrics` is, when not beside the WebSocket URL (bots that reach
    /// the server through a proxy such as `snapwire-netsim`).
    pub metrics_url: Option<String>,
    /// Spectators acknowledge one snapshot in this many (`None`: the client default).
    pub spectator_ack_every: Option<u32>,
    /// A bot whose connection drops (reset, silence, the server's idle close) reconnects
    /// with backoff and resumes its player, until the run ends.
    pub reconnect: bool,
    /// Each bot also runs the browser's interpolator and samples it once a tick, to report
    /// underruns and time spent extrapolating (costs a copy of each snapshot's view).
    pub feel: bool,
    /// For `wss://`: the TLS settings, trusting a private CA ([`BotOptions::trust_ca`]);
    /// `None` trusts the public web's roots.
    pub tls: Option<Arc<rustls::ClientConfig>>,
    /// WebSocket, or WebTransport (the session at the port and path `GET /webtransport`
    /// beside `url` gives, trusting the certificate hash it gives).
    pub transport: link::Transport,
}

/// The games the bots play (each has a [`pilot::BotGame`] input generator).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum GameChoice {
    Arena,
    Tag,
}

impl GameChoice {
    /// The game a room kind of this name plays on a server with the built-in kinds.
    pub fn for_kind(kind: &str) -> GameChoice {
        if kind == "tag" {
            GameChoice::Tag
        } else {
            GameChoice::Arena
        }
    }
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
            room: RoomRequest::quick_play(),
            game: GameChoice::Arena,
            ticket: None,
            fire: true,
            seed: 0x5eed,
            acks: AckPolicy::Every,
            server_metrics: true,
            metrics_url: None,
            spectator_ack_every: None,
            reconnect: true,
            feel: false,
            tls: None,
            transport: link::Transport::Websocket,
        }
    }

    /// Trusts the CA certificates in `pem_file` (and only those) for `wss://`: a server with
    /// a certificate from a private CA, or a test's throwaway one.
    pub fn trust_ca(&mut self, pem_file: &std::path::Path) -> Result<(), CaError> {
        use rustls::pki_types::CertificateDer;
        use rustls::pki_types::pem::PemObject;
        let file = || pem_file.to_path_buf();
        let mut roots = rustls::RootCertStore::empty();
        for cert in CertificateDer::pem_file_iter(pem_file).map_err(|source| CaError::Pem {
            file: file(),
            source,
        })? {
            let cert = cert.map_err(|source| CaError::Pem {
                file: file(),
                source,
            })?;
            roots.add(cert).map_err(|source| CaError::Certificate {
                file: file(),
                source,
            })?;
        }
        if roots.is_empty() {
            return Err(CaError::Empty(file()));
        }
        let config = rustls::ClientConfig::builder()
            .with_root_certificates(roots)
            .with_no_client_auth();
        self.tls = Some(Arc::new(config));
        Ok(())
    }
}

/// Counters for a live progress line and the timeline.
#[derive(Debug, Default)]
pub struct Live {
    pub connected: AtomicU64,
    pub snapshots: AtomicU64,
    pub bytes_in: AtomicU64,
    pub desyncs: AtomicU64,
    /// Connections that dropped (each bot then reconnects).
    pub drops: AtomicU64,
    pub finished: AtomicU64,
    pub latency: IntervalLatency,
}

/// Everything a run produced.
#[derive(Debug)]
pub struct Run {
    pub report: Report,
    /// One per bot, in bot order.
    pub results: Vec<BotResult>,
    /// One sample a second.
    pub timeline: Vec<Sample>,
}

/// Runs `opts.bots` bots (ramped up) until `ramp + duration` has passed and reports.
pub async fn run_bots(opts: BotOptions, live: Arc<Live>) -> Run {
    let opts = Arc::new(opts);
    let metrics = opts
        .server_metrics
        .then(|| opts.metrics_url.clone().or_else(|| metrics_url(&opts.url)))
        .flatten();
    let before = match &metrics {
        Some(url) => scrape(url, opts.tls.as_ref()).await.ok(),
        None => None,
    };
    let start = Instant::now();
    let deadline = start + opts.ramp + opts.duration;
    // Sampling ends at the deadline, or sooner when every bot has ended (they all failed).
    let all_done = Arc::new(tokio::sync::Notify::new());
    let sampler = {
        let (live, all_done) = (Arc::clone(&live), Arc::clone(&all_done));
        tokio::spawn(async move {
            let mut sampler = Sampler::default();
            let mut every = tokio::time::interval(Duration::from_secs(1));
            loop {
                let done = tokio::select! {
                    _ = every.tick() => false,
                    _ = all_done.notified() => true,
                };
                sampler.sample(start.elapsed().as_secs_f64(), &live);
                if done || Instant::now() >= deadline {
                    return sampler.samples;
                }
            }
        })
    };
    // Over WebTransport every bot's session starts from one client endpoint and the server's
    // certificate hash, read once.
    let dialer = match opts.transport {
        link::Transport::Websocket => None,
        link::Transport::Webtransport => {
            let query = opts.ticket.as_ref().map(|t| format!("ticket={t}"));
            Some(Arc::new(
                link::WtDialer::prepare(&opts.url, query.as_deref(), opts.tls.as_ref()).await,
            ))
        }
    };
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..opts.bots {
        let delay = opts.ramp.mul_f64(i as f64 / opts.bots.max(1) as f64);
        let (opts, live, dialer) = (Arc::clone(&opts), Arc::clone(&live), dialer.clone());
        tasks.spawn(async move {
            tokio::time::sleep(delay).await;
            let r = bot::run_bot(i, opts, dialer, Arc::clone(&live), deadline).await;
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
    // In bot order (they finish in any order).
    results.sort_by_key(|r| r.index);
    all_done.notify_one();
    let mut report = Report::from_results(opts.bots, &results, start.elapsed().as_secs_f64());
    report.transport = opts.transport.name();
    if let (Some(url), Some(before)) = (&metrics, before)
        && let Ok(after) = scrape(url, opts.tls.as_ref()).await
    {
        report.set_server(&ServerFigures::between(&before, &after));
    }
    let timeline = sampler.await.unwrap_or_default();
    Run {
        report,
        results,
        timeline,
    }
}
