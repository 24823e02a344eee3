//! The network side: accepting with limits before any byte is trusted ([`listener`]), HTTP
//! routes and the WebSocket upgrade ([`http`]), one task per connection
//! ([`connection`]), the bounded queues into the room's driver ([`ingress`]) and the
//! latest-wins outboxes out of it ([`outbox`]), frames written from the room's thread
//! ([`direct`]), HTTPS and `wss://` ([`tls`]), join tickets
//! ([`ticket`]). Nothing here knows the game's rules.

pub mod connection;
pub mod direct;
pub mod http;
pub mod ingress;
pub mod listener;
pub mod outbox;
pub mod ticket;
pub mod tls;
