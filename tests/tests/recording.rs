//! Recordings (`--record DIR`): a bot match is written to disk while it plays, and re-simulated
//! from the file bit for bit, every tick's checksum matching.

mod support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use snapwire_bots::{BotOptions, Live, run_bots};
use snapwire_server::Config;
use support::TestServer;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_recorded_bot_match_replays_bit_for_bit() {
    let dir = std::env::temp_dir().join(format!("snapwire-rec-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let mut config = Config::new(60);
    config.record_dir = Some(dir.clone());
    let server = TestServer::start(config).await;
    let mut opts = BotOptions::new(server.url(), 16, Duration::from_secs(6));
    opts.ramp = Duration::from_millis(500);
    opts.server_metrics = false;
    let run = run_bots(opts, Arc::new(Live::default())).await;
    assert_eq!((run.report.errors, run.report.desyncs), (0, 0));
    // Stopping the server writes out the rooms' last second.
    server.stop().await;

    let files: Vec<_> = std::fs::read_dir(&dir)
        .expect("the recording directory")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    assert_eq!(files.len(), 1, "one room, one file: {files:?}");
    let file = &files[0];
    let started = Instant::now();
    let verified = snapwire_server::recording::verify(file).unwrap_or_else(|e| panic!("{e}"));
    let took = started.elapsed();
    let bytes = std::fs::metadata(file).expect("file").len();
    let seconds = verified.ticks as f64 / 60.0;
    let player_minutes = 16.0 * seconds / 60.0;
    eprintln!(
        "recorded {} ticks ({seconds:.1} s), {} inputs, 16 players: {bytes} bytes, {:.0} bytes per player-minute; verified in {took:.2?}",
        verified.ticks,
        verified.inputs,
        bytes as f64 / player_minutes
    );
    assert_eq!(verified.header.game, "arena");
    assert!(
        verified.ticks as f64 > 6.0 * 60.0,
        "{} ticks",
        verified.ticks
    );
    assert!(verified.inputs > 16 * 300, "{} inputs", verified.inputs);

    // A file cut short (a crash mid-write) still verifies up to its last whole block.
    let whole = std::fs::read(file).expect("read");
    let cut = dir.join("cut.snapwrec");
    std::fs::write(&cut, &whole[..whole.len() * 2 / 3]).expect("write");
    let partial = snapwire_server::recording::verify(&cut).unwrap_or_else(|e| panic!("{e}"));
    assert!(partial.ticks > 0 && partial.ticks < verified.ticks);
    let _ = std::fs::remove_dir_all(&dir);
}

/// A recording written by format 1 (4 bots, 277 ticks) stays readable and re-simulates in
/// every later version: a format change reads the old one or ships a converter; a rules change
/// that breaks it must say so here.
#[test]
fn the_committed_format_1_recording_still_verifies() {
    let file = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join("arena-format1.snapwrec");
    let verified = snapwire_server::recording::verify(&file).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(verified.header.format, 1);
    assert_eq!((verified.ticks, verified.inputs), (277, 806));
}
