//! Many rooms in one process, through real sockets: matchmaking fills a room then opens
//! another, rooms never leak into each other, the room close codes, private rooms, a room whose
//! rules panic closing alone, and empty rooms closing after their grace period.

use crate::support;

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use snapwire_server::Config;
use snapwire_server::config::RoomKind;
use snapwire_server::room::Scene;
use snapwire_shared::client::{ClientSession, SessionEvent};
use snapwire_shared::protocol::{RoomRequest, Welcome};
use snapwire_shared::snapshot::EntityKind;
use snapwire_shared::{CloseCode, codec};
use support::{TestServer, Ws, connect};
use tokio_tungstenite::tungstenite::Message;

/// A client that joined a room, with the real client session.
#[derive(Debug)]
struct Client {
    ws: Ws,
    session: ClientSession,
    welcome: Welcome,
}

impl Client {
    /// Leaves on purpose (close 1000): the room forgets the client at once, where a dropped
    /// socket would keep it for a resume.
    async fn leave(mut self) {
        let bye = tokio_tungstenite::tungstenite::protocol::CloseFrame {
            code: tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode::Normal,
            reason: "".into(),
        };
        self.ws
            .send(Message::Close(Some(bye)))
            .await
            .expect("close");
    }
}

/// Connects and asks for `room`; the Welcome, or the close code and reason.
async fn enter(
    server: &TestServer,
    name: &str,
    spectate: bool,
    room: RoomRequest,
) -> Result<Client, (u16, String)> {
    let mut ws = connect(&server.url()).await;
    let (mut session, hello) = ClientSession::for_room(name, spectate, room);
    ws.send(Message::Binary(codec::encode_client(&hello).into()))
        .await
        .expect("send hello");
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let frame = tokio::time::timeout_at(deadline.into(), ws.next())
            .await
            .expect("an answer to Hello within 5 s");
        match frame {
            Some(Ok(Message::Binary(bytes))) => {
                if let Ok(SessionEvent::Welcome(welcome)) = session.handle(&bytes) {
                    return Ok(Client {
                        ws,
                        session,
                        welcome,
                    });
                }
            }
            Some(Ok(Message::Close(Some(f)))) => {
                return Err((u16::from(f.code), f.reason.to_string()));
            }
            Some(Ok(_)) => {}
            other => panic!("connection ended without an answer: {other:?}"),
        }
    }
}

async fn quick(server: &TestServer, name: &str) -> Client {
    enter(server, name, false, RoomRequest::quick_play())
        .await
        .unwrap_or_else(|e| panic!("{name} could not join: {e:?}"))
}

impl Client {
    /// Plays for `time`: reads every frame, sends an input per snapshot (which acknowledges
    /// it). Returns the snapshots received, or the close code and reason if the server closed.
    async fn play_for(&mut self, time: Duration) -> Result<u32, (u16, String)> {
        let end = tokio::time::Instant::now() + time;
        let mut snapshots = 0;
        loop {
            let frame = match tokio::time::timeout_at(end, self.ws.next()).await {
                Err(_) => return Ok(snapshots),
                Ok(frame) => frame,
            };
            match frame {
                Some(Ok(Message::Binary(bytes))) => {
                    if let Ok(SessionEvent::Snapshot { .. }) = self.session.handle(&bytes) {
                        snapshots += 1;
                        let msg = self
                            .session
                            .input(0.3, 0.0, 0.0, false)
                            .or_else(|| self.session.take_ack());
                        if let Some(msg) = msg {
                            let _ = self
                                .ws
                                .send(Message::Binary(codec::encode_client(&msg).into()))
                                .await;
                        }
                    }
                }
                Some(Ok(Message::Close(Some(f)))) => {
                    return Err((u16::from(f.code), f.reason.to_string()));
                }
                Some(Ok(_)) => {}
                other => panic!("connection ended without a close: {other:?}"),
            }
        }
    }

    /// Names of the players in this client's latest snapshot.
    fn players_seen(&self) -> BTreeSet<String> {
        let Some((_, view)) = self.session.replica().latest() else {
            return BTreeSet::new();
        };
        view.entities()
            .iter()
            .filter(|(_, s)| s.kind == EntityKind::Player)
            .map(|(id, _)| self.session.replica().name(id.0).unwrap_or("?").to_owned())
            .collect()
    }
}

fn config(room_size: usize) -> Config {
    let mut c = Config::new(60);
    c.room_size = Some(room_size);
    // Everyone in a room sees everyone in it.
    c.room.view_width = c.room.map.width * 2;
    c.room.view_height = c.room.map.height * 2;
    c
}

async fn rooms_json(server: &TestServer) -> Vec<serde_json::Value> {
    let body = reqwest::get(format!("http://{}/rooms", server.addr))
        .await
        .expect("GET /rooms")
        .json::<serde_json::Value>()
        .await
        .expect("JSON");
    body.as_array().cloned().expect("an array")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quick_play_fills_a_room_then_opens_another_and_rooms_never_mix() {
    let server = TestServer::start(config(3)).await;
    let mut clients = Vec::new();
    for name in ["a1", "a2", "a3", "b1", "b2"] {
        clients.push(quick(&server, name).await);
    }
    let rooms: Vec<String> = clients.iter().map(|c| c.welcome.room.clone()).collect();
    assert_eq!(rooms[0], rooms[1]);
    assert_eq!(rooms[1], rooms[2]);
    assert_ne!(rooms[2], rooms[3], "the fourth client opens a second room");
    assert_eq!(rooms[3], rooms[4], "the fifth fills the second room first");
    assert!(clients.iter().all(|c| c.welcome.kind == "default"));

    let played = futures_util::future::join_all(
        clients
            .iter_mut()
            .map(|c| c.play_for(Duration::from_secs(2))),
    )
    .await;
    for (c, p) in clients.iter().zip(&played) {
        let snapshots = *p.as_ref().expect("nobody is closed");
        assert!(
            snapshots >= 60,
            "{} got {snapshots} snapshots",
            c.welcome.room
        );
        assert_eq!(c.session.stats.desyncs, 0, "checksums hold");
    }
    let first: BTreeSet<String> = ["a1", "a2", "a3"].map(String::from).into();
    let second: BTreeSet<String> = ["b1", "b2"].map(String::from).into();
    for (i, c) in clients.iter().enumerate() {
        let want = if i < 3 { &first } else { &second };
        assert_eq!(&c.players_seen(), want, "client {i} sees only its own room");
    }

    // `/rooms`: both rooms, the fullest first, with exact counts.
    let listed = rooms_json(&server).await;
    assert_eq!(listed.len(), 2, "{listed:?}");
    assert_eq!(listed[0]["id"], rooms[0].as_str());
    assert_eq!(listed[0]["clients"], 3);
    assert_eq!(listed[0]["cap"], 3);
    assert_eq!(listed[1]["clients"], 2);
    assert_eq!(listed[1]["tick_rate"], 60);
    assert_eq!(server.stats.rooms.get(), 2);
    // `/metrics` by kind: labels are kinds, never room ids.
    let metrics = reqwest::get(format!("http://{}/metrics", server.addr))
        .await
        .expect("GET /metrics")
        .text()
        .await
        .expect("body");
    assert!(
        metrics.contains("snapwire_kind_rooms{kind=\"default\"} 2"),
        "{metrics}"
    );
    assert!(
        metrics.contains("snapwire_kind_clients{kind=\"default\"} 5"),
        "{metrics}"
    );
    assert!(!metrics.contains(&rooms[0]), "a room id became a label");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn full_rooms_unknown_rooms_and_the_room_limit_have_their_codes() {
    let mut c = config(2);
    c.max_rooms = 2;
    let server = TestServer::start(c).await;
    let a = quick(&server, "a").await;
    let _b = quick(&server, "b").await;
    let id = a.welcome.room.clone();

    let full = enter(&server, "c", false, RoomRequest::Join { id: id.clone() }).await;
    let (code, reason) = full.expect_err("a full room refuses");
    assert_eq!(code, CloseCode::RoomFull.code());
    assert!(reason.contains("full"), "{reason}");

    let unknown = RoomRequest::Join {
        id: "nope00".into(),
    };
    let (code, _) = enter(&server, "c", false, unknown)
        .await
        .expect_err("no room");
    assert_eq!(code, CloseCode::NoSuchRoom.code());
    let bad_kind = RoomRequest::JoinOrCreate {
        kind: "chess".into(),
    };
    let (code, reason) = enter(&server, "c", false, bad_kind)
        .await
        .expect_err("no kind");
    assert_eq!(code, CloseCode::NoSuchRoom.code());
    assert!(reason.contains("chess"), "{reason}");

    // A private room: not listed, joined by id.
    let private = RoomRequest::Create {
        kind: String::new(),
        private: true,
    };
    let host = enter(&server, "host", false, private)
        .await
        .expect("created");
    let secret = host.welcome.room.clone();
    assert_ne!(secret, id);
    let listed = rooms_json(&server).await;
    assert!(
        listed.iter().all(|r| r["id"] != secret.as_str()),
        "{listed:?}"
    );
    let guest = enter(
        &server,
        "guest",
        false,
        RoomRequest::Join { id: secret.clone() },
    )
    .await
    .expect("joined by id");
    assert_eq!(guest.welcome.room, secret);

    // Two rooms open, the limit: the next room cannot be made.
    let (code, reason) = enter(&server, "d", false, RoomRequest::quick_play())
        .await
        .expect_err("no third room");
    assert_eq!(code, CloseCode::RoomLimit.code());
    assert!(reason.contains("limit of 2 rooms"), "{reason}");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_room_that_panics_closes_alone() {
    let mut c = config(8);
    let mut doomed = c.room.clone();
    doomed.scene = Scene::PanicAfter(90);
    c.extra_kinds.push(RoomKind {
        name: "doomed".into(),
        game: "arena".into(),
        settings: doomed,
        max_clients: 8,
    });
    let server = TestServer::start(c).await;
    let mut calm = quick(&server, "calm").await;
    let create = RoomRequest::Create {
        kind: "doomed".into(),
        private: false,
    };
    let mut victim = enter(&server, "victim", false, create)
        .await
        .expect("joined the doomed room");
    assert_eq!(victim.welcome.kind, "doomed");

    let (calm_run, victim_run) = tokio::join!(
        calm.play_for(Duration::from_secs(3)),
        victim.play_for(Duration::from_secs(3))
    );
    let (code, reason) = victim_run.expect_err("the doomed room closes its client");
    assert_eq!(code, CloseCode::InternalError.code());
    assert!(reason.contains("room"), "{reason}");
    let snapshots = calm_run.expect("the other room goes on");
    assert!(
        snapshots >= 150,
        "the calm room kept its rate: {snapshots} in 3 s"
    );
    assert_eq!(server.stats.rooms_failed.get(), 1);
    assert_eq!(server.stats.rooms.get(), 1);
    let listed = rooms_json(&server).await;
    assert_eq!(listed.len(), 1, "the failed room left /rooms: {listed:?}");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn empty_rooms_close_after_their_grace_period() {
    let mut c = config(4);
    c.room_grace = Duration::from_millis(300);
    let server = TestServer::start(c).await;
    let create = RoomRequest::Create {
        kind: String::new(),
        private: false,
    };
    let client = enter(&server, "brief", false, create)
        .await
        .expect("created");
    let id = client.welcome.room.clone();
    assert_eq!(rooms_json(&server).await.len(), 2);
    client.leave().await;
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let listed = rooms_json(&server).await;
        if listed.iter().all(|r| r["id"] != id.as_str()) {
            // The default room stays, empty or not.
            assert_eq!(listed.len(), 1, "{listed:?}");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "room {id} never closed: {listed:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let (code, _) = enter(&server, "late", false, RoomRequest::Join { id })
        .await
        .expect_err("the room is gone");
    assert_eq!(code, CloseCode::NoSuchRoom.code());
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bots_fill_rooms_by_quick_play_or_join_one_by_id() {
    let server = TestServer::start(config(4)).await;
    let mut opts = snapwire_bots::BotOptions::new(server.url(), 8, Duration::from_secs(2));
    opts.ramp = Duration::from_millis(400);
    opts.server_metrics = false;
    let live = std::sync::Arc::new(snapwire_bots::Live::default());
    let run = snapwire_bots::run_bots(opts, std::sync::Arc::clone(&live)).await;
    assert!(run.report.pass, "{:#?}", run.report);
    assert_eq!(run.report.rooms, 2, "8 bots in rooms of 4");
    let room = run.results[0].room.clone().expect("joined a room");

    // `--room ID`: every bot in that one room, once the first bots have left it.
    support::wait_until(|| server.stats.clients.get() == 0).await;
    let mut opts = snapwire_bots::BotOptions::new(server.url(), 3, Duration::from_secs(1));
    opts.room = RoomRequest::Join { id: room.clone() };
    opts.server_metrics = false;
    let run = snapwire_bots::run_bots(opts, live).await;
    assert_eq!(run.report.rooms, 1);
    assert!(
        run.results
            .iter()
            .all(|r| r.room.as_deref() == Some(room.as_str()))
    );
    server.stop().await;
}
