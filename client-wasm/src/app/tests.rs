use super::*;
use snapwire_shared::map::MapDef;
use snapwire_shared::protocol::ResumeToken;
use snapwire_shared::protocol::SnapshotMsg;
use snapwire_shared::protocol::{BUTTON_FIRE, ScoreRow, Scores, ServerMsg, Welcome};
use snapwire_shared::sim::EntityId;
use snapwire_shared::snapshot::{EntityState, View, checksum, encode};
use snapwire_shared::{CloseCode, PROTOCOL_VERSION, Tick};

/// The `Welcome` frame of a 60 Hz arena at `tick`, for a player (`Some(id)`) or spectator.
pub(crate) fn welcome(player_id: Option<u32>, tick: u32) -> Vec<u8> {
    codec::encode_server(&ServerMsg::Welcome(Welcome {
        player_id,
        tick: Tick(tick),
        tick_rate: 60,
        map: MapDef::arena(),
        view_width: 40_000,
        view_height: 24_000,
        room: "abc123".into(),
        kind: "default".into(),
        game: "arena".into(),
        resume: ResumeToken([7; 16]),
    }))
}

/// A full snapshot of `tick` holding these entities.
pub(crate) fn snapshot(tick: u32, entities: Vec<(u32, EntityState)>) -> Vec<u8> {
    let view = View::from_sorted(
        entities
            .into_iter()
            .map(|(i, s)| (EntityId(i), s))
            .collect(),
    );
    codec::encode_server(&ServerMsg::Snapshot(SnapshotMsg {
        tick: Tick(tick),
        baseline_age: 0,
        last_input_seq: 0,
        checksum: checksum(&view),
        names: Vec::new(),
        body: encode(&View::default(), 0, &view),
    }))
}

fn welcomed() -> App {
    let (mut app, hello) = App::new("ann", false);
    assert!(matches!(
        codec::decode_client(&hello),
        Ok(ClientMsg::Hello {
            protocol_version: PROTOCOL_VERSION,
            ..
        })
    ));
    app.on_frame(&welcome(Some(1), 10), 0.0);
    app
}

#[test]
fn one_input_per_tick_and_no_burst_after_a_stall() {
    let mut app = welcomed();
    app.controls.right = true;
    let mut sent = 0;
    for frame in 0..60 {
        sent += app
            .on_animation_frame(f64::from(frame) * 1000.0 / 60.0)
            .len();
    }
    assert!((59..=61).contains(&sent), "sent {sent}");
    // The page stalled for a minute (a hidden tab) while the server kept talking.
    let scores = ServerMsg::Scores(snapwire_shared::protocol::Scores {
        players: 1,
        top: Vec::new(),
        you: None,
    });
    app.on_frame(&codec::encode_server(&scores), 59_990.0);
    let after_stall = app.on_animation_frame(60_000.0).len();
    assert_eq!(after_stall, MAX_INPUTS_PER_FRAME as usize);
    let Ok(ClientMsg::Input(i)) = codec::decode_client(&app.on_animation_frame(60_020.0)[0]) else {
        panic!("an input")
    };
    assert_eq!((i.move_x, i.move_y), (127, 0));
}

#[test]
fn over_webtransport_an_input_carries_the_unacknowledged_ones_before_it() {
    let mut app = welcomed();
    app.transport = "webtransport".to_owned();
    let seqs = |bytes: &[u8]| match codec::decode_client(bytes) {
        Ok(ClientMsg::Inputs(inputs)) => inputs.iter().map(|i| i.seq).collect::<Vec<_>>(),
        other => panic!("Inputs, not {other:?}"),
    };
    let mut last = Vec::new();
    for frame in 0..6 {
        for bytes in app.on_animation_frame(f64::from(frame) * 1000.0 / 60.0) {
            last = seqs(&bytes);
        }
    }
    // Nothing acknowledged yet: the newest and the three before it.
    assert_eq!(last.len(), 4, "{last:?}");
    assert!(
        last.windows(2).all(|w| w[1] == w[0].wrapping_add(1)),
        "{last:?}"
    );
}

#[test]
fn inputs_claim_the_moment_drawn_and_carry_the_rail() {
    use snapwire_shared::protocol::BUTTON_ALT;
    let mut app = welcomed();
    // Snapshots of ticks 11..=30 arriving on time, one per 1000/60 ms.
    for t in 11..=30u32 {
        let me = EntityState {
            x: 5000 + 10 * t as i32,
            y: 5000,
            health: 100,
            ..EntityState::default()
        };
        app.on_frame(
            &snapshot(t, vec![(1, me)]),
            f64::from(t - 11) * 1000.0 / 60.0,
        );
    }
    app.controls.alt_fire = true;
    let now = 19.5 * 1000.0 / 60.0;
    let sent = app.on_animation_frame(now);
    let Some(Ok(ClientMsg::Input(i))) = sent.last().map(|f| codec::decode_client(f)) else {
        panic!("an input: {sent:?}")
    };
    assert_ne!(i.buttons & BUTTON_ALT, 0, "the rail");
    // Drawn two ticks (the starting interpolation delay) behind the newest snapshot, and
    // between two snapshots.
    assert_eq!(i.view_tick, 28, "{i:?}");
    assert_ne!(i.view_frac, 0, "{i:?}");
}

#[test]
fn a_room_of_another_game_ends_with_a_reason() {
    let (mut app, _) = App::new("ann", false);
    let mut w = codec::decode_server(&welcome(Some(1), 10));
    if let Ok(ServerMsg::Welcome(w)) = &mut w {
        w.game = "tag".into();
    }
    let frame = codec::encode_server(&w.expect("a welcome"));
    app.on_frame(&frame, 0.0);
    assert_eq!(
        app.status,
        Status::Closed(
            "cannot play this room: the room plays \"tag\"; this client plays \"arena\"".into()
        )
    );
}

#[test]
fn a_silent_server_is_a_dropped_link_and_the_page_reconnects() {
    let mut app = welcomed();
    assert!(!app.on_animation_frame(SERVER_SILENT_MS).is_empty());
    assert_eq!(app.status, Status::Playing);
    app.on_animation_frame(SERVER_SILENT_MS + 1.0);
    assert!(
        matches!(app.status, Status::Reconnecting { attempt: 0, .. }),
        "{:?}",
        app.status
    );
    assert!(app.status_line().contains("reconnecting"));
    assert!(app.reconnect_due(SERVER_SILENT_MS + 1001.0).is_some());
    // The new socket hangs too (a dead route): the next attempt follows.
    app.on_close(1006, "", SERVER_SILENT_MS + 2000.0);
    assert!(matches!(
        app.status,
        Status::Reconnecting { attempt: 1, .. }
    ));
}

#[test]
fn losing_focus_releases_held_keys() {
    let mut app = welcomed();
    app.controls.right = true;
    app.controls.fire = true;
    app.controls.aim = 1.5;
    app.on_animation_frame(0.0);
    app.release_controls();
    let sent = app.on_animation_frame(1000.0 / 60.0 * 2.0);
    let Some(Ok(ClientMsg::Input(i))) = sent.last().map(|b| codec::decode_client(b)) else {
        panic!("an input")
    };
    assert_eq!((i.move_x, i.move_y, i.buttons & BUTTON_FIRE), (0, 0, 0));
    assert_eq!(app.controls.aim, 1.5);
}

#[test]
fn a_spectator_reads_words_not_a_tick_number() {
    let (mut app, _) = App::new("watcher", true);
    app.on_frame(&welcome(None, 60 * 125), 0.0);
    assert_eq!(
        app.status_line(),
        "spectating - 0 players in the room - server time 2:05"
    );
}

#[test]
fn the_title_names_the_player_and_their_kills() {
    let (app, _) = App::new("ann", false);
    assert_eq!(app.title(), "Joining · snapwire arena");
    let mut app = welcomed();
    assert_eq!(app.title(), "ann · 0 kills · snapwire arena");
    app.on_close(CloseCode::GoingAway.code(), "", 0.0);
    assert_eq!(app.title(), "Disconnected · snapwire arena");
}

#[test]
fn the_virtual_stick_moves_and_a_second_touch_fires() {
    let mut app = welcomed();
    app.on_animation_frame(0.0);
    app.touches.start(1, 100.0, 700.0, 390.0);
    app.touches.moved(1, 100.0, 700.0 - 200.0);
    app.touches.start(2, 300.0, 300.0, 390.0);
    let sent = app.on_animation_frame(1000.0 / 60.0);
    let Some(Ok(ClientMsg::Input(i))) = sent.last().map(|b| codec::decode_client(b)) else {
        panic!("an input")
    };
    assert_eq!(
        (i.move_x, i.move_y, i.buttons & BUTTON_FIRE),
        (0, -127, BUTTON_FIRE)
    );
    // Losing focus lets go of touches too.
    app.release_controls();
    let sent = app.on_animation_frame(1000.0 / 60.0 * 2.0);
    let Some(Ok(ClientMsg::Input(i))) = sent.last().map(|b| codec::decode_client(b)) else {
        panic!("an input")
    };
    assert_eq!((i.move_x, i.move_y, i.buttons & BUTTON_FIRE), (0, 0, 0));
}

#[test]
fn the_scoreboard_is_the_matchs_not_the_views() {
    let mut app = welcomed();
    let rows = |n: u32| ScoreRow {
        id: n,
        name: format!("p{n}"),
        score: 20 - n as i32,
    };
    let scores = ServerMsg::Scores(Scores {
        players: 40,
        top: (2..12).map(rows).collect(),
        you: Some((31, 0)),
    });
    app.on_frame(&codec::encode_server(&scores), 10.0);
    let board = app.scoreboard();
    assert_eq!(board.len(), 10);
    assert_eq!(board[0], ("p2".to_owned(), 18, false));
    assert_eq!(app.own_rank(), Some((31, 40, 0)));
    assert_eq!(app.player_count(), 40);
}

#[test]
fn a_player_camera_follows_and_a_spectator_sees_the_map() {
    let mut app = welcomed();
    assert!(app.camera(800.0, 450.0).is_some());
    app.focus = Some((10_000.0, 5_000.0));
    let cam = app.camera(800.0, 450.0).expect("camera");
    assert_eq!(cam.at(10_000.0, 5_000.0), (400.0, 225.0));
    let (mut spectator, _) = App::new("watcher", true);
    spectator.on_frame(&welcome(None, 1), 0.0);
    let cam = spectator.camera(1280.0, 720.0).expect("camera");
    let map = MapDef::arena();
    let (x1, y1) = cam.at(f64::from(map.width), f64::from(map.height));
    assert!(x1 <= 1280.0 + 1e-9 && y1 <= 720.0 + 1e-9);
}

#[test]
fn a_close_keeps_its_reason_for_the_join_screen() {
    let mut app = welcomed();
    assert_eq!(app.closed_reason(), None);
    app.on_close(
        CloseCode::InvalidValue.code(),
        "name must be at most 24 characters",
        0.0,
    );
    let why = app.closed_reason().expect("closed");
    assert!(
        why.contains("name must be") && why.contains("4002"),
        "{why}"
    );
}

#[test]
fn a_dropped_link_reconnects_with_backoff_and_resumes() {
    let mut app = welcomed();
    app.on_close(1006, "", 1000.0);
    let Status::Reconnecting {
        attempt: 0, at_ms, ..
    } = app.status
    else {
        panic!("{:?}", app.status)
    };
    assert!((1125.0..=1250.0).contains(&at_ms), "{at_ms}");
    assert_eq!(app.reconnect_due(at_ms - 1.0), None);
    let hello = app.reconnect_due(at_ms).expect("a Hello once due");
    let Ok(ClientMsg::Hello {
        resume: Some(r),
        room,
        ..
    }) = codec::decode_client(&hello)
    else {
        panic!("a resuming Hello")
    };
    assert_eq!((r.token, r.has_state), (ResumeToken([7; 16]), true));
    assert_eq!(
        room,
        RoomRequest::Join {
            id: "abc123".into()
        }
    );
    // That attempt fails too: the next waits longer.
    app.on_close(1006, "", 1300.0);
    let Status::Reconnecting {
        attempt: 1, at_ms, ..
    } = app.status
    else {
        panic!("{:?}", app.status)
    };
    assert!((1550.0..=1800.0).contains(&at_ms), "{at_ms}");
    app.reconnect_due(at_ms);
    let resumed = ServerMsg::Resumed(snapwire_shared::protocol::Resumed {
        player_id: Some(1),
        tick: Tick(500),
        resume: ResumeToken([8; 16]),
    });
    app.on_frame(&codec::encode_server(&resumed), 2000.0);
    assert_eq!(app.status, Status::Playing);
    assert_eq!(app.resume_token_hex(), Some("08".repeat(16)));
    // Past the give-up time a drop ends the game.
    app.on_close(1006, "", 3000.0);
    app.on_close(1006, "", 3000.0 + RECONNECT_GIVE_UP_MS);
    assert!(matches!(&app.status, Status::Closed(m) if m.contains("could not be resumed")));
}

#[test]
fn a_version_mismatch_says_reload() {
    let mut app = welcomed();
    app.on_close(
        CloseCode::VersionMismatch.code(),
        "client protocol 0, server 1",
        0.0,
    );
    assert!(matches!(&app.status, Status::Closed(m) if m.contains("reload")));
}
