//! What a room's driver needs of a client's connection, whatever carries it: the interface a
//! transport implements (`net::outbox::Outbox` for WebSocket today). The driver holds only
//! this, so it imports nothing from `net` and a second transport plugs in beside the first.
//!
//! Every method is called from a room's thread during its tick: none may wait (the tick loop
//! never awaits a socket). What happens when a transport's queue is full is the transport's
//! policy, reported in the answer ([`Put`], [`Full`]).

use std::fmt::Debug;

use bytes::Bytes;
use snapwire_shared::CloseCode;

use crate::room::CloseReason;

/// One client's connection as its room's driver sees it.
pub trait ClientLink: Debug + Send + Sync {
    /// A message that must arrive (`Welcome`, `Resumed`), after any such before it. `Full`
    /// means the connection is not draining (its writer is stuck): the driver drops the client.
    fn push_reliable(&self, frame: Bytes) -> Result<(), Full>;

    /// The newest snapshot, replacing one not yet sent. `may_write`: the driver still has time
    /// in this tick for the transport to write it at once, if its socket is idle.
    fn put_latest(&self, frame: Bytes, may_write: bool) -> Put;

    /// The newest scoreboard, latest-wins like snapshots.
    fn put_scores(&self, frame: Bytes, may_write: bool) -> Put;

    /// The largest snapshot this link carries as one unit that a loss costs alone (a
    /// datagram), if it has such a limit: the room keeps its deltas within it
    /// ([`crate::room::replication`]). A larger one still arrives, in parts.
    fn datagram_limit(&self) -> Option<usize> {
        None
    }

    /// Asks the transport to check the client is there (a keep-alive for a silent client).
    fn ping(&self);

    /// Close after what is queued: with a reason the client is told, or (`None`) without a
    /// word, the socket being gone. The first close wins.
    fn close(&self, reason: Option<CloseReason>);

    /// `None` while open; once closing, the code it closes with (`None`: no close frame, the
    /// socket is gone). A close with a code is the client's fault or the server's choice, and
    /// the client is not kept for a resume.
    fn close_code(&self) -> Option<Option<CloseCode>>;
}

/// The connection's reliable lane is full: its writer is not draining.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Full;

/// What became of a frame put on a link.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Put {
    /// Written to the socket by the caller (all of it, or its beginning with the rest queued).
    Sent,
    /// Left for the transport's writer.
    Queued,
    /// Left for the writer, replacing one it had not taken: that one is never sent. Also a
    /// snapshot the transport dropped because the path is still sending older ones.
    Replaced,
}
