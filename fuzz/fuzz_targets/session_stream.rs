//! Any bytes a WebTransport peer can put on the session stream, in any pieces: the framing
//! reader must return frames or an error, never panic, and keep no more than one frame.
#![no_main]

use libfuzzer_sys::fuzz_target;
use snapwire_shared::codec;
use snapwire_shared::stream::{Frame, Reader};

fuzz_target!(|input: (u8, &[u8])| {
    let (piece, bytes) = input;
    let mut reader = Reader::new(1025);
    for chunk in bytes.chunks(usize::from(piece).max(1)) {
        reader.push(chunk);
        loop {
            match reader.next_frame() {
                Ok(Some(Frame::Message(m))) => {
                    let _ = codec::decode_client(&m);
                }
                Ok(Some(Frame::Close { .. })) => {}
                Ok(None) | Err(_) => break,
            }
        }
    }
});
