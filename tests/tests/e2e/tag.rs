//! The second game through the whole stack: bots join-or-create rooms of the built-in `tag`
//! kind on a real server, rebuild every tag snapshot (the derived `Runner` layout) and predict
//! their runner with the same rules; a client of the wrong game is refused at `Welcome`.

use crate::support;

use std::sync::Arc;
use std::time::Duration;

use snapwire_bots::{BotOptions, GameChoice, Live, run_bots};
use snapwire_server::Config;
use snapwire_shared::protocol::RoomRequest;
use support::TestServer;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thirty_two_bots_play_tag_in_two_rooms_without_a_desync() {
    let server = TestServer::start(Config::new(60)).await;
    let mut opts = BotOptions::new(server.url(), 32, Duration::from_secs(5));
    opts.ramp = Duration::from_millis(800);
    opts.game = GameChoice::Tag;
    opts.room = RoomRequest::JoinOrCreate { kind: "tag".into() };
    let live = Arc::new(Live::default());
    let running = tokio::spawn(run_bots(opts, Arc::clone(&live)));

    // While they play: two tag rooms of 16 in `/rooms`, labelled with their game.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(4);
    let tag_rooms = loop {
        let rooms: Vec<serde_json::Value> = reqwest::get(format!("http://{}/rooms", server.addr))
            .await
            .expect("GET /rooms")
            .json()
            .await
            .expect("JSON");
        let tag: Vec<_> = rooms.into_iter().filter(|r| r["kind"] == "tag").collect();
        let seated: u64 = tag.iter().filter_map(|r| r["clients"].as_u64()).sum();
        if seated == 32 || tokio::time::Instant::now() > deadline {
            break tag;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(tag_rooms.len(), 2, "{tag_rooms:#?}");
    assert!(
        tag_rooms
            .iter()
            .all(|r| r["game"] == "tag" && r["cap"] == 16 && r["clients"] == 16),
        "{tag_rooms:#?}"
    );

    let run = running.await.expect("the bots ran");
    let report = &run.report;
    assert_eq!(report.bots_connected, 32, "{report:#?}");
    assert_eq!((report.errors, report.desyncs), (0, 0), "{report:#?}");
    assert_eq!(report.rooms, 2, "{report:#?}");
    assert!(report.prediction_checks > 1000, "{report:#?}");
    assert_eq!(report.mispredictions, 0, "{report:#?}");
    // Runners move (tag has no shots to stand still for).
    assert!(
        run.results.iter().all(|r| r.max_travel_units > 1.0),
        "every runner moved"
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_of_another_game_is_refused_at_welcome() {
    let server = TestServer::start(Config::new(60)).await;
    // Tag bots sent to quick play land in an arena room: their session refuses it.
    let mut opts = BotOptions::new(server.url(), 2, Duration::from_secs(1));
    opts.game = GameChoice::Tag;
    opts.server_metrics = false;
    let run = run_bots(opts, Arc::new(Live::default())).await;
    assert_eq!(run.report.errors, 2, "{:#?}", run.report);
    let error = run.results[0].error.as_deref().unwrap_or("");
    assert!(
        error.contains("the room plays \"arena\"; this client plays \"tag\""),
        "{error}"
    );
    server.stop().await;
}
