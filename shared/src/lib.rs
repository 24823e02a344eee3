//! Everything the server, the headless bots and the browser client share: wire types, the game
//! rules and the platform-free client logic. No tokio, no sockets, no clock: it builds for
//! `wasm32-unknown-unknown` and every function here is deterministic.
//!
//! - [`tick`]: the wrapping [`Tick`] counter.
//! - [`protocol`]: [`ClientMsg`], [`ServerMsg`], [`PROTOCOL_VERSION`], close codes.
//! - [`codec`]: the only place bincode is named; frames to messages with byte limits.
//! - [`quantize`]: the fixed-point units of the rules.
//! - [`map`]: maps as data, loaded and validated.
//! - [`game`]: the [`game::Game`] trait a room hosts, with the determinism contract.
//! - [`sim`]: the deterministic arena simulation ([`sim::World`]), the `arena` game.
//! - [`tag`]: the `tag` game (rules and state), hosted by the server as the built-in `tag` room
//!   kind beside the arena.
//! - [`snapshot`]: replicated entity state (`#[derive(Replicate)]`), the bit-packed delta
//!   codec, checksums.
//! - [`client`]: applying snapshots, verifying checksums, acknowledging and predicting.
//! - [`parts`]: a message too large for one datagram, as parts that each fit one.
//! - [`stream`]: the framing of messages on a reliable byte stream (WebTransport's session
//!   stream).

// The derives name `::snapwire_shared`, which this crate's own types use too.
extern crate self as snapwire_shared;

pub mod client;
pub mod codec;
pub mod game;
pub mod map;
pub mod parts;
pub mod protocol;
pub mod quantize;
pub mod sim;
pub mod snapshot;
pub mod stream;
pub mod tag;
pub mod tick;

pub use protocol::{ClientMsg, CloseCode, PROTOCOL_VERSION, ServerMsg};
pub use tick::Tick;
