//! The Agones lifecycle of the real binary against a mock sidecar (`agones_mock`): Ready,
//! health pings (and a new stream when the sidecar drops one), Allocated seen through the
//! watch, the `rooms` counter and `players` list following bots as they join and leave, Ready
//! again once Allocated and empty, and SIGTERM draining every bot with 1001 before `Shutdown`.
//!
//! Built with the `agones` feature only: `cargo test -p snapwire-server --features agones
//! agones::` (needs `protoc`; `.ci/run` installs it).

use crate::agones_mock;
use crate::support;

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use agones_mock::{Mock, PINGS_BEFORE_DROP, Seen};
use snapwire_bots::{BotOptions, Live, run_bots};
use support::{PATIENCE, Running, server};

fn start_server(sdk_port: u16) -> Running {
    let mut cmd = server();
    // As the sidecar injection does.
    cmd.env("AGONES_SDK_GRPC_PORT", sdk_port.to_string())
        .args(["--agones", "--agones-health-interval", "0.2"])
        .args(["--agones-idle-ready", "1"])
        .args(["--room-size", "2", "--room-grace", "1"])
        .args([
            "--max-rooms",
            "50",
            "--max-clients",
            "64",
            "--io-threads",
            "1",
        ]);
    Running::start(cmd)
}

fn metric_is(server: &Running, line: &str) -> bool {
    server.get("/metrics").lines().any(|l| l == line)
}

async fn wait_for_metric(server: &Running, line: &str) {
    let started = Instant::now();
    while !metric_is(server, line) {
        assert!(
            started.elapsed() < PATIENCE,
            "/metrics never showed `{line}`"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn until(mock: &Mock, what: &str, mut done: impl FnMut(&Seen) -> bool) -> Seen {
    let started = Instant::now();
    loop {
        let seen = mock.seen();
        if done(&seen) {
            return seen;
        }
        assert!(
            started.elapsed() < PATIENCE,
            "waited {PATIENCE:?} for {what}; the sidecar saw {seen:#?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn players(seen: &Seen) -> BTreeSet<String> {
    seen.lists["players"].1.clone()
}

fn names(n: usize) -> BTreeSet<String> {
    (0..n).map(|i| format!("bot{i}")).collect()
}

fn bots(url: &str, n: usize, seconds: u64) -> tokio::task::JoinHandle<snapwire_bots::Run> {
    let mut opts = BotOptions::new(url, n, Duration::from_secs(seconds));
    opts.server_metrics = false;
    opts.ramp = Duration::ZERO;
    tokio::spawn(run_bots(opts, Arc::new(Live::default())))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_reports_its_lifecycle_to_agones() {
    let (mock, sdk) = Mock::start().await;
    let server = start_server(sdk.port());

    // Ready, with the capacities the server's own limits give.
    let seen = until(&mock, "Ready", |s| s.ready == 1).await;
    assert_eq!(seen.counters["rooms"].1, 50, "rooms capacity = --max-rooms");
    assert_eq!(
        seen.lists["players"].0, 64,
        "players capacity = --max-clients"
    );
    let ready_at = seen
        .calls
        .iter()
        .position(|c| *c == "Ready")
        .expect("Ready");
    assert!(
        seen.calls[..ready_at].contains(&"GetGameServer"),
        "the SDK reaches the sidecar before Ready: {:?}",
        seen.calls
    );
    let seen = until(&mock, "the default room counted", |s| {
        s.counters["rooms"].0 == 1
    })
    .await;
    assert!(players(&seen).is_empty());

    // Health: the first stream is dropped by the sidecar after a few pings; pings go on over
    // a new one.
    let seen = until(&mock, "pings on a second health stream", |s| {
        s.health_streams >= 2 && s.pings >= PINGS_BEFORE_DROP + 3
    })
    .await;
    assert_eq!(seen.pings_on_first_stream, PINGS_BEFORE_DROP);
    assert!(metric_is(&server, "snapwire_agones_health_streams_total 2"));

    // Three bots: rooms of two, so a second room opens; every bot is in the players list.
    let first = bots(&server.url(), 3, 4);
    let seen = until(&mock, "three players in two rooms", |s| {
        players(s) == names(3) && s.counters["rooms"].0 == 2
    })
    .await;
    assert_eq!(seen.counters["rooms"].1, 50);

    // Allocated while they play, seen through WatchGameServer.
    assert!(metric_is(&server, "snapwire_agones_allocated 0"));
    mock.set_state("Allocated");
    wait_for_metric(&server, "snapwire_agones_allocated 1").await;
    assert!(server.logged("Agones: GameServer state state=Allocated"));

    let run = first.await.expect("bots");
    assert_eq!(run.report.bots_connected, 3, "{:?}", run.report);
    // They left: the list empties, and the second room closes after its one-second grace.
    until(&mock, "players gone and the empty room closed", |s| {
        players(s).is_empty() && s.counters["rooms"].0 == 1
    })
    .await;
    // Allocated and empty for --agones-idle-ready (1 s): Ready again, back in the pool.
    until(&mock, "Ready again", |s| s.ready == 2).await;
    assert!(server.logged("Ready again"));
    wait_for_metric(&server, "snapwire_agones_allocated 0").await;

    // Two bots stay; SIGTERM drains them (each sees 1001) and only then says Shutdown.
    let second = bots(&server.url(), 2, 60);
    until(&mock, "two players back", |s| players(s) == names(2)).await;
    assert_eq!(mock.seen().shutdown, 0);
    server.terminate();
    let run = tokio::time::timeout(PATIENCE, second)
        .await
        .expect("bots end when the server goes away")
        .expect("bots");
    for bot in &run.results {
        assert_eq!(
            bot.close_code,
            Some(1001),
            "bot{} {:?}",
            bot.index,
            bot.error
        );
    }
    let seen = until(&mock, "Shutdown", |s| s.shutdown == 1).await;
    assert_eq!(
        seen.calls.last(),
        Some(&"Shutdown"),
        "Shutdown is the last call: {:?}",
        seen.calls
    );
    let mut server = server;
    let status = server.exit_status();
    assert!(status.success(), "{status}");
}
