//! Any bytes a server (or something in its place) can send a client: the session must return
//! errors, never panic, whatever it is fed, in any order, and keep predicting and acknowledging
//! afterwards. Frames are the input split by a 2-byte length prefix; an even first byte starts
//! the session with a valid `Welcome`, so the fuzzer reaches snapshots and prediction quickly.
#![no_main]

use libfuzzer_sys::fuzz_target;
use snapwire_shared::client::ClientSession;
use snapwire_shared::codec;
use snapwire_shared::map::MapDef;
use snapwire_shared::protocol::{ServerMsg, Welcome};
use snapwire_shared::Tick;

fuzz_target!(|bytes: &[u8]| {
    let Some((&first, mut rest)) = bytes.split_first() else {
        return;
    };
    let (mut session, _) = ClientSession::new("fuzz", first & 2 != 0);
    if first % 2 == 0 {
        let welcome = ServerMsg::Welcome(Welcome {
            player_id: Some(1),
            tick: Tick(u32::MAX - 3),
            tick_rate: 60,
            map: MapDef::arena(),
            view_width: 40_000,
            view_height: 24_000,
            room: "fuzz".into(),
            kind: "default".into(),
            game: "arena".into(),
            resume: snapwire_shared::protocol::ResumeToken([0; 16]),
        });
        let _ = session.handle(&codec::encode_server(&welcome));
    }
    while rest.len() >= 2 {
        let len = usize::from(u16::from_le_bytes([rest[0], rest[1]]));
        let end = (2 + len).min(rest.len());
        let frame = &rest[2..end];
        rest = &rest[end..];
        let _ = session.handle(frame);
        let _ = session.input(1.0, -0.5, 0.3, true);
        let _ = session.take_ack();
    }
});
