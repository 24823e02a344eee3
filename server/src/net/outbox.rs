//! Per-client outbox between the tick loop (producer) and the connection's writer (consumer).
//!
//! Three lanes: a small reliable queue for messages that must arrive (`Welcome`), a
//! latest-wins slot for snapshots, and a latest-wins slot for the scoreboard (a newer board
//! makes an unsent one worthless). A slow client skips stale snapshots instead of queueing them,
//! which is safe because every snapshot is encoded against a tick the client acknowledged. The
//! tick loop never waits: every method here is a short, non-async critical section.

use std::collections::VecDeque;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::task::{Poll, Waker};

use axum::body::Bytes;
use snapwire_shared::CloseCode;

/// Reliable messages allowed to wait. Only the handshake uses this lane today, so reaching the
/// cap means the writer is stuck: the push fails and the tick loop drops the client.
pub const RELIABLE_CAPACITY: usize = 8;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OutItem {
    Frame(Bytes),
    /// Send a close frame (when there is a reason) and stop.
    Close(Option<(CloseCode, String)>),
}

#[derive(Debug, Default)]
pub struct Outbox {
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    reliable: VecDeque<Bytes>,
    latest: Option<Bytes>,
    scores: Option<Bytes>,
    close: Option<Option<(CloseCode, String)>>,
    /// The writer waiting for an item; woken (outside the lock) by whatever adds one. Kept in
    /// the same lock as the items, so a push can never slip between a check and a wait.
    waiter: Option<Waker>,
}

#[derive(Debug, PartialEq, Eq)]
pub struct Full;

impl Outbox {
    pub fn new() -> Outbox {
        Outbox::default()
    }

    pub fn push_reliable(&self, frame: Bytes) -> Result<(), Full> {
        let mut s = self.lock();
        if s.reliable.len() >= RELIABLE_CAPACITY {
            return Err(Full);
        }
        s.reliable.push_back(frame);
        wake(s);
        Ok(())
    }

    /// Replaces any snapshot the writer has not taken yet; true when one was replaced (the
    /// client never gets it).
    pub fn put_latest(&self, frame: Bytes) -> bool {
        let mut s = self.lock();
        let replaced = s.latest.replace(frame).is_some();
        wake(s);
        replaced
    }

    /// Replaces any scoreboard the writer has not taken yet.
    pub fn put_scores(&self, frame: Bytes) {
        let mut s = self.lock();
        s.scores = Some(frame);
        wake(s);
    }

    /// Asks the writer to close after what is queued. The first reason wins.
    pub fn close(&self, reason: Option<(CloseCode, String)>) {
        let mut s = self.lock();
        if s.close.is_none() {
            s.close = Some(reason);
        }
        wake(s);
    }

    pub fn is_closing(&self) -> bool {
        self.lock().close.is_some()
    }

    /// The next item to send: reliable frames first, then a close, then the latest snapshot,
    /// then the latest scoreboard.
    /// Once a close is requested, queued snapshots are dropped (they are stale by definition).
    ///
    /// Cancel safe: an item is removed only in the same poll that returns it.
    pub async fn next(&self) -> OutItem {
        std::future::poll_fn(|cx| {
            let mut s = self.lock();
            if let Some(frame) = s.reliable.pop_front() {
                return Poll::Ready(OutItem::Frame(frame));
            }
            if let Some(reason) = s.close.clone() {
                return Poll::Ready(OutItem::Close(reason));
            }
            if let Some(frame) = s.latest.take().or_else(|| s.scores.take()) {
                return Poll::Ready(OutItem::Frame(frame));
            }
            if !s.waiter.as_ref().is_some_and(|w| w.will_wake(cx.waker())) {
                s.waiter = Some(cx.waker().clone());
            }
            Poll::Pending
        })
        .await
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // Every critical section leaves `State` consistent, so a panic elsewhere cannot poison
        // it in a way that matters.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Releases the lock, then wakes the writer if it waits.
fn wake(mut s: MutexGuard<'_, State>) {
    let waiter = s.waiter.take();
    drop(s);
    if let Some(w) = waiter {
        w.wake();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn latest_wins_and_reliable_goes_first() {
        let outbox = Outbox::new();
        assert!(!outbox.put_latest(Bytes::from_static(b"s1")));
        assert!(outbox.put_latest(Bytes::from_static(b"s2")));
        outbox
            .push_reliable(Bytes::from_static(b"welcome"))
            .expect("room");
        assert_eq!(
            outbox.next().await,
            OutItem::Frame(Bytes::from_static(b"welcome"))
        );
        assert_eq!(
            outbox.next().await,
            OutItem::Frame(Bytes::from_static(b"s2"))
        );
        outbox.close(Some((CloseCode::BadAck, "x".into())));
        outbox.close(None);
        assert_eq!(
            outbox.next().await,
            OutItem::Close(Some((CloseCode::BadAck, "x".into())))
        );
    }

    #[test]
    fn the_reliable_lane_is_bounded() {
        let outbox = Outbox::new();
        for _ in 0..RELIABLE_CAPACITY {
            assert_eq!(outbox.push_reliable(Bytes::new()), Ok(()));
        }
        assert_eq!(outbox.push_reliable(Bytes::new()), Err(Full));
    }
}
