//! Shared by the black-box tests: a real server on 127.0.0.1:0 and a raw WebSocket client.

#![allow(dead_code)] // Each test file uses a different part of this module.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use snapwire_server::{Config, Games, ServerStats};
use snapwire_shared::protocol::ClientMsg;
use snapwire_shared::{PROTOCOL_VERSION, codec};
use tokio::net::{TcpListener, TcpStream};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};
use tokio_util::sync::CancellationToken;

pub type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// A server running in this process; shut down and drained on drop.
pub struct TestServer {
    pub addr: SocketAddr,
    pub stats: Arc<ServerStats>,
    shutdown: CancellationToken,
    task: Option<tokio::task::JoinHandle<Result<(), snapwire_server::ServerError>>>,
}

impl TestServer {
    pub async fn start(config: Config) -> TestServer {
        TestServer::hosting(config, Games::builtin()).await
    }

    /// A server of `games` (a game of the test's own beside the built-in ones).
    pub async fn hosting(config: Config, games: Games) -> TestServer {
        // Server logs show with `--nocapture`; a second init in the same binary is a no-op.
        let _ = tracing_subscriber::fmt()
            .with_test_writer()
            .with_env_filter("info")
            .try_init();
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind loopback");
        let addr = listener.local_addr().expect("local addr");
        let stats = Arc::new(ServerStats::default());
        let shutdown = CancellationToken::new();
        let (token, s) = (shutdown.clone(), Arc::clone(&stats));
        // The server's own error is the test's to judge, in `stop`: a test that fails before
        // it drops the server, and the runtime's teardown ends the server's last steps, which
        // is no news (a panic there once read as if a scheduler thread had panicked).
        let task = tokio::spawn(snapwire_server::serve(listener, config, games, token, s));
        TestServer {
            addr,
            stats,
            shutdown,
            task: Some(task),
        }
    }

    /// A 60 Hz server on the arena with `drifters` drift entities.
    pub async fn drift(drifters: u32) -> TestServer {
        let mut config = Config::new(60);
        config.room.scene = snapwire_server::Scene::Drift(drifters);
        TestServer::start(config).await
    }

    /// The body of `GET path` (`/metrics`, `/replays`) on the server's port.
    pub async fn get(&self, path: &str) -> String {
        reqwest::get(format!("http://{}{path}", self.addr))
            .await
            .unwrap_or_else(|e| panic!("GET {path}: {e}"))
            .text()
            .await
            .expect("a body")
    }

    /// `GET path`, read as JSON.
    pub async fn get_json(&self, path: &str) -> serde_json::Value {
        serde_json::from_str(&self.get(path).await).expect("JSON")
    }

    pub fn url(&self) -> String {
        format!("ws://{}/ws", self.addr)
    }

    /// A simulated link of `profile` in front of this server (clients connect to its
    /// address), seeded with `seed`.
    pub async fn behind(
        &self,
        profile: snapwire_netsim::Profile,
        seed: u64,
    ) -> snapwire_netsim::Netsim {
        snapwire_netsim::Netsim::start(
            "127.0.0.1:0".parse().expect("a loopback address"),
            self.addr,
            profile,
            seed,
        )
        .await
        .expect("netsim starts")
    }

    /// Stops the server and waits until it has drained; panics if it ended with an error.
    pub async fn stop(mut self) {
        self.shutdown.cancel();
        if let Some(task) = self.task.take() {
            tokio::time::timeout(Duration::from_secs(10), task)
                .await
                .expect("server drains in time")
                .expect("server task")
                .expect("the server stops cleanly");
        }
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

pub async fn connect(url: &str) -> Ws {
    let (ws, _) = tokio_tungstenite::connect_async(url)
        .await
        .expect("connect");
    ws
}

pub async fn send(ws: &mut Ws, msg: &ClientMsg) {
    ws.send(Message::Binary(codec::encode_client(msg).into()))
        .await
        .expect("send");
}

pub fn hello(name: &str) -> ClientMsg {
    ClientMsg::Hello {
        protocol_version: PROTOCOL_VERSION,
        name: name.into(),
        spectate: false,
        room: snapwire_shared::protocol::RoomRequest::quick_play(),
        resume: None,
    }
}

/// A connected, welcomed player.
pub async fn joined(url: &str) -> Ws {
    let mut ws = connect(url).await;
    send(&mut ws, &hello("probe")).await;
    ws
}

/// Reads until the server closes; returns the close code and reason. Panics after 5 s.
pub async fn close_of(ws: &mut Ws) -> (u16, String) {
    let wait = async {
        while let Some(frame) = ws.next().await {
            match frame {
                Ok(Message::Close(Some(f))) => return (u16::from(f.code), f.reason.to_string()),
                Ok(Message::Close(None)) => return (1005, String::new()),
                Ok(_) => continue,
                Err(e) => panic!("connection failed before a close frame: {e}"),
            }
        }
        panic!("connection ended without a close frame");
    };
    tokio::time::timeout(Duration::from_secs(5), wait)
        .await
        .expect("server closes within 5 s")
}

/// Polls `done` every 10 ms until it holds; panics after 5 s.
pub async fn wait_until(mut done: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while !done() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "condition not met within 5 s"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// A real client session over a raw socket that acknowledges every snapshot at once, with an
/// `Ack` of its own (not in an input): the tests' player.
pub struct AckingClient {
    pub ws: Ws,
    pub session: snapwire_shared::client::ClientSession,
}

impl AckingClient {
    /// Joins by quick play and waits for the `Welcome`.
    pub async fn join(url: &str, name: &str) -> AckingClient {
        let mut ws = connect(url).await;
        let (session, hello) = snapwire_shared::client::ClientSession::new(name, false);
        send(&mut ws, &hello).await;
        let mut c = AckingClient { ws, session };
        let first = c.next().await;
        assert!(
            matches!(first, snapwire_shared::client::SessionEvent::Welcome(_)),
            "{first:?}"
        );
        c
    }

    /// The next binary frame, within 5 s.
    pub async fn next_frame(&mut self) -> Vec<u8> {
        let frame = tokio::time::timeout(Duration::from_secs(5), self.ws.next())
            .await
            .expect("a frame within 5 s");
        match frame {
            Some(Ok(Message::Binary(bytes))) => bytes.to_vec(),
            other => panic!("unexpected frame {other:?}"),
        }
    }

    /// The next event but scores and stale snapshots, acknowledging a snapshot at once.
    pub async fn next(&mut self) -> snapwire_shared::client::SessionEvent {
        use snapwire_shared::client::SessionEvent;
        loop {
            let bytes = self.next_frame().await;
            let event = self.session.handle(&bytes).expect("valid frame");
            if let SessionEvent::Snapshot { tick, .. } = &event {
                self.session.withhold_ack();
                send(&mut self.ws, &ClientMsg::Ack { tick: *tick }).await;
            }
            if !matches!(event, SessionEvent::Scores | SessionEvent::Stale) {
                return event;
            }
        }
    }

    /// The next snapshot (acknowledged): its tick and its `baseline_age` as sent.
    pub async fn next_snapshot(&mut self) -> (snapwire_shared::Tick, u16) {
        use snapwire_shared::client::SessionEvent;
        use snapwire_shared::protocol::ServerMsg;
        loop {
            let bytes = self.next_frame().await;
            let age = match codec::decode_server(&bytes) {
                Ok(ServerMsg::Snapshot(s)) => Some(s.baseline_age),
                _ => None,
            };
            let event = self.session.handle(&bytes).expect("valid frame");
            if let (Some(age), SessionEvent::Snapshot { tick, .. }) = (age, event) {
                self.session.withhold_ack();
                send(&mut self.ws, &ClientMsg::Ack { tick }).await;
                return (tick, age);
            }
        }
    }

    /// Whether the newest snapshot holds entity `id`.
    pub fn sees(&self, id: snapwire_shared::sim::EntityId) -> bool {
        self.session
            .replica()
            .latest()
            .is_some_and(|(_, v)| v.get(id).is_some())
    }
}

/// A throwaway CA (its certificate written to `dir/NAME-ca.pem`, returned) and a certificate
/// it signed for 127.0.0.1 and localhost, written to `files` for a server to use.
pub fn issue_certificate(
    dir: &std::path::Path,
    name: &str,
    files: &snapwire_server::net::tls::TlsFiles,
) -> std::path::PathBuf {
    let issued = snapwire_tests::issue_certificate(dir, name);
    std::fs::rename(&issued.cert, &files.cert).expect("move the certificate");
    std::fs::rename(&issued.key, &files.key).expect("move the key");
    issued.ca
}
