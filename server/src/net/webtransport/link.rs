//! A WebTransport client's [`ClientLink`]: snapshots go out as datagrams from the room's thread
//! (a lost one costs that snapshot, never a stall); everything that must arrive (`Welcome`,
//! `Resumed`, scoreboards, a snapshot too large for one datagram, the close) goes through an
//! [`Outbox`] that the session's task writes to the session stream.
//!
//! Sending a datagram never waits: quinn queues it and, when its send buffer is full, drops the
//! oldest datagram queued (latest-wins again, below this layer).
//!
//! Datagrams and the stream keep no order between them, and a snapshot is of no use to a
//! client before its `Welcome` (or `Resumed`): so snapshots go on the stream, after it, until
//! the client's first datagram shows it has it and takes datagrams.

use std::sync::atomic::{AtomicBool, Ordering};

use bytes::Bytes;
use snapwire_shared::CloseCode;
use wtransport::Connection;
use wtransport::error::SendDatagramError;

use crate::driver::link::{ClientLink, Full, Put};
use crate::net::outbox::Outbox;
use crate::room::CloseReason;
use crate::stats::FramesOut;

#[derive(Debug)]
pub struct DatagramLink {
    /// The session stream's side: the task writes what lands here.
    pub(super) outbox: Outbox,
    connection: Connection,
    counted: FramesOut,
    /// A datagram came from the client: it has its `Welcome` and takes snapshots as datagrams.
    datagrams: AtomicBool,
}

impl DatagramLink {
    pub(super) fn new(connection: Connection, counted: FramesOut) -> DatagramLink {
        DatagramLink {
            outbox: Outbox::new(),
            connection,
            counted,
            datagrams: AtomicBool::new(false),
        }
    }

    /// The client sent a datagram: from now on snapshots go as datagrams.
    pub(super) fn heard_datagram(&self) {
        self.datagrams.store(true, Ordering::Relaxed);
    }
}

impl ClientLink for DatagramLink {
    fn push_reliable(&self, frame: Bytes) -> Result<(), Full> {
        self.outbox.push_reliable(frame)
    }

    fn put_latest(&self, frame: Bytes, _may_write: bool) -> Put {
        if self.outbox.close_code().is_some() {
            return Put::Queued;
        }
        if !self.datagrams.load(Ordering::Relaxed) {
            return self.outbox.put_latest(frame, false);
        }
        match self.connection.send_datagram(&frame) {
            Ok(()) => {
                self.counted.wrote(frame.len(), true);
                Put::Sent
            }
            // Larger than this path carries in one datagram: the stream takes it whole
            // (latest-wins there too).
            Err(SendDatagramError::TooLarge | SendDatagramError::UnsupportedByPeer) => {
                self.outbox.put_latest(frame, false)
            }
            // The session ended: the task sees it and closes the link.
            Err(SendDatagramError::NotConnected) => Put::Queued,
        }
    }

    fn put_scores(&self, frame: Bytes, _may_write: bool) -> Put {
        self.outbox.put_scores(frame, false)
    }

    /// QUIC keeps the path alive (`keep_alive_interval`); silence from a client is judged by
    /// the inputs and acks it stops sending.
    fn ping(&self) {}

    fn close(&self, reason: Option<CloseReason>) {
        self.outbox.close(reason);
    }

    fn close_code(&self) -> Option<Option<CloseCode>> {
        self.outbox.close_code()
    }
}
