//! A WebTransport client's [`ClientLink`]: snapshots go out as datagrams from the room's thread
//! (a lost one costs that snapshot, never a stall); everything that must arrive (`Welcome`,
//! `Resumed`, scoreboards, the close) goes through an [`Outbox`] that the session's task
//! writes to the session stream. A snapshot larger than a datagram goes in parts
//! ([`snapwire_shared::parts`]).
//!
//! Sending a datagram never waits: quinn queues it until its congestion controller lets it go.
//! That queue is bounded in bytes ([`super::DATAGRAMS_QUEUED`], the oldest dropped when full),
//! but bytes are not time: 64 KiB is a second of a crowded view's snapshots and half a minute
//! of a quiet one's. So a snapshot is not queued at all while more than
//! [`QUEUED_AHEAD`] bytes wait from earlier ticks: the path is not keeping up, and the next
//! tick brings a newer snapshot (latest-wins, as the stream's outbox does).
//!
//! Datagrams and the stream keep no order between them, and a snapshot is of no use to a
//! client before its `Welcome` (or `Resumed`): so the first snapshot goes on the stream, right
//! behind it, and the rest as datagrams from the next tick on. A datagram may still overtake
//! the `Welcome` (a lost packet of the stream is sent again, a datagram is not held for it):
//! the client drops datagrams that come before the stream's first message (PROTOCOL.md). The
//! stream used to carry every snapshot until the client's first datagram came, a round trip:
//! a loss in it held them all back, and through the `bad` link most players waited 300-500 ms
//! for their second snapshot.

use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};

use bytes::Bytes;
use snapwire_shared::CloseCode;
use snapwire_shared::parts;
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
    /// The first snapshot went (on the stream, behind the `Welcome`): the rest are datagrams.
    first_sent: AtomicBool,
    /// The number of the last message sent in parts.
    split: AtomicU32,
}

/// The largest datagram the server sends, whatever the path would carry: a browser may take
/// less than its path does (Chrome's `maxDatagramSize` was 1,211 on loopback), so a path MTU
/// that grew through discovery does not make snapshots any larger.
pub const MAX_DATAGRAM: usize = 1200;

/// Bytes of earlier datagrams still queued in quinn above which a new snapshot is skipped:
/// one datagram's worth. At 60 Hz a path that keeps up has sent the last tick's snapshot
/// before the next is made; one that has not is congested (or its controller thinks so), and
/// a snapshot queued behind the backlog would arrive late (a page once saw its snapshots two
/// seconds late on a loaded machine, its ping 2 s) and push out the parts of a full snapshot.
pub const QUEUED_AHEAD: usize = MAX_DATAGRAM;

impl DatagramLink {
    pub(super) fn new(connection: Connection, counted: FramesOut) -> DatagramLink {
        DatagramLink {
            outbox: Outbox::new(),
            connection,
            counted,
            first_sent: AtomicBool::new(false),
            split: AtomicU32::new(0),
        }
    }

    /// The largest datagram this session sends now.
    fn limit(&self) -> Option<usize> {
        self.connection
            .max_datagram_size()
            .map(|m| m.min(MAX_DATAGRAM))
    }

    /// Bytes of datagrams quinn holds for this session, not yet sent.
    fn queued(&self) -> usize {
        super::DATAGRAMS_QUEUED.saturating_sub(
            self.connection
                .quic_connection()
                .datagram_send_buffer_space(),
        )
    }

    fn send(&self, datagram: &[u8]) -> Result<(), SendDatagramError> {
        self.connection.send_datagram(datagram)?;
        self.counted.wrote(datagram.len(), true);
        Ok(())
    }

    fn send_parts(&self, frame: &[u8], limit: usize) -> Option<Result<(), SendDatagramError>> {
        let message = self.split.fetch_add(1, Ordering::Relaxed).wrapping_add(1);
        let parts = parts::split(message, frame, limit)?;
        Some(parts.iter().try_for_each(|p| self.send(p)))
    }
}

impl ClientLink for DatagramLink {
    fn push_reliable(&self, frame: Bytes) -> Result<(), Full> {
        self.outbox.push_reliable(frame)
    }

    /// The first snapshot on the stream, behind the `Welcome`; every later one as one datagram,
    /// or in parts when it is larger (a crowded view's delta, or a full snapshot after the
    /// client lost every baseline): a lost part loses that snapshot only, where on the stream
    /// one lost packet held back every snapshot behind it. Measured with 1,000 drifting
    /// entities (`benches/full_view.sh`): through `average` 54.7 snapshots a second either
    /// way; through `bad` the first verified snapshot came 72 ms after the `Welcome` (p50)
    /// with deltas in parts, 1,112 ms with them on the stream. The stream still takes a
    /// snapshot when the path is too narrow for parts or the session has no datagrams.
    fn put_latest(&self, frame: Bytes, _may_write: bool) -> Put {
        if self.outbox.close_code().is_some() {
            return Put::Queued;
        }
        // Only the room's thread puts snapshots: a load and a store, no read-modify-write.
        if !self.first_sent.load(Ordering::Relaxed) {
            self.first_sent.store(true, Ordering::Relaxed);
            return self.outbox.put_latest(frame, false);
        }
        if self.queued() > QUEUED_AHEAD {
            // Never sent, as a snapshot replaced in an outbox is (counted the same way).
            return Put::Replaced;
        }
        let sent = match self.limit() {
            Some(limit) if frame.len() > limit => self.send_parts(&frame, limit),
            Some(_) => Some(self.send(&frame)),
            None => None,
        };
        match sent {
            Some(Ok(())) => Put::Sent,
            // The session ended: the task sees it and closes the link.
            Some(Err(SendDatagramError::NotConnected)) => Put::Queued,
            // No datagrams on this session, or a path too narrow for parts: the stream
            // takes it whole (latest-wins there too).
            None
            | Some(Err(SendDatagramError::TooLarge | SendDatagramError::UnsupportedByPeer)) => {
                self.outbox.put_latest(frame, false)
            }
        }
    }

    fn datagram_limit(&self) -> Option<usize> {
        self.limit()
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
