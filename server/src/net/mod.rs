//! The network side: accepting with limits before any byte is trusted ([`listener`]), HTTP
//! routes and the WebSocket upgrade ([`http`]), one task per connection ([`connection`]),
//! which hands its client to a room's driver through the driver's admission queues
//! (`driver::admission`) with a latest-wins outbox ([`outbox`]) as the client's
//! `driver::link::ClientLink`, frames written from the room's thread ([`direct`]), HTTPS and
//! `wss://` ([`tls`]); join tickets are checked here ([`crate::ticket`]). Nothing here knows the
//! game's rules.
//!
//! Imports run one way: `net` uses `driver` (its admission types and link interface) and
//! `room` (the parsed messages); neither imports `net`.

pub mod connection;
pub mod direct;
pub mod http;
pub mod listener;
pub mod outbox;
pub mod session;
pub mod tls;
pub mod webtransport;
