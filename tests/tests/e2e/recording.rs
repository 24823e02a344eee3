//! Recordings (`--record DIR`): a bot match is written to disk while it plays, and re-simulated
//! from the file bit for bit, every tick's checksum matching.

use crate::support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use snapwire_bots::{BotOptions, Live, run_bots};
use snapwire_server::Config;
use support::TestServer;

/// Issue 13's test, short: 16 bots play 11 s, firing both weapons; the file re-simulates bit
/// for bit, with a keyframe every 5 s. The minute-long match, with its size per
/// player-minute and time to verify, is `benches/record_verify.sh`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_recorded_bot_match_replays_bit_for_bit() {
    let dir = std::env::temp_dir().join(format!("snapwire-rec-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let mut config = Config::new(60);
    config.record_dir = Some(dir.clone());
    let server = TestServer::start(config).await;
    let mut opts = BotOptions::new(server.url(), 16, Duration::from_secs(11));
    opts.ramp = Duration::from_millis(500);
    opts.server_metrics = false;
    let run = run_bots(opts, Arc::new(Live::default())).await;
    assert_eq!((run.report.errors, run.report.desyncs), (0, 0));
    let shots = server.stats.shots_judged.get();
    assert!(shots > 100, "{shots} shots judged");
    // Stopping the server writes out the rooms' last second.
    let stats = std::sync::Arc::clone(&server.stats);
    server.stop().await;
    let (ticks_stepped, inputs_applied) = (stats.ticks.get(), stats.inputs_applied.get());

    let files: Vec<_> = std::fs::read_dir(&dir)
        .expect("the recording directory")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    assert_eq!(files.len(), 1, "one room, one file: {files:?}");
    let file = &files[0];
    let started = Instant::now();
    let verified = snapwire_server::Games::builtin()
        .verify(file)
        .unwrap_or_else(|e| panic!("{e}"));
    let took = started.elapsed();
    let bytes = std::fs::metadata(file).expect("file").len();
    let seconds = verified.ticks as f64 / 60.0;
    let player_minutes = 16.0 * seconds / 60.0;
    eprintln!(
        "recorded {} ticks ({seconds:.1} s), {} inputs, 16 players: {bytes} bytes, {:.0} bytes per player-minute; verified in {took:.2?}",
        verified.ticks,
        verified.inputs,
        bytes as f64 / player_minutes
    );
    assert_eq!(verified.header.game, "arena");
    // The room's whole life is in the file: every tick it stepped, and every input it applied
    // (the server's own count), none lost or invented on the way to disk.
    assert_eq!(verified.ticks as u64, ticks_stepped, "ticks");
    assert_eq!(verified.inputs as u64, inputs_applied, "inputs");
    assert!(verified.ticks > 60 * 11, "{} ticks", verified.ticks);
    // One keyframe per 5 s of match.
    let keyframes = snapwire_server::recording::read(file)
        .expect("reads")
        .keyframes
        .len();
    assert_eq!(keyframes, verified.ticks / (5 * 60), "keyframes");

    // A file cut short (a crash mid-write) still verifies up to its last whole block.
    let whole = std::fs::read(file).expect("read");
    let cut = dir.join("cut.snapwrec");
    std::fs::write(&cut, &whole[..whole.len() * 2 / 3]).expect("write");
    let partial = snapwire_server::Games::builtin()
        .verify(&cut)
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(partial.ticks > 0 && partial.ticks < verified.ticks);
    let _ = std::fs::remove_dir_all(&dir);
}

/// A recording written by format 1 (4 bots, 277 ticks) stays readable and re-simulates in
/// every later version: a format change reads the old one or ships a converter; a rules change
/// that breaks it must say so here.
#[test]
fn the_committed_format_1_recording_still_verifies() {
    let file = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join("arena-format1.snapwrec");
    let verified = snapwire_server::Games::builtin()
        .verify(&file)
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(verified.header.format, 1);
    assert_eq!((verified.ticks, verified.inputs), (277, 806));
}

/// Format 2 (packed, zstd, inputs with lag compensation claims), from three bots with the
/// page's interpolator firing both weapons: it must keep verifying too.
#[test]
fn the_committed_format_2_recording_still_verifies() {
    let file = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join("arena-format2.snapwrec");
    let verified = snapwire_server::Games::builtin()
        .verify(&file)
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(verified.header.format, 2);
    assert_eq!((verified.ticks, verified.inputs), (598, 1018));
    // It holds what format 2 added: rail shots, and claims between two snapshots.
    let recording = snapwire_server::recording::read(&file).expect("reads");
    let inputs: Vec<_> = recording
        .ticks
        .iter()
        .flat_map(|t| &t.entries)
        .filter_map(|e| match e {
            snapwire_server::room::record::Entry::Input { input, .. } => Some(input),
            _ => None,
        })
        .collect();
    assert!(inputs.iter().any(|i| i.alt_fire));
    assert!(inputs.iter().any(|i| i.view.frac != 0));
}

/// A recorded match is listed at `/replays` and watched over a real socket: the viewer's room
/// re-simulates it from the tick asked for, at the speed asked for, streams ordinary snapshots
/// (checksums verified by the client) and closes with 4014 at the end.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_recorded_match_is_listed_and_watched_from_any_tick_at_any_speed() {
    use snapwire_shared::client::{ClientSession, SessionEvent};
    use snapwire_shared::protocol::RoomRequest;
    use support::{close_of, connect, send};

    let dir = std::env::temp_dir().join(format!("snapwire-watch-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let mut config = Config::new(60);
    config.record_dir = Some(dir.clone());
    let server = TestServer::start(config).await;
    let mut opts = BotOptions::new(server.url(), 6, Duration::from_secs(4));
    opts.ramp = Duration::from_millis(300);
    opts.server_metrics = false;
    let run = run_bots(opts, Arc::new(Live::default())).await;
    assert_eq!((run.report.errors, run.report.desyncs), (0, 0));

    let listed = server.get_json("/replays").await;
    let first = &listed[0];
    let id = first["id"].as_str().expect("an id").to_owned();
    let ticks = first["ticks"].as_u64().expect("ticks");
    assert!(ticks >= 120, "{listed}");
    assert_eq!(first["game"], "arena");
    assert_eq!(first["players"], 6, "{listed}");

    // From two seconds in, at twice the speed.
    let mut ws = connect(&server.url()).await;
    let request = RoomRequest::Replay {
        id: id.clone(),
        from_tick: 120,
        speed_percent: 200,
    };
    let (mut session, hello) =
        ClientSession::<snapwire_shared::sim::World>::joining("viewer", false, request);
    send(&mut ws, &hello).await;
    let mut snapshots = 0;
    let mut last = None;
    let code = loop {
        use futures_util::StreamExt;
        use tokio_tungstenite::tungstenite::Message;
        let frame = tokio::time::timeout(Duration::from_secs(5), ws.next())
            .await
            .expect("a frame within 5 s");
        match frame {
            Some(Ok(Message::Binary(bytes))) => match session.handle(&bytes).expect("valid") {
                SessionEvent::Welcome(w) => {
                    assert_eq!(w.player_id, None, "a viewer only watches");
                    assert_eq!(w.tick_rate, 120, "twice the match's 60 Hz");
                    assert_eq!(w.tick.0, 120);
                    assert_eq!(w.kind, "replay");
                }
                SessionEvent::Snapshot { tick, .. } => {
                    snapshots += 1;
                    assert!(last.is_none_or(|t| tick > t));
                    last = Some(tick);
                    if let Some(ack) = session.take_ack() {
                        send(&mut ws, &ack).await;
                    }
                }
                _ => {}
            },
            Some(Ok(Message::Close(f))) => break f.map_or(1005, |f| u16::from(f.code)),
            None => panic!("the connection ended without a close frame"),
            Some(Ok(_)) => {}
            Some(Err(e)) => panic!("{e}"),
        }
    };
    eprintln!("watched {snapshots} snapshots of {ticks} ticks, last {last:?}, closed {code}");
    assert_eq!(
        code,
        snapwire_shared::CloseCode::ReplayEnded.code(),
        "closed {code}"
    );
    // Snapshots are latest-wins: a viewer slower than the playback misses some, never the
    // last one.
    assert!(
        snapshots as u64 * 10 >= (ticks - 120) * 7,
        "{snapshots} of {ticks}"
    );
    assert_eq!(last.map(|t| u64::from(t.0)), Some(ticks));
    // Entities move in it: players were in the match.
    assert!(
        session
            .replica()
            .latest()
            .is_some_and(|(_, v)| v.len() >= 6)
    );

    // An unknown id is refused with its own reason.
    let mut ws = connect(&server.url()).await;
    let request = RoomRequest::Replay {
        id: "nope-1".into(),
        from_tick: 0,
        speed_percent: 100,
    };
    send(
        &mut ws,
        &ClientSession::<snapwire_shared::sim::World>::joining("viewer", true, request).1,
    )
    .await;
    assert_eq!(
        close_of(&mut ws).await.0,
        snapwire_shared::CloseCode::NoSuchRoom.code()
    );
    server.stop().await;
    let _ = std::fs::remove_dir_all(&dir);
}
