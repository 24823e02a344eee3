//! `snapwire-bots`: runs N headless bots against a server and writes a JSON pass/fail report.
//! Exits non-zero when any bot failed to connect, errored or desynced, or an `--assert` failed.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use anyhow::Context;
use clap::Parser;
use indicatif::{ProgressBar, ProgressStyle};
use snapwire_bots::assertion::Assertion;
use snapwire_bots::timeline::chart_html;
use snapwire_bots::{AckPolicy, BotOptions, GameChoice, Live, Report, run_bots};
use tracing_subscriber::EnvFilter;

#[derive(Debug, Parser)]
#[command(version, about = "Headless load-testing bots for snapwire")]
struct Args {
    #[arg(long, default_value = "ws://127.0.0.1:8080/ws")]
    url: String,
    #[arg(long, default_value_t = 8)]
    bots: usize,
    /// Seconds of play after the ramp-up.
    #[arg(long, default_value_t = 10.0)]
    duration: f64,
    /// Join as spectators (no player, whole world).
    #[arg(long)]
    spectate: bool,
    /// Join the room with this id (default: quick play, which fills rooms of the default kind
    /// and opens new ones as they fill).
    #[arg(long)]
    room: Option<String>,
    /// Join or create a room of this kind (`tag`, or a kind the server defines) instead of the
    /// default kind.
    #[arg(long, conflicts_with = "room")]
    kind: Option<String>,
    /// The game the rooms play; by default `tag` for `--kind tag`, else `arena`.
    #[arg(long, value_enum)]
    game: Option<GameChoice>,
    /// A join ticket (`snapwire-server ticket`), for servers that require one.
    #[arg(long)]
    ticket: Option<String>,
    /// A bot whose connection drops gives up (with an error) instead of reconnecting and
    /// resuming its player.
    #[arg(long)]
    no_reconnect: bool,
    /// Run the browser's interpolator in each bot and report underruns and time spent
    /// extrapolating (netcode feel; costs CPU at large bot counts).
    #[arg(long)]
    feel: bool,
    /// For `wss://` URLs: trust only the CA certificates in this PEM file (a private CA, or
    /// a throwaway one in tests) instead of the public web's roots.
    #[arg(long, value_name = "FILE")]
    ca: Option<std::path::PathBuf>,
    /// The server's `/metrics` URL, when the bots reach the server through a proxy (by default
    /// the WebSocket URL's host and port).
    #[arg(long, value_name = "URL")]
    metrics: Option<String>,
    /// Never press fire.
    #[arg(long)]
    no_fire: bool,
    /// Acknowledge only snapshots whose tick is a multiple of K (simulates lost acks).
    #[arg(long)]
    ack_every: Option<u32>,
    /// Where to write the JSON report (it is always printed too).
    #[arg(long)]
    report: Option<PathBuf>,
    /// Bots started per second (default: all within min(duration / 5, 2 s)).
    #[arg(long, value_name = "PER_SECOND")]
    ramp: Option<f64>,
    /// A condition on the report, like 'snapshots_per_bot_per_s>=59.5' or 'tick_p99_ms<=8'
    /// (repeatable); any that fails makes the exit code 1.
    #[arg(long = "assert", value_name = "KEY OP NUMBER")]
    asserts: Vec<Assertion>,
    /// Write an HTML chart of the run (connected, snapshots/s, kbps, input-to-ack over time).
    #[arg(long, value_name = "FILE")]
    chart: Option<PathBuf>,
    /// Worker threads; 1 runs every bot on one thread (best when pinned to one core).
    /// Default: the cores this process may run on.
    #[arg(long)]
    threads: Option<usize>,
    /// Spectators acknowledge one snapshot in this many (default 4).
    #[arg(long, value_name = "K")]
    spectator_ack_every: Option<u32>,
    /// The transport: WebSocket at --url, or WebTransport (datagrams for snapshots and inputs)
    /// at the port and path the server's `GET /webtransport` (beside --url) gives.
    #[arg(long, value_enum, default_value_t = snapwire_bots::link::Transport::Websocket)]
    transport: snapwire_bots::link::Transport,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let threads = args
        .threads
        .or_else(|| std::thread::available_parallelism().ok().map(|n| n.get()))
        .unwrap_or(1)
        .max(1);
    let runtime = if threads == 1 {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?
    } else {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(threads)
            .enable_all()
            .build()?
    };
    runtime.block_on(run(args))
}

async fn run(args: Args) -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    anyhow::ensure!(
        args.duration.is_finite() && args.duration > 0.0 && args.duration <= 86_400.0,
        "--duration must be in (0, 86400]"
    );
    anyhow::ensure!(
        (1..=100_000).contains(&args.bots),
        "--bots must be in 1..=100000"
    );
    let template = serde_json::to_value(Report::template())?;
    for a in &args.asserts {
        a.check_key(&template)?;
    }
    let mut opts = BotOptions::new(
        args.url.clone(),
        args.bots,
        Duration::from_secs_f64(args.duration),
    );
    if let Some(rate) = args.ramp {
        anyhow::ensure!(
            rate.is_finite() && rate > 0.0,
            "--ramp must be a positive number of bots per second"
        );
        opts.ramp = Duration::from_secs_f64(args.bots as f64 / rate);
    }
    opts.spectator_ack_every = args.spectator_ack_every;
    opts.spectate = args.spectate;
    opts.ticket = args.ticket;
    if let Some(id) = args.room {
        opts.room = snapwire_shared::protocol::RoomRequest::Join { id };
    }
    opts.game = args
        .game
        .unwrap_or_else(|| GameChoice::for_kind(args.kind.as_deref().unwrap_or("")));
    if let Some(kind) = args.kind {
        opts.room = snapwire_shared::protocol::RoomRequest::JoinOrCreate { kind };
    }
    opts.fire = !args.no_fire;
    opts.reconnect = !args.no_reconnect;
    opts.feel = args.feel;
    if let Some(ca) = &args.ca {
        opts.trust_ca(ca)?;
    }
    opts.metrics_url = args.metrics;
    opts.transport = args.transport;
    if let Some(k) = args.ack_every {
        opts.acks = AckPolicy::EveryKth(k);
    }

    let live = Arc::new(Live::default());
    let progress = std::io::stderr().is_terminal().then(|| {
        let bar = ProgressBar::new_spinner();
        bar.set_style(
            ProgressStyle::with_template("{spinner} {elapsed} {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        );
        bar.enable_steady_tick(Duration::from_millis(200));
        bar
    });
    let ticker = progress.clone().map(|bar| {
        let live = Arc::clone(&live);
        let bots = args.bots;
        tokio::spawn(async move {
            let mut last = 0;
            loop {
                tokio::time::sleep(Duration::from_secs(1)).await;
                let snaps = live.snapshots.load(Ordering::Relaxed);
                bar.set_message(format!(
                    "connected {}/{bots}  finished {}  snapshots/s {}  desyncs {}",
                    live.connected.load(Ordering::Relaxed),
                    live.finished.load(Ordering::Relaxed),
                    snaps - last,
                    live.desyncs.load(Ordering::Relaxed),
                ));
                last = snaps;
            }
        })
    });

    let run = run_bots(opts, live).await;
    let mut report = run.report;
    report.apply(&args.asserts);
    if let Some(t) = ticker {
        t.abort();
    }
    if let Some(bar) = progress {
        bar.finish_and_clear();
    }
    let json = serde_json::to_string_pretty(&report)?;
    println!("{json}");
    if let Some(path) = &args.report {
        std::fs::write(path, &json).with_context(|| format!("writing {}", path.display()))?;
    }
    if let Some(path) = &args.chart {
        let title = format!("snapwire-bots: {} bots against {}", args.bots, args.url);
        std::fs::write(path, chart_html(&title, &json, &run.timeline))
            .with_context(|| format!("writing {}", path.display()))?;
    }
    if !report.pass {
        let failed: Vec<_> = report
            .assertions
            .iter()
            .filter(|c| !c.pass)
            .map(|c| format!("{} (got {:?})", c.assertion, c.actual))
            .collect();
        eprintln!(
            "FAIL: {} of {} bots connected, {} errors, {} desyncs; failed assertions: [{}]",
            report.bots_connected,
            report.bots_requested,
            report.errors,
            report.desyncs,
            failed.join(", ")
        );
        std::process::exit(1);
    }
    Ok(())
}
