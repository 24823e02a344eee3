//! Per-client outbox between the tick loop (producer) and the connection's writer (consumer).
//!
//! Three lanes: a small reliable queue for messages that must arrive (`Welcome`), a
//! latest-wins slot for snapshots, and a latest-wins slot for the scoreboard (a newer board
//! makes an unsent one worthless). A slow client skips stale snapshots instead of queueing them,
//! which is safe because every snapshot is encoded against a tick the client acknowledged. The
//! tick loop never waits: every method here is a short, non-async critical section.

use std::collections::VecDeque;
use std::sync::PoisonError;
use std::task::{Poll, Waker};

use bytes::Bytes;
#[cfg(snapwire_loom)]
use loom::sync::{Mutex, MutexGuard};
use snapwire_shared::CloseCode;
#[cfg(not(snapwire_loom))]
use std::sync::{Mutex, MutexGuard};

/// Reliable messages allowed to wait. Only the handshake uses this lane today, so reaching the
/// cap means the writer is stuck: the push fails and the tick loop drops the client.
pub const RELIABLE_CAPACITY: usize = 8;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OutItem {
    Frame(Bytes),
    /// Send a WebSocket ping: the client has been silent, and its pong says it is still there.
    Ping,
    /// Send a close frame (when there is a reason) and stop.
    Close(Option<(CloseCode, String)>),
}

#[derive(Debug)]
pub struct Outbox {
    state: Mutex<State>,
}

impl Default for Outbox {
    fn default() -> Outbox {
        Outbox {
            state: Mutex::new(State::default()),
        }
    }
}

#[derive(Debug, Default)]
struct State {
    reliable: VecDeque<Bytes>,
    latest: Option<Bytes>,
    scores: Option<Bytes>,
    /// A ping is due (at most one waits).
    ping: bool,
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

    /// Asks the writer to send a ping (once, however often asked before it does).
    pub fn ping(&self) {
        let mut s = self.lock();
        s.ping = true;
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

    /// `None` while open; once closing, the code it closes with (`None` for no close frame:
    /// the socket is gone).
    pub fn close_code(&self) -> Option<Option<CloseCode>> {
        self.lock()
            .close
            .as_ref()
            .map(|reason| reason.as_ref().map(|(code, _)| *code))
    }

    /// The next item to send: reliable frames first, then a close, then the latest snapshot,
    /// then the latest scoreboard, then a ping.
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
            if std::mem::take(&mut s.ping) {
                return Poll::Ready(OutItem::Ping);
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

/// Model checks of the outbox's one piece of hand-made concurrency: the room thread puts and
/// closes while the connection's writer takes and waits. loom runs every interleaving; a lost
/// wake-up would leave the writer parked for ever, which loom reports as a deadlock.
/// `RUSTFLAGS="--cfg snapwire_loom" cargo test -p snapwire-server --lib loom` (in `.ci/run`).
#[cfg(all(test, snapwire_loom))]
mod loom_tests {
    use loom::future::block_on;
    use loom::sync::Arc;
    use loom::thread;

    use super::*;

    /// Everything the writer takes until its close, in order.
    fn drain(outbox: &Outbox) -> (Vec<Bytes>, Option<(CloseCode, String)>) {
        block_on(async {
            let mut frames = Vec::new();
            loop {
                match outbox.next().await {
                    OutItem::Frame(f) => frames.push(f),
                    OutItem::Ping => {}
                    OutItem::Close(reason) => return (frames, reason),
                }
            }
        })
    }

    #[test]
    fn a_replaced_snapshot_or_a_close_never_loses_the_writer() {
        loom::model(|| {
            let outbox = Arc::new(Outbox::new());
            let room = Arc::clone(&outbox);
            let producer = thread::spawn(move || {
                let first = room.put_latest(Bytes::from_static(b"1"));
                let second = room.put_latest(Bytes::from_static(b"2"));
                room.close(Some((CloseCode::GoingAway, "bye".into())));
                (first, second)
            });
            let (frames, reason) = drain(&outbox);
            let (first_replaced, second_replaced) = producer.join().expect("producer");
            assert!(
                !first_replaced,
                "nothing was pending before the first snapshot"
            );
            // Snapshots arrive in order, and a close drops whatever is still pending.
            assert!(frames.len() <= 2);
            if frames.len() == 2 {
                assert_eq!(frames, [Bytes::from_static(b"1"), Bytes::from_static(b"2")]);
                assert!(!second_replaced);
            }
            assert_eq!(reason, Some((CloseCode::GoingAway, "bye".into())));
        });
    }

    #[test]
    fn the_welcome_goes_before_any_snapshot_and_the_first_close_reason_wins() {
        loom::model(|| {
            let outbox = Arc::new(Outbox::new());
            let room = Arc::clone(&outbox);
            let reader = Arc::clone(&outbox);
            let producer = thread::spawn(move || {
                room.push_reliable(Bytes::from_static(b"welcome"))
                    .expect("room in the reliable lane");
                room.put_latest(Bytes::from_static(b"s"));
                room.close(Some((CloseCode::BadAck, "first".into())));
            });
            // The connection's reader closes too, racing the room.
            let racer = thread::spawn(move || {
                reader.close(Some((CloseCode::Malformed, "second".into())));
            });
            let (frames, reason) = drain(&outbox);
            producer.join().expect("producer");
            racer.join().expect("racer");
            if let Some(first) = frames.first() {
                assert_eq!(first, &Bytes::from_static(b"welcome"));
            }
            assert!(
                reason.is_some(),
                "a close always carries the first reason given"
            );
        });
    }
}
