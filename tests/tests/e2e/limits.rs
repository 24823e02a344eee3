//! The limits a public server needs, each tried from outside as an attacker would, with honest
//! bots playing alongside: sockets that never send a request, header dribblers, the cap on
//! connections mid-handshake, silent clients, a speed hack sending ten times the input rate,
//! and a client that stops reading.

use crate::support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use snapwire_bots::{BotOptions, Live, run_bots};
use snapwire_server::Config;
use snapwire_shared::client::{ClientSession, SessionEvent};
use snapwire_shared::protocol::{ClientMsg, RoomRequest, ServerMsg};
use snapwire_shared::quantize::pos_to_units;
use snapwire_shared::sim::Rules;
use snapwire_shared::{CloseCode, codec};
use support::{TestServer, close_of, connect, send};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;

/// Reads until the server closes the TCP connection; how long that took.
async fn closed_after(tcp: &mut TcpStream, bound: Duration) -> Duration {
    let started = Instant::now();
    let mut buf = [0u8; 512];
    loop {
        match tokio::time::timeout_at((started + bound).into(), tcp.read(&mut buf)).await {
            Ok(Ok(0) | Err(_)) => return started.elapsed(),
            Ok(Ok(_)) => {} // A 408 or similar before the close is fine.
            Err(_) => panic!("still open after {bound:?}"),
        }
    }
}

fn honest_bots(server: &TestServer, seconds: u64) -> tokio::task::JoinHandle<snapwire_bots::Run> {
    let mut opts = BotOptions::new(server.url(), 4, Duration::from_secs(seconds));
    opts.ramp = Duration::from_millis(200);
    opts.fire = false;
    opts.server_metrics = false;
    tokio::spawn(run_bots(opts, Arc::new(Live::default())))
}

fn assert_unharmed(run: &snapwire_bots::Run) {
    assert!(run.report.pass, "{:#?}", run.report);
    assert_eq!(run.report.errors, 0);
    assert_eq!(run.report.desyncs, 0);
    assert_eq!(run.report.drops, 0, "{:#?}", run.report);
    // A liveness floor (a stalled server sends none), not a speed: the benches measure that.
    assert!(
        run.report.snapshots_per_bot_per_s >= 10.0,
        "honest bots fell to {} snapshots/s",
        run.report.snapshots_per_bot_per_s
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn silent_sockets_and_header_dribblers_are_closed_and_the_pending_cap_holds() {
    let mut config = Config::new(60);
    config.header_timeout = Duration::from_millis(500);
    config.max_pending = 8;
    let server = TestServer::start(config).await;
    let bots = honest_bots(&server, 4);
    // The bots hold no place under the cap once they play: wait until they all do.
    support::wait_until(|| server.stats.clients.get() == 4).await;

    // Eight sockets that never send a byte, and one that dribbles half a header: the cap is
    // full, so a ninth connection is closed as soon as it is accepted.
    let mut silent = Vec::new();
    for _ in 0..7 {
        silent.push(TcpStream::connect(server.addr).await.expect("connect"));
    }
    let mut dribbler = TcpStream::connect(server.addr).await.expect("connect");
    dribbler
        .write_all(b"GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgr")
        .await
        .expect("write");
    tokio::time::sleep(Duration::from_millis(100)).await;
    let mut ninth = TcpStream::connect(server.addr).await.expect("connect");
    let refused = closed_after(&mut ninth, Duration::from_secs(1)).await;
    // Refused as accepted: well before any timeout (`closed_after` allows 1 s).
    eprintln!("the ninth connection was refused after {refused:?}");
    assert_eq!(server.stats.refused_pending.get(), 1);

    // Every one of them is closed by the header timeout (500 ms; `closed_after` allows 3 s
    // for a loaded machine), not before: 100 ms of it had passed when the wait began.
    let took = closed_after(&mut dribbler, Duration::from_secs(3)).await;
    assert!(
        took >= Duration::from_millis(300),
        "dribbler closed after {took:?}, before its header timeout"
    );
    let mut slowest = Duration::ZERO;
    for s in &mut silent {
        slowest = slowest.max(closed_after(s, Duration::from_secs(3)).await);
    }
    eprintln!(
        "header timeout 500 ms: ninth connection refused after {refused:?}, dribbler closed \
         after {took:?}, silent sockets by {slowest:?} more"
    );
    // Places are free again: an honest client joins (with the cap still full it would be
    // closed as accepted, like the ninth).
    let mut ws = connect(&server.url()).await;
    send(&mut ws, &support::hello("late")).await;
    let first = ws.next().await.expect("a frame").expect("ok");
    assert!(matches!(first, Message::Binary(_)), "{first:?}");
    assert_unharmed(&bots.await.expect("bots"));
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_client_is_closed_after_the_idle_timeout() {
    let mut config = Config::new(60);
    config.idle_timeout = Duration::from_millis(500);
    let server = TestServer::start(config).await;
    let bots = honest_bots(&server, 3);
    let mut ws = connect(&server.url()).await;
    send(&mut ws, &support::hello("mute")).await;
    let started = Instant::now();
    // Reads everything the server sends, answers nothing (tungstenite pongs the server's
    // keep-alive ping, which does not count as a message).
    let mut pinged = false;
    let (code, reason) = loop {
        match tokio::time::timeout(Duration::from_secs(5), ws.next()).await {
            Ok(Some(Ok(Message::Ping(_)))) => pinged = true,
            Ok(Some(Ok(Message::Close(Some(f))))) => {
                break (u16::from(f.code), f.reason.to_string());
            }
            Ok(Some(Ok(_))) => {}
            other => panic!("no close: {other:?}"),
        }
    };
    assert!(pinged, "a keep-alive ping came first");
    assert_eq!(code, CloseCode::Idle.code(), "{reason}");
    assert!(reason.contains("sent nothing"), "{reason}");
    // Checked four times per timeout: closed between the timeout and the timeout plus a bit.
    let took = started.elapsed();
    assert!(
        took >= Duration::from_millis(500) && took < Duration::from_millis(2500),
        "{took:?}"
    );
    eprintln!("idle timeout 500 ms: closed after {took:?}");
    assert_unharmed(&bots.await.expect("bots"));
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_speed_hack_moves_no_faster_and_is_closed_for_flooding() {
    let mut config = Config::new(60);
    config.room.input_rate.flood_after = Duration::from_secs(1);
    let server = TestServer::start(config).await;
    let bots = honest_bots(&server, 4);
    let mut ws = connect(&server.url()).await;
    let (mut session, hello) = ClientSession::new("speedy", false);
    send(&mut ws, &hello).await;
    let Some(Ok(Message::Binary(welcome))) = ws.next().await else {
        panic!("no Welcome")
    };
    assert!(matches!(
        session.handle(&welcome),
        Ok(SessionEvent::Welcome(_))
    ));

    // Ten inputs per tick, all "full speed right", for up to 3 s; the socket is read between.
    let started = Instant::now();
    let first = poll_player(&server, "speedy").await;
    let mut sent = 0u64;
    let close = loop {
        for _ in 0..10 {
            if let Some(msg @ ClientMsg::Input(_)) = session.input(1.0, 0.0, 0.0, false) {
                let bytes = codec::encode_client(&msg);
                if ws.send(Message::Binary(bytes.into())).await.is_err() {
                    break;
                }
                sent += 1;
            }
        }
        match tokio::time::timeout(Duration::from_millis(16), ws.next()).await {
            Ok(Some(Ok(Message::Close(Some(f))))) => {
                break Some((u16::from(f.code), f.reason.to_string()));
            }
            Ok(Some(Ok(Message::Binary(b)))) => {
                let _ = session.handle(&b);
            }
            Ok(Some(Ok(_))) | Err(_) => {}
            Ok(None | Some(Err(_))) => break None,
        }
        assert!(started.elapsed() < Duration::from_secs(6), "never closed");
    };
    let elapsed = started.elapsed().as_secs_f64();
    let (code, reason) = close.expect("a close frame");
    assert_eq!(code, CloseCode::PolicyViolation.code(), "{reason}");
    assert!(reason.contains("inputs a second"), "{reason}");
    assert!(sent > 300, "only {sent} inputs sent");
    assert!(server.stats.inputs_over_rate.get() > 0);

    // However many inputs arrived, the player moved no faster than the rules allow.
    let last = server
        .stats
        .players()
        .into_iter()
        .find(|p| p.name == "speedy")
        .map_or(first.clone(), |p| p);
    let max_speed = pos_to_units(Rules::for_tick_rate(60).max_speed.ceil() as i32) * 60.0;
    let moved = (last.x - first.x).hypot(last.y - first.y);
    assert!(
        moved <= max_speed * (elapsed + 0.2),
        "moved {moved:.1} units in {elapsed:.2} s (max {max_speed} units/s)"
    );
    eprintln!(
        "speed hack: {sent} inputs in {elapsed:.2} s ({:.0}/s), {} over the rate, closed with \
         {code}; moved {moved:.1} units (at most {:.1})",
        sent as f64 / elapsed,
        server.stats.inputs_over_rate.get(),
        max_speed * elapsed
    );
    assert_unharmed(&bots.await.expect("bots"));
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_stops_reading_is_dropped_after_the_send_timeout() {
    let mut config = Config::new(60);
    config.send_timeout = Duration::from_secs(1);
    // Big full snapshots fill the socket buffers in a second or two.
    config.room.scene = snapwire_server::Scene::Drift(4000);
    config.room.full_snapshots = true;
    // Flow control would stop sending to a client that acknowledges nothing long before the
    // buffers fill; the send timeout is the guard for what gets past it (a few huge frames).
    config.room.flow_control = false;
    let server = TestServer::start(config).await;
    let mut ws = connect(&server.url()).await;
    let (_, hello) = ClientSession::new("reader", true);
    send(&mut ws, &hello).await;
    let Some(Ok(Message::Binary(_))) = ws.next().await else {
        panic!("no Welcome")
    };
    // From here on the client reads nothing. The server's writer blocks once the socket
    // buffers are full; the last frame it took (counted as it takes it) marks that moment,
    // and the drop must follow it by the send timeout (1 s). This loop sees both moments a
    // little late on a loaded machine: a quarter of a second early, a second and a half late
    // are its slack (the bound used to be twenty seconds).
    let written = || {
        (
            server.stats.frames_out.get(),
            server.stats.bytes_out.get(),
            server.stats.frames_out_direct.get(),
        )
    };
    let (mut last, mut last_change) = (written(), Instant::now());
    let deadline = Instant::now() + Duration::from_secs(30);
    // Until the send failed and the client is gone (it may not be counted yet when its
    // Welcome arrives: the room counts it after queueing the Welcome).
    while server.stats.send_failures.get() == 0 || server.stats.clients.get() != 0 {
        assert!(
            Instant::now() < deadline,
            "a stalled reader was never dropped"
        );
        let now = written();
        if now != last {
            (last, last_change) = (now, Instant::now());
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let blocked_for = last_change.elapsed();
    eprintln!("send timeout 1 s: dropped {blocked_for:?} after the server's last write began");
    assert_eq!(server.stats.send_failures.get(), 1);
    assert!(
        blocked_for >= Duration::from_millis(750) && blocked_for <= Duration::from_millis(2500),
        "dropped {blocked_for:?} after the last write began, with a 1 s send timeout"
    );
    drop(ws);
    server.stop().await;
}

async fn poll_player(server: &TestServer, name: &str) -> snapwire_server::stats::PlayerSummary {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        if let Some(p) = server.stats.players().into_iter().find(|p| p.name == name) {
            return p;
        }
        assert!(Instant::now() < deadline, "{name} never appeared");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_from_other_origins_get_403_and_no_socket() {
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    let mut config = Config::new(60);
    config.allowed_origins = vec!["https://game.example".into()];
    let server = TestServer::start(config).await;
    let with_origin = |origin: &str| {
        let mut req = server.url().into_client_request().expect("request");
        req.headers_mut()
            .insert("origin", origin.parse().expect("header value"));
        req
    };
    match tokio_tungstenite::connect_async(with_origin("https://evil.example")).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            assert_eq!(response.status().as_u16(), 403);
        }
        other => panic!("a foreign page got {other:?}"),
    }
    assert_eq!(server.stats.refused_origin.get(), 1);
    let (mut ws, _) = tokio_tungstenite::connect_async(with_origin("https://game.example"))
        .await
        .expect("the game's own page connects");
    send(&mut ws, &support::hello("page")).await;
    assert!(matches!(ws.next().await, Some(Ok(Message::Binary(_)))));
    // Not a browser: no Origin header, let through (it could forge one anyway).
    let mut bare = connect(&server.url()).await;
    send(&mut bare, &support::hello("bot")).await;
    assert!(matches!(bare.next().await, Some(Ok(Message::Binary(_)))));
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ticket_server_answers_401_without_a_valid_ticket_and_names_the_player_by_it() {
    use snapwire_server::ticket::{Ticket, TicketKey, unix_now};
    let key = TicketKey::new(vec![42u8; 32]).expect("key");
    let mut config = Config::new(60);
    config.ticket_key = Some(key.clone());
    let server = TestServer::start(config).await;
    let status_of = |url: String| async move {
        match tokio_tungstenite::connect_async(url).await {
            Err(tokio_tungstenite::tungstenite::Error::Http(r)) => r.status().as_u16(),
            Ok(_) => 101,
            Err(e) => panic!("{e}"),
        }
    };
    let ticket = |player: &str, expires: u64| {
        key.sign(&Ticket {
            player: player.into(),
            room: String::new(),
            expires,
        })
    };
    let now = unix_now();
    assert_eq!(status_of(server.url()).await, 401, "no ticket");
    let stranger = TicketKey::new(vec![7u8; 32]).expect("key").sign(&Ticket {
        player: "x".into(),
        room: String::new(),
        expires: now + 60,
    });
    let url = |t: &str| format!("{}?ticket={t}", server.url());
    assert_eq!(
        status_of(url(&stranger)).await,
        401,
        "signed by someone else"
    );
    assert_eq!(
        status_of(url(&ticket("late", now - 1))).await,
        401,
        "expired"
    );
    assert_eq!(status_of(url("garbage")).await, 401, "not a ticket");
    assert_eq!(server.stats.refused_ticket.get(), 4);

    // A valid ticket joins, under the ticket's name whatever the Hello says.
    let (mut ws, _) = tokio_tungstenite::connect_async(url(&ticket("Mallory", now + 60)))
        .await
        .expect("a valid ticket connects");
    send(&mut ws, &support::hello("admin")).await;
    let Some(Ok(Message::Binary(first))) = ws.next().await else {
        panic!("no Welcome")
    };
    let Ok(ServerMsg::Welcome(welcome)) = codec::decode_server(&first) else {
        panic!("not a Welcome")
    };
    assert_eq!(poll_player(&server, "Mallory").await.name, "Mallory");

    // A ticket that names a room joins that room, whatever the Hello asks for: here a new
    // private room, and the ticket's room is Mallory's.
    let for_room = |player: &str, room: &str| {
        key.sign(&Ticket {
            player: player.into(),
            room: room.into(),
            expires: now + 60,
        })
    };
    let (mut ws2, _) = tokio_tungstenite::connect_async(url(&for_room("Trent", &welcome.room)))
        .await
        .expect("connects");
    let mut hello = support::hello("Trent");
    if let ClientMsg::Hello { room, .. } = &mut hello {
        *room = RoomRequest::Create {
            kind: String::new(),
            private: true,
        };
    }
    send(&mut ws2, &hello).await;
    let Some(Ok(Message::Binary(first))) = ws2.next().await else {
        panic!("no Welcome")
    };
    let Ok(ServerMsg::Welcome(w)) = codec::decode_server(&first) else {
        panic!("not a Welcome")
    };
    assert_eq!(w.room, welcome.room, "the ticket's room, not a new one");
    // A ticket for a room that does not exist is refused as such.
    let (mut ws3, _) = tokio_tungstenite::connect_async(url(&for_room("Eve", "nope1")))
        .await
        .expect("connects");
    send(&mut ws3, &support::hello("Eve")).await;
    assert_eq!(close_of(&mut ws3).await.0, CloseCode::NoSuchRoom.code());

    // The bots carry one too.
    let mut opts = BotOptions::new(server.url(), 2, Duration::from_secs(1));
    opts.ticket = Some(ticket("bot", now + 60));
    opts.server_metrics = false;
    let run = run_bots(opts, Arc::new(Live::default())).await;
    assert_eq!(run.report.bots_connected, 2, "{:#?}", run.report);
    server.stop().await;
}

/// The handshake's deadlines at their defaults (5 s each), on tokio's paused clock: a socket
/// that never sends its HTTP headers, and a WebSocket that never sends `Hello`, are closed
/// exactly when their time is up, and the test waits for neither. (The clock moves only when
/// every task is idle, to the next timer; loopback I/O is ready before it moves.)
#[tokio::test(start_paused = true)]
async fn the_header_and_hello_deadlines_close_on_time_on_a_paused_clock() {
    let server = TestServer::start(Config::new(60)).await;
    let mut silent = TcpStream::connect(server.addr).await.expect("connect");
    let started = tokio::time::Instant::now();
    let mut buf = [0u8; 256];
    loop {
        match tokio::time::timeout(Duration::from_secs(60), silent.read(&mut buf)).await {
            Ok(Ok(0) | Err(_)) => break,
            Ok(Ok(_)) => {} // A 408 before the close is fine.
            Err(_) => panic!("a silent socket outlived a minute"),
        }
    }
    let took = started.elapsed();
    assert!(
        took >= Duration::from_secs(5) && took < Duration::from_millis(5_100),
        "closed after {took:?} of a 5 s header timeout"
    );

    let mut ws = connect(&server.url()).await;
    let started = tokio::time::Instant::now();
    // Not `close_of`: its own 5 s guard would fire at the same virtual moment.
    let (code, reason) = loop {
        match tokio::time::timeout(Duration::from_secs(60), ws.next()).await {
            Ok(Some(Ok(Message::Close(Some(f))))) => {
                break (u16::from(f.code), f.reason.to_string());
            }
            Ok(Some(Ok(_))) => {}
            other => panic!("no close frame: {other:?}"),
        }
    };
    let took = started.elapsed();
    assert_eq!(code, CloseCode::Handshake.code(), "{reason}");
    assert!(reason.contains("no Hello within 5s"), "{reason}");
    assert!(
        took >= Duration::from_secs(5) && took < Duration::from_millis(5_100),
        "closed after {took:?} of a 5 s Hello deadline"
    );
    server.stop().await;
}
