//! The room core: one match as a value with no I/O (the shape of quinn-proto). A room owns its
//! world, what it keeps about each client (inputs, acknowledgements, what it was sent), its
//! snapshot history and its settings. A driver feeds it parsed client messages and takes the
//! messages a tick makes; no channel, socket, clock or atomic lives in here, so tests and benches
//! step a room exactly, tick by tick.
//!
//! - [`member`]: a client's replication state, apart from any connection.
//! - [`history`]: the last frames (every entity's quantized state and hash), the baselines.
//! - [`interest`]: the grid and a player's view.
//! - [`replication`]: one client's snapshot message: view, baseline, delta, envelope.
//! - [`scoreboard`]: the match's scores, once a second per client.
//! - [`send_rate`]: load shedding, fed by the driver's observations.
//! - [`flow`]: flow control by acknowledgement (latest-wins below the outbox).
//! - [`budget`]: what a client's snapshot may weigh (a datagram, a byte budget) and which new
//!   entities wait when it would weigh more.
//! - [`record`]: what entered the room each tick, to run the match again bit for bit.
//! - [`settings`]: what a room is (map, rates, view, baselines), with the defaults.
//! - [`arena`]: the built-in arena's scene and arena rooms from settings.
//!
//! A tick, in order ([`Room::tick`]): apply inputs, step simulation, record snapshot, build each
//! client's message, build scores. The driver drains its queues into [`Room::handle`] before,
//! and hands the messages to the sockets after.

pub mod arena;
pub mod budget;
pub mod flow;
pub mod history;
pub mod interest;
pub mod member;
pub mod playback;
pub mod record;
pub mod replication;
pub mod scoreboard;
pub mod send_rate;
pub mod settings;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use bytes::Bytes;
use snapwire_shared::game::{Game, Rewinds};
use snapwire_shared::protocol::{
    MAX_NAME_CHARS, ResumeToken, Resumed, ServerMsg, Welcome, extend_u16,
};
use snapwire_shared::sim::{EntityId, PlayerInput, World};
use snapwire_shared::snapshot::{Replicate, hash_words};
use snapwire_shared::{CloseCode, Tick, codec};
use tracing::{debug, warn};

use budget::ByteBudget;
use history::{Frame, SnapshotHistory};
use interest::Grid;
use member::{AckOutcome, MAX_BAD_ACKS, Member};
use record::{Checksum, Entry, ReplayError, TickRecord};
use replication::{Replicator, TickContext};
use scoreboard::Scoreboard;
use send_rate::SendRate;

pub use arena::{MAX_DRIFTERS, Scene, SceneError, arena_world};
pub use settings::{InputRate, RoomSettings};

/// Identifies one client (one connection today) for the life of the process; never reused.
pub type ClientId = u64;

/// Why a client is being closed: the code its close carries, which a client acts on, and
/// the reason in words, which a person reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CloseReason {
    pub code: CloseCode,
    pub words: String,
}

impl CloseReason {
    pub fn new(code: CloseCode, words: String) -> CloseReason {
        CloseReason { code, words }
    }
}

impl std::fmt::Display for CloseReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({})", self.words, self.code.code())
    }
}

/// One client message, already decoded and range-checked by the connection. Sequence number
/// and tick are still the wire's 16 bits: the room extends them against its own state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Inbound {
    Input {
        seq: u16,
        tick: u16,
        input: PlayerInput,
        /// The input also acknowledges the snapshot of `tick`.
        ack: bool,
    },
    Ack(Tick),
    /// The client closed its connection on purpose (close code 1000): it leaves now instead
    /// of waiting to resume. The driver acts on it; the room ignores it.
    Leave,
}

/// A message a tick made for one client.
#[derive(Debug, Clone, PartialEq)]
pub struct Outgoing {
    pub client: ClientId,
    pub message: Message,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Message {
    /// A snapshot; `full` when encoded against the empty world (no acknowledged baseline).
    Snapshot { bytes: Bytes, full: bool },
    /// The scoreboard.
    Scores(Bytes),
}

/// Claim ages kept for the driver at most: a room nobody drains (a bench, a test) stops
/// sampling there.
const MAX_CLAIM_AGES: usize = 8192;

/// What the room did since the driver last asked, for the server's metrics.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct RoomCounters {
    pub inputs_applied: u64,
    /// Inputs applied beyond the first for a player in one tick (catching up).
    pub inputs_late: u64,
    /// Inputs dropped: out of order, a full queue, or sent by a spectator.
    pub inputs_dropped: u64,
    /// Inputs dropped for arriving faster than the input rate allows.
    pub inputs_over_rate: u64,
    /// Shots judged at the moment their input claimed (lag compensation).
    pub shots_judged: u64,
    /// Of those, claims further back than the maximum rewind (or ahead), clamped.
    pub rewinds_clamped: u64,
    pub snapshots_full: u64,
    pub snapshots_delta: u64,
    /// Snapshots not built for a client that has too many unacknowledged ([`flow`]).
    pub snapshots_held: u64,
    /// Snapshots not built for a client that spent its byte budget ([`budget`]).
    pub snapshots_over_budget: u64,
    /// Entities new to a client's view left out of its snapshot to fit it ([`budget`]).
    pub entities_deferred: u64,
}

/// A match of game `G` (the arena unless said otherwise).
#[derive(Debug)]
pub struct Room<G: Game = World> {
    settings: RoomSettings,
    world: G,
    members: BTreeMap<ClientId, Member>,
    history: SnapshotHistory<G::State>,
    grid: Grid,
    replicator: Replicator,
    /// Which clients get a snapshot this tick: all, unless the driver reports overload.
    send_rate: SendRate,
    scoreboard: Scoreboard,
    /// Names of the players in the room (each unique).
    player_names: BTreeSet<String>,
    /// This tick's messages; kept to reuse its buffer.
    outgoing: Vec<Outgoing>,
    counters: RoomCounters,
    /// How many ticks back each applied input holding a trigger claimed its moment, since
    /// the driver last took them (a histogram's samples; bounded by the inputs of a tick).
    claim_ages: Vec<u16>,
    /// The game's lag compensation totals when the counters were last taken.
    rewinds_taken: Rewinds,
    /// The first tick.
    started: Tick,
    /// Per away (or just resumed) client, the frame of its acknowledged baseline, kept past
    /// history so that a resume within the grace period costs a delta, not a full snapshot.
    /// Dropped once the client acknowledges a newer snapshot, or leaves.
    pinned: BTreeMap<ClientId, Arc<Frame<G::State>>>,
    /// What entered the room this tick, and the ticks finished since the driver last took
    /// them; `None` when not recording.
    recording: Option<(Vec<Entry>, Vec<TickRecord>)>,
    /// A recording played back for viewers instead of live play ([`playback`]).
    playback: Option<playback::Playback>,
}

impl<G: Game> Room<G> {
    /// A room around a game already set up; its first tick is the game's.
    pub fn with_game(settings: RoomSettings, game: G) -> Room<G> {
        let tick = game.tick();
        Room {
            world: game,
            members: BTreeMap::new(),
            history: SnapshotHistory::new(settings.history),
            grid: Grid::default(),
            replicator: Replicator::new(),
            send_rate: SendRate::new(settings.snapshot_every),
            scoreboard: Scoreboard::new(settings.tick_rate),
            player_names: BTreeSet::new(),
            outgoing: Vec::new(),
            counters: RoomCounters::default(),
            rewinds_taken: Rewinds::default(),
            claim_ages: Vec::new(),
            started: tick,
            pinned: BTreeMap::new(),
            recording: None,
            playback: None,
            settings,
        }
    }

    /// Adds a client (a player, unless `spectate`) and returns its `Welcome` (with the room's
    /// id and kind left empty). A player whose
    /// name is taken gets the lowest free suffix (" 2", " 3", ...).
    pub fn join(&mut self, client: ClientId, name: &str, spectate: bool) -> Welcome {
        // A playback's viewers only watch; its recorded players join before it starts.
        let spectate = spectate || (self.playback.is_some() && client & playback::PUPPET == 0);
        self.note(|| Entry::Join {
            client,
            name: name.to_owned(),
            spectate,
        });
        let (name, entity) = if spectate {
            (name.to_owned(), None)
        } else {
            // Players on one scoreboard must be told apart.
            let name = unique_name(name, |n| self.player_names.contains(n));
            self.player_names.insert(name.clone());
            let entity = self.world.join(&name);
            (name, Some(entity))
        };
        let mut member = Member::new(client, name, entity);
        member.fill_tokens(self.settings.input_rate.burst);
        member.budget = self
            .settings
            .max_kbps_per_client
            .map(|kbps| ByteBudget::new(kbps, self.settings.tick_rate));
        self.members.insert(client, member);
        self.welcome(entity)
    }

    fn welcome(&self, entity: Option<EntityId>) -> Welcome {
        Welcome {
            player_id: entity.map(|e| e.0),
            tick: self.world.tick(),
            tick_rate: self.pace(),
            map: self.settings.map.clone(),
            view_width: self.settings.view_width,
            view_height: self.settings.view_height,
            // The room does not know how the process names it: the driver fills these in.
            room: String::new(),
            kind: String::new(),
            game: G::NAME.to_owned(),
            // The driver issues tokens (the room holds no randomness).
            resume: ResumeToken([0; 16]),
        }
    }

    /// The client's connection dropped, and it may come back ([`Room::resume`]). Until then
    /// its player stays in the world, frozen: no input is applied, so it neither moves nor
    /// fires, and it can still be hit (dropping the connection is no escape). Frozen, not
    /// stepped with an empty input, so that the inputs the client sends again after the
    /// resume apply to exactly the state it predicted them from: no correction. It is sent
    /// nothing, and its acknowledged baseline is kept even past history. False if the client
    /// is not here.
    pub fn park(&mut self, client: ClientId) -> bool {
        let Some(m) = self.members.get_mut(&client) else {
            return false;
        };
        m.away = true;
        // Inputs already received stay queued: they apply after the resume, before those the
        // client sends again (which are then not new, and ignored). Dropping them here made
        // every resume cost a one-step correction.
        if let Some(frame) = m.acked.and_then(|t| self.history.get(t)) {
            self.pinned.insert(client, Arc::clone(frame));
        }
        true
    }

    /// A client is back on a new connection (away, or with a half-open old one): it gets
    /// messages again. A client that kept its snapshots (`has_state`) gets `Resumed`, and its
    /// next snapshot is a delta against its acknowledged baseline; one that kept nothing (a
    /// page reload) gets a `Welcome` for the same player, and a full snapshot. The message's
    /// room, kind and token are left for the driver to fill in; `None` if the client is not here.
    pub fn resume(&mut self, client: ClientId, has_state: bool) -> Option<ServerMsg> {
        let m = self.members.get_mut(&client)?;
        m.away = false;
        m.fill_tokens(self.settings.input_rate.burst);
        // What was in flight on the old connection is gone with it.
        m.flow.forget();
        let entity = m.entity;
        if has_state {
            return Some(ServerMsg::Resumed(Resumed {
                player_id: entity.map(|e| e.0),
                tick: self.world.tick(),
                resume: ResumeToken([0; 16]),
            }));
        }
        m.forget_acks();
        // A client that kept nothing numbers its inputs from 1 again. Keeping the old
        // sequence would drop every new input as "not above" it until the new numbers passed
        // the old (minutes, with 16-bit sequences on the wire): the player frozen. The inputs
        // still queued from the old connection go too: the new page did not predict them.
        m.restart_inputs();
        self.pinned.remove(&client);
        Some(ServerMsg::Welcome(self.welcome(entity)))
    }

    /// Removes a client and its player; false if it was not here.
    pub fn leave(&mut self, client: ClientId) -> bool {
        self.pinned.remove(&client);
        let Some(member) = self.members.remove(&client) else {
            return false;
        };
        self.note(|| Entry::Leave { client });
        if let Some(e) = member.entity {
            self.world.leave(e);
            self.player_names.remove(&member.name);
        }
        true
    }

    /// Takes one message from a client. `Err` means the client broke a rule and must be
    /// closed with that reason (then [`Room::leave`]); messages for unknown clients are ignored.
    pub fn handle(&mut self, client: ClientId, msg: Inbound) -> Result<(), CloseReason> {
        let now = self.world.tick();
        let max_skew = self.settings.max_tick_skew();
        let flood_ticks = (self.settings.input_rate.flood_after.as_secs_f64()
            * f64::from(self.settings.tick_rate)) as u32;
        let Some(m) = self.members.get_mut(&client).filter(|m| !m.away) else {
            return Ok(());
        };
        let acked = match msg {
            Inbound::Input {
                seq,
                tick,
                mut input,
                ack,
            } => {
                let seq = extend_u16(seq, m.last_received_seq);
                let tick = Tick(extend_u16(tick, now.0));
                // Any claim is taken: the rules bound it when they judge a shot.
                input.view.tick = Tick(extend_u16(input.view.tick.0 as u16, now.0));
                let skew = tick.since(now).unsigned_abs();
                if skew > max_skew {
                    return Err(CloseReason::new(
                        CloseCode::TickOutOfRange,
                        format!("input tick {tick} is {skew} ticks from the server's {now}"),
                    ));
                }
                if !m.take_token() {
                    self.counters.inputs_over_rate += 1;
                    if m.over_rate_ticks > flood_ticks {
                        return Err(CloseReason::new(
                            CloseCode::PolicyViolation,
                            format!(
                                "more than {} inputs a second for {:?}",
                                self.settings.input_rate.per_second,
                                self.settings.input_rate.flood_after
                            ),
                        ));
                    }
                } else if !m.queue_input(seq, input) {
                    debug!(client, seq, "dropped an out-of-order or spectator input");
                }
                ack.then_some(tick)
            }
            Inbound::Ack(tick) => Some(tick),
            Inbound::Leave => None,
        };
        let Some(tick) = acked else { return Ok(()) };
        let outcome = m.on_ack(tick, now);
        if outcome == AckOutcome::Accepted && !self.pinned.is_empty() {
            // A newer baseline: the kept one is no longer needed.
            self.pinned.remove(&client);
        }
        if let AckOutcome::Bad(why) = outcome {
            warn!(client, %tick, why, bad_acks = m.bad_acks, "bad ack ignored");
            if m.bad_acks > MAX_BAD_ACKS {
                return Err(CloseReason::new(
                    CloseCode::BadAck,
                    format!("{why} ({} bad acks)", m.bad_acks),
                ));
            }
        }
        Ok(())
    }

    /// One tick: the stages in order. Returns the messages for the clients.
    pub fn tick(&mut self) -> &[Outgoing] {
        if self.playback.is_some() {
            return self.play_tick();
        }
        self.apply_inputs();
        self.step_simulation();
        let frame = self.record_snapshot();
        if let Some((entries, done)) = &mut self.recording {
            done.push(TickRecord {
                tick: frame.tick,
                entries: std::mem::take(entries),
                checksum: frame.view(None).checksum(),
            });
        }
        self.build_client_messages(&frame);
        self.build_scores();
        &self.outgoing
    }

    /// Stage 1: per player, queued inputs in sequence order, within its budget; the input
    /// token buckets refill.
    pub fn apply_inputs(&mut self) {
        let rate = &self.settings.input_rate;
        let refill = rate.per_second / f64::from(self.settings.tick_rate.max(1));
        for m in self.members.values_mut() {
            m.refill_tokens(refill, rate.burst);
            self.counters.inputs_dropped += m.take_dropped();
            let Some(entity) = m.entity else { continue };
            if m.away {
                // A tick without inputs: the player may catch up after the resume.
                m.bank_input_step();
                continue;
            }
            let mut last = None;
            let client = m.id;
            let now = self.world.tick();
            for (n, (seq, controls)) in m.take_inputs().enumerate() {
                if (controls.fire || controls.alt_fire) && self.claim_ages.len() < MAX_CLAIM_AGES {
                    let back = now.since(controls.view.tick).clamp(0, i32::from(u16::MAX));
                    self.claim_ages.push(back as u16);
                }
                self.world.apply_input(entity, &G::input(&controls));
                if let Some((entries, _)) = &mut self.recording {
                    entries.push(Entry::Input {
                        client,
                        input: controls,
                    });
                }
                last = Some(seq);
                self.counters.inputs_applied += 1;
                self.counters.inputs_late += u64::from(n > 0);
            }
            if let Some(seq) = last {
                m.last_applied_seq = seq;
            }
        }
    }

    /// Stage 2: projectiles, respawns, drifters; the tick number advances.
    pub fn step_simulation(&mut self) {
        if let Scene::PanicAfter(n) = self.settings.scene
            && self.world.tick().since(self.started) >= n as i32
        {
            panic!("the `panic:{n}` scene panics after {n} ticks, as asked");
        }
        self.world.step();
    }

    /// Stage 3: every entity's quantized state and hash, once, into history; the grid.
    pub fn record_snapshot(&mut self) -> Arc<Frame<G::State>> {
        let frame = Arc::new(Frame::capture(&self.world));
        self.grid.rebuild(&self.settings.map, &frame);
        self.history.record(Arc::clone(&frame));
        frame
    }

    /// Stage 4: each client's snapshot (every client, or the share due this tick when the
    /// driver reported overload), delta-encoded against its acknowledged baseline.
    pub fn build_client_messages(&mut self, frame: &Frame<G::State>) {
        let ctx = TickContext {
            frame,
            grid: &self.grid,
            history: &self.history,
            pinned: &self.pinned,
            game: &self.world,
            settings: &self.settings,
        };
        self.outgoing.clear();
        let tick_rate = self.settings.tick_rate;
        for (id, m) in &mut self.members {
            if let Some(budget) = &mut m.budget {
                budget.refill();
            }
            if m.away || !self.send_rate.due(*id, frame.tick.0) {
                continue;
            }
            if self.settings.flow_control && !m.flow.may_send(frame.tick, tick_rate) {
                self.counters.snapshots_held += 1;
                continue;
            }
            let Some(snapshot) = self.replicator.message_for(&ctx, m) else {
                self.counters.snapshots_over_budget += 1;
                continue;
            };
            self.counters.entities_deferred += snapshot.deferred as u64;
            if snapshot.full {
                self.counters.snapshots_full += 1;
            } else {
                self.counters.snapshots_delta += 1;
            }
            self.outgoing.push(Outgoing {
                client: *id,
                message: Message::Snapshot {
                    bytes: snapshot.bytes,
                    full: snapshot.full,
                },
            });
        }
    }

    /// Stage 5: the scoreboard, to each client once a second ([`scoreboard`]).
    pub fn build_scores(&mut self) {
        let players = self.members.values().filter_map(|m| m.entity);
        self.scoreboard.rank_if_due(&self.world, players);
        let tick = self.world.tick().0;
        for (id, m) in &self.members {
            if !m.away && self.scoreboard.due(*id, tick) {
                let scores = ServerMsg::Scores(self.scoreboard.message_for(m.entity));
                self.outgoing.push(Outgoing {
                    client: *id,
                    message: Message::Scores(Bytes::from(codec::encode_server(&scores))),
                });
            }
        }
    }

    /// Records what enters the room from now on ([`record`]); the driver takes the finished
    /// ticks with [`Room::take_records`].
    pub fn start_recording(&mut self) {
        self.recording.get_or_insert_with(Default::default);
    }

    /// Stops recording (and drops what was not taken).
    pub fn stop_recording(&mut self) {
        self.recording = None;
    }

    /// The ticks recorded since the last call.
    pub fn take_records(&mut self) -> Vec<TickRecord> {
        self.recording
            .as_mut()
            .map(|(_, done)| std::mem::take(done))
            .unwrap_or_default()
    }

    /// Runs one recorded tick again: its joins, leaves and inputs in their order, then the
    /// step, and checks the world came out as recorded. The room must have started like the
    /// recorded one (settings, first tick) and replayed every tick before this one.
    pub fn replay(&mut self, record: &TickRecord, checksum: Checksum) -> Result<(), ReplayError> {
        self.apply_recorded(record, 0)?;
        self.step_simulation();
        let frame = Frame::capture(&self.world);
        self.check_recorded(record, &frame, checksum)
    }

    /// Stage 1 of a recorded tick: its entries, in order; recorded client ids are offset by
    /// `id_offset` (playback keeps them apart from its viewers').
    fn apply_recorded(
        &mut self,
        record: &TickRecord,
        id_offset: ClientId,
    ) -> Result<(), ReplayError> {
        for entry in &record.entries {
            match entry {
                Entry::Join {
                    client,
                    name,
                    spectate,
                } => {
                    self.join(client | id_offset, name, *spectate);
                }
                Entry::Leave { client } => {
                    self.leave(client | id_offset);
                }
                Entry::Input { client, input } => {
                    let entity = self
                        .members
                        .get(&(client | id_offset))
                        .and_then(|m| m.entity)
                        .ok_or(ReplayError::NoPlayer {
                            tick: record.tick,
                            client: *client,
                        })?;
                    self.world.apply_input(entity, &G::input(input));
                }
            }
        }
        Ok(())
    }

    /// Whether the world after a recorded tick's step is what the recording says.
    fn check_recorded(
        &self,
        record: &TickRecord,
        frame: &Frame<G::State>,
        checksum: Checksum,
    ) -> Result<(), ReplayError> {
        let tick = record.tick;
        if frame.tick != tick {
            return Err(ReplayError::Tick {
                tick,
                got: frame.tick,
            });
        }
        let got = match checksum {
            Checksum::Current => frame.view(None).checksum(),
            Checksum::Before { words, kinds_below } => self
                .world
                .entities()
                .filter(|(_, s)| s.kind() < kinds_below)
                .fold(0u32, |acc, (id, s)| {
                    let all = s.words();
                    let w = all.as_ref();
                    acc.wrapping_add(hash_words(id, s.kind(), &w[..words.min(w.len())]))
                }),
        };
        if got != record.checksum {
            return Err(ReplayError::Checksum {
                tick,
                recorded: record.checksum,
                got,
            });
        }
        Ok(())
    }

    /// Appends to this tick's recording, if recording.
    fn note(&mut self, entry: impl FnOnce() -> Entry) {
        if let Some((entries, _)) = &mut self.recording {
            entries.push(entry());
        }
    }

    /// The messages the last [`Room::tick`] made.
    pub fn outgoing(&self) -> &[Outgoing] {
        &self.outgoing
    }

    /// The driver's view of the last tick: how many snapshots it handed over, how many of
    /// them replaced one a socket had not taken yet, and the tick's work as a share of its
    /// period. Drives load shedding ([`send_rate`]).
    pub fn observe_load(&mut self, skipped: u64, sent: u64, work: f64) {
        self.send_rate.observe(skipped, sent, work);
    }

    /// Clients get a snapshot one tick in this many (1 unless shedding load).
    pub fn snapshot_divisor(&self) -> u32 {
        self.send_rate.divisor()
    }

    /// The counters since the last call.
    /// Ticks back each input holding a trigger claimed since the last call (then forgotten).
    pub fn drain_claim_ages(&mut self) -> std::vec::Drain<'_, u16> {
        self.claim_ages.drain(..)
    }

    /// The room's first tick.
    pub fn first_tick(&self) -> Tick {
        self.started
    }

    pub fn take_counters(&mut self) -> RoomCounters {
        let now = self.world.rewinds();
        self.counters.shots_judged = now.judged.wrapping_sub(self.rewinds_taken.judged);
        self.counters.rewinds_clamped = now.clamped.wrapping_sub(self.rewinds_taken.clamped);
        self.rewinds_taken = now;
        std::mem::take(&mut self.counters)
    }

    /// The game's state.
    pub fn world(&self) -> &G {
        &self.world
    }

    /// The game's state, to set a scene up (benches, tests): place players, add entities.
    pub fn world_mut(&mut self) -> &mut G {
        &mut self.world
    }

    pub fn tick_number(&self) -> Tick {
        self.world.tick()
    }

    pub fn settings(&self) -> &RoomSettings {
        &self.settings
    }

    pub fn member(&self, client: ClientId) -> Option<&Member> {
        self.members.get(&client)
    }

    /// The largest snapshot `client`'s link carries in one datagram (`None`: any size); set
    /// by the driver whenever a connection takes the client over.
    pub fn set_datagram_limit(&mut self, client: ClientId, limit: Option<usize>) {
        if let Some(m) = self.members.get_mut(&client) {
            m.datagram_limit = limit;
        }
    }

    pub fn members(&self) -> impl Iterator<Item = &Member> {
        self.members.values()
    }

    pub fn len(&self) -> usize {
        self.members.len()
    }

    pub fn is_empty(&self) -> bool {
        self.members.is_empty()
    }
}

/// `wanted`, or `wanted` with the lowest free suffix " 2", " 3", ... when another player has
/// it; shortened so the result stays within the name limit in characters.
fn unique_name(wanted: &str, taken: impl Fn(&str) -> bool) -> String {
    if !taken(wanted) {
        return wanted.to_owned();
    }
    (2u32..)
        .map(|n| {
            let suffix = format!(" {n}");
            let room = MAX_NAME_CHARS.saturating_sub(suffix.chars().count());
            let base: String = wanted.chars().take(room).collect();
            format!("{}{suffix}", base.trim_end())
        })
        .find(|candidate| !taken(candidate))
        .unwrap_or_else(|| unreachable!("an unbounded range always finds a free suffix"))
}

#[cfg(test)]
mod tests;
