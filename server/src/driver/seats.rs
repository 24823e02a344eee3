//! A room's seat count: how many places are reserved or taken, and whether the room has
//! closed to new ones. Connections reserve with a compare-and-swap before queueing their join;
//! the room's driver closes only a room with no seat out. One atomic holds both facts, so a
//! join and a close that race can never both win: either the seat is taken first and the room
//! stays open, or the room closes first and the join is refused ("no such room", join
//! another). Loom checks every interleaving (`cargo test --workspace --features
//! snapwire-server/loom --lib -- loom`, which `cargo xtask test` runs).

#[cfg(all(test, feature = "loom"))]
use loom::sync::atomic::{AtomicUsize, Ordering};
#[cfg(not(all(test, feature = "loom")))]
use std::sync::atomic::{AtomicUsize, Ordering};

/// A count meaning "closed": no seat can be reserved any more.
const CLOSED: usize = usize::MAX;

#[derive(Debug, Default)]
pub struct Seats(AtomicUsize);

/// Why a seat was not reserved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    Full,
    Closed,
}

impl Seats {
    /// Reserved or taken (0 once closed).
    pub fn count(&self) -> usize {
        match self.0.load(Ordering::Acquire) {
            CLOSED => 0,
            n => n,
        }
    }

    /// One more seat, unless `cap` are out or the room closed.
    pub fn reserve(&self, cap: usize) -> Result<(), Refused> {
        let mut current = self.0.load(Ordering::Acquire);
        loop {
            if current == CLOSED {
                return Err(Refused::Closed);
            }
            if current >= cap {
                return Err(Refused::Full);
            }
            match self.0.compare_exchange_weak(
                current,
                current + 1,
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => return Ok(()),
                Err(now) => current = now,
            }
        }
    }

    /// A seat given back. A closed count stays closed.
    pub fn release(&self) {
        let _ = self
            .0
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n != CLOSED).then(|| n.saturating_sub(1))
            });
    }

    /// Closes to new seats if none is out; true when it did.
    pub fn try_close(&self) -> bool {
        self.0
            .compare_exchange(0, CLOSED, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
    }

    /// Closes to new seats whatever is out (a failed or stopping room).
    pub fn force_close(&self) {
        self.0.store(CLOSED, Ordering::Release);
    }
}

#[cfg(all(test, not(feature = "loom")))]
mod tests {
    use super::*;

    #[test]
    fn seats_up_to_the_cap_then_full_and_a_release_makes_room() {
        let seats = Seats::default();
        assert_eq!(seats.reserve(2), Ok(()));
        assert_eq!(seats.reserve(2), Ok(()));
        assert_eq!(seats.reserve(2), Err(Refused::Full));
        assert!(!seats.try_close(), "two seats are out");
        seats.release();
        assert_eq!(seats.count(), 1);
        assert_eq!(seats.reserve(2), Ok(()));
    }

    #[test]
    fn a_closed_room_refuses_and_stays_closed_when_old_seats_come_back() {
        let seats = Seats::default();
        assert!(seats.try_close());
        assert_eq!(seats.reserve(8), Err(Refused::Closed));
        let forced = Seats::default();
        assert_eq!(forced.reserve(8), Ok(()));
        forced.force_close();
        forced.release();
        assert_eq!(forced.count(), 0);
        assert_eq!(forced.reserve(8), Err(Refused::Closed));
    }
}

/// Every interleaving of connections racing for the last seat while the driver closes the
/// room for being empty.
#[cfg(all(test, feature = "loom"))]
mod loom_tests {
    use loom::sync::Arc;
    use loom::thread;

    use super::*;

    /// Two joins race for one seat while the room's driver tries to close it: at most one
    /// join wins, and never in a room that closed (its client would be queued to a room that
    /// is gone). The loser is told why: full, or closed.
    #[test]
    fn loom_a_join_and_a_close_never_both_win() {
        loom::model(|| {
            let seats = Arc::new(Seats::default());
            let joins: Vec<_> = (0..2)
                .map(|_| {
                    let seats = Arc::clone(&seats);
                    thread::spawn(move || seats.reserve(1))
                })
                .collect();
            let closed = seats.try_close();
            let results: Vec<_> = joins
                .into_iter()
                .map(|j| j.join().expect("a join thread"))
                .collect();
            let won = results.iter().filter(|r| r.is_ok()).count();
            assert!(won <= 1, "{results:?}");
            if closed {
                assert_eq!(won, 0, "a seat in a closed room: {results:?}");
                assert!(results.iter().all(|r| *r == Err(Refused::Closed)));
                assert_eq!(seats.count(), 0);
            } else {
                assert_eq!(won, 1, "the room stayed open, so one join got the seat");
                assert_eq!(seats.count(), 1);
            }
        });
    }

    /// A client leaving (its seat given back) races a join and a close: the count never goes
    /// below zero or past the cap, and a close wins only with no seat out.
    #[test]
    fn loom_a_leave_a_join_and_a_close_keep_the_count_true() {
        loom::model(|| {
            let seats = Arc::new(Seats::default());
            seats.reserve(1).expect("the first client's seat");
            let leave = {
                let seats = Arc::clone(&seats);
                thread::spawn(move || seats.release())
            };
            let join = {
                let seats = Arc::clone(&seats);
                thread::spawn(move || seats.reserve(1))
            };
            let closed = seats.try_close();
            leave.join().expect("leave");
            let joined = join.join().expect("join");
            match (closed, joined) {
                (true, Ok(())) => panic!("a seat in a closed room"),
                (true, Err(_)) => assert_eq!(seats.count(), 0),
                (false, Ok(())) => assert_eq!(seats.count(), 1),
                // Full (the leaver had not left yet), or the close lost to the old seat.
                (false, Err(why)) => {
                    assert_eq!(why, Refused::Full);
                    assert_eq!(seats.count(), 0);
                }
            }
        });
    }
}
