//! Platform-free client logic, shared by the headless bots and the browser client.
//!
//! - [`replica`]: applies snapshots against kept baselines and verifies checksums.
//! - [`prediction`]: predicts the local player from unacknowledged inputs and reconciles.
//! - [`session`]: one connection's client state machine: bytes in, messages out, counters.
//! - [`interpolation`]: remote entities drawn between snapshots with an adaptive delay.
//! - [`smoothing`]: prediction corrections blended in over a few frames.
//! - [`net_stats`]: the net graph's numbers.
//! - [`feel`]: corrections and interpolation underruns: how the game feels on this link.

pub mod feel;
#[cfg(test)]
mod fixtures;
pub mod interpolation;
pub mod net_stats;
pub mod prediction;
pub mod replica;
pub mod session;
pub mod smoothing;

pub use feel::Feel;
pub use interpolation::{Drawn, Interpolator};
pub use net_stats::{NetGraph, NetStats};
pub use prediction::Predictor;
pub use replica::{Replica, ReplicaError};
pub use session::{ClientSession, SessionError, SessionEvent};
pub use smoothing::Smoother;
