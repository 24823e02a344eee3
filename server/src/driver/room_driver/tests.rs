use std::sync::{Mutex, PoisonError};

use bytes::Bytes;

use super::*;
use crate::driver::admission::{Entry, Inbound, inbound_queue, join_queue};
use crate::driver::link::{ClientLink, Full, Put};
use crate::room::CloseReason;
use crate::room::RoomSettings;

/// A transport that only remembers: the newest snapshot and scoreboard, latest-wins, as
/// the link's contract says, and the pings and the close the driver asked for. No
/// socket, so the driver is tested without `net`.
#[derive(Debug, Default)]
struct Recorder(Mutex<Recorded>);

#[derive(Debug, Default)]
struct Recorded {
    latest: Option<Bytes>,
    scores: Option<Bytes>,
    /// What a writer would act on, in order, until [`drain`] takes it.
    asked: Vec<Asked>,
    close: Option<Option<CloseCode>>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Asked {
    Ping,
    Close(Option<CloseCode>),
}

impl ClientLink for Recorder {
    fn push_reliable(&self, _frame: Bytes) -> Result<(), Full> {
        Ok(())
    }

    fn put_latest(&self, frame: Bytes, _may_write: bool) -> Put {
        match self.lock().latest.replace(frame) {
            Some(_) => Put::Replaced,
            None => Put::Queued,
        }
    }

    fn put_scores(&self, frame: Bytes, _may_write: bool) -> Put {
        match self.lock().scores.replace(frame) {
            Some(_) => Put::Replaced,
            None => Put::Queued,
        }
    }

    fn ping(&self) {
        self.lock().asked.push(Asked::Ping);
    }

    fn close(&self, reason: Option<CloseReason>) {
        let mut r = self.lock();
        if r.close.is_none() {
            let code = reason.map(|r| r.code);
            r.close = Some(code);
            r.asked.push(Asked::Close(code));
        }
    }

    fn close_code(&self) -> Option<Option<CloseCode>> {
        self.lock().close
    }
}

impl Recorder {
    fn lock(&self) -> std::sync::MutexGuard<'_, Recorded> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

const LIMITS: DriverLimits = DriverLimits {
    grace: Duration::from_secs(30),
    idle_timeout: Duration::from_secs(4),
    resume_grace: Duration::from_secs(30),
};

/// A driver for one room (`persistent`: never closed for being empty), and the queue its
/// joins arrive on.
fn driver(
    persistent: bool,
) -> (
    RoomDriver,
    Arc<RoomHandle>,
    mpsc::Sender<Join>,
    Arc<ServerStats>,
) {
    let (joins_tx, joins) = join_queue();
    let mut handle = RoomHandle::detached("t1", 8, joins_tx.clone());
    handle.persistent = persistent;
    let handle = Arc::new(handle);
    let stats = Arc::new(ServerStats::default());
    let driver = RoomDriver::new(
        Room::new(RoomSettings::new(60)),
        DriverParts {
            handle: Arc::clone(&handle),
            joins,
            directory: Arc::new(Directory::default()),
            stats: Arc::clone(&stats),
            limits: LIMITS,
            recorder: None,
        },
    );
    (driver, handle, joins_tx, stats)
}

/// Queues a new client's join with a seat reserved, as a connection does; returns its
/// inbound sender and link.
fn join(
    handle: &Arc<RoomHandle>,
    joins: &mpsc::Sender<Join>,
    client: ClientId,
    spectate: bool,
) -> (mpsc::Sender<Inbound>, Arc<Recorder>) {
    let (inbound_tx, inbound) = inbound_queue();
    let outbox = Arc::new(Recorder::default());
    let join = Join {
        client,
        inbound,
        link: Arc::clone(&outbox) as Arc<dyn ClientLink>,
        entry: Entry::New {
            name: format!("c{client}"),
            spectate,
            seat: handle.reserve().expect("a seat"),
        },
    };
    joins.try_send(join).expect("queued");
    (inbound_tx, outbox)
}

/// The pings and closes asked for since the last call.
fn drain(outbox: &Recorder) -> Vec<Asked> {
    std::mem::take(&mut outbox.lock().asked)
}

/// A driver for one room whose client never reads: every snapshot after the first
/// replaces the one before it, and each replacement is counted once.
#[test]
fn snapshots_a_client_never_took_are_counted_exactly() {
    let (mut driver, handle, joins, stats) = driver(true);
    let (_inbound, outbox) = join(&handle, &joins, 1, true);
    for _ in 0..10 {
        driver.tick();
    }
    assert_eq!(stats.outbox_skipped.get(), 9);
    assert_eq!(stats.clients.get(), 1);
    assert_eq!(handle.seats(), 1);
    drop(driver);
    assert_eq!(handle.seats(), 0, "the seat is given back with the client");
    assert!(
        outbox.close_code().is_some(),
        "a dropped room closes its clients"
    );
}

/// The idle timeout on the room's clock, stepped in 10 ms ticks without waiting: silence
/// is checked once a second (a quarter of the 4 s timeout), so the ping goes at the first
/// check past half the timeout (3 s) and the close at the first past the timeout (5 s):
/// the timeout plus one check interval, at most. The player is then kept for a resume,
/// and leaves when the resume grace ends.
#[test]
fn a_silent_client_is_pinged_then_closed_4011_and_kept_for_the_resume_grace() {
    let (mut driver, handle, joins, stats) = driver(true);
    let (_inbound, outbox) = join(&handle, &joins, 1, false);
    let t0 = Instant::now();
    let at = |ms: u64| t0 + Duration::from_millis(ms);
    let (mut pinged_at, mut closed_at) = (None, None);
    for ms in (0..=6_000).step_by(10) {
        driver.tick_at(at(ms));
        for item in drain(&outbox) {
            match item {
                Asked::Ping => pinged_at = pinged_at.or(Some(ms)),
                Asked::Close(code) => {
                    assert_eq!(code, Some(CloseCode::Idle));
                    closed_at = closed_at.or(Some(ms));
                }
            }
        }
    }
    assert_eq!(pinged_at, Some(3_000), "a ping at the first check past 2 s");
    assert_eq!(closed_at, Some(5_000), "closed at the first check past 4 s");
    assert_eq!((stats.clients.get(), stats.clients_away.get()), (0, 1));
    assert!(driver.room.member(1).is_some_and(|m| m.away), "kept, away");
    // The grace runs from the close: gone at the first check past 30 s after it.
    driver.tick_at(at(5_000 + 30_000));
    assert!(driver.room.member(1).is_some());
    driver.tick_at(at(5_000 + 31_000));
    assert!(driver.room.member(1).is_none(), "left when the grace ended");
    assert_eq!(
        (stats.resumes_expired.get(), stats.clients_away.get()),
        (1, 0)
    );
    assert_eq!(handle.seats(), 0, "its seat is free again");
}

/// The join/close race on the driver's side: an empty room closes after its grace only
/// when no seat is out. A join reserved just before the deadline keeps it open and lands;
/// once the room has closed, a reservation is refused with "no such room".
#[test]
fn an_empty_room_closes_after_its_grace_unless_a_join_holds_a_seat() {
    let (mut driver, handle, joins, _stats) = driver(false);
    let t0 = Instant::now();
    driver.tick_at(t0);
    assert!(!driver.dispose_if_idle(t0), "empty from now on");
    let before = t0 + LIMITS.grace - Duration::from_millis(1);
    assert!(!driver.dispose_if_idle(before), "within the grace");
    // A connection reserves a seat; its join is still on its way.
    let (inbound, outbox) = join(&handle, &joins, 1, true);
    let past = t0 + LIMITS.grace + Duration::from_secs(1);
    assert!(!driver.dispose_if_idle(past), "a seat is out: stays open");
    driver.tick_at(past);
    assert_eq!(driver.clients.len(), 1, "the join landed");
    assert_eq!(outbox.close_code(), None);

    // The client leaves on purpose (a close with 1000 sends this).
    inbound.try_send(Inbound::Leave).expect("queued");
    let later = past + Duration::from_secs(1);
    driver.tick_at(later);
    assert!(driver.clients.is_empty());
    assert_eq!(handle.seats(), 0, "its seat is given back");
    assert!(!driver.dispose_if_idle(later), "the grace starts again");
    let closed = later + LIMITS.grace;
    assert!(
        driver.dispose_if_idle(closed),
        "empty for the grace: closed"
    );
    let refused = handle.reserve().expect_err("closed");
    assert_eq!(refused.code, CloseCode::NoSuchRoom);
}
