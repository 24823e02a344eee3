//! Steps many rooms on a small fixed set of threads. Each thread keeps its rooms with their
//! next deadlines and runs whichever is due first; each room ticks at its own rate, and a new
//! room's first deadline is offset by a fraction of its period taken from its id, so rooms
//! created together do not all tick in the same millisecond. A room is given to the thread
//! holding the fewest.
//!
//! New rooms reach a thread over a channel that is unbounded in type but bounded in fact: the
//! registry opens at most `--max-rooms` rooms.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread;
use std::time::{Duration, Instant};

use tokio_util::sync::CancellationToken;
use tracing::error;

use crate::driver::hosted::HostedRoom;
use crate::driver::room_driver::Step;

/// How long an idle thread waits before looking at the shutdown token again.
const IDLE_WAIT: Duration = Duration::from_millis(100);

/// A room due within this much of now runs now, with the others due. Phases spread rooms over
/// their period; without the slack a thread slept and woke once per room tick (7,500 times a
/// second with 125 rooms at 60 Hz, 10% of the thread in futex waits and context switches),
/// with it about once a millisecond. A room ticks up to this much early; its deadlines still
/// advance by whole periods, so its rate does not change.
const SLACK: Duration = Duration::from_millis(1);

#[derive(Debug)]
pub struct Scheduler {
    workers: Vec<Worker>,
}

#[derive(Debug)]
struct Worker {
    rooms: mpsc::Sender<Box<dyn HostedRoom>>,
    /// Rooms on this thread.
    load: Arc<AtomicUsize>,
    thread: Mutex<Option<thread::JoinHandle<()>>>,
}

impl Scheduler {
    /// Starts `threads` threads that step rooms until `shutdown` is cancelled, then close every
    /// room's clients with `GoingAway`. A thread that dies outside a room's tick (a bug in the
    /// scheduler itself) cancels `shutdown`: a server that no longer ticks must stop.
    pub fn start(threads: usize, shutdown: &CancellationToken) -> std::io::Result<Scheduler> {
        let workers = (0..threads.max(1))
            .map(|n| {
                let (tx, rx) = mpsc::channel();
                let load = Arc::new(AtomicUsize::new(0));
                let (token, count) = (shutdown.clone(), Arc::clone(&load));
                let thread = thread::Builder::new()
                    .name(format!("snapwire-rooms-{n}"))
                    .spawn(move || {
                        let _stop_server = token.clone().drop_guard();
                        run(&rx, &count, &token);
                    })?;
                Ok(Worker {
                    rooms: tx,
                    load,
                    thread: Mutex::new(Some(thread)),
                })
            })
            .collect::<std::io::Result<Vec<_>>>()?;
        Ok(Scheduler { workers })
    }

    /// Hands a room to the thread with the fewest.
    pub fn add(&self, room: Box<dyn HostedRoom>) {
        let Some(w) = self
            .workers
            .iter()
            .min_by_key(|w| w.load.load(Ordering::Relaxed))
        else {
            return;
        };
        w.load.fetch_add(1, Ordering::Relaxed);
        if let Err(mpsc::SendError(room)) = w.rooms.send(room) {
            // The thread stopped (shutdown): the room closes at once.
            w.load.fetch_sub(1, Ordering::Relaxed);
            room.shut_down();
        }
    }

    /// Waits for the threads to stop (after shutdown); false if one of them panicked.
    pub fn join(&self) -> bool {
        let mut ok = true;
        for w in &self.workers {
            let thread = w
                .thread
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .take();
            if let Some(t) = thread {
                ok &= t.join().is_ok();
            }
        }
        ok
    }
}

fn run(
    rooms: &mpsc::Receiver<Box<dyn HostedRoom>>,
    load: &AtomicUsize,
    shutdown: &CancellationToken,
) {
    let mut due: Vec<(Instant, Box<dyn HostedRoom>)> = Vec::new();
    let arrive = |room: Box<dyn HostedRoom>, due: &mut Vec<(Instant, Box<dyn HostedRoom>)>| {
        let first = Instant::now() + room.phase();
        due.push((first, room));
    };
    while !shutdown.is_cancelled() {
        while let Ok(room) = rooms.try_recv() {
            arrive(room, &mut due);
        }
        let Some((i, deadline)) = due
            .iter()
            .enumerate()
            .min_by_key(|(_, (at, _))| *at)
            .map(|(i, (at, _))| (i, *at))
        else {
            match rooms.recv_timeout(IDLE_WAIT) {
                Ok(room) => arrive(room, &mut due),
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => break,
            }
            continue;
        };
        let now = Instant::now();
        if deadline > now + SLACK {
            // Sleep until the room is due, unless a new room arrives first.
            match rooms.recv_timeout((deadline - now).min(IDLE_WAIT)) {
                Ok(room) => arrive(room, &mut due),
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => break,
            }
            continue;
        }
        let room = &mut due[i].1;
        match catch_unwind(AssertUnwindSafe(|| room.step(deadline))) {
            Ok(Step::Next(at)) => due[i].0 = at,
            Ok(Step::Closed) => {
                due.swap_remove(i);
                load.fetch_sub(1, Ordering::Relaxed);
            }
            Err(_) => {
                // The room's rules panicked: it closes alone; the thread and its other rooms
                // go on.
                let (_, room) = due.swap_remove(i);
                load.fetch_sub(1, Ordering::Relaxed);
                error!(room = %room.id(), "the room's simulation panicked; closing it");
                let id = room.id().to_owned();
                if catch_unwind(AssertUnwindSafe(|| room.fail())).is_err() {
                    error!(room = %id, "closing the failed room panicked too");
                }
            }
        }
    }
    // Each room's last steps alone too: one that panics while closing does not keep the
    // others from closing their clients and flushing their recordings.
    for room in due.into_iter().map(|(_, r)| r).chain(rooms.try_iter()) {
        let id = room.id().to_owned();
        if catch_unwind(AssertUnwindSafe(|| room.shut_down())).is_err() {
            error!(room = %id, "a room panicked while shutting down");
        }
    }
}
