//! Between the room core and the network: [`registry`] (every open room by id, and which room
//! a `Hello` lands in), [`scheduler`] (a few threads stepping many rooms, each at its own
//! rate), [`room_driver`] (one room: its clients' queues and outboxes, its tick timing, its
//! stats).

pub mod registry;
pub mod room_driver;
pub mod scheduler;
