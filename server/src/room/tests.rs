//! The room stepped without a clock: every answer here is exact.

use snapwire_shared::client::{ClientSession, SessionEvent};
use snapwire_shared::map::Point;
use snapwire_shared::protocol::ClientMsg;
use snapwire_shared::quantize::POS_SCALE;
use snapwire_shared::sim::ViewTime;

use super::member::{MAX_QUEUED_INPUTS, STANDING_QUEUE_TICKS};
use super::playback::PlaybackState;
use super::record::Keyframe;
use super::*;

fn settings() -> RoomSettings {
    RoomSettings::new(60)
}

fn input(seq: u32, tick: Tick) -> Inbound {
    Inbound::Input {
        seq: seq as u16,
        tick: tick.0 as u16,
        input: PlayerInput::default(),
        ack: false,
    }
}

/// Ticks the room and returns how many inputs it applied.
fn tick_counting(room: &mut Room) -> u64 {
    room.tick();
    room.take_counters().inputs_applied
}

/// Frames of one client, as a real client would get them.
fn frames_for(room: &Room, client: ClientId) -> Vec<Bytes> {
    room.outgoing()
        .iter()
        .filter(|o| o.client == client)
        .map(|o| match &o.message {
            Message::Snapshot { bytes, .. } | Message::Scores(bytes) => bytes.clone(),
        })
        .collect()
}

fn snapshot_for(room: &Room, client: ClientId) -> Option<(Bytes, bool)> {
    room.outgoing().iter().find_map(|o| match &o.message {
        Message::Snapshot { bytes, full } if o.client == client => Some((bytes.clone(), *full)),
        _ => None,
    })
}

#[test]
fn a_standing_queue_gets_one_extra_input_every_30_ticks() {
    let mut room = Room::new(settings());
    room.join(1, "p", false);
    // A burst of five inputs, then one per tick: the queue stands at three.
    let mut seq = 0;
    for _ in 0..5 {
        seq += 1;
        room.handle(1, input(seq, room.tick_number()))
            .expect("valid");
    }
    // The first tick spends the banked step: 2 inputs.
    assert_eq!(tick_counting(&mut room), 2);
    let mut applied = Vec::new();
    for _ in 0..2 * STANDING_QUEUE_TICKS {
        seq += 1;
        room.handle(1, input(seq, room.tick_number()))
            .expect("valid");
        applied.push(tick_counting(&mut room));
    }
    // The queue has stood after ticks 1..=29 of these 60; on the 29th it has stood for 30.
    let extra: Vec<usize> = (0..applied.len()).filter(|&i| applied[i] == 2).collect();
    assert_eq!(extra, [28, 58]);
    assert_eq!(
        applied.iter().sum::<u64>(),
        2 * u64::from(STANDING_QUEUE_TICKS) + 2
    );
    let m = room.member(1).expect("member");
    assert_eq!(
        m.inputs.len(),
        1,
        "two extra steps drained two of the three"
    );
    assert_eq!(m.last_applied_seq, seq - 1);
}

#[test]
fn a_full_input_queue_drops_exactly_the_oldest() {
    let mut room = Room::new(settings());
    room.join(1, "p", false);
    let now = room.tick_number();
    for seq in 1..=40 {
        room.handle(1, input(seq, now)).expect("valid");
    }
    room.tick();
    let c = room.take_counters();
    assert_eq!(c.inputs_dropped, 40 - MAX_QUEUED_INPUTS as u64);
    assert_eq!(c.inputs_applied, 2);
    // The oldest went: the first applied input is the ninth.
    assert_eq!(room.member(1).map(|m| m.last_applied_seq), Some(10));
}

#[test]
fn the_17th_bad_ack_closes_the_client() {
    let mut room = Room::new(settings());
    room.join(1, "p", false);
    let future = Tick(room.tick_number().0 + 1000);
    for n in 1..=MAX_BAD_ACKS {
        assert_eq!(room.handle(1, Inbound::Ack(future)), Ok(()), "bad ack {n}");
    }
    let Err(CloseReason {
        code,
        words: reason,
    }) = room.handle(1, Inbound::Ack(future))
    else {
        panic!("the 17th bad ack must close")
    };
    assert_eq!(code, CloseCode::BadAck);
    assert_eq!(reason, "acknowledged a tick from the future (17 bad acks)");
}

#[test]
fn an_input_tick_five_seconds_away_closes_the_client() {
    let mut room = Room::new(settings());
    room.join(1, "p", false);
    for _ in 0..10 {
        room.tick();
    }
    let now = room.tick_number();
    let edge = Tick(now.0 + 300);
    assert_eq!(room.handle(1, input(1, edge)), Ok(()));
    let Err(CloseReason {
        code,
        words: reason,
    }) = room.handle(1, input(2, Tick(now.0 + 301)))
    else {
        panic!("301 ticks ahead must close")
    };
    assert_eq!(code, CloseCode::TickOutOfRange);
    assert_eq!(
        reason,
        format!(
            "input tick {} is 301 ticks from the server's {now}",
            now.0 + 301
        )
    );
}

#[test]
fn a_baseline_is_used_until_exactly_history_ticks_old() {
    let mut s = settings();
    s.history = 64;
    // A client acknowledging nothing for 70 ticks would be held after its window.
    s.flow_control = false;
    let mut room = Room::new(s);
    room.join(1, "p", true);
    room.tick();
    let acked = room.tick_number();
    assert_eq!(room.handle(1, Inbound::Ack(acked)), Ok(()));
    let mut fulls = Vec::new();
    for age in 1..=70u32 {
        room.tick();
        let (_, full) = snapshot_for(&room, 1).expect("a snapshot every tick");
        if full {
            fulls.push(age);
        }
    }
    // Ages 1..=63 are deltas against the acknowledged tick; at 64 it has left the history.
    assert_eq!(fulls.first(), Some(&64));
    assert!(fulls.iter().all(|&a| a >= 64));
}

#[test]
fn duplicate_names_get_the_lowest_free_suffix_within_the_limit() {
    let taken = ["ann", "ann 2", &"x".repeat(24)];
    let is_taken = |n: &str| taken.contains(&n);
    assert_eq!(unique_name("bob", is_taken), "bob");
    assert_eq!(unique_name("ann", is_taken), "ann 3");
    let long = unique_name(&"x".repeat(24), is_taken);
    assert_eq!(long, format!("{} 2", "x".repeat(22)));
    assert_eq!(long.chars().count(), MAX_NAME_CHARS);

    let mut room = Room::new(settings());
    room.join(1, "ann", false);
    room.join(2, "ann", false);
    room.join(3, "ann", true);
    let names: Vec<&str> = room.members().map(|m| m.name.as_str()).collect();
    assert_eq!(names, ["ann", "ann 2", "ann"], "spectators keep their name");
    room.leave(1);
    room.join(4, "ann", false);
    assert_eq!(room.member(4).map(|m| m.name.as_str()), Some("ann"));
}

/// A client's session fed the room's frames for it, acknowledging every snapshot.
fn pump(room: &mut Room, client: ClientId, session: &mut ClientSession) {
    for frame in frames_for(room, client) {
        if let SessionEvent::Snapshot { tick, .. } = session.handle(&frame).expect("valid frame") {
            session.withhold_ack();
            room.handle(client, Inbound::Ack(tick)).expect("good ack");
        }
    }
}

#[test]
fn interest_keeps_a_leaver_until_a_unit_past_the_edge() {
    let mut room = Room::new(settings());
    let welcome = room.join(1, "watcher", false);
    let walker = room.join(2, "walker", false);
    let (me, other) = (
        snapwire_shared::sim::EntityId(welcome.player_id.expect("a player")),
        snapwire_shared::sim::EntityId(walker.player_id.expect("a player")),
    );
    let (mut session, _) = ClientSession::new("watcher", false);
    session
        .handle(&codec::encode_server(&ServerMsg::Welcome(welcome)))
        .expect("welcome");
    let half_w = room.settings().view_width / 2;
    let place = |room: &mut Room, id, p: Point| {
        let body = &mut room.world_mut().player_mut(id).expect("player").body;
        (body.x, body.y) = (p.x, p.y);
    };
    place(
        &mut room,
        me,
        Point {
            x: 30 * POS_SCALE,
            y: 18 * POS_SCALE,
        },
    );
    let at = |dx: i32| Point {
        x: 30 * POS_SCALE + dx,
        y: 18 * POS_SCALE,
    };
    let sees = |session: &ClientSession| {
        session
            .replica()
            .latest()
            .is_some_and(|(_, v)| v.get(other).is_some())
    };
    // Outside the view: not sent.
    place(&mut room, other, at(half_w + 500));
    room.tick();
    pump(&mut room, 1, &mut session);
    assert!(!sees(&session), "outside the view and never in it");
    // Inside: sent. Then half a unit past the edge: kept. A unit and a bit past: removed.
    for (dx, seen) in [
        (half_w - 500, true),
        (half_w + 500, true),
        (half_w + 1000, true),
        (half_w + 1001, false),
        (half_w + 500, false),
        (half_w, true),
    ] {
        place(&mut room, other, at(dx));
        room.tick();
        pump(&mut room, 1, &mut session);
        assert_eq!(
            sees(&session),
            seen,
            "walker {dx} quanta right of the watcher"
        );
    }
    assert_eq!(session.stats.desyncs, 0);
}

#[test]
fn inputs_sent_as_sixteen_bits_extend_across_the_wrap() {
    let mut room = Room::starting_at(settings(), Tick(u32::MAX - 20));
    room.join(1, "p", false);
    let (mut session, _) = ClientSession::new("p", false);
    let welcome = ServerMsg::Welcome(Welcome {
        player_id: room.member(1).and_then(|m| m.entity).map(|e| e.0),
        tick: room.tick_number(),
        tick_rate: 60,
        map: room.settings().map.clone(),
        view_width: room.settings().view_width,
        view_height: room.settings().view_height,
        room: String::new(),
        kind: String::new(),
        game: "arena".into(),
        resume: snapwire_shared::protocol::ResumeToken([0; 16]),
    });
    session
        .handle(&codec::encode_server(&welcome))
        .expect("welcome");
    for _ in 0..60 {
        if let Some(ClientMsg::Input(i)) = session.input(1.0, 0.0, 0.0, false) {
            let parsed = PlayerInput::parse(&i).expect("valid");
            let msg = Inbound::Input {
                seq: i.seq,
                tick: i.tick,
                input: parsed,
                ack: i.buttons & snapwire_shared::protocol::BUTTON_ACK != 0,
            };
            room.handle(1, msg)
                .expect("inputs across the wrap are fine");
        }
        room.tick();
        for frame in frames_for(&room, 1) {
            session.handle(&frame).expect("valid frame");
        }
    }
    assert!(room.tick_number().0 < 100, "the room's tick wrapped");
    assert_eq!(session.stats.desyncs, 0);
    assert_eq!(room.member(1).map(|m| m.last_applied_seq), Some(60));
    assert_eq!(session.last_input_seq(), 60);
    let p = session.predictor().expect("predictor");
    assert_eq!(p.mispredictions, 0);
}

#[test]
fn inputs_over_the_rate_are_dropped_and_a_sustained_flood_is_closed() {
    let mut room = Room::new(settings());
    let rate = room.settings().input_rate;
    assert_eq!((rate.per_second, rate.burst), (120.0, 120.0));
    room.join(1, "flooder", false);
    let mut seq = 0;
    let mut dropped = 0;
    for tick in 1..=400u32 {
        // Ten inputs a tick: five times the rate.
        for _ in 0..10 {
            seq += 1;
            if let Err(CloseReason {
                code,
                words: reason,
            }) = room.handle(1, input(seq, room.tick_number()))
            {
                assert_eq!(code, CloseCode::PolicyViolation);
                assert_eq!(reason, "more than 120 inputs a second for 2s");
                // The full bucket (120) loses a net 8 a tick (10 sent, 2 refilled): tick 15
                // finds 8 tokens and drops 2; from tick 16 on, 2 pass and 8 drop. Tick 15 is
                // the first over the rate, tick 135 the 121st, and the first drop of tick 136
                // closes (its drops are not counted yet).
                assert_eq!(tick, 136, "closed on tick {tick}");
                assert_eq!(dropped, 2 + 8 * 120, "inputs dropped over the rate");
                return;
            }
        }
        room.tick();
        dropped += room.take_counters().inputs_over_rate;
    }
    panic!("a flood at five times the rate was never closed");
}

#[test]
fn a_client_back_from_away_gets_a_delta_from_its_baseline_even_past_history() {
    let mut room = Room::new(settings());
    let mut welcome = room.join(1, "p", false);
    room.join(2, "other", false);
    welcome.resume = snapwire_shared::protocol::ResumeToken([1; 16]);
    let me = welcome.player_id;
    let (mut session, _) = ClientSession::new("p", false);
    session
        .handle(&codec::encode_server(&ServerMsg::Welcome(welcome)))
        .expect("welcome");
    for _ in 0..10 {
        room.tick();
        pump(&mut room, 1, &mut session);
    }
    let (acked, _) = session.replica().latest().expect("a snapshot");
    let before = room
        .world()
        .player_position(EntityId(me.expect("a player")));

    // Away for twice the history: nothing is sent, the player stands where it was.
    assert!(room.park(1));
    let history = room.settings().history as u32;
    for _ in 0..2 * history {
        room.tick();
        assert!(
            frames_for(&room, 1).is_empty(),
            "an away client is sent nothing"
        );
        assert!(
            room.handle(1, Inbound::Ack(acked)).is_ok(),
            "and heard from not at all"
        );
    }
    assert_eq!(
        room.world()
            .player_position(EntityId(me.expect("a player"))),
        before
    );

    let hello = session.reconnect();
    assert!(matches!(hello, ClientMsg::Hello { resume: Some(r), .. } if r.has_state));
    let Some(ServerMsg::Resumed(mut resumed)) = room.resume(1, true) else {
        panic!("Resumed")
    };
    assert_eq!(resumed.player_id, me);
    resumed.resume = snapwire_shared::protocol::ResumeToken([2; 16]);
    session
        .handle(&codec::encode_server(&ServerMsg::Resumed(resumed)))
        .expect("resumed");
    room.tick();
    let (bytes, full) = snapshot_for(&room, 1).expect("a snapshot again");
    assert!(!full, "a delta against the kept baseline");
    let msg = match codec::decode_server(&bytes) {
        Ok(ServerMsg::Snapshot(s)) => s,
        other => panic!("{other:?}"),
    };
    assert_eq!(msg.baseline(), Some(acked));
    assert!(u32::from(msg.baseline_age) > history);
    pump(&mut room, 1, &mut session);
    assert_eq!(session.stats.desyncs, 0);
    assert_eq!(session.stats.resumes, 1);
    assert!(session.stats.resume_bytes < session.stats.resume_full_bytes);
    // Once a newer snapshot is acknowledged, the kept frame goes.
    assert!(room.pinned.is_empty());

    // A reload keeps nothing: a Welcome for the same player, then a full snapshot.
    room.park(1);
    room.tick();
    let Some(ServerMsg::Welcome(again)) = room.resume(1, false) else {
        panic!("Welcome")
    };
    assert_eq!(again.player_id, me);
    room.tick();
    assert!(snapshot_for(&room, 1).is_some_and(|(_, full)| full));
}

/// A match with players joining, playing (seeded random inputs through the real input path:
/// queue, budget, rate), firing and leaving, recorded, then run again from its record on a
/// fresh room: every tick's checksum matches; a changed input is caught at its tick.
#[test]
fn a_recorded_match_replays_bit_for_bit() {
    let mut s = settings();
    s.scene = Scene::Drift(20);
    let mut room = Room::new(s.clone());
    room.start_recording();
    let mut rng = 0x2545_f491_4f6c_dd1du64;
    let mut next = move || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng
    };
    let mut seqs = BTreeMap::new();
    let ticks = 1200u32;
    for t in 0..ticks {
        if t % 30 == 0 && t / 30 < 8 {
            let client = u64::from(t / 30) + 1;
            room.join(client, "p", client == 8);
            seqs.insert(client, 0u32);
        }
        if t == 700 {
            room.leave(3);
            seqs.remove(&3);
        }
        for (client, seq) in &mut seqs {
            // Now and then a client skips a tick or sends two: the budget decides.
            for _ in 0..(next() % 4).min(2) {
                *seq += 1;
                let r = next();
                let input = PlayerInput {
                    move_x: ((r % 255) as i16 - 127) as i8,
                    move_y: (((r >> 8) % 255) as i16 - 127) as i8,
                    aim: (r >> 16) as u16,
                    fire: (r >> 40) % 5 == 0,
                    alt_fire: (r >> 44) % 7 == 0,
                    // Claims up to 20 ticks back: some within the rewind, some clamped.
                    view: ViewTime {
                        tick: Tick(room.tick_number().0.wrapping_sub(((r >> 48) % 20) as u32)),
                        frac: (r >> 56) as u8,
                    },
                };
                let msg = Inbound::Input {
                    seq: *seq as u16,
                    tick: room.tick_number().0 as u16,
                    input,
                    ack: false,
                };
                room.handle(*client, msg).expect("a valid input");
            }
        }
        room.tick();
    }
    let records = room.take_records();
    assert_eq!(records.len(), ticks as usize);
    let inputs: usize = records
        .iter()
        .map(|r| {
            r.entries
                .iter()
                .filter(|e| matches!(e, record::Entry::Input { .. }))
                .count()
        })
        .sum();
    assert!(inputs > 7000, "{inputs} inputs applied");

    let mut again = Room::new(s.clone());
    for r in &records {
        again
            .replay(r, Checksum::Current)
            .unwrap_or_else(|e| panic!("{e}"));
    }

    // Seven players for about 20 s: what a recording of inputs costs, before compression.
    let bytes = codec::encode_value(&records).len();
    let player_minutes = 7.0 * f64::from(ticks) / 60.0 / 60.0;
    eprintln!(
        "recorded {ticks} ticks, {inputs} inputs: {bytes} bytes, {:.0} bytes per player-minute",
        bytes as f64 / player_minutes
    );

    // One input changed: the replay says at which tick.
    let mut tampered = records.clone();
    let (k, input) = tampered
        .iter_mut()
        .enumerate()
        .skip(400)
        .find_map(|(k, r)| {
            r.entries.iter_mut().find_map(|e| match e {
                record::Entry::Input { input, .. } if input.move_x != 0 => Some((k, input)),
                _ => None,
            })
        })
        .expect("an input that moves");
    input.move_x = -input.move_x;
    let mut third = Room::new(s);
    let failed = tampered
        .iter()
        .find_map(|r| third.replay(r, Checksum::Current).err())
        .expect("the change is caught");
    assert!(
        matches!(failed, record::ReplayError::Checksum { tick, .. } if tick == records[k].tick),
        "{failed}"
    );
}

/// Four players wandering and firing both weapons for `ticks` ticks, recorded, with a
/// keyframe every 100 ticks.
fn short_recorded_match(s: &RoomSettings, ticks: u32) -> (Vec<TickRecord>, Vec<Keyframe>) {
    let mut keyframes = Vec::new();
    let mut room = Room::new(s.clone());
    room.start_recording();
    let mut seq = 0u32;
    for t in 0..ticks {
        if t < 4 {
            room.join(u64::from(t) + 1, "p", false);
        }
        seq += 1;
        for client in 1..=u64::from(t.min(4)) {
            let k = t.wrapping_mul(2_654_435_761) ^ client as u32;
            let input = PlayerInput {
                move_x: (k % 255) as i8 / 2,
                move_y: ((k >> 8) % 255) as i8 / 2,
                aim: (k >> 3) as u16,
                fire: k.is_multiple_of(3),
                alt_fire: k.is_multiple_of(11),
                view: ViewTime {
                    tick: Tick(room.tick_number().0.wrapping_sub(k % 9)),
                    frac: k as u8,
                },
            };
            let msg = Inbound::Input {
                seq: seq as u16,
                tick: room.tick_number().0 as u16,
                input,
                ack: false,
            };
            room.handle(client, msg).expect("a valid input");
        }
        room.tick();
        if room.tick_number().0.is_multiple_of(100) {
            keyframes.extend(room.keyframe());
        }
    }
    (room.take_records(), keyframes)
}

#[test]
fn a_playback_streams_the_recorded_match_to_a_viewer_from_any_tick() {
    let s = settings();
    let (records, _) = short_recorded_match(&s, 300);
    let mut room = Room::new(s.clone());
    room.start_playback(
        records.clone(),
        &[],
        Checksum::Current,
        records[99].tick,
        120,
    )
    .expect("the first 100 ticks replay");
    // The viewer's id is one a recorded player had: recorded ids are kept apart.
    let welcome = room.join(1, "viewer", false);
    assert_eq!(welcome.player_id, None, "viewers only watch");
    assert_eq!(welcome.tick_rate, 120, "the pace snapshots come at");
    assert_eq!(welcome.tick, records[99].tick);
    let mut snapshots = 0;
    while room.playback_state() == Some(&PlaybackState::Playing) {
        snapshots += room
            .tick()
            .iter()
            .filter(|o| o.client == 1 && matches!(o.message, Message::Snapshot { .. }))
            .count();
    }
    assert_eq!(room.playback_state(), Some(&PlaybackState::Ended));
    // Flow control holds a viewer that never acknowledges after a second of ticks.
    assert!(snapshots >= 60, "{snapshots} snapshots");
    assert_eq!(room.tick_number(), records[299].tick);
}

#[test]
fn a_playback_that_differs_from_its_recording_stops_at_that_tick() {
    let s = settings();
    let (mut records, _) = short_recorded_match(&s, 200);
    let at = records
        .iter_mut()
        .skip(150)
        .find_map(|r| {
            r.entries.iter_mut().find_map(|e| match e {
                record::Entry::Input { input, .. } if input.move_x != 0 => {
                    input.move_x = -input.move_x;
                    Some(r.tick)
                }
                _ => None,
            })
        })
        .expect("a moving input");
    let mut room = Room::new(s);
    room.start_playback(records, &[], Checksum::Current, Tick(10), 60)
        .expect("the start replays");
    // Nothing plays until someone watches.
    room.tick();
    assert_eq!(room.tick_number(), Tick(10));
    room.join(1, "viewer", true);
    while room.playback_state() == Some(&PlaybackState::Playing) {
        room.tick();
    }
    assert!(
        matches!(room.playback_state(), Some(PlaybackState::Diverged(record::ReplayError::Checksum { tick, .. })) if *tick == at),
        "{:?}",
        room.playback_state()
    );
}

#[test]
fn a_playback_starts_from_the_keyframe_before_and_plays_on_exactly() {
    let s = settings();
    let (records, keyframes) = short_recorded_match(&s, 400);
    assert_eq!(keyframes.len(), 4);
    let play = |keyframes: &[Keyframe]| {
        let mut room = Room::new(s.clone());
        room.start_playback(records.clone(), keyframes, Checksum::Current, Tick(250), 60)
            .expect("starts");
        assert_eq!(room.tick_number(), Tick(250));
        room.join(1, "viewer", true);
        while room.playback_state() == Some(&PlaybackState::Playing) {
            room.tick();
        }
        (room.playback_state().cloned(), room.tick_number())
    };
    // From the keyframe at 200 (every later checksum matches), as from the first tick.
    assert_eq!(play(&keyframes), (Some(PlaybackState::Ended), Tick(400)));
    assert_eq!(play(&[]), (Some(PlaybackState::Ended), Tick(400)));
    // A keyframe that is not what its tick re-simulates to (here: the world of tick 100
    // under the label 200) is not used.
    let mut wrong = keyframes.clone();
    wrong[1].world = keyframes[0].world.clone();
    assert_eq!(wrong[1].tick, Tick(200));
    assert_eq!(play(&wrong), (Some(PlaybackState::Ended), Tick(400)));
    // Nor is one the game cannot read.
    wrong[1].world = vec![0xff; 3];
    assert_eq!(play(&wrong), (Some(PlaybackState::Ended), Tick(400)));
}

/// Issue 24's frozen reload: a page that reloads keeps its player (a resume without state,
/// answered with `Welcome`) and numbers its inputs from 1 again. The server must take them:
/// it used to keep the old sequence and drop every input "not above" it, so the player stood
/// still until the new numbers caught up (33 s after 30 s of play).
#[test]
fn a_reloaded_client_that_restarts_its_input_sequence_keeps_moving() {
    let mut room = Room::new(settings());
    let mut welcome = room.join(1, "p", false);
    welcome.resume = snapwire_shared::protocol::ResumeToken([1; 16]);
    let me = EntityId(welcome.player_id.expect("a player"));
    let play = |room: &mut Room, session: &mut ClientSession, ticks: u32, x: f32| {
        for _ in 0..ticks {
            if let Some(ClientMsg::Input(i)) = session.input(x, 0.0, 0.0, false) {
                let msg = Inbound::Input {
                    seq: i.seq,
                    tick: i.tick,
                    input: PlayerInput::parse(&i).expect("valid"),
                    ack: i.buttons & snapwire_shared::protocol::BUTTON_ACK != 0,
                };
                room.handle(1, msg).expect("a good input");
            }
            room.tick();
            for frame in frames_for(room, 1) {
                session.handle(&frame).expect("valid frame");
            }
        }
    };
    let (mut first, _) = ClientSession::new("p", false);
    first
        .handle(&codec::encode_server(&ServerMsg::Welcome(welcome)))
        .expect("welcome");
    play(&mut room, &mut first, 600, 1.0);
    assert_eq!(room.member(1).map(|m| m.last_applied_seq), Some(600));

    // The page reloads: a new session, which kept only the token.
    room.park(1);
    let Some(ServerMsg::Welcome(mut again)) = room.resume(1, false) else {
        panic!("Welcome")
    };
    again.resume = snapwire_shared::protocol::ResumeToken([2; 16]);
    let (mut second, _) = ClientSession::new("p", false);
    second
        .handle(&codec::encode_server(&ServerMsg::Welcome(again)))
        .expect("welcome");
    let before = room.world().player_position(me);
    play(&mut room, &mut second, 60, -1.0);
    let after = room.world().player_position(me);
    let (before, after) = (before.expect("placed"), after.expect("placed"));
    assert!(after.x < before.x, "moved left: {before:?} -> {after:?}");
    // Every input of the new page was applied, in its own numbering.
    assert_eq!(room.member(1).map(|m| m.last_applied_seq), Some(60));
    assert_eq!(second.last_input_seq(), 60);
    let p = second.predictor().expect("predictor");
    assert_eq!(p.mispredictions, 0);
    assert_eq!(second.stats.desyncs, 0);
}
