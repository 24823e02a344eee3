//! Bots play against a real server over real WebSockets, and every snapshot must verify.

mod support;

use std::sync::Arc;
use std::time::Duration;

use snapwire_bots::{BotOptions, Live, run_bots};
use support::TestServer;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn eight_bots_play_300_ticks_without_a_desync() {
    let server = TestServer::drift(20).await;
    let mut opts = BotOptions::new(server.url(), 8, Duration::from_secs(6));
    opts.ramp = Duration::from_millis(400);
    let run = run_bots(opts, Arc::new(Live::default())).await;
    let (report, results) = (run.report, run.results);

    assert_eq!(report.bots_connected, 8, "{report:#?}");
    assert_eq!(report.errors, 0, "{report:#?}");
    assert_eq!(report.desyncs, 0, "{report:#?}");
    assert!(report.pass);
    for (i, r) in results.iter().enumerate() {
        // 6 s at 60 Hz is 360 ticks; a loaded CI machine may skip some, never most.
        assert!(
            r.snapshots >= 300,
            "bot {i} verified only {} snapshots",
            r.snapshots
        );
        // Acks advance: the server applied nearly every input the bot sent.
        assert!(
            r.last_acked_input as u64 + 30 >= r.inputs_sent,
            "bot {i}: acked {} of {}",
            r.last_acked_input,
            r.inputs_sent
        );
        // Moved consistently with its inputs: every reconciliation matched the prediction made
        // from the same inputs with the shared rules (deaths and respawns excepted: a bot
        // killed twice in the run spends four of its six seconds unpredicted, dead).
        assert!(
            r.prediction_checks >= 100,
            "bot {i}: only {} prediction checks",
            r.prediction_checks
        );
        assert_eq!(r.mispredictions, 0, "bot {i} mispredicted");
        assert!(
            r.max_travel_units > 2.0,
            "bot {i} barely moved: {}",
            r.max_travel_units
        );
    }
    assert!(server.stats.ticks.get() >= 300);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spectators_see_the_whole_drift_scene() {
    let server = TestServer::drift(100).await;
    let mut opts = BotOptions::new(server.url(), 2, Duration::from_secs(2));
    opts.spectate = true;
    let run = run_bots(opts, Arc::new(Live::default())).await;
    let (report, results) = (run.report, run.results);
    assert!(report.pass, "{report:#?}");
    assert!(results.iter().all(|r| r.snapshots >= 90), "{results:#?}");
    for r in &results {
        assert_eq!(r.last_view_entities, 100, "a spectator sees every drifter");
    }
    server.stop().await;
}
