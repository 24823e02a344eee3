//! Between the room core and the network: [`registry`] (every open room by id, and which room
//! a `Hello` lands in), [`scheduler`] (a few threads stepping many rooms, each at its own
//! rate), [`room_driver`] (one room: its clients' queues and links, its tick timing, its
//! stats), [`hosted`] (rooms of any game behind one trait; how a room kind makes its game),
//! [`games`] (the games a server hosts, by the names kinds and recordings give),
//! [`seats`] (a room's seat count, which a join and a close race on), [`admission`] (the
//! queues a transport hands its clients in by) and [`link`] (what the driver needs of a
//! client's connection: the interface a transport implements).
//!
//! The driver imports nothing from `net`: a transport is handed in through [`admission`] and
//! [`link`], so WebSocket today and a datagram transport next plug into the same seam.

pub mod admission;
pub mod directory;
pub mod games;
pub mod hosted;
pub mod link;
pub mod registry;
pub mod room_driver;
pub mod scheduler;
pub mod seats;
