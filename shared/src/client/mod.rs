//! Platform-free client logic, shared by the headless bots and the browser client.
//!
//! - [`replica`]: applies snapshots against kept baselines and verifies checksums.
//! - [`prediction`]: predicts the local player from unacknowledged inputs and reconciles.
//! - [`session`]: one connection's client state machine: bytes in, messages out, counters.

pub mod prediction;
pub mod replica;
pub mod session;

pub use prediction::Predictor;
pub use replica::{Replica, ReplicaError};
pub use session::{ClientSession, SessionError, SessionEvent};
