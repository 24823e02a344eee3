//! Any bytes a client can send, in a WebSocket frame or a WebTransport datagram: decoding and
//! input parsing must return, never panic (a datagram's `Inputs` carries up to four inputs).
#![no_main]

use libfuzzer_sys::fuzz_target;
use snapwire_shared::ClientMsg;
use snapwire_shared::codec;
use snapwire_shared::sim::PlayerInput;

fuzz_target!(|bytes: &[u8]| {
    match codec::decode_client(bytes) {
        Ok(ClientMsg::Input(input)) => {
            let _ = PlayerInput::parse(&input);
        }
        Ok(ClientMsg::Inputs(inputs)) => {
            for input in &inputs {
                let _ = PlayerInput::parse(input);
            }
        }
        _ => {}
    }
});
