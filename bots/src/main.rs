//! `snapwire-bots`: runs N headless bots against a server and writes a JSON pass/fail report.
//! Exits non-zero when any bot failed to connect, errored or desynced.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use anyhow::Context;
use clap::Parser;
use indicatif::{ProgressBar, ProgressStyle};
use snapwire_bots::{AckPolicy, BotOptions, Live, run_bots};
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
    /// Never press fire.
    #[arg(long)]
    no_fire: bool,
    /// Acknowledge only snapshots whose tick is a multiple of K (simulates lost acks).
    #[arg(long)]
    ack_every: Option<u32>,
    /// Where to write the JSON report (it is always printed too).
    #[arg(long)]
    report: Option<PathBuf>,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    let args = Args::parse();
    anyhow::ensure!(
        args.duration.is_finite() && args.duration > 0.0 && args.duration <= 86_400.0,
        "--duration must be in (0, 86400]"
    );
    anyhow::ensure!(
        (1..=100_000).contains(&args.bots),
        "--bots must be in 1..=100000"
    );
    let mut opts = BotOptions::new(args.url, args.bots, Duration::from_secs_f64(args.duration));
    opts.spectate = args.spectate;
    opts.fire = !args.no_fire;
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

    let (report, _) = run_bots(opts, live).await;
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
    if !report.pass {
        eprintln!(
            "FAIL: {} of {} bots connected, {} errors, {} desyncs",
            report.bots_connected, report.bots_requested, report.errors, report.desyncs
        );
        std::process::exit(1);
    }
    Ok(())
}
