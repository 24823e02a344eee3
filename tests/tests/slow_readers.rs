//! Latest-wins all the way down: a client that stops reading for a while (or whose link
//! stalls), or reads slower than the tick rate, gets fresh snapshots when it reads, not a
//! queue of old ones waiting in the socket buffers. Each test runs with flow control off (as
//! before it existed) and on, in the same run, and prints both.

mod support;

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
    config.flow_control = flow_control;
    TestServer::start(config).await
}

/// A reader that stops reading for three seconds (a frozen tab, a phone that switched apps).
async fn stalled_reader(flow_control: bool) -> (u32, Duration) {
    let server = server(flow_control).await;
    let mut reader = AckingClient::join(&server.url(), "reader").await;
    for _ in 0..60 {
        reader.next_snapshot().await;
    }
    tokio::time::sleep(Duration::from_secs(3)).await;
    let caught_up = catch_up(&mut reader, &server).await;
    server.stop().await;
    caught_up
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reader_back_from_a_stall_gets_a_fresh_snapshot_at_once() {
    let (off, _) = stalled_reader(false).await;
    let (stale, fresh_after) = stalled_reader(true).await;
    eprintln!(
        "after a 3 s stall: {off} old snapshots read first without flow control; with it \
         {stale}, and a fresh one {fresh_after:?} after reading again"
    );
    assert!(stale <= 30, "{stale} old snapshots queued below the outbox");
    assert!(
        off > 2 * stale,
        "flow control made no difference: {off} / {stale}"
    );
    assert!(fresh_after < Duration::from_millis(500), "{fresh_after:?}");
}

/// A link that stalls for three seconds both ways (the reader keeps reading, and gets
/// nothing), then delivers what waited in a burst.
async fn stalled_link(flow_control: bool) -> (u32, Duration) {
    let server = server(flow_control).await;
    let netsim = server.behind(Profile::LAN, 5).await;
    let mut reader = AckingClient::join(&format!("ws://{}/ws", netsim.addr()), "reader").await;
    for _ in 0..60 {
        reader.next_snapshot().await;
    }
    netsim.stall_all(true);
    tokio::time::sleep(Duration::from_secs(3)).await;
    netsim.stall_all(false);
    let caught_up = catch_up(&mut reader, &server).await;
    server.stop().await;
    caught_up
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_link_back_from_a_stall_brings_a_fresh_snapshot_at_once() {
    let (off, _) = stalled_link(false).await;
    let (stale, fresh_after) = stalled_link(true).await;
    eprintln!(
        "after a 3 s link stall: {off} old snapshots read first without flow control; with \
         it {stale}, and a fresh one {fresh_after:?} after the link came back"
    );
    assert!(stale <= 30, "{stale} old snapshots queued on the way");
    assert!(
        off > 2 * stale,
        "flow control made no difference: {off} / {stale}"
    );
    assert!(fresh_after < Duration::from_millis(500), "{fresh_after:?}");
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
