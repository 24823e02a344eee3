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

use std::collections::BTreeMap;
use std::sync::atomic::Ordering;
use std::sync::{Arc, PoisonError};
use std::time::{Duration, Instant};

use bytes::Bytes;
use snapwire_shared::CloseCode;
use snapwire_shared::codec;
use snapwire_shared::game::Game;
use snapwire_shared::protocol::{ResumeToken, ServerMsg};
use snapwire_shared::quantize::pos_to_units;
use snapwire_shared::sim::World;
use tokio::sync::mpsc::{self, error::TryRecvError};
use tracing::{info, warn};

use crate::driver::admission::{ClientId, Entry, Inbound, Join, RoomHandle, Seat};
use crate::driver::directory::Directory;
use crate::driver::link::{ClientLink, Put};
use crate::recording::RoomRecorder;
use crate::room::playback::PlaybackState;
use crate::room::{Message, Room};
use crate::stats::{KindStats, PlayerSummary, ServerStats};

/// How often the player list for `/players` is republished: ten times a second at 60 Hz.
const PLAYERS_EVERY_TICKS: u32 = 6;

/// Falling further behind than this many ticks skips them instead of running them back to back.
const MAX_CATCH_UP_TICKS: u32 = 5;

/// A room writes its clients' frames to their sockets itself (`net::direct`) only until its
/// tick has used this share of the period; later frames go to the connections' tasks. A write
/// costs the room's thread the kernel's share of a send (about 6 us on the capacity machine),
/// so a room of 1,000 players writing every frame would spend most of its period on it while
/// the socket threads, which read the inputs, wait. Load shedding leaves the writes out of the
/// tick's work (they only use what the tick left of this share): counted in, they held a room
/// of 1,000 players at half rate (33 snapshots a second against 53 with queued writes).
const DIRECT_WRITE_SHARE: f64 = 0.5;

/// Tick durations kept for the room's p99 in `/rooms`.
const DURATIONS_KEPT: usize = 256;

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

/// Spent tokens remembered per client (to refuse their reuse with 4012); an older one is
/// forgotten, and then starts a new player like an expired token.
const SPENT_TOKENS_KEPT: usize = 8;

/// A client of the room, from the driver's side.
#[derive(Debug)]
struct Client {
    /// Its place in the room, held while away too; given back when the client leaves.
    _seat: Seat,
    /// Its connection; `None` while away.
    link: Option<Transport>,
    /// When its connection dropped (while away).
    away_since: Option<Instant>,
    /// The token that resumes it now.
    token: ResumeToken,
    /// Tokens it already used, newest last.
    spent: Vec<ResumeToken>,
}

/// What the scheduler does with a room after a step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Run the room again at this instant.
    Next(Instant),
    /// The room closed (empty past its grace period).
    Closed,
}

/// The connection side of a client, apart from what the room keeps about it.
#[derive(Debug)]
struct Transport {
    inbound: mpsc::Receiver<Inbound>,
    link: Arc<dyn ClientLink>,
    /// When the last message from the client was drained.
    last_heard: Instant,
    /// A ping went out since then.
    pinged: bool,
}

impl Transport {
    fn new(inbound: mpsc::Receiver<Inbound>, link: Arc<dyn ClientLink>, now: Instant) -> Transport {
        Transport {
            inbound,
            link,
            last_heard: now,
            pinged: false,
        }
    }
}

/// What became of a client's connection this tick.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Gone {
    /// It left on purpose, or broke a rule: it leaves the room now.
    Left,
    /// The link dropped (or went silent): the client is away, and may resume.
    Dropped,
}

impl Drop for Transport {
    /// A transport dropped without a close (a room failing) still ends its connection, with a
    /// reason; after a normal leave or shutdown the outbox is already closing and this changes
    /// nothing (the first reason wins).
    fn drop(&mut self) {
        self.link.close(Some((
            CloseCode::InternalError,
            "the room's simulation stopped".into(),
        )));
    }
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
            Some(PlaybackState::Ended) => (
                CloseCode::ReplayEnded,
                "the recording played to its end".to_owned(),
            ),
            Some(PlaybackState::Diverged(e)) => (
                CloseCode::InternalError,
                format!("the replay differs from its recording: {e}"),
            ),
        };
        for t in self.links() {
            t.link.close(Some(reason.clone()));
        }
        self.close();
        info!(room = %self.handle.id, why = %reason.1, "replay closed");
        true
    }

    /// The server is stopping: every client gets `GoingAway`, and the room is gone.
    pub fn shut_down(mut self) {
        for t in self.links() {
            t.link
                .close(Some((CloseCode::GoingAway, "server shutting down".into())));
        }
        self.close();
        info!(room = %self.handle.id, tick = %self.room.tick_number(), "room stopped");
    }

    /// The room's rules panicked: its clients get 1011 with a reason; nothing else is touched.
    pub fn fail(mut self) {
        self.stats.rooms_failed.inc();
        for t in self.links() {
            t.link.close(Some((
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

    fn record_duration(&mut self, took: Duration) {
        if self.durations.len() == DURATIONS_KEPT {
            let mut sorted = self.durations.clone();
            sorted.sort_unstable();
            let p99 = sorted[DURATIONS_KEPT * 99 / 100];
            self.handle.tick_p99_us.store(p99, Ordering::Relaxed);
            self.durations.clear();
        }
        self.durations.push(took.as_micros() as u64);
    }

    fn drain_ingress(&mut self, now: Instant) {
        while let Ok(join) = self.joins.try_recv() {
            self.admit(join, now);
        }
        // Silence is checked a few times per timeout (at most once a second), not per message.
        let every = (self.limits.idle_timeout / 4).min(Duration::from_secs(1));
        let check_idle = self.idle_checked.is_none_or(|at| now - at >= every);
        if check_idle {
            self.idle_checked = Some(now);
        }
        let mut gone = Vec::new();
        for (id, c) in &mut self.clients {
            let Some(t) = &mut c.link else {
                if check_idle
                    && c.away_since
                        .is_some_and(|at| now - at > self.limits.resume_grace)
                {
                    self.stats.resumes_expired.inc();
                    gone.push((*id, Gone::Left));
                }
                continue;
            };
            let mut heard = false;
            let mut outcome = None;
            loop {
                match t.inbound.try_recv() {
                    Ok(Inbound::Leave) => {
                        outcome = Some(Gone::Left);
                        break;
                    }
                    Ok(msg) => {
                        heard = true;
                        if let Err(reason) = self.room.handle(*id, msg) {
                            // The writer sends the close, and counts it.
                            t.link.close(Some(reason));
                            outcome = Some(Gone::Left);
                            break;
                        }
                    }
                    Err(TryRecvError::Empty) => break,
                    Err(TryRecvError::Disconnected) => {
                        // The connection ended: why, its link says (the reason comes
                        // before the end, so it is there by now).
                        outcome = Some(gone_by(t.link.close_code()).unwrap_or(Gone::Dropped));
                        break;
                    }
                }
            }
            if heard {
                t.last_heard = now;
                t.pinged = false;
            }
            if outcome.is_none() && check_idle && now - t.last_heard > self.limits.idle_timeout {
                // Silent past the limit: a dead link looks like this. The client may still
                // come back on a new connection and resume.
                let silent = self.limits.idle_timeout.as_secs_f64();
                t.link.close(Some((
                    CloseCode::Idle,
                    format!("sent nothing for {silent} s"),
                )));
                outcome = Some(Gone::Dropped);
            } else if outcome.is_none()
                && check_idle
                && !t.pinged
                && now - t.last_heard > self.limits.idle_timeout / 2
            {
                // Half the timeout in silence: a ping keeps proxies and NATs from dropping a
                // quiet connection, and a dead peer fails the send. A pong is not a message:
                // only inputs and acks reset the clock.
                t.link.ping();
                t.pinged = true;
            }
            if outcome.is_none() {
                // The connection may have closed it without ending yet.
                outcome = gone_by(t.link.close_code());
            }
            if let Some(outcome) = outcome {
                gone.push((*id, outcome));
            }
        }
        for (id, outcome) in gone {
            match outcome {
                // A replay's viewer that went (to seek, or away) does not come back to it.
                Gone::Dropped
                    if !self.limits.resume_grace.is_zero()
                        && self.room.playback_state().is_none() =>
                {
                    self.park(id, now)
                }
                _ => self.leave(id),
            }
        }
    }

    /// Stage 3. Frames are written straight to idle sockets until `write_until`, then left
    /// for the connections' tasks.
    fn hand_to_outboxes(&mut self, write_until: Instant) {
        let began = Instant::now();
        let (mut skipped, mut sent) = (0, 0);
        let (mut written, mut written_bytes) = (0, 0);
        let mut may_write = true;
        for out in self.room.outgoing() {
            let Some(t) = self.clients.get(&out.client).and_then(|c| c.link.as_ref()) else {
                continue;
            };
            // A clock read is tens of nanoseconds against microseconds for a write.
            may_write = may_write && Instant::now() < write_until;
            let (put, len) = match &out.message {
                Message::Snapshot { bytes, .. } => {
                    sent += 1;
                    self.stats.snapshot_bytes.observe(bytes.len() as f64);
                    (t.link.put_latest(bytes.clone(), may_write), bytes.len())
                }
                Message::Scores(bytes) => {
                    (t.link.put_scores(bytes.clone(), may_write), bytes.len())
                }
            };
            match put {
                Put::Sent => {
                    written += 1;
                    written_bytes += len as u64;
                }
                Put::Replaced if matches!(out.message, Message::Snapshot { .. }) => skipped += 1,
                Put::Replaced | Put::Queued => {}
            }
        }
        // Frames written here count as the connection's own writes count theirs.
        self.stats.frames_out.inc_by(written);
        self.stats.frames_out_direct.inc_by(written);
        self.stats.bytes_out.inc_by(written_bytes);
        self.stats.outbox_skipped.inc_by(skipped);
        self.last_hand_off = began.elapsed();
        self.room.observe_load(skipped, sent, self.last_work);
        self.stats
            .snapshot_divisor
            .set(i64::from(self.room.snapshot_divisor()));
    }

    fn admit(&mut self, join: Join, now: Instant) {
        match join.entry {
            Entry::New {
                name,
                spectate,
                seat,
            } => self.admit_new(
                join.client,
                &name,
                spectate,
                seat,
                Transport::new(join.inbound, join.link, now),
            ),
            Entry::Resume {
                member,
                token,
                has_state,
            } => self.resume(
                member,
                token,
                has_state,
                Transport::new(join.inbound, join.link, now),
            ),
        }
    }

    fn admit_new(&mut self, id: ClientId, name: &str, spectate: bool, seat: Seat, link: Transport) {
        let mut welcome = self.room.join(id, name, spectate);
        welcome.room = self.handle.id.clone();
        welcome.kind = self.handle.kind.clone();
        welcome.resume = self.directory.issue_token(&self.handle, id);
        let token = welcome.resume;
        let entity = welcome.player_id;
        let bytes = Bytes::from(codec::encode_server(&ServerMsg::Welcome(welcome)));
        if link.link.push_reliable(bytes).is_err() {
            // A fresh outbox has room; failing here means the connection is already gone.
            self.room.leave(id);
            self.directory.forget_token(token);
            return;
        }
        let name = self.room.member(id).map(|m| m.name.clone());
        info!(room = %self.handle.id, client = id, name = ?name, spectate, entity = ?entity, "joined");
        self.clients.insert(
            id,
            Client {
                _seat: seat,
                link: Some(link),
                away_since: None,
                token,
                spent: Vec::new(),
            },
        );
        self.stats.clients.inc();
        self.kind_stats.clients.inc();
        if let Some(name) = name {
            self.handle
                .members
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .insert(id, name);
        }
        self.publish_members();
    }

    /// A connection brings back `member` with its (now spent) `token`. A member with a
    /// connection still open (half-open: the client saw it die first) has it replaced.
    fn resume(&mut self, member: ClientId, token: ResumeToken, has_state: bool, link: Transport) {
        let Some(c) = self.clients.get_mut(&member) else {
            // It left between the token's check and now (its grace ended, or it was closed).
            self.directory.forget_token(token);
            self.stats.resumes_refused.inc();
            link.link.close(Some((
                CloseCode::ResumeRefused,
                "that player has left the room; join again".into(),
            )));
            return;
        };
        let Some(mut reply) = self.room.resume(member, has_state) else {
            return;
        };
        let fresh = self.directory.issue_token(&self.handle, member);
        match &mut reply {
            ServerMsg::Resumed(r) => r.resume = fresh,
            ServerMsg::Welcome(w) => {
                w.room = self.handle.id.clone();
                w.kind = self.handle.kind.clone();
                w.resume = fresh;
            }
            ServerMsg::Snapshot(_) | ServerMsg::Scores(_) => {}
        }
        let bytes = Bytes::from(codec::encode_server(&reply));
        if link.link.push_reliable(bytes).is_err() {
            // The new connection is already gone: the client stays as it was.
            self.directory.forget_token(fresh);
            if c.link.is_none() {
                self.room.park(member);
            }
            return;
        }
        c.spent.push(token);
        if c.spent.len() > SPENT_TOKENS_KEPT {
            let oldest = c.spent.remove(0);
            self.directory.forget_token(oldest);
        }
        // The spent token stays in the directory, marked spent, while the client is here.
        c.token = fresh;
        match c.link.replace(link) {
            Some(old) => old.link.close(Some((
                CloseCode::Replaced,
                "this player was resumed on another connection".into(),
            ))),
            None => {
                self.stats.clients.inc();
                self.kind_stats.clients.inc();
                self.stats.clients_away.dec();
            }
        }
        let away = c.away_since.take().map(|at| at.elapsed());
        self.stats.resumes.inc();
        info!(room = %self.handle.id, client = member, away = ?away, "resumed");
    }

    /// The client's connection dropped: it stays in the room, away, for the resume grace.
    fn park(&mut self, id: ClientId, now: Instant) {
        let Some(c) = self.clients.get_mut(&id) else {
            return;
        };
        if let Some(t) = c.link.take() {
            t.link.close(None);
            self.stats.clients.dec();
            self.kind_stats.clients.dec();
            self.stats.clients_away.inc();
        }
        c.away_since = Some(now);
        self.room.park(id);
        info!(room = %self.handle.id, client = id, "connection dropped; kept for resume");
    }

    fn leave(&mut self, id: ClientId) {
        let name = self.room.member(id).map(|m| m.name.clone());
        self.room.leave(id);
        if let Some(c) = self.clients.remove(&id) {
            self.directory.forget_token(c.token);
            for t in &c.spent {
                self.directory.forget_token(*t);
            }
            if let Some(t) = c.link {
                t.link.close(None);
                self.stats.clients.dec();
                self.kind_stats.clients.dec();
            } else {
                self.stats.clients_away.dec();
            }
            info!(room = %self.handle.id, client = id, name = ?name, "left");
        }
        self.handle
            .members
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&id);
        self.publish_members();
    }

    /// `/rooms` counts members, away ones included: they hold their seats.
    fn publish_members(&self) {
        self.handle
            .clients
            .store(self.clients.len(), Ordering::Relaxed);
    }

    fn publish_stats(&mut self) {
        let tick_s = 1.0 / f64::from(self.room.settings().tick_rate.max(1));
        for back in self.room.drain_claim_ages() {
            self.stats.claim_age.observe(f64::from(back) * tick_s);
        }
        let counters = self.room.take_counters();
        self.stats.inputs_applied.inc_by(counters.inputs_applied);
        self.stats.inputs_late.inc_by(counters.inputs_late);
        self.stats.shots_judged.inc_by(counters.shots_judged);
        self.stats.rewinds_clamped.inc_by(counters.rewinds_clamped);
        self.stats.inputs_dropped.inc_by(counters.inputs_dropped);
        self.stats
            .inputs_over_rate
            .inc_by(counters.inputs_over_rate);
        self.stats.snapshots_full.inc_by(counters.snapshots_full);
        self.stats.snapshots_delta.inc_by(counters.snapshots_delta);
        self.stats.snapshots_held.inc_by(counters.snapshots_held);
        let tick = self.room.tick_number();
        if tick.0.is_multiple_of(PLAYERS_EVERY_TICKS) {
            let game = self.room.world();
            let mut players: Vec<PlayerSummary> = self
                .room
                .members()
                .filter_map(|m| m.entity)
                .filter_map(|id| {
                    let at = game.player_position(id)?;
                    Some(PlayerSummary {
                        room: self.handle.id.clone(),
                        id: id.0,
                        name: game.player_name(id)?.to_owned(),
                        x: pos_to_units(at.x),
                        y: pos_to_units(at.y),
                        health: game.player_health(id),
                        score: game.player_score(id)?,
                    })
                })
                .collect();
            players.sort_by_key(|p| p.id);
            self.stats.publish_players(&self.handle.id, players);
        }
        self.handle.tick.store(tick.0, Ordering::Relaxed);
        if self.handle.persistent {
            self.stats.tick.store(tick.0, Ordering::Relaxed);
        }
        self.stats.ticks.inc();
    }
}

/// What a link's close means for its client: closed with a reason (a broken rule) it leaves,
/// and is not kept for a resume; closed without one (the socket is gone) it may come back;
/// `None` while the link is open.
fn gone_by(close: Option<Option<CloseCode>>) -> Option<Gone> {
    match close {
        Some(Some(_)) => Some(Gone::Left),
        Some(None) => Some(Gone::Dropped),
        None => None,
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;
    use crate::driver::admission::{inbound_queue, join_queue};
    use crate::driver::link::Full;
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
                let code = reason.map(|(code, _)| code);
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
        assert_eq!(refused.0, CloseCode::NoSuchRoom);
    }
}
