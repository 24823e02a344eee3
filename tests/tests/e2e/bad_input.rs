//! Hostile clients: each bad input closes only its own connection, with the expected close
//! code and a reason naming the problem, while bots on the same server keep playing.

use crate::support;

use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use snapwire_bots::{BotOptions, Live, run_bots};
use snapwire_server::Config;
use snapwire_shared::protocol::{BUTTON_ACK, ClientMsg, InputMsg, MAX_CLIENT_MSG_BYTES};
use snapwire_shared::{CloseCode, Tick, codec};
use support::{TestServer, close_of, connect, joined, send};
use tokio_tungstenite::tungstenite::Message;

fn input(move_x: i8, buttons: u8, tick: u16) -> ClientMsg {
    ClientMsg::Input(InputMsg {
        seq: 1,
        tick,
        move_x,
        move_y: 0,
        aim: 0,
        buttons,
        view_tick: 0,
        view_frac: 0,
    })
}

async fn expect_close(ws: &mut support::Ws, code: CloseCode, reason_has: &str) {
    eprintln!("expecting {code:?}");
    let (got, reason) = close_of(ws).await;
    assert_eq!(got, code.code(), "expected {code:?}, got {got} ({reason})");
    assert!(
        reason.contains(reason_has),
        "reason `{reason}` should mention `{reason_has}`"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_bad_input_closes_only_its_own_connection() {
    let server = TestServer::start(Config::new(60)).await;
    let url = server.url();
    let mut opts = BotOptions::new(url.clone(), 4, Duration::from_secs(5));
    opts.ramp = Duration::from_millis(200);
    let live = Arc::new(Live::default());
    let bots = tokio::spawn(run_bots(opts, Arc::clone(&live)));
    // The attacks start once every bot plays.
    support::wait_until(|| live.connected.load(std::sync::atomic::Ordering::Relaxed) == 4).await;

    let mut ws = joined(&url).await;
    ws.send(Message::Binary(
        vec![0xde, 0xad, 0xbe, 0xef, 0x00, 0x01].into(),
    ))
    .await
    .expect("send");
    expect_close(&mut ws, CloseCode::Malformed, "undecodable").await;

    let mut ws = joined(&url).await;
    ws.send(Message::Text("{\"hello\":1}".into()))
        .await
        .expect("send");
    expect_close(&mut ws, CloseCode::TextFrame, "text frames").await;

    let mut ws = joined(&url).await;
    ws.send(Message::Binary(vec![2u8; MAX_CLIENT_MSG_BYTES * 2].into()))
        .await
        .expect("send");
    expect_close(&mut ws, CloseCode::TooLarge, "over the 1024-byte limit").await;

    // Variant index 7: no such message.
    let mut ws = joined(&url).await;
    ws.send(Message::Binary(vec![7u8, 0, 0].into()))
        .await
        .expect("send");
    expect_close(&mut ws, CloseCode::Malformed, "undecodable").await;

    let mut ws = joined(&url).await;
    send(&mut ws, &input(i8::MIN, 0, 0)).await;
    expect_close(&mut ws, CloseCode::InvalidValue, "axis -128").await;

    let mut ws = joined(&url).await;
    send(&mut ws, &input(0, 0x80, 0)).await;
    expect_close(&mut ws, CloseCode::InvalidValue, "button bits 0x80").await;

    // The server reads a 16-bit tick as the nearest full tick: 20,000 ticks (5 minutes) off.
    let mut ws = joined(&url).await;
    let now = server.stats.tick.load(std::sync::atomic::Ordering::Relaxed);
    send(&mut ws, &input(64, 0, now.wrapping_add(20_000) as u16)).await;
    expect_close(
        &mut ws,
        CloseCode::TickOutOfRange,
        "ticks from the server's",
    )
    .await;

    let mut ws = connect(&url).await;
    send(&mut ws, &ClientMsg::Ack { tick: Tick(1) }).await;
    expect_close(&mut ws, CloseCode::Handshake, "Hello").await;

    let mut ws = joined(&url).await;
    send(&mut ws, &support::hello("again")).await;
    expect_close(&mut ws, CloseCode::Handshake, "twice").await;

    let mut ws = connect(&url).await;
    let long_name = ClientMsg::Hello {
        protocol_version: snapwire_shared::PROTOCOL_VERSION,
        name: "x".repeat(200),
        spectate: false,
        room: snapwire_shared::protocol::RoomRequest::quick_play(),
        resume: None,
    };
    send(&mut ws, &long_name).await;
    expect_close(&mut ws, CloseCode::InvalidValue, "name").await;

    // Acks of ticks never sent, repeated: logged, then the connection is closed.
    let mut ws = joined(&url).await;
    for _ in 0..40 {
        send(
            &mut ws,
            &ClientMsg::Ack {
                tick: Tick(1_000_000),
            },
        )
        .await;
    }
    expect_close(&mut ws, CloseCode::BadAck, "future").await;

    // The same through the acknowledgement an input carries: a tick ahead of the server (but
    // within the input skew), repeated.
    let mut ws = joined(&url).await;
    let ahead = server.stats.tick.load(std::sync::atomic::Ordering::Relaxed) + 120;
    for seq in 1..=40 {
        let msg = ClientMsg::Input(InputMsg {
            seq,
            tick: ahead as u16,
            move_x: 0,
            move_y: 0,
            aim: 0,
            buttons: BUTTON_ACK,
            view_tick: 0,
            view_frac: 0,
        });
        send(&mut ws, &msg).await;
    }
    expect_close(&mut ws, CloseCode::BadAck, "future").await;

    // A flood: far more messages than one tick drains, written without waiting.
    let mut ws = joined(&url).await;
    let ack = Message::Binary(codec::encode_client(&ClientMsg::Ack { tick: Tick(0) }).into());
    for _ in 0..5000 {
        if ws.feed(ack.clone()).await.is_err() {
            break;
        }
    }
    let _ = ws.flush().await;
    let (code, reason) = close_of(&mut ws).await;
    assert!(
        code == CloseCode::Flooding.code() || code == CloseCode::BadAck.code(),
        "flood closed with {code} ({reason})"
    );

    let run = bots.await.expect("bots task");
    let (report, results) = (run.report, run.results);
    assert!(report.pass, "bots were disturbed: {report:#?}");
    // Nobody was dropped, and snapshots kept flowing. The rate is a liveness floor (a
    // stalled server sends none), not a speed: a debug build on a loaded machine says
    // nothing about speed, which the benches measure.
    for r in &results {
        assert_eq!((r.drops, r.desyncs), (0, 0), "bot {}", r.index);
        assert!(
            r.snapshots_per_s() >= 10.0,
            "a bot's snapshot rate fell to {}",
            r.snapshots_per_s()
        );
    }
    // Every close above, counted once, read over HTTP as an operator would.
    let get = |path: &'static str| {
        let addr = server.addr;
        async move {
            reqwest::get(format!("http://{addr}{path}"))
                .await
                .expect("GET")
                .text()
                .await
                .expect("body")
        }
    };
    // The bots have closed their sockets; the rooms see them go within a tick or two.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    let health = loop {
        let health: serde_json::Value = serde_json::from_str(&get("/healthz").await).expect("JSON");
        if health["clients"] == 0 || tokio::time::Instant::now() > deadline {
            break health;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(health["closed_for_bad_input"], 13, "{health}");
    assert_eq!(health["clients"], 0, "{health}");
    // A client closed for its own fault leaves at once: none is kept for a resume (seven
    // were, when the room saw the socket end before it saw the reason).
    assert_eq!(health["clients_away"], 0, "{health}");
    let metrics = get("/metrics").await;
    let closes = |code: u16| {
        metrics
            .lines()
            .find_map(|l| l.strip_prefix(&format!("snapwire_closes_total{{code=\"{code}\"}} ")))
            .map_or(0, |n| n.parse::<u64>().expect("a count"))
    };
    for (code, n) in [
        (4001, 2),
        (1003, 1),
        (1009, 1),
        (4002, 3),
        (4003, 1),
        (4004, 2),
    ] {
        assert_eq!(closes(code), n, "closes with {code}");
    }
    assert_eq!(
        closes(4005) + closes(4007),
        3,
        "bad acks twice, and the flood"
    );
    server.stop().await;
}

#[tokio::test]
async fn a_version_mismatch_gets_its_own_code_and_says_reload() {
    let server = TestServer::start(Config::new(60)).await;
    let mut ws = connect(&server.url()).await;
    send(
        &mut ws,
        &ClientMsg::Hello {
            protocol_version: 9999,
            name: "old".into(),
            spectate: false,
            room: snapwire_shared::protocol::RoomRequest::quick_play(),
            resume: None,
        },
    )
    .await;
    let (code, reason) = close_of(&mut ws).await;
    assert_eq!(code, CloseCode::VersionMismatch.code());
    assert!(
        reason.contains("reload") && reason.contains("9999"),
        "reason: {reason}"
    );
    server.stop().await;
}

#[tokio::test]
async fn a_full_server_says_so() {
    let mut config = Config::new(60);
    config.max_clients = 1;
    let server = TestServer::start(config).await;
    let _first = joined(&server.url()).await;
    support::wait_until(|| server.stats.clients.get() == 1).await;
    let mut second = connect(&server.url()).await;
    let (code, _) = close_of(&mut second).await;
    assert_eq!(code, CloseCode::ServerFull.code());
    server.stop().await;
}

#[tokio::test]
async fn shutdown_closes_clients_with_going_away() {
    let server = TestServer::start(Config::new(60)).await;
    let mut ws = joined(&server.url()).await;
    support::wait_until(|| server.stats.clients.get() == 1).await;
    let stopping = tokio::spawn(server.stop());
    let (code, _) = close_of(&mut ws).await;
    assert_eq!(code, CloseCode::GoingAway.code());
    stopping.await.expect("server stops");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn names_are_limited_in_characters_and_duplicates_are_told_apart() {
    let server = TestServer::start(Config::new(60)).await;
    let url = server.url();
    // 18 characters (17 Cyrillic letters and a space), 35 bytes of UTF-8: refused before.
    let cyrillic = "Екатерина Петровна";
    let mut players = Vec::new();
    for name in [cyrillic, "dup", "dup"] {
        let mut ws = connect(&url).await;
        send(&mut ws, &support::hello(name)).await;
        let first = tokio::time::timeout(Duration::from_secs(5), ws.next())
            .await
            .expect("a reply within 5 s");
        assert!(
            matches!(first, Some(Ok(Message::Binary(_)))),
            "{name:?} was not welcomed: {first:?}"
        );
        players.push(ws);
    }
    // `/players` over HTTP, as an operator reads it, polled until the list is republished.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    let players = loop {
        let players: Vec<serde_json::Value> =
            reqwest::get(format!("http://{}/players", server.addr))
                .await
                .expect("GET /players")
                .json()
                .await
                .expect("JSON");
        if players.len() == 3 || tokio::time::Instant::now() > deadline {
            break players;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let mut names: Vec<&str> = players.iter().filter_map(|p| p["name"].as_str()).collect();
    names.sort_unstable();
    assert_eq!(names, ["dup", "dup 2", cyrillic]);
    // One room, the first; everyone at full health with no kills yet.
    let room = players[0]["room"].as_str().expect("a room id");
    for p in &players {
        assert_eq!(
            (p["room"].as_str(), &p["health"], &p["score"]),
            (Some(room), &100.into(), &0.into())
        );
    }

    let mut ws = connect(&url).await;
    send(&mut ws, &support::hello(&"я".repeat(25))).await;
    expect_close(&mut ws, CloseCode::InvalidValue, "24 characters").await;
    server.stop().await;
}

#[tokio::test]
async fn a_plain_http_request_to_the_socket_is_answered_in_words() {
    let server = TestServer::start(Config::new(60)).await;
    let response = reqwest::get(format!("http://{}/ws", server.addr))
        .await
        .expect("GET /ws");
    assert_eq!(response.status().as_u16(), 426);
    let text = response.text().await.expect("body");
    assert!(text.contains("game socket"), "{text}");
    server.stop().await;
}
