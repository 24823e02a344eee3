//! The Agones lifecycle of the real binary against a mock sidecar (`agones_mock`): Ready,
//! health pings (and a new stream when the sidecar drops one), Allocated seen through the
//! watch, the `rooms` counter and `players` list following bots as they join and leave, and
//! SIGTERM draining every bot with 1001 before `Shutdown`.
//!
//! Built with the `agones` feature only: `cargo test -p snapwire-server --features agones
//! --test agones` (needs `protoc`; `.ci/run` installs it).

#![cfg(feature = "agones")]

mod agones_mock;

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use agones_mock::{Mock, PINGS_BEFORE_DROP, Seen};
use snapwire_bots::{BotOptions, Live, run_bots};

/// How long any one expected change may take to reach the sidecar.
const PATIENCE: Duration = Duration::from_secs(20);

struct Server {
    child: Child,
    addr: String,
    log: Arc<Mutex<Vec<String>>>,
}

impl Server {
    /// The real binary with `--agones`, pointed at the mock by `AGONES_SDK_GRPC_PORT` as the
    /// sidecar injection does; returns once it logged its address.
    fn start(sdk_port: u16) -> Server {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_snapwire-server"));
        for (k, _) in std::env::vars() {
            if k.starts_with("SNAPWIRE_") {
                cmd.env_remove(k);
            }
        }
        cmd.env("AGONES_SDK_GRPC_PORT", sdk_port.to_string())
            .env("RUST_LOG", "info")
            .env("NO_COLOR", "1")
            .args(["--agones", "--agones-health-interval", "0.2"])
            .args([
                "--bind",
                "127.0.0.1:0",
                "--room-size",
                "2",
                "--room-grace",
                "1",
            ])
            .args([
                "--max-rooms",
                "50",
                "--max-clients",
                "64",
                "--io-threads",
                "1",
            ])
            .args(["--assets", "no-assets-here"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        let mut child = cmd.spawn().expect("start snapwire-server");
        let out = child.stdout.take().expect("stdout");
        let log = Arc::new(Mutex::new(Vec::new()));
        let (addr_tx, addr_rx) = std::sync::mpsc::channel();
        let lines = Arc::clone(&log);
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines() {
                let Ok(line) = line else { break };
                if line.contains("serving /ws")
                    && let Some(addr) = line
                        .split_whitespace()
                        .find_map(|w| w.strip_prefix("addr="))
                {
                    let _ = addr_tx.send(addr.to_owned());
                }
                lines.lock().expect("log").push(line);
            }
        });
        let addr = addr_rx
            .recv_timeout(PATIENCE)
            .expect("the server logs its address");
        Server { child, addr, log }
    }

    fn url(&self) -> String {
        format!("ws://{}/ws", self.addr)
    }

    fn metrics(&self) -> String {
        let mut s = std::net::TcpStream::connect(&self.addr).expect("connect");
        s.write_all(b"GET /metrics HTTP/1.0\r\nHost: x\r\n\r\n")
            .expect("request");
        let mut body = String::new();
        s.read_to_string(&mut body).expect("response");
        body
    }

    /// Whether a log line holds `needle` (waiting for the reader thread to catch up).
    fn logged(&self, needle: &str) -> bool {
        let started = Instant::now();
        while started.elapsed() < PATIENCE {
            if self
                .log
                .lock()
                .expect("log")
                .iter()
                .any(|l| l.contains(needle))
            {
                return true;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        false
    }

    fn terminate(&self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("kill");
        assert!(status.success());
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
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
    let server = Server::start(sdk.port());

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
    assert!(
        server
            .metrics()
            .contains("snapwire_agones_health_streams_total 2")
    );

    // Allocated, seen through WatchGameServer.
    assert!(server.metrics().contains("snapwire_agones_allocated 0"));
    mock.set_state("Allocated");
    let started = Instant::now();
    while !server.metrics().contains("snapwire_agones_allocated 1") {
        assert!(started.elapsed() < PATIENCE, "Allocated never observed");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(server.logged("Agones: GameServer state state=Allocated"));

    // Three bots: rooms of two, so a second room opens; every bot is in the players list.
    let first = bots(&server.url(), 3, 3);
    let seen = until(&mock, "three players in two rooms", |s| {
        players(s) == names(3) && s.counters["rooms"].0 == 2
    })
    .await;
    assert_eq!(seen.counters["rooms"].1, 50);
    let run = first.await.expect("bots");
    assert_eq!(run.report.bots_connected, 3, "{:?}", run.report);
    // They left: the list empties, and the second room closes after its one-second grace.
    until(&mock, "players gone and the empty room closed", |s| {
        players(s).is_empty() && s.counters["rooms"].0 == 1
    })
    .await;

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
    let started = Instant::now();
    let status = loop {
        if let Some(status) = server.child.try_wait().expect("wait") {
            break status;
        }
        assert!(started.elapsed() < PATIENCE, "the server did not exit");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "{status}");
}
