//! Latest-wins all the way down: a client that stops reading for a while, or reads slower than
//! the tick rate, gets fresh snapshots when it reads, not a queue of old ones waiting in the
//! socket buffers.

mod support;

use std::time::{Duration, Instant};

use futures_util::StreamExt;
use snapwire_server::Config;
use snapwire_shared::client::{ClientSession, SessionEvent};
use snapwire_shared::protocol::ClientMsg;
use support::{TestServer, Ws, connect, send};
use tokio_tungstenite::tungstenite::Message;

/// A player that acknowledges every snapshot it reads, at once.
struct Reader {
    ws: Ws,
    session: ClientSession,
}

impl Reader {
    async fn join(url: &str) -> Reader {
        let mut ws = connect(url).await;
        let (session, hello) = ClientSession::new("reader", false);
        send(&mut ws, &hello).await;
        let mut r = Reader { ws, session };
        r.read_snapshot().await;
        r
    }

    /// Reads frames until the next snapshot; returns its tick.
    async fn read_snapshot(&mut self) -> u32 {
        loop {
            let frame = tokio::time::timeout(Duration::from_secs(5), self.ws.next())
                .await
                .expect("a frame within 5 s");
            let Some(Ok(Message::Binary(bytes))) = frame else {
                panic!("unexpected frame {frame:?}")
            };
            if let SessionEvent::Snapshot { tick, .. } =
                self.session.handle(&bytes).expect("valid frame")
            {
                self.session.withhold_ack();
                send(&mut self.ws, &ClientMsg::Ack { tick }).await;
                return tick.0;
            }
        }
    }
}

/// How far behind the server's tick a snapshot is, in ticks.
fn age(server: &TestServer, tick: u32) -> i64 {
    i64::from(server.stats.tick.load(std::sync::atomic::Ordering::Relaxed)) - i64::from(tick)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reader_back_from_a_stall_gets_a_fresh_snapshot_at_once() {
    let server = TestServer::start(Config::new(60)).await;
    let mut reader = Reader::join(&server.url()).await;
    for _ in 0..60 {
        reader.read_snapshot().await;
    }
    // Three seconds without reading (a frozen tab, a phone that switched apps).
    tokio::time::sleep(Duration::from_secs(3)).await;
    let back = Instant::now();
    let mut stale = 0;
    let fresh_after = loop {
        let tick = reader.read_snapshot().await;
        if age(&server, tick) <= 2 {
            break back.elapsed();
        }
        stale += 1;
        assert!(stale < 1000, "never caught up");
    };
    eprintln!(
        "after a 3 s stall: {stale} old snapshots read first, a fresh one after {fresh_after:?}"
    );
    assert!(stale <= 20, "{stale} old snapshots queued below the outbox");
    assert!(fresh_after < Duration::from_millis(500), "{fresh_after:?}");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reader_slower_than_the_tick_rate_stays_near_the_present() {
    let server = TestServer::start(Config::new(60)).await;
    let mut reader = Reader::join(&server.url()).await;
    // Twenty snapshots a second, for four seconds, from a server that makes sixty.
    let mut ages = Vec::new();
    for _ in 0..80 {
        let tick = reader.read_snapshot().await;
        ages.push(age(&server, tick));
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let last: Vec<i64> = ages[60..].to_vec();
    let worst = last.iter().copied().max().unwrap_or_default();
    eprintln!("a reader of 20 snapshots a second: ages in its last second {last:?} ticks");
    // Within the flow-control window (at most two seconds), never growing without bound.
    assert!(worst <= 60, "snapshots {worst} ticks old");
    server.stop().await;
}
