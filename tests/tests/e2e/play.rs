//! Bots play against a real server over real WebSockets, and every snapshot must verify.

use crate::support;

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

/// The room writes snapshots to the socket itself while the connection is idle, and
/// tungstenite answers pings on the connection's task: with both going on, every pong comes
/// back with its payload, in order, and every frame between them is whole and verifies.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_pings_while_snapshots_stream_gets_every_pong_and_whole_frames() {
    use futures_util::{SinkExt, StreamExt};
    use snapwire_shared::client::SessionEvent;
    use tokio_tungstenite::tungstenite::Message;

    let server = TestServer::drift(100).await;
    let mut client = support::AckingClient::join(&server.url(), "pinger").await;
    const PINGS: u32 = 120;
    let (mut pongs, mut snapshots) = (Vec::new(), 0);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    let mut sent = 0u32;
    while pongs.len() < PINGS as usize || snapshots < 200 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "{} pongs, {snapshots} snapshots",
            pongs.len()
        );
        if sent < PINGS {
            let payload = sent.to_be_bytes().to_vec();
            client
                .ws
                .send(Message::Ping(payload.into()))
                .await
                .expect("ping");
            sent += 1;
        }
        let frame = tokio::time::timeout(Duration::from_secs(5), client.ws.next())
            .await
            .expect("a frame within 5 s");
        match frame {
            Some(Ok(Message::Pong(payload))) => pongs.push(payload.to_vec()),
            Some(Ok(Message::Binary(bytes))) => {
                if let SessionEvent::Snapshot { tick, .. } =
                    client.session.handle(&bytes).expect("a whole, valid frame")
                {
                    snapshots += 1;
                    client.session.withhold_ack();
                    support::send(
                        &mut client.ws,
                        &snapwire_shared::protocol::ClientMsg::Ack { tick },
                    )
                    .await;
                }
            }
            other => panic!("unexpected frame {other:?}"),
        }
    }
    let expected: Vec<Vec<u8>> = (0..PINGS).map(|i| i.to_be_bytes().to_vec()).collect();
    assert_eq!(pongs, expected);
    assert!(
        server.stats.frames_out_direct.get() > 0,
        "the room wrote snapshots itself meanwhile (how many is timing: a bench figure)"
    );
    server.stop().await;
}
