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

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, AtomicU64, AtomicUsize};

use snapwire_shared::CloseCode;
use snapwire_shared::protocol::ResumeToken;
use tokio::sync::mpsc;

use crate::driver::link::ClientLink;
use crate::driver::seats::{Refused, Seats};
pub use crate::room::{ClientId, CloseReason, Inbound};

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

/// What the rest of the process knows about one room. The room itself lives on a scheduler
/// thread; this is how connections reach it and `/rooms` describes it.
#[derive(Debug)]
pub struct RoomHandle {
    pub id: String,
    pub kind: String,
    /// The game its kind plays (`Game::NAME`).
    pub game: &'static str,
    pub map: String,
    pub tick_rate: u16,
    /// Not listed in `/rooms`; joined by id only.
    pub private: bool,
    /// Never closed for being empty (the room open from the start).
    pub persistent: bool,
    /// Clients at most (players and spectators).
    pub cap: usize,
    /// Seats reserved or taken, and whether the room has closed to new ones.
    pub(super) seats: Seats,
    /// Where a connection hands its client to the room's driver.
    pub joins: mpsc::Sender<Join>,
    /// Published by the room's driver: clients in the room now, its tick, its tick p99 (us).
    pub clients: AtomicUsize,
    pub tick: AtomicU32,
    pub tick_p99_us: AtomicU64,
    /// Published by the room's driver on each join and leave: its members' names (away ones
    /// included), for an orchestrator's player list.
    pub members: std::sync::Mutex<BTreeMap<ClientId, String>>,
}

impl RoomHandle {
    /// Seats reserved or taken (0 once closed).
    pub fn seats(&self) -> usize {
        self.seats.count()
    }

    /// Reserves one seat, unless the room is full or closed.
    pub(crate) fn reserve(self: &Arc<Self>) -> Result<Seat, CloseReason> {
        match self.seats.reserve(self.cap) {
            Ok(()) => Ok(Seat {
                room: Arc::clone(self),
            }),
            Err(Refused::Closed) => Err(no_such_room(&self.id)),
            Err(Refused::Full) => Err(CloseReason::new(
                CloseCode::RoomFull,
                format!("room {} is full ({} clients)", self.id, self.cap),
            )),
        }
    }

    /// Closes the room to new seats if none is reserved or taken; true when it did.
    pub fn try_close(&self) -> bool {
        self.seats.try_close()
    }

    /// Closes the room to new seats whatever is reserved (a failed or stopping room).
    pub fn force_close(&self) {
        self.seats.force_close();
    }
}

impl RoomHandle {
    /// A handle for a room that no registry knows (tests that drive one room's driver).
    pub fn detached(id: &str, cap: usize, joins: mpsc::Sender<Join>) -> RoomHandle {
        RoomHandle {
            id: id.to_owned(),
            kind: "test".to_owned(),
            game: "arena",
            map: String::new(),
            tick_rate: 60,
            private: true,
            persistent: true,
            cap,
            seats: Seats::default(),
            joins,
            clients: AtomicUsize::new(0),
            tick: AtomicU32::new(0),
            tick_p99_us: AtomicU64::new(0),
            members: std::sync::Mutex::default(),
        }
    }
}

/// One reserved place in a room; given back when dropped.
#[derive(Debug)]
pub struct Seat {
    room: Arc<RoomHandle>,
}

impl Seat {
    pub fn room(&self) -> &Arc<RoomHandle> {
        &self.room
    }
}

impl Drop for Seat {
    fn drop(&mut self) {
        self.room.seats.release();
    }
}

/// The close for a room id that leads nowhere.
pub fn no_such_room(id: &str) -> CloseReason {
    CloseReason::new(
        CloseCode::NoSuchRoom,
        format!("no room {id:?} (it closed, or never existed)"),
    )
}
