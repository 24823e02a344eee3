//! Per-client outbox between the tick loop (producer) and the connection's writer (consumer).
//!
//! Three lanes: a small reliable queue for messages that must arrive (`Welcome`), a
//! latest-wins slot for snapshots, and a latest-wins slot for the scoreboard (a newer board
//! makes an unsent one worthless). A slow client skips stale snapshots instead of queueing them,
//! which is safe because every snapshot is encoded against a tick the client acknowledged. The
//! tick loop never waits: every method here is a short, non-async critical section.
//!
//! On a plain-TCP connection a snapshot or scoreboard put into an outbox whose writer is idle
//! (parked in [`Outbox::next`], nothing of its own unsent, nothing queued) is written to the
//! socket there and then, without a system call that waits (`net::direct`). The socket's write
//! side has one owner at a time, decided under the outbox's lock: the writer from the moment
//! `next` hands it an item until it parks again, the producer otherwise. A frame the socket
//! took only part of leaves its rest here ([`OutItem::Tail`]), first in line for the writer.

use std::collections::VecDeque;
use std::sync::PoisonError;
use std::task::{Poll, Waker};

use bytes::Bytes;
// The loom model tests swap in loom's lock (feature `loom`, in the crate's own unit tests
// only: everything else, the other tests included, keeps std's).
#[cfg(all(test, feature = "loom"))]
use loom::sync::{Mutex, MutexGuard};
use snapwire_shared::CloseCode;
#[cfg(not(all(test, feature = "loom")))]
use std::sync::{Mutex, MutexGuard};

use crate::driver::link::ClientLink;
#[cfg(test)]
use crate::net::direct::DirectSocket;
use crate::net::direct::{WriteFrame, Written};
use crate::room::CloseReason;
use crate::stats::FramesOut;

/// Reliable messages allowed to wait. Only the handshake uses this lane today, so reaching the
/// cap means the writer is stuck: the push fails and the tick loop drops the client.
pub const RELIABLE_CAPACITY: usize = 8;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OutItem {
    /// The rest of a frame the producer began writing: raw bytes, to write before anything.
    Tail(Bytes),
    Frame(Bytes),
    /// Flush what tungstenite has queued by itself (a pong, a close reply): it may write only
    /// while it owns the socket.
    Flush,
    /// Send a WebSocket ping: the client has been silent, and its pong says it is still there.
    Ping,
    /// Send a close frame (when there is a reason) and stop.
    Close(Option<CloseReason>),
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
    close: Option<Option<CloseReason>>,
    /// A flush is due (at most one waits).
    flush: bool,
    /// The connection's socket, for writes from the producer (plain TCP only).
    direct: Option<(std::sync::Arc<dyn WriteFrame>, FramesOut)>,
    /// The writer is parked in `next` with all it took written: the producer may write.
    idle: bool,
    /// The unwritten rest of a frame the producer began.
    tail: Option<Bytes>,
    /// The writer waiting for an item; woken (outside the lock) by whatever adds one. Kept in
    /// the same lock as the items, so a push can never slip between a check and a wait.
    waiter: Option<Waker>,
}

pub use crate::driver::link::{Full, Put};

/// The WebSocket transport's side of the driver's interface: the same calls, under the
/// outbox's lock.
impl ClientLink for Outbox {
    fn push_reliable(&self, frame: Bytes) -> Result<(), Full> {
        Outbox::push_reliable(self, frame)
    }

    fn put_latest(&self, frame: Bytes, may_write: bool) -> Put {
        Outbox::put_latest(self, frame, may_write)
    }

    fn put_scores(&self, frame: Bytes, may_write: bool) -> Put {
        Outbox::put_scores(self, frame, may_write)
    }

    fn ping(&self) {
        Outbox::ping(self);
    }

    fn close(&self, reason: Option<CloseReason>) {
        Outbox::close(self, reason);
    }

    fn close_code(&self) -> Option<Option<CloseCode>> {
        Outbox::close_code(self)
    }
}

impl Outbox {
    pub fn new() -> Outbox {
        Outbox::default()
    }

    /// An outbox whose producer may write frames to `socket` itself while the writer is idle,
    /// counting each in `counted`.
    pub fn with_direct(socket: std::sync::Arc<dyn WriteFrame>, counted: FramesOut) -> Outbox {
        let outbox = Outbox::default();
        outbox.lock().direct = Some((socket, counted));
        outbox
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

    /// Writes the snapshot when `may_write` and the writer is idle, else replaces any snapshot
    /// the writer has not taken yet.
    pub fn put_latest(&self, frame: Bytes, may_write: bool) -> Put {
        let mut s = self.lock();
        if may_write && s.write_directly(&frame) {
            return sent(s);
        }
        let replaced = s.latest.replace(frame).is_some();
        wake(s);
        if replaced { Put::Replaced } else { Put::Queued }
    }

    /// Writes the scoreboard when `may_write` and the writer is idle, else replaces any
    /// scoreboard the writer has not taken yet.
    pub fn put_scores(&self, frame: Bytes, may_write: bool) -> Put {
        let mut s = self.lock();
        if may_write && s.write_directly(&frame) {
            return sent(s);
        }
        let replaced = s.scores.replace(frame).is_some();
        wake(s);
        if replaced { Put::Replaced } else { Put::Queued }
    }

    /// Asks the writer to flush what tungstenite queued by itself.
    pub fn flush(&self) {
        let mut s = self.lock();
        s.flush = true;
        wake(s);
    }

    /// Ends direct writes for good (the writer is about to close the socket through
    /// tungstenite) and hands back the rest of a frame the producer began, to write first.
    pub fn stop_direct(&self) -> Option<Bytes> {
        let mut s = self.lock();
        s.direct = None;
        s.idle = false;
        s.tail.take()
    }

    /// Asks the writer to send a ping (once, however often asked before it does).
    pub fn ping(&self) {
        let mut s = self.lock();
        s.ping = true;
        wake(s);
    }

    /// Asks the writer to close after what is queued. The first reason wins.
    pub fn close(&self, reason: Option<CloseReason>) {
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
            .map(|reason| reason.as_ref().map(|r| r.code))
    }

    /// The next item to send: the rest of a frame the producer began first, then reliable
    /// frames, a flush, a close, the latest snapshot, the latest scoreboard, a ping.
    /// Once a close is requested, queued snapshots are dropped (they are stale by definition).
    ///
    /// Returning an item makes the writer the socket's owner until it calls `next` again;
    /// parking hands the socket to the producer. So the caller must have written everything it
    /// took before calling again.
    ///
    /// Cancel safe: an item is removed only in the same poll that returns it.
    pub async fn next(&self) -> OutItem {
        std::future::poll_fn(|cx| {
            let mut s = self.lock();
            match s.take_next() {
                Some(item) => {
                    s.idle = false;
                    Poll::Ready(item)
                }
                None => {
                    s.idle = true;
                    if !s.waiter.as_ref().is_some_and(|w| w.will_wake(cx.waker())) {
                        s.waiter = Some(cx.waker().clone());
                    }
                    Poll::Pending
                }
            }
        })
        .await
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // Every critical section leaves `State` consistent, so a panic elsewhere cannot poison
        // it in a way that matters.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl State {
    fn take_next(&mut self) -> Option<OutItem> {
        if let Some(rest) = self.tail.take() {
            return Some(OutItem::Tail(rest));
        }
        if let Some(frame) = self.reliable.pop_front() {
            return Some(OutItem::Frame(frame));
        }
        if std::mem::take(&mut self.flush) {
            return Some(OutItem::Flush);
        }
        if let Some(reason) = self.close.clone() {
            return Some(OutItem::Close(reason));
        }
        if let Some(frame) = self.latest.take().or_else(|| self.scores.take()) {
            return Some(OutItem::Frame(frame));
        }
        if std::mem::take(&mut self.ping) {
            return Some(OutItem::Ping);
        }
        None
    }

    /// Writes `frame` to the socket when the producer owns it: the writer is parked and
    /// nothing waits for it. True when the socket took the frame or its beginning (the rest is
    /// then the writer's first item); false when the frame must be queued (the socket took
    /// nothing, or failed: the writer's own attempt reports that).
    fn write_directly(&mut self, frame: &Bytes) -> bool {
        let free = self.idle
            && self.tail.is_none()
            && self.reliable.is_empty()
            && !self.flush
            && self.close.is_none()
            && self.latest.is_none()
            && self.scores.is_none()
            && !self.ping;
        let Some((socket, counted)) = self.direct.as_ref().filter(|_| free) else {
            return false;
        };
        let wrote = match socket.try_write_binary(frame) {
            Ok(Written::All) => true,
            Ok(Written::Part(rest)) => {
                self.tail = Some(rest);
                true
            }
            Err(_) => false,
        };
        if wrote {
            counted.wrote(frame.len(), true);
        }
        wrote
    }
}

/// After a direct write: wakes the writer only when the write left a rest for it.
fn sent(s: MutexGuard<'_, State>) -> Put {
    if s.tail.is_some() {
        wake(s);
    }
    Put::Sent
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
        assert_eq!(
            outbox.put_latest(Bytes::from_static(b"s1"), true),
            Put::Queued
        );
        assert_eq!(
            outbox.put_latest(Bytes::from_static(b"s2"), true),
            Put::Replaced
        );
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
        outbox.close(Some(CloseReason::new(CloseCode::BadAck, "x".into())));
        outbox.close(None);
        assert_eq!(
            outbox.next().await,
            OutItem::Close(Some(CloseReason::new(CloseCode::BadAck, "x".into())))
        );
    }

    /// A connected loopback pair: the server's end (as tokio holds it) and the client's.
    async fn socket_pair() -> (tokio::net::TcpStream, tokio::net::TcpStream) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let client = tokio::net::TcpStream::connect(listener.local_addr().expect("addr"));
        let (client, accepted) = tokio::join!(client, listener.accept());
        (accepted.expect("accept").0, client.expect("connect"))
    }

    /// Polls the writer once: the item it would take, or `None` when it parks.
    fn poll_writer(outbox: &Outbox) -> Option<OutItem> {
        use futures_util::FutureExt;
        outbox.next().now_or_never()
    }

    #[tokio::test]
    async fn a_frame_put_while_the_writer_is_parked_goes_straight_to_the_socket() {
        use tokio::io::AsyncReadExt;
        let (server, mut client) = socket_pair().await;
        let stats = crate::stats::ServerStats::default();
        let outbox = Outbox::with_direct(
            std::sync::Arc::new(DirectSocket::of(&server).expect("dup")),
            stats.frames_out(crate::stats::Transport::Websocket),
        );
        // The writer has not parked yet (it is sending the welcome): the frame waits.
        assert_eq!(
            outbox.put_latest(Bytes::from_static(b"first"), true),
            Put::Queued
        );
        assert_eq!(
            poll_writer(&outbox),
            Some(OutItem::Frame(Bytes::from_static(b"first")))
        );
        assert_eq!(poll_writer(&outbox), None, "parked");
        assert_eq!(
            outbox.put_latest(Bytes::from_static(b"hello"), true),
            Put::Sent
        );
        assert_eq!(
            outbox.put_scores(Bytes::from_static(b"board"), true),
            Put::Sent
        );
        let mut got = [0u8; 14];
        client.read_exact(&mut got).await.expect("read");
        assert_eq!(&got, b"\x82\x05hello\x82\x05board");
        // Counted where written: two frames of five bytes, both direct (the queued one is the
        // writer's to count when it writes it).
        assert_eq!(
            (
                stats.frames_out.get(),
                stats.frames_out_direct.get(),
                stats.bytes_out.get()
            ),
            (2, 2, 10)
        );
        // Something queued for the writer (a ping) keeps the order: later frames wait too.
        outbox.ping();
        assert_eq!(
            outbox.put_latest(Bytes::from_static(b"later"), true),
            Put::Queued
        );
        assert_eq!(
            outbox.put_latest(Bytes::from_static(b"newer"), true),
            Put::Replaced
        );
        assert_eq!(
            poll_writer(&outbox),
            Some(OutItem::Frame(Bytes::from_static(b"newer")))
        );
        assert_eq!(poll_writer(&outbox), Some(OutItem::Ping));
        assert_eq!(poll_writer(&outbox), None);
        // A room past its share of the tick for writing leaves the frame to the writer.
        assert_eq!(
            outbox.put_latest(Bytes::from_static(b"late"), false),
            Put::Queued
        );
        assert_eq!(
            poll_writer(&outbox),
            Some(OutItem::Frame(Bytes::from_static(b"late")))
        );
        assert_eq!(poll_writer(&outbox), None);
        // Once the writer stops direct writes, everything waits for it.
        assert_eq!(outbox.stop_direct(), None);
        assert_eq!(
            outbox.put_latest(Bytes::from_static(b"x"), true),
            Put::Queued
        );
    }

    #[tokio::test]
    async fn the_rest_of_a_frame_a_full_socket_cut_goes_first_and_whole() {
        use tokio::io::AsyncReadExt;
        let (server, mut client) = socket_pair().await;
        let socket = DirectSocket::of(&server).expect("dup");
        let counted =
            crate::stats::ServerStats::default().frames_out(crate::stats::Transport::Websocket);
        let outbox = Outbox::with_direct(std::sync::Arc::new(socket.clone()), counted);
        assert_eq!(poll_writer(&outbox), None, "parked");
        // Frames of 256 KiB until the socket (nobody reading) takes only part of one.
        let frame = |i: u8| Bytes::from(vec![i; 256 * 1024]);
        let mut sent = 0u8;
        let rest = loop {
            assert!(sent < 200, "the socket never filled");
            assert_eq!(outbox.put_latest(frame(sent), true), Put::Sent);
            sent += 1;
            if let Some(item) = poll_writer(&outbox) {
                let OutItem::Tail(rest) = item else {
                    panic!("expected the rest of a frame, got {item:?}")
                };
                break rest;
            }
        };
        // While the rest waits, a new snapshot waits behind it.
        assert_eq!(outbox.put_latest(frame(sent), true), Put::Queued);
        let reader = tokio::spawn(async move {
            let mut frames = Vec::new();
            for _ in 0..=sent {
                let mut head = [0u8; 10];
                client.read_exact(&mut head).await.expect("header");
                assert_eq!(head[..2], [0x82, 127]);
                let len = u64::from_be_bytes(head[2..10].try_into().expect("8 bytes"));
                let mut payload = vec![0u8; len as usize];
                client.read_exact(&mut payload).await.expect("payload");
                assert!(payload.iter().all(|b| *b == payload[0]), "a frame mixed");
                frames.push(payload[0]);
            }
            frames
        });
        socket
            .finish(&rest, std::time::Duration::from_secs(10))
            .await
            .expect("the rest");
        let Some(OutItem::Frame(queued)) = poll_writer(&outbox) else {
            panic!("the queued snapshot comes next")
        };
        socket
            .finish(
                &[
                    &[0x82, 127][..],
                    &(queued.len() as u64).to_be_bytes(),
                    &queued,
                ]
                .concat(),
                std::time::Duration::from_secs(10),
            )
            .await
            .expect("the queued one");
        let frames = tokio::time::timeout(std::time::Duration::from_secs(10), reader)
            .await
            .expect("reader in time")
            .expect("reader");
        assert_eq!(
            frames,
            (0..=sent).collect::<Vec<u8>>(),
            "every frame, in order"
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
/// `cargo test --workspace --features snapwire-server/loom --lib -- loom` (`cargo xtask
/// test` runs it).
#[cfg(all(test, feature = "loom"))]
mod loom_tests {
    use loom::future::block_on;
    use loom::sync::Arc;
    use loom::thread;

    use super::*;

    /// Everything the writer takes until its close, in order.
    fn drain(outbox: &Outbox) -> (Vec<Bytes>, Option<CloseReason>) {
        block_on(async {
            let mut frames = Vec::new();
            loop {
                match outbox.next().await {
                    OutItem::Frame(f) => frames.push(f),
                    OutItem::Ping | OutItem::Flush => {}
                    OutItem::Tail(_) => panic!("no direct socket in this model"),
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
                let first = room.put_latest(Bytes::from_static(b"1"), true) == Put::Replaced;
                let second = room.put_latest(Bytes::from_static(b"2"), true) == Put::Replaced;
                room.close(Some(CloseReason::new(CloseCode::GoingAway, "bye".into())));
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
            assert_eq!(
                reason,
                Some(CloseReason::new(CloseCode::GoingAway, "bye".into()))
            );
        });
    }

    /// Stands in for the socket of a plain-TCP connection: records what the producer wrote
    /// directly, into the same log as the writer's frames, and fails if the writer was
    /// writing at that moment.
    #[derive(Debug)]
    struct Recorder {
        writer_busy: Arc<loom::sync::atomic::AtomicBool>,
        log: std::sync::Arc<std::sync::Mutex<Vec<Bytes>>>,
    }

    impl WriteFrame for Recorder {
        fn try_write_binary(&self, payload: &Bytes) -> std::io::Result<Written> {
            use loom::sync::atomic::Ordering;
            assert!(
                !self.writer_busy.load(Ordering::SeqCst),
                "the producer wrote while the writer owned the socket"
            );
            self.log.lock().expect("log").push(payload.clone());
            Ok(Written::All)
        }
    }

    #[test]
    fn the_producer_writes_only_while_the_writer_is_parked_and_frames_stay_in_order() {
        use loom::sync::atomic::{AtomicBool, Ordering};
        loom::model(|| {
            let busy = Arc::new(AtomicBool::new(false));
            // Only the model's own threads touch the log, one at a time: a plain mutex.
            let log = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
            let recorder = Recorder {
                writer_busy: Arc::clone(&busy),
                log: std::sync::Arc::clone(&log),
            };
            let counted =
                crate::stats::ServerStats::default().frames_out(crate::stats::Transport::Websocket);
            let outbox = Arc::new(Outbox::with_direct(std::sync::Arc::new(recorder), counted));
            // Something for the writer to own the socket with while the room puts.
            outbox
                .push_reliable(Bytes::from_static(b"welcome"))
                .expect("room in the reliable lane");
            let room = Arc::clone(&outbox);
            let producer = thread::spawn(move || {
                let puts = [
                    room.put_latest(Bytes::from_static(b"1"), true),
                    room.put_latest(Bytes::from_static(b"2"), true),
                ];
                room.close(None);
                puts
            });
            // The writer: owns the socket from taking an item until it asks for the next.
            block_on(async {
                loop {
                    let item = outbox.next().await;
                    busy.store(true, Ordering::SeqCst);
                    match item {
                        OutItem::Frame(f) => log.lock().expect("log").push(f),
                        OutItem::Close(_) => break,
                        other => panic!("unexpected {other:?}"),
                    }
                    busy.store(false, Ordering::SeqCst);
                }
            });
            let puts = producer.join().expect("producer");
            let log = log.lock().expect("log").clone();
            // Whatever went which way, nothing was written twice and 1 never follows 2.
            assert_eq!(log.first(), Some(&Bytes::from_static(b"welcome")));
            let got: Vec<&[u8]> = log[1..].iter().map(|b| &b[..]).collect();
            let allowed: [&[&[u8]]; 4] = [&[], &[b"1"], &[b"2"], &[b"1", b"2"]];
            assert!(allowed.contains(&got.as_slice()), "{got:?}");
            // A frame reported written directly is in the log, and one replaced is not.
            let sent = puts.iter().filter(|p| **p == Put::Sent).count();
            assert!(sent <= got.len());
            if puts[1] == Put::Replaced {
                assert!(!got.contains(&&b"1"[..]), "{got:?}");
            }
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
                room.put_latest(Bytes::from_static(b"s"), true);
                room.close(Some(CloseReason::new(CloseCode::BadAck, "first".into())));
            });
            // The connection's reader closes too, racing the room.
            let racer = thread::spawn(move || {
                reader.close(Some(CloseReason::new(
                    CloseCode::Malformed,
                    "second".into(),
                )));
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
