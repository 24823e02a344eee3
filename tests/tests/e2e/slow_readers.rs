//! Latest-wins all the way down: a client that stops reading for a while (or whose link
//! stalls), or reads slower than the tick rate, gets fresh snapshots when it reads, not a
//! queue of old ones waiting in the socket buffers. Each test runs with flow control off (as
//! before it existed) and on, in the same run, and prints both.

use crate::support;

use std::time::{Duration, Instant};

use snapwire_netsim::Profile;
use snapwire_server::Config;
use support::{AckingClient, TestServer};

/// After a stall: how many old snapshots come before one at most 2 ticks old, and how long
/// that took.
async fn catch_up(reader: &mut AckingClient, server: &TestServer) -> (u32, Duration) {
    let back = Instant::now();
    let mut stale = 0;
    loop {
        let (tick, _) = reader.next_snapshot().await;
        if age(server, tick.0) <= 2 {
            return (stale, back.elapsed());
        }
        stale += 1;
        assert!(stale < 2000, "never caught up");
    }
}

/// How far behind the server's tick a snapshot is, in ticks.
fn age(server: &TestServer, tick: u32) -> i64 {
    i64::from(server.stats.tick.load(std::sync::atomic::Ordering::Relaxed)) - i64::from(tick)
}

async fn server(flow_control: bool) -> TestServer {
    let mut config = Config::new(60);
    config.room.flow_control = flow_control;
    TestServer::start(config).await
}

/// Three seconds in which nothing is read: the reader stops reading (a frozen tab, a phone
/// that switched apps), or, `through_a_link`, the link stalls both ways while the reader keeps
/// reading and gets nothing, then delivers what waited in a burst. Returns how many old
/// snapshots came first, and how long a fresh one took.
async fn stalled(flow_control: bool, through_a_link: bool) -> (u32, Duration) {
    let server = server(flow_control).await;
    let netsim = if through_a_link {
        Some(server.behind(Profile::LAN, 5).await)
    } else {
        None
    };
    let url = netsim
        .as_ref()
        .map_or_else(|| server.url(), |n| format!("ws://{}/ws", n.addr()));
    let mut reader = AckingClient::join(&url, "reader").await;
    for _ in 0..60 {
        reader.next_snapshot().await;
    }
    if let Some(n) = &netsim {
        n.stall_all(true);
    }
    tokio::time::sleep(Duration::from_secs(3)).await;
    if let Some(n) = &netsim {
        n.stall_all(false);
    }
    let caught_up = catch_up(&mut reader, &server).await;
    server.stop().await;
    caught_up
}

/// Without flow control (`off` old snapshots) and with it: a few old ones, then a fresh one.
fn assert_fresh_soon(what: &str, off: u32, (stale, fresh_after): (u32, Duration)) {
    eprintln!(
        "after a 3 s {what}: {off} old snapshots read first without flow control; with it \
         {stale}, and a fresh one {fresh_after:?} after it ended"
    );
    assert!(stale <= 30, "{stale} old snapshots queued below the outbox");
    assert!(
        off > 2 * stale,
        "flow control made no difference: {off} / {stale}"
    );
    // A probe goes out about every 250 ms while held; 1.5 s leaves a loaded machine room.
    assert!(fresh_after < Duration::from_millis(1500), "{fresh_after:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reader_back_from_a_stall_gets_a_fresh_snapshot_at_once() {
    let (off, _) = stalled(false, false).await;
    assert_fresh_soon("stall", off, stalled(true, false).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_link_back_from_a_stall_brings_a_fresh_snapshot_at_once() {
    let (off, _) = stalled(false, true).await;
    assert_fresh_soon("link stall", off, stalled(true, true).await);
}

/// Twenty snapshots a second for four seconds, from a server that makes sixty: the ages of
/// those read in the last second.
async fn slow_reader(flow_control: bool) -> Vec<i64> {
    let server = server(flow_control).await;
    let mut reader = AckingClient::join(&server.url(), "reader").await;
    let mut ages = Vec::new();
    for _ in 0..80 {
        let (tick, _) = reader.next_snapshot().await;
        ages.push(age(&server, tick.0));
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    server.stop().await;
    ages.split_off(60)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reader_slower_than_the_tick_rate_stays_near_the_present() {
    let off = slow_reader(false).await;
    let on = slow_reader(true).await;
    eprintln!(
        "a reader of 20 snapshots a second, ages (ticks) in its last second: without flow \
         control {off:?}; with it {on:?}"
    );
    let worst = on.iter().copied().max().unwrap_or_default();
    // Within the flow-control window, never growing without bound.
    assert!(worst <= 60, "snapshots {worst} ticks old");
    assert!(off.iter().copied().max().unwrap_or_default() > worst);
}
