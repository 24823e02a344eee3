//! What a connection hands a room's driver: its join on the room's queue (a new client with
//! its seat, or a resume), then each of the client's messages on a queue of its own, already
//! parsed and range-checked, and its [`ClientLink`] for everything going back. The driver
//! owns these types; transports build them.
//!
//! Queue policies:
//! - joins, one queue per room: bounded ([`JOIN_CAPACITY`]); a connection awaits space (the
//!   driver drains it every tick), so a burst of joins slows handshakes down, never the tick.
//! - per-client inbound: bounded ([`INBOUND_CAPACITY`]); the reader never waits: when full, the
//!   client has sent more than the driver drains between ticks and is closed as `Flooding`.
//!   One queue per client means a flooder can only fill its own.

use std::sync::Arc;

use snapwire_shared::protocol::ResumeToken;
use tokio::sync::mpsc;

use crate::driver::link::ClientLink;
use crate::driver::registry::Seat;
pub use crate::room::{ClientId, Inbound};

pub const JOIN_CAPACITY: usize = 256;

/// Two seconds of inputs and acks at 60 Hz, so a burst after a network stall fits; the tick
/// loop drains it every tick, so only a client sending far faster than it plays fills it.
pub const INBOUND_CAPACITY: usize = 256;

/// A connection arriving in a room: a new client, or an away one coming back.
#[derive(Debug)]
pub struct Join {
    /// The connection's id (a new client keeps it as its own).
    pub client: ClientId,
    pub inbound: mpsc::Receiver<Inbound>,
    /// Everything going back to the client.
    pub link: Arc<dyn ClientLink>,
    pub entry: Entry,
}

#[derive(Debug)]
pub enum Entry {
    New {
        name: String,
        spectate: bool,
        /// The place reserved for the client in the room; given back if the join never lands.
        seat: Seat,
    },
    /// The member the (now spent) token led to, which keeps its own seat.
    Resume {
        member: ClientId,
        token: ResumeToken,
        /// The client kept its snapshots (see [`snapwire_shared::protocol::Resume`]).
        has_state: bool,
    },
}

pub fn join_queue() -> (mpsc::Sender<Join>, mpsc::Receiver<Join>) {
    mpsc::channel(JOIN_CAPACITY)
}

pub fn inbound_queue() -> (mpsc::Sender<Inbound>, mpsc::Receiver<Inbound>) {
    mpsc::channel(INBOUND_CAPACITY)
}
