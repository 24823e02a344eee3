//! Delta snapshots against acknowledged baselines, over real sockets: lost acks never desync,
//! a client that never acks gets full snapshots (and, unacknowledged, is held), and interest management adds and removes
//! entities as they cross a player's view.

use crate::support;

use std::sync::Arc;
use std::time::Duration;

use snapwire_bots::{AckPolicy, BotOptions, Live, run_bots};
use snapwire_server::Config;
use snapwire_shared::map::MapDef;
use snapwire_shared::quantize::pos_from_units;
use support::{AckingClient, TestServer, send};

async fn bots_with(
    server: &TestServer,
    n: usize,
    acks: AckPolicy,
    spectate: bool,
) -> (snapwire_bots::Report, Vec<snapwire_bots::BotResult>) {
    let mut opts = BotOptions::new(server.url(), n, Duration::from_secs(4));
    opts.ramp = Duration::from_millis(200);
    opts.acks = acks;
    opts.spectate = spectate;
    let run = run_bots(opts, Arc::new(Live::default())).await;
    (run.report, run.results)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lost_acks_never_desync() {
    let server = TestServer::drift(50).await;
    let pause = AckPolicy::PauseBetween(Duration::from_millis(500), Duration::from_millis(2000));
    let (every_3rd, pausing, players) = tokio::join!(
        bots_with(&server, 3, AckPolicy::EveryKth(3), true),
        bots_with(&server, 3, pause, true),
        bots_with(&server, 4, AckPolicy::EveryKth(7), false),
    );
    for (report, _) in [&every_3rd, &pausing, &players] {
        assert!(report.pass, "{report:#?}");
        assert_eq!(report.desyncs, 0);
    }
    // Acking every k-th snapshot still leaves a baseline in history: once the first delta
    // came, every snapshot is a delta. (How many full ones come first is how long the first
    // ack took: timing, 3% to 8% of four seconds here.)
    for (_, results) in [&every_3rd, &players] {
        for r in results {
            assert_eq!(r.full_after_delta, 0, "bot {}: {r:#?}", r.index);
            assert!(r.full_snapshots >= 1, "the first is full");
        }
    }
    // A bot that stops acking for 1.5 s outlives its last baseline (history is 64 ticks, about
    // 1 s): it gets full snapshots for a while, then deltas again once it acks.
    let (report, results) = &pausing;
    assert!(results.iter().all(|r| r.full_snapshots > 5), "{results:#?}");
    assert!(report.full_snapshot_fraction < 0.3, "{report:#?}");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_never_acks_gets_full_snapshots_then_is_held() {
    let server = TestServer::drift(20).await;
    let (report, results) = bots_with(&server, 2, AckPolicy::Never, true).await;
    assert!(report.pass, "{report:#?}");
    assert_eq!(report.full_snapshot_fraction, 1.0);
    // Flow control: a second of snapshots (the window before any ack), then a few probes in
    // the remaining three seconds, never the 240 ticks.
    let counts: Vec<u64> = results.iter().map(|r| r.snapshots).collect();
    assert!(counts.iter().all(|&n| (60..=75).contains(&n)), "{counts:?}");
    assert!(server.stats.snapshots_held.get() > 300);
    server.stop().await;
}

/// A corridor map, 100 x 10 units, both players spawning at (5, 5).
fn corridor() -> MapDef {
    MapDef::from_json(
        r#"{"name":"corridor","width":100,"height":10,"walls":[],"spawns":[{"x":5,"y":5}]}"#,
    )
    .expect("valid map")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_entity_leaving_the_view_is_removed_and_comes_back_as_new() {
    let mut config = Config::new(60);
    config.room.map = corridor();
    config.room.view_width = pos_from_units(20.0);
    config.room.view_height = pos_from_units(20.0);
    let server = TestServer::start(config).await;
    let url = server.url();
    let mut watcher = AckingClient::join(&url, "watcher").await;
    let mut walker = AckingClient::join(&url, "walker").await;
    let walker_id = walker.session.player_id().expect("walker is a player");

    let mut phases = Vec::new();
    // Walk right (out of the watcher's 20-unit view), then back left, polling with a bound.
    for (direction, want_seen) in [(1.0, false), (-1.0, true)] {
        let mut ok = false;
        for _ in 0..600 {
            if let Some(input) = walker.session.input(direction, 0.0, 0.0, false) {
                send(&mut walker.ws, &input).await;
            }
            walker.next().await;
            watcher.next().await;
            if watcher.sees(walker_id) == want_seen {
                ok = true;
                break;
            }
        }
        assert!(
            ok,
            "walker never became {} to the watcher",
            if want_seen { "visible" } else { "invisible" }
        );
        phases.push(
            watcher
                .session
                .replica()
                .name(walker_id.0)
                .map(str::to_owned),
        );
    }
    // Coming back, the walker arrived as a new entity, with its name.
    assert_eq!(phases.last().cloned().flatten().as_deref(), Some("walker"));
    assert_eq!(watcher.session.stats.desyncs, 0);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn snapshots_every_third_tick_still_verify_and_predict() {
    // The same path load shedding takes: each client gets a snapshot on one tick in three,
    // staggered, and acknowledges through its inputs.
    let mut config = Config::new(60);
    config.room.snapshot_every = 3;
    config.room.scene = snapwire_server::Scene::Drift(20);
    let server = TestServer::start(config).await;
    let mut opts = BotOptions::new(server.url(), 4, Duration::from_secs(4));
    opts.ramp = Duration::from_millis(200);
    let run = run_bots(opts, Arc::new(Live::default())).await;
    let report = run.report;
    assert!(report.pass, "{report:#?}");
    assert!(
        (15.0..=21.0).contains(&report.snapshots_per_bot_per_s),
        "one snapshot in three ticks: {report:#?}"
    );
    assert!(report.full_snapshot_fraction < 0.05, "{report:#?}");
    assert!(report.prediction_checks > 100, "{report:#?}");
    assert_eq!(report.mispredictions, 0, "{report:#?}");
    server.stop().await;
}
