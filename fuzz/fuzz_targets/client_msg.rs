//! Any bytes a client can send: decoding and input parsing must return, never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use snapwire_shared::ClientMsg;
use snapwire_shared::codec;
use snapwire_shared::sim::PlayerInput;

fuzz_target!(|bytes: &[u8]| {
    if let Ok(ClientMsg::Input(input)) = codec::decode_client(bytes) {
        let _ = PlayerInput::parse(&input);
    }
});
