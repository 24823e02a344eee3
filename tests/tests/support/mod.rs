//! Shared by the black-box tests: a real server on 127.0.0.1:0 and a raw WebSocket client.

#![allow(dead_code)] // Each test file uses a different part of this module.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use snapwire_server::{Config, ServerStats};
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
    task: Option<tokio::task::JoinHandle<()>>,
}

impl TestServer {
    pub async fn start(config: Config) -> TestServer {
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
        let task = tokio::spawn(async move {
            snapwire_server::run_with_stats(listener, config, token, s)
                .await
                .expect("server runs");
        });
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
        config.scene = snapwire_server::Scene::Drift(drifters);
        TestServer::start(config).await
    }

    pub fn url(&self) -> String {
        format!("ws://{}/ws", self.addr)
    }

    /// Stops the server and waits until it has drained.
    pub async fn stop(mut self) {
        self.shutdown.cancel();
        if let Some(task) = self.task.take() {
            tokio::time::timeout(Duration::from_secs(10), task)
                .await
                .expect("server drains in time")
                .expect("server task");
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
