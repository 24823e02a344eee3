//! The game over a simulated link (`snapwire-netsim`): bots play through the `average`
//! profile (100 ms +-25 ms each way, 2% of chunks stalled like a TCP loss) and every snapshot
//! still verifies and every prediction still holds.

mod support;

use std::sync::Arc;
use std::time::Duration;

use snapwire_bots::{BotOptions, Live, run_bots};
use snapwire_netsim::{Netsim, Profile};
use snapwire_server::Config;
use support::TestServer;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bots_play_through_an_average_link_without_a_desync() {
    let server = TestServer::start(Config::new(60)).await;
    let netsim = Netsim::start(
        "127.0.0.1:0".parse().expect("addr"),
        server.addr,
        Profile::AVERAGE,
        11,
    )
    .await
    .expect("netsim starts");
    let mut opts = BotOptions::new(
        format!("ws://{}/ws", netsim.addr()),
        8,
        Duration::from_secs(6),
    );
    opts.ramp = Duration::from_millis(400);
    opts.server_metrics = false;
    let run = run_bots(opts, Arc::new(Live::default())).await;
    let report = &run.report;
    eprintln!(
        "through `average`: {:.1} snapshots/s per bot (slowest {:.1}), input-to-ack p50 {:.0} / p99 {:.0} ms, {:.1} kbps",
        report.snapshots_per_bot_per_s,
        report.snapshots_per_bot_per_s_min,
        report.input_to_ack_ms.p50,
        report.input_to_ack_ms.p99,
        report.kbps_per_bot
    );
    assert_eq!(report.bots_connected, 8, "{report:#?}");
    assert_eq!((report.errors, report.desyncs), (0, 0), "{report:#?}");
    assert_eq!(report.mispredictions, 0, "{report:#?}");
    assert!(report.prediction_checks > 500, "{report:#?}");
    // Over TCP nothing is lost, only late: most ticks still arrive (stalls come back as bursts,
    // and the server skips snapshots a stalled client has not taken).
    assert!(report.snapshots_per_bot_per_s > 40.0, "{report:#?}");
    // An input is acknowledged a round trip later: at least 150 ms (two one-way delays at their
    // shortest), and far less than a second.
    let ack = &report.input_to_ack_ms;
    assert!(ack.p50 >= 150.0 && ack.p50 < 1000.0, "{report:#?}");
    assert_eq!(netsim.accepted(), 8);
    server.stop().await;
}
