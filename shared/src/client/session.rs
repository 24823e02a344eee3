//! One connection's client state machine, free of sockets and clocks: the caller feeds it frames
//! and sends the messages it returns.

use std::collections::VecDeque;

use thiserror::Error;

use crate::client::prediction::Predictor;
use crate::client::replica::{Applied, Replica, ReplicaError};
use crate::codec::{self, DecodeError};
use crate::game::Game;
use crate::parts::Reassembly;
use crate::protocol::{
    BUTTON_ACK, BUTTON_ALT, BUTTON_FIRE, ClientMsg, InputMsg, PROTOCOL_VERSION, Resume,
    ResumeToken, Resumed, RoomRequest, Scores, ServerMsg, Welcome, input_acked,
};
use crate::sim::{EntityId, PlayerInput, ViewTime, World};
use crate::tick::Tick;

#[derive(Debug, Error)]
pub enum SessionError {
    /// The frame is not a server message: the connection is unusable.
    #[error("bad frame from server: {0}")]
    Decode(#[from] DecodeError),
    #[error("server sent {0} before Welcome")]
    BeforeWelcome(&'static str),
    #[error("server sent a second Welcome")]
    SecondWelcome,
    /// A `Resumed` that was not asked for, or for another player.
    #[error("unexpected Resumed: {0}")]
    BadResume(&'static str),
    /// A `Welcome` the rules cannot run with (a map without room for a player, no tick rate).
    #[error("unusable Welcome: {0}")]
    BadWelcome(String),
    /// The snapshot could not be rebuilt exactly: counted as a desync; the session goes on and
    /// the server re-sends against an older baseline or in full.
    #[error(transparent)]
    Desync(#[from] ReplicaError),
    /// A part of a split message that cannot belong to one, or one that is not a snapshot.
    #[error("bad part: {0}")]
    Part(String),
}

#[derive(Debug)]
pub enum SessionEvent {
    /// Joined: a new player, or (after [`ClientSession::rejoining`] with a token still valid)
    /// the same player with a full snapshot to come. A `Welcome` after
    /// [`ClientSession::reconnect`] means the server no longer knew the token: the session
    /// started over as a new player.
    Welcome(Welcome),
    /// The same player continues on the new connection, from the snapshots this session kept.
    Resumed(Resumed),
    /// A verified snapshot. `correction` is how far reconciliation moved the predicted local
    /// player, in position quanta. Acknowledge it: [`ClientSession::take_ack`] says whether a
    /// separate `Ack` must go now (otherwise the next input carries it), or
    /// [`ClientSession::withhold_ack`] never acknowledges it.
    Snapshot {
        tick: Tick,
        last_input_seq: u32,
        correction: (i32, i32),
    },
    /// An old snapshot, ignored.
    Stale,
    /// A part of a split snapshot ([`crate::parts`]); the snapshot comes with its last part.
    Part,
    /// A new scoreboard: [`ClientSession::scores`].
    Scores,
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct SessionStats {
    pub snapshots: u64,
    pub full_snapshots: u64,
    /// Full snapshots after a delta: the server had lost every baseline this client
    /// acknowledged (acks too rare, or lost for longer than its history). The first
    /// snapshots of a connection, before any acknowledgement, are full by design.
    pub full_after_delta: u64,
    pub desyncs: u64,
    pub last_snapshot_bytes: usize,
    /// Reconnects answered `Resumed` (the same player went on).
    pub resumes: u64,
    /// Reconnects answered with a new `Welcome` (a new player).
    pub restarts: u64,
    /// Bytes of the first snapshot after each resume, summed, and of full snapshots of the
    /// same views (what the server would have sent without a baseline).
    pub resume_bytes: u64,
    pub resume_full_bytes: u64,
    /// Resumes whose first snapshot came in full (the server had lost the baseline).
    pub resumes_full: u64,
}

/// A client of a room playing game `G` (the arena by default).
#[derive(Debug)]
pub struct ClientSession<G: Game = World> {
    welcome: Option<Welcome>,
    replica: Replica<G::State>,
    predictor: Option<Predictor<G>>,
    next_seq: u32,
    latest_tick: Tick,
    last_input_seq: u32,
    acks: AckState,
    scores: Option<Scores>,
    /// The token that resumes this player.
    resume: Option<ResumeToken>,
    /// What the first `Hello` asked for (a restart asks again).
    request: (String, bool, RoomRequest),
    /// A `Hello` with a resume token went out and its reply has not come yet.
    resuming: bool,
    /// The next verified snapshot is the first after a resume (its size is measured).
    first_after_resume: bool,
    /// Inputs sent that no snapshot has acknowledged yet, oldest first: after a resume they
    /// are sent again, since those the dead connection swallowed never reached the server.
    unacked_inputs: VecDeque<(u32, InputMsg)>,
    /// The moment remote entities are drawn at, which inputs carry for lag compensation;
    /// `None` until the renderer says (the newest snapshot then).
    view: Option<ViewTime>,
    /// The parts of a split snapshot received so far (this connection's: numbering starts
    /// again on the next).
    parts: Reassembly,
    pub stats: SessionStats,
}

/// Which verified snapshot still needs acknowledging, and how.
#[derive(Debug, Default)]
struct AckState {
    /// The newest verified snapshot not yet acknowledged.
    pending: Option<Tick>,
    /// A snapshot arrived while another was still pending: no input went out in between, so
    /// the acknowledgement must go on its own.
    overdue: bool,
    /// Spectators acknowledge one snapshot in this many.
    spectator_every: u32,
    /// Snapshots since a spectator's last acknowledgement.
    since_last: u32,
}

/// A delta that brings this many entities or more is acknowledged at once, even by a
/// spectator: the server may be holding more back (a byte budget), and until it hears, it
/// sends these again rather than more.
pub const BATCH_ACK_AT: usize = 16;

/// Unacknowledged inputs kept for sending again after a resume: two seconds at 60 Hz.
const MAX_UNACKED_INPUTS: usize = 128;

/// How many snapshots a spectator receives per acknowledgement by default. A spectator never
/// sends inputs, so every acknowledgement is a frame of its own; one in four keeps the
/// server's baseline at most a few ticks old (deltas barely grow) while cutting the inbound
/// frames the server reads per spectator to a quarter.
pub const SPECTATOR_ACK_EVERY: u32 = 4;

impl ClientSession {
    /// A new arena session for quick play and the `Hello` to send first.
    pub fn new(name: &str, spectate: bool) -> (ClientSession, ClientMsg) {
        ClientSession::for_room(name, spectate, RoomRequest::quick_play())
    }

    /// A new arena session joining `room`, and the `Hello` to send first.
    pub fn for_room(name: &str, spectate: bool, room: RoomRequest) -> (ClientSession, ClientMsg) {
        ClientSession::<World>::joining(name, spectate, room)
    }
}

impl<G: Game> ClientSession<G> {
    /// A new session of game `G` joining `room` (a room of another game is refused at its
    /// `Welcome`), and the `Hello` to send first.
    pub fn joining(name: &str, spectate: bool, room: RoomRequest) -> (ClientSession<G>, ClientMsg) {
        let session = ClientSession::fresh(name, spectate, room);
        let hello = session.hello(None);
        (session, hello)
    }

    /// A session that continues the player `token` names, for a client that kept nothing but
    /// the token (a page reload): the server answers with a `Welcome` for the same player, then
    /// a full snapshot; if the token expired, it joins `room` as a new player.
    pub fn rejoining(
        name: &str,
        spectate: bool,
        room: RoomRequest,
        token: ResumeToken,
    ) -> (ClientSession<G>, ClientMsg) {
        let mut session = ClientSession::fresh(name, spectate, room);
        let hello = session.hello(Some(Resume {
            token,
            has_state: false,
        }));
        session.resuming = true;
        (session, hello)
    }

    /// The `Hello` for a new connection after the last one dropped: it resumes this player
    /// (same entity, score, room) from the snapshots this session kept, when the server still
    /// holds it; otherwise the server answers with a new `Welcome`, and the session starts over.
    /// Without a token (no `Welcome` yet) it is a plain `Hello`.
    pub fn reconnect(&mut self) -> ClientMsg {
        let resume = self.resume.map(|token| Resume {
            token,
            has_state: self.welcome.is_some(),
        });
        self.resuming = resume.is_some();
        self.hello(resume)
    }

    /// After `Resumed`: the inputs no snapshot acknowledged, to send again first. The dead
    /// connection may have swallowed them; the server ignores the ones it already has (their
    /// sequence numbers are not new), and applies the rest, so prediction needs no correction
    /// for inputs lost in the drop. Stamped with the newest tick, without the ack bit.
    pub fn resend_after_resume(&self) -> Vec<ClientMsg> {
        self.unacked_inputs
            .iter()
            .map(|(_, msg)| {
                ClientMsg::Input(InputMsg {
                    tick: self.latest_tick.0 as u16,
                    buttons: msg.buttons & !BUTTON_ACK,
                    ..*msg
                })
            })
            .collect()
    }

    /// The token that resumes this player (keep it across a page reload).
    pub fn resume_token(&self) -> Option<ResumeToken> {
        self.resume
    }

    fn hello(&self, resume: Option<Resume>) -> ClientMsg {
        let (name, spectate, room) = &self.request;
        // Back to the same match when it is known.
        let room = match (&self.welcome, resume) {
            (Some(w), Some(_)) if !w.room.is_empty() => RoomRequest::Join { id: w.room.clone() },
            _ => room.clone(),
        };
        ClientMsg::Hello {
            protocol_version: PROTOCOL_VERSION,
            name: name.clone(),
            spectate: *spectate,
            room,
            resume,
        }
    }

    fn fresh(name: &str, spectate: bool, room: RoomRequest) -> ClientSession<G> {
        ClientSession {
            welcome: None,
            replica: Replica::default(),
            predictor: None,
            next_seq: 1,
            latest_tick: Tick(0),
            last_input_seq: 0,
            acks: AckState {
                spectator_every: SPECTATOR_ACK_EVERY,
                ..AckState::default()
            },
            scores: None,
            resume: None,
            request: (name.to_owned(), spectate, room),
            resuming: false,
            first_after_resume: false,
            unacked_inputs: VecDeque::new(),
            view: None,
            parts: Reassembly::default(),
            stats: SessionStats::default(),
        }
    }

    pub fn welcome(&self) -> Option<&Welcome> {
        self.welcome.as_ref()
    }

    pub fn player_id(&self) -> Option<EntityId> {
        self.welcome
            .as_ref()
            .and_then(|w| w.player_id)
            .map(EntityId)
    }

    pub fn replica(&self) -> &Replica<G::State> {
        &self.replica
    }

    pub fn predictor(&self) -> Option<&Predictor<G>> {
        self.predictor.as_ref()
    }

    /// The match's newest scoreboard, once the server has sent one.
    pub fn scores(&self) -> Option<&Scores> {
        self.scores.as_ref()
    }

    /// The full sequence number of the last input [`ClientSession::input`] built (the message
    /// carries its low 16 bits); 0 before the first.
    pub fn last_sent_seq(&self) -> u32 {
        match self.next_seq.wrapping_sub(1) {
            0 if self.next_seq == 1 => 0,
            0 => u32::MAX,
            seq => seq,
        }
    }

    /// The last input sequence number the server acknowledged.
    pub fn last_input_seq(&self) -> u32 {
        self.last_input_seq
    }

    /// The newest server tick this client knows of.
    pub fn latest_tick(&self) -> Tick {
        self.latest_tick
    }

    /// Handles one binary frame from the server.
    pub fn handle(&mut self, frame: &[u8]) -> Result<SessionEvent, SessionError> {
        let msg = codec::decode_server(frame)?;
        self.handle_msg(msg, frame.len())
    }

    /// Handles one message that came in `len` bytes.
    fn handle_msg(&mut self, msg: ServerMsg, len: usize) -> Result<SessionEvent, SessionError> {
        match msg {
            ServerMsg::Welcome(w) => {
                if self.welcome.is_some() && !self.resuming {
                    return Err(SessionError::SecondWelcome);
                }
                if self.welcome.is_some() {
                    // The server no longer knew the token: a new player, from nothing.
                    let (name, spectate, room) = self.request.clone();
                    let stats = SessionStats {
                        restarts: self.stats.restarts + 1,
                        ..self.stats
                    };
                    let every = self.acks.spectator_every;
                    *self = ClientSession::fresh(&name, spectate, room);
                    self.stats = stats;
                    self.acks.spectator_every = every;
                }
                self.resuming = false;
                self.parts = Reassembly::default();
                w.map
                    .check()
                    .map_err(|e| SessionError::BadWelcome(e.to_string()))?;
                if !(1..=1000).contains(&w.tick_rate) || w.view_width <= 0 || w.view_height <= 0 {
                    return Err(SessionError::BadWelcome(format!(
                        "tick rate {} or view {} x {}",
                        w.tick_rate, w.view_width, w.view_height
                    )));
                }
                if w.game != G::NAME {
                    return Err(SessionError::BadWelcome(format!(
                        "the room plays {:?}; this client plays {:?}",
                        w.game,
                        G::NAME
                    )));
                }
                self.latest_tick = w.tick;
                if w.player_id.is_some() {
                    self.predictor = Some(Predictor::new(&w));
                }
                self.resume = Some(w.resume);
                self.welcome = Some(w.clone());
                Ok(SessionEvent::Welcome(w))
            }
            ServerMsg::Resumed(r) => {
                let Some(w) = &self.welcome else {
                    return Err(SessionError::BeforeWelcome("Resumed"));
                };
                if !std::mem::take(&mut self.resuming) {
                    return Err(SessionError::BadResume("no resume was asked for"));
                }
                if r.player_id != w.player_id {
                    return Err(SessionError::BadResume("another player's"));
                }
                // Inputs are stamped with the newest tick known; after seconds away that is
                // the server's now, not the last snapshot's.
                self.latest_tick = self.latest_tick.max(r.tick);
                self.resume = Some(r.resume);
                self.acks = AckState {
                    spectator_every: self.acks.spectator_every,
                    ..AckState::default()
                };
                self.stats.resumes += 1;
                self.parts = Reassembly::default();
                self.first_after_resume = true;
                Ok(SessionEvent::Resumed(r))
            }
            ServerMsg::Snapshot(s) => {
                if self.welcome.is_none() {
                    return Err(SessionError::BeforeWelcome("a snapshot"));
                }
                self.stats.last_snapshot_bytes = len;
                let held_before = self.replica.latest().map_or(0, |(_, v)| v.len());
                let applied = self
                    .replica
                    .apply(&s)
                    .inspect_err(|_| self.stats.desyncs += 1)?;
                let Applied::Fresh(tick) = applied else {
                    return Ok(SessionEvent::Stale);
                };
                self.stats.snapshots += 1;
                self.stats.full_snapshots += u64::from(s.baseline().is_none());
                if s.baseline().is_none() && self.stats.snapshots > self.stats.full_snapshots {
                    self.stats.full_after_delta += 1;
                }
                if std::mem::take(&mut self.first_after_resume) {
                    self.stats.resume_bytes += len as u64;
                    self.stats.resume_full_bytes += self.full_snapshot_bytes(&s) as u64;
                    self.stats.resumes_full += u64::from(s.baseline().is_none());
                }
                self.latest_tick = tick;
                self.last_input_seq = s.last_input_seq;
                while self
                    .unacked_inputs
                    .front()
                    .is_some_and(|(seq, _)| input_acked(*seq, s.last_input_seq))
                {
                    self.unacked_inputs.pop_front();
                }
                let correction = self.reconcile();
                self.acks.overdue |= self.acks.pending.is_some();
                self.acks.pending = Some(tick);
                self.acks.since_last += 1;
                let held = self.replica.latest().map_or(0, |(_, v)| v.len());
                if s.baseline().is_some() && held >= held_before + BATCH_ACK_AT {
                    // A batch of entities the server may be holding others back behind
                    // (a byte budget): the sooner it hears, the sooner the rest come.
                    self.acks.since_last = self.acks.since_last.max(self.acks.spectator_every);
                }
                Ok(SessionEvent::Snapshot {
                    correction,
                    tick,
                    last_input_seq: s.last_input_seq,
                })
            }
            ServerMsg::Scores(scores) => {
                if self.welcome.is_none() {
                    return Err(SessionError::BeforeWelcome("scores"));
                }
                self.scores = Some(scores);
                Ok(SessionEvent::Scores)
            }
            ServerMsg::Part(part) => {
                if self.welcome.is_none() {
                    return Err(SessionError::BeforeWelcome("a part"));
                }
                let whole = self
                    .parts
                    .push(part)
                    .map_err(|e| SessionError::Part(e.to_string()))?;
                let Some(whole) = whole else {
                    return Ok(SessionEvent::Part);
                };
                // Only snapshots are split (a part inside a part would recurse).
                match codec::decode_server(&whole)? {
                    snapshot @ ServerMsg::Snapshot(_) => self.handle_msg(snapshot, whole.len()),
                    _ => Err(SessionError::Part("its parts make no snapshot".into())),
                }
            }
        }
    }

    /// A separate `Ack` to send now for the newest verified snapshot, if one is due: always
    /// for a player that sent no input since the previous snapshot (otherwise the next input
    /// carries the acknowledgement), every [`SPECTATOR_ACK_EVERY`]-th snapshot for a spectator.
    pub fn take_ack(&mut self) -> Option<ClientMsg> {
        let due = if self.player_id().is_some() {
            self.acks.overdue
        } else {
            self.acks.since_last >= self.acks.spectator_every.max(1)
        };
        if !due {
            return None;
        }
        self.acks.overdue = false;
        self.acks.since_last = 0;
        self.acks.pending.take().map(|tick| ClientMsg::Ack { tick })
    }

    /// Never acknowledges the newest snapshot (tests and bots simulate lost acks with this).
    pub fn withhold_ack(&mut self) {
        self.acks.pending = None;
        self.acks.overdue = false;
    }

    /// Spectators acknowledge one snapshot in `every` (default [`SPECTATOR_ACK_EVERY`]).
    pub fn set_spectator_ack_every(&mut self, every: u32) {
        self.acks.spectator_every = every.max(1);
    }

    /// The moment remote entities are drawn at now ([`crate::client::Interpolator::view_time`]):
    /// the following inputs' shots are judged against the world as it was then. A client that
    /// never says is judged at its newest snapshot.
    pub fn set_view(&mut self, view: ViewTime) {
        self.view = Some(view);
    }

    /// Builds the next input message and predicts it; `None` for spectators or before `Welcome`.
    /// Axes are clamped to `[-1, 1]`. The input acknowledges the newest verified snapshot when
    /// that is still pending.
    pub fn input(&mut self, move_x: f32, move_y: f32, aim: f32, fire: bool) -> Option<ClientMsg> {
        self.input_with_alt(move_x, move_y, aim, fire, false)
    }

    /// [`ClientSession::input`] with the alternate weapon too.
    pub fn input_with_alt(
        &mut self,
        move_x: f32,
        move_y: f32,
        aim: f32,
        fire: bool,
        alt_fire: bool,
    ) -> Option<ClientMsg> {
        self.player_id()?;
        // `pending` is always `latest_tick`: a newer verified snapshot replaces it.
        let ack = self.acks.pending.is_some_and(|t| t == self.latest_tick);
        let mut input = PlayerInput::from_controls(move_x, move_y, aim, fire);
        input.alt_fire = alt_fire;
        input.view = self.view.unwrap_or(ViewTime {
            tick: self.latest_tick,
            frac: 0,
        });
        let msg = InputMsg {
            // The server extends all three from their low 16 bits.
            seq: self.next_seq as u16,
            tick: self.latest_tick.0 as u16,
            move_x: input.move_x,
            move_y: input.move_y,
            aim: input.aim,
            buttons: if fire { BUTTON_FIRE } else { 0 }
                | if alt_fire { BUTTON_ALT } else { 0 }
                | if ack { BUTTON_ACK } else { 0 },
            view_tick: input.view.tick.0 as u16,
            view_frac: input.view.frac,
        };
        if ack {
            self.acks.pending = None;
            self.acks.overdue = false;
        }
        let seq = self.next_seq;
        self.next_seq = self.next_seq.wrapping_add(1).max(1);
        self.unacked_inputs.push_back((seq, msg));
        if self.unacked_inputs.len() > MAX_UNACKED_INPUTS {
            self.unacked_inputs.pop_front();
        }
        if let Some(p) = &mut self.predictor {
            p.push(seq, G::input(&input));
        }
        Some(ClientMsg::Input(msg))
    }

    /// `input` (from [`Self::input`]) as a WebTransport datagram carries it: with up to three of
    /// the inputs before it that no snapshot has acknowledged yet, oldest first
    /// ([`ClientMsg::Inputs`]), so an input lost with one datagram arrives with the next.
    /// Anything else is returned as it is.
    pub fn with_recent_inputs(&self, input: ClientMsg) -> ClientMsg {
        let ClientMsg::Input(_) = input else {
            return input;
        };
        let skip = self
            .unacked_inputs
            .len()
            .saturating_sub(crate::protocol::MAX_INPUTS_PER_MESSAGE);
        ClientMsg::Inputs(
            self.unacked_inputs
                .iter()
                .skip(skip)
                .map(|(_, msg)| *msg)
                .collect(),
        )
    }

    /// The bytes the newest snapshot would have taken as a full snapshot (no baseline) of the
    /// same view: what a resume without a baseline costs, to compare with what it did.
    fn full_snapshot_bytes(&self, s: &crate::protocol::SnapshotMsg) -> usize {
        let Some((_, view)) = self.replica.latest() else {
            return 0;
        };
        let body = crate::snapshot::encode(&crate::snapshot::View::default(), 0, view);
        let names = view
            .entities()
            .iter()
            .filter_map(|(id, _)| {
                let name = self.replica.name(id.0)?;
                Some(crate::protocol::PlayerName {
                    id: id.0,
                    name: name.to_owned(),
                })
            })
            .collect();
        let full = ServerMsg::Snapshot(crate::protocol::SnapshotMsg {
            baseline_age: 0,
            names,
            body,
            ..s.clone()
        });
        codec::encode_server(&full).len()
    }

    /// Returns how far the predicted present moved, in position quanta.
    fn reconcile(&mut self) -> (i32, i32) {
        let (Some(id), Some(p)) = (self.player_id(), self.predictor.as_mut()) else {
            return (0, 0);
        };
        let Some((_, view)) = self.replica.latest() else {
            return (0, 0);
        };
        view.get(id)
            .map_or((0, 0), |auth| p.reconcile(*auth, self.last_input_seq))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::fixtures;
    use crate::protocol::SnapshotMsg;
    use crate::snapshot::{EntityKind, EntityState, View};

    fn welcome() -> Welcome {
        fixtures::welcome(100)
    }

    /// The own player alone, in full.
    fn full(tick: u32, x: i32) -> SnapshotMsg {
        let me = EntityState {
            kind: EntityKind::Player,
            x,
            y: 10_000,
            health: 100,
            ..EntityState::default()
        };
        fixtures::snapshot(tick, None, &View::from_sorted(vec![(EntityId(1), me)]))
    }

    fn frame(msg: ServerMsg) -> Vec<u8> {
        codec::encode_server(&msg)
    }

    /// A snapshot that fails its checksum is a desync: counted, reported, never acknowledged,
    /// and the session goes on with the next good one.
    #[test]
    fn a_desync_is_counted_and_never_acknowledged() {
        let (mut s, _) = ClientSession::new("ann", false);
        s.handle(&frame(ServerMsg::Welcome(welcome())))
            .expect("welcome");
        let mut bad = full(101, 10_000);
        bad.checksum ^= 1;
        match s.handle(&frame(ServerMsg::Snapshot(bad))) {
            Err(SessionError::Desync(ReplicaError::Checksum { tick, .. })) => {
                assert_eq!(tick, Tick(101));
            }
            other => panic!("a desync: {other:?}"),
        }
        assert_eq!(s.stats.desyncs, 1);
        assert_eq!(s.take_ack(), None, "nothing to acknowledge");
        // The next input acknowledges nothing either.
        let Some(ClientMsg::Input(i)) = s.input(0.0, 0.0, 0.0, false) else {
            panic!("an input")
        };
        assert_eq!(i.buttons & BUTTON_ACK, 0);

        let event = s
            .handle(&frame(ServerMsg::Snapshot(full(102, 10_000))))
            .expect("a good snapshot");
        assert!(matches!(
            event,
            SessionEvent::Snapshot {
                tick: Tick(102),
                ..
            }
        ));
        let Some(ClientMsg::Input(i)) = s.input(0.0, 0.0, 0.0, false) else {
            panic!("an input")
        };
        assert_eq!(i.buttons & BUTTON_ACK, BUTTON_ACK, "the verified one is");
        assert_eq!(i.tick, 102);
        assert_eq!((s.stats.snapshots, s.stats.desyncs), (1, 1));
    }

    /// A datagram's inputs: the new one and the three before it no snapshot acknowledged.
    #[test]
    fn a_datagram_carries_the_newest_unacknowledged_inputs_oldest_first() {
        let (mut s, _) = ClientSession::new("ann", false);
        s.handle(&frame(ServerMsg::Welcome(welcome())))
            .expect("welcome");
        let seqs = |msg: ClientMsg| match msg {
            ClientMsg::Inputs(inputs) => inputs.iter().map(|i| i.seq).collect::<Vec<_>>(),
            other => panic!("Inputs, not {other:?}"),
        };
        let first = s.input(1.0, 0.0, 0.0, false).expect("an input");
        assert_eq!(seqs(s.with_recent_inputs(first)), [1]);
        for _ in 0..5 {
            let _ = s.input(1.0, 0.0, 0.0, false);
        }
        let seventh = s.input(1.0, 0.0, 0.0, false).expect("an input");
        assert_eq!(seqs(s.with_recent_inputs(seventh)), [4, 5, 6, 7]);
        // Once a snapshot acknowledges input 6, only 7 and the next are left to repeat.
        let mut acked = full(101, 10_000);
        acked.last_input_seq = 6;
        s.handle(&frame(ServerMsg::Snapshot(acked)))
            .expect("a snapshot");
        let eighth = s.input(1.0, 0.0, 0.0, false).expect("an input");
        assert_eq!(seqs(s.with_recent_inputs(eighth)), [7, 8]);
        let ack = ClientMsg::Ack { tick: Tick(101) };
        assert_eq!(s.with_recent_inputs(ack.clone()), ack, "an ack goes alone");
    }

    /// Messages out of order are protocol errors, not silently taken.
    #[test]
    fn a_snapshot_before_welcome_and_a_second_welcome_are_errors() {
        let (mut s, _) = ClientSession::new("ann", false);
        assert!(matches!(
            s.handle(&frame(ServerMsg::Snapshot(full(1, 0)))),
            Err(SessionError::BeforeWelcome(_))
        ));
        s.handle(&frame(ServerMsg::Welcome(welcome())))
            .expect("welcome");
        assert!(matches!(
            s.handle(&frame(ServerMsg::Welcome(welcome()))),
            Err(SessionError::SecondWelcome)
        ));
        assert!(matches!(
            s.handle(&[0xff, 0x00]),
            Err(SessionError::Decode(_))
        ));
    }
}
