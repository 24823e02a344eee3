//! The driver of one room: steps the [`Room`] when the scheduler says it is due and moves its
//! messages between the room and the connections. It talks to connections only through
//! non-blocking queues ([`crate::driver::admission`]) and each client's [`ClientLink`] (for
//! WebSocket, latest-wins slots in `net::outbox`), so it never awaits a socket and names no
//! transport; the room itself does no I/O at all.
//!
//! Every tick runs these stages, in this order (see [`RoomDriver::tick`]):
//! 1. drain ingress: joins, leaves, and each client's parsed messages into [`Room::handle`];
//! 2. the room's tick ([`Room::tick`]): apply inputs, step simulation, record snapshot, build
//!    each client's message, build scores;
//! 3. hand to the links: each client's snapshot or scoreboard, which the transport writes to
//!    its socket at once when its connection is idle (plain TCP), else replaces the one
//!    pending; report the skips and the tick's work to the room's load shedding;
//! 4. publish stats.
//!
//! By job: [`intake`] (stage 1: messages in, closed and silent links), [`members`] (joins,
//! resumes, away clients, leaves), [`hand_off`] (stage 3: frames to the links, direct writes
//! within a share of the period), [`publish`] (stage 4: figures); this file holds the timing
//! (when a tick is due, catching up, closing an empty room) and the stages' order.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use snapwire_shared::CloseCode;
use snapwire_shared::game::Game;
use snapwire_shared::sim::World;
use tokio::sync::mpsc::{self};
use tracing::{info, warn};

use crate::driver::admission::{ClientId, Join, RoomHandle};
use crate::driver::directory::Directory;
use crate::recording::RoomRecorder;
use crate::room::playback::PlaybackState;
use crate::room::{CloseReason, Room};
use crate::stats::{KindStats, ServerStats};

mod hand_off;
mod intake;
mod members;
mod publish;
#[cfg(test)]
mod tests;

use hand_off::DIRECT_WRITE_SHARE;
use intake::Transport;
use members::Client;
use publish::DURATIONS_KEPT;

/// Falling further behind than this many ticks skips them instead of running them back to back.
const MAX_CATCH_UP_TICKS: u32 = 5;

#[derive(Debug)]
pub struct RoomDriver<G: Game = World> {
    room: Room<G>,
    handle: Arc<RoomHandle>,
    /// What the driver keeps per client beside the room's member: its seat, its resume
    /// tokens, and its connection while it has one.
    clients: BTreeMap<ClientId, Client>,
    joins: mpsc::Receiver<Join>,
    directory: Arc<Directory>,
    stats: Arc<ServerStats>,
    /// This room's kind's figures (rooms, clients, tick durations by kind).
    kind_stats: KindStats,
    period: Duration,
    /// The last tick's work as a share of the tick period, not counting its writes to sockets
    /// (`DIRECT_WRITE_SHARE`).
    last_work: f64,
    /// How long the last tick's stage 3 took (its direct writes, mostly).
    last_hand_off: Duration,
    /// The last tick durations (microseconds), for the p99.
    durations: Vec<u64>,
    /// Since when the room has had no client and no reserved seat.
    empty_since: Option<Instant>,
    limits: DriverLimits,
    /// The last idle check.
    idle_checked: Option<Instant>,
    /// Where the room's recording goes (`--record`), while it records.
    recorder: Option<RoomRecorder>,
}

/// How long a room stays open empty, and a client silent.
#[derive(Debug, Clone, Copy)]
pub struct DriverLimits {
    /// An empty room (other than the first) closes after this.
    pub grace: Duration,
    /// A client that sent nothing for this long is closed (4011).
    pub idle_timeout: Duration,
    /// A client whose connection dropped keeps its player this long, to resume it.
    pub resume_grace: Duration,
}

/// What the scheduler does with a room after a step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Run the room again at this instant.
    Next(Instant),
    /// The room closed (empty past its grace period).
    Closed,
}

/// What a driver needs from the process besides its room: its handle in the registry, its
/// join queue, the directory it leaves when it closes, the stats and the limits.
#[derive(Debug)]
pub struct DriverParts {
    pub handle: Arc<RoomHandle>,
    pub joins: mpsc::Receiver<Join>,
    pub directory: Arc<Directory>,
    pub stats: Arc<ServerStats>,
    pub limits: DriverLimits,
    /// Record the room from its first tick (`--record`).
    pub recorder: Option<RoomRecorder>,
}

impl<G: Game> RoomDriver<G> {
    pub fn new(mut room: Room<G>, parts: DriverParts) -> RoomDriver<G> {
        let DriverParts {
            handle,
            joins,
            directory,
            stats,
            limits,
            recorder,
        } = parts;
        if recorder.is_some() {
            room.start_recording();
        }
        // A playback runs at its own pace (the match's rate times the viewer's speed).
        let period = Duration::from_secs(1) / u32::from(room.pace().max(1));
        // A room counts as open from here until `close`, which takes it off both gauges.
        let kind_stats = stats.kind(&handle.kind);
        kind_stats.rooms.inc();
        stats.rooms.inc();
        RoomDriver {
            kind_stats,
            room,
            handle,
            clients: BTreeMap::new(),
            joins,
            directory,
            stats,
            period,
            last_work: 0.0,
            last_hand_off: Duration::ZERO,
            durations: Vec::with_capacity(DURATIONS_KEPT),
            empty_since: None,
            limits,
            idle_checked: None,
            recorder,
        }
    }

    pub fn id(&self) -> &str {
        &self.handle.id
    }

    /// How long after it arrives the room first ticks: a fraction of a period taken from its
    /// id, so rooms created together tick at different moments.
    pub fn phase(&self) -> Duration {
        let spread = self
            .handle
            .id
            .bytes()
            .fold(0u32, |h, b| h.wrapping_mul(31).wrapping_add(u32::from(b)));
        self.period.mul_f64(f64::from(spread % 1000) / 1000.0)
    }

    /// Runs the tick that was due at `deadline`; says when the next is due, or that the room
    /// closed.
    pub fn step(&mut self, deadline: Instant) -> Step {
        let started = Instant::now();
        self.tick();
        if self.end_playback() {
            return Step::Closed;
        }
        let took = started.elapsed();
        // Load shedding judges the tick by its own work: the writes only use what the tick
        // left of its share of the period, and sockets that fall behind show as skips.
        self.last_work =
            took.saturating_sub(self.last_hand_off).as_secs_f64() / self.period.as_secs_f64();
        self.stats
            .last_tick_us
            .store(took.as_micros() as u64, Ordering::Relaxed);
        self.stats.tick_duration.observe(took.as_secs_f64());
        self.kind_stats.tick_duration.observe(took.as_secs_f64());
        self.record_duration(took);
        // Deadlines advance by whole periods, so the rate never drifts.
        let mut next = deadline + self.period;
        let now = Instant::now();
        if now > next {
            self.stats.overruns.inc();
            let behind = (now - next).as_nanos() / self.period.as_nanos().max(1);
            if behind > u128::from(MAX_CATCH_UP_TICKS) {
                self.stats.skipped_ticks.inc_by(behind as u64);
                next = now + self.period;
                warn!(room = %self.handle.id, behind, "room fell behind; skipping ticks");
            }
        }
        if self.dispose_if_idle(now) {
            return Step::Closed;
        }
        Step::Next(next)
    }

    /// One tick: the stages in order.
    pub fn tick(&mut self) {
        self.tick_at(Instant::now());
    }

    /// One tick at `now` on the room's clock, which the idle timeout, the pings and the
    /// resume grace are judged by: tests step it to any moment without waiting for it. The
    /// direct writes' share of the period is real time, whatever `now` says.
    pub fn tick_at(&mut self, now: Instant) {
        let started = Instant::now();
        self.drain_ingress(now);
        self.room.tick();
        self.hand_to_outboxes(started + self.period.mul_f64(DIRECT_WRITE_SHARE));
        self.publish_stats();
        self.record();
    }

    /// Hands the tick's record to the writer; a writer that fell behind ends the recording.
    fn record(&mut self) {
        let Some(recorder) = &mut self.recorder else {
            return;
        };
        let mut going = recorder.push(self.room.take_records());
        let every = crate::recording::KEYFRAME_SECONDS * u32::from(self.room.settings().tick_rate);
        let age = self.room.tick_number().since(self.room.first_tick()) as u32;
        if going
            && age.is_multiple_of(every.max(1))
            && let Some(k) = self.room.keyframe()
        {
            going = recorder.keyframe(k);
        }
        if !going {
            self.room.stop_recording();
            self.recorder = None;
        }
    }

    /// A playback that played its last tick, or came out different from its recording,
    /// closes its room with the reason.
    fn end_playback(&mut self) -> bool {
        let reason = match self.room.playback_state() {
            None | Some(PlaybackState::Playing) => return false,
            Some(PlaybackState::Ended) => CloseReason::new(
                CloseCode::ReplayEnded,
                "the recording played to its end".to_owned(),
            ),
            Some(PlaybackState::Diverged(e)) => CloseReason::new(
                CloseCode::InternalError,
                format!("the replay differs from its recording: {e}"),
            ),
        };
        for t in self.links() {
            t.link.close(Some(reason.clone()));
        }
        self.close();
        info!(room = %self.handle.id, why = %reason.words, "replay closed");
        true
    }

    /// The server is stopping: every client gets `GoingAway`, and the room is gone.
    pub fn shut_down(mut self) {
        for t in self.links() {
            t.link.close(Some(CloseReason::new(
                CloseCode::GoingAway,
                "server shutting down".into(),
            )));
        }
        self.close();
        info!(room = %self.handle.id, tick = %self.room.tick_number(), "room stopped");
    }

    /// The room's rules panicked: its clients get 1011 with a reason; nothing else is touched.
    pub fn fail(mut self) {
        self.stats.rooms_failed.inc();
        for t in self.links() {
            t.link.close(Some(CloseReason::new(
                CloseCode::InternalError,
                "the room's simulation failed and the room was closed; join another".into(),
            )));
        }
        self.close();
    }

    pub fn room(&self) -> &Room<G> {
        &self.room
    }

    /// The connections of the clients that have one.
    fn links(&self) -> impl Iterator<Item = &Transport> {
        self.clients.values().filter_map(|c| c.link.as_ref())
    }

    fn close(&mut self) {
        self.handle.force_close();
        self.directory.remove(&self.handle.id);
        self.stats.rooms.dec();
        self.kind_stats.rooms.dec();
        self.stats.forget_room(&self.handle.id);
        let connected = self.links().count() as i64;
        let away = self.clients.len() as i64 - connected;
        self.stats.clients.dec_by(connected);
        self.kind_stats.clients.dec_by(connected);
        self.stats.clients_away.dec_by(away);
        for c in self.clients.values() {
            self.directory.forget_token(c.token);
            for t in &c.spent {
                self.directory.forget_token(*t);
            }
        }
        self.clients.clear();
    }

    /// Closes a room that has had no client and no reserved seat for its grace period.
    fn dispose_if_idle(&mut self, now: Instant) -> bool {
        if self.handle.persistent || !self.clients.is_empty() || self.handle.seats() > 0 {
            self.empty_since = None;
            return false;
        }
        let since = *self.empty_since.get_or_insert(now);
        if now - since < self.limits.grace || !self.handle.try_close() {
            return false;
        }
        // No seat was reserved, so no join is on its way; one that raced in is dropped with
        // the queue and its connection told the room closed.
        self.close();
        info!(room = %self.handle.id, "empty room closed");
        true
    }
}
