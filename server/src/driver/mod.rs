//! Between the room core and the network: [`registry`] (every open room by id, and which room
//! a `Hello` lands in), [`scheduler`] (a few threads stepping many rooms, each at its own
//! rate), [`room_driver`] (one room: its clients' queues and outboxes, its tick timing, its
//! stats), [`hosted`] (rooms of any game behind one trait; how a room kind makes its game),
//! [`seats`] (a room's seat count, which a join and a close race on).

pub mod hosted;
pub mod registry;
pub mod room_driver;
pub mod scheduler;
pub mod seats;
