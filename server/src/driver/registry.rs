//! Every open room by id, and matchmaking: which room a `Hello` lands in.
//!
//! Connection tasks read the directory (a `DashMap`, so they never wait on each other or on the
//! scheduler) while room drivers add and remove entries. A place in a room is a [`Seat`],
//! reserved with a compare-and-swap on the room's seat count before the join is queued, so a
//! room never takes more clients than its cap however many connections race for the last
//! place; dropping the seat (the client left, or its join never arrived) gives the place back.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet};
use std::hash::{BuildHasher, Hasher, RandomState};
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, AtomicU64, AtomicUsize, Ordering};

use dashmap::DashMap;
use snapwire_shared::protocol::{ResumeToken, RoomRequest};
use snapwire_shared::{CloseCode, Tick};
use tokio::sync::mpsc;

use crate::config::RoomKind;
use crate::driver::admission::{Join, join_queue};
use crate::driver::hosted::MakeDriver;
use crate::driver::room_driver::{DriverLimits, DriverParts};
use crate::driver::scheduler::Scheduler;
use crate::driver::seats::{Refused, Seats};
use crate::recording::{FORMAT_VERSION, Header, RecordWriter};
use crate::room::{ClientId, CloseReason, RoomSettings};
use crate::stats::ServerStats;

/// The kind a replay's room is listed under (never publicly: each viewer has its own).
pub const REPLAY_KIND: &str = "replay";

/// What a new room is, before it has an id.
struct Opening<'a> {
    kind: String,
    game: &'static str,
    map: String,
    tick_rate: u16,
    private: bool,
    persistent: bool,
    cap: usize,
    /// Recorded with these settings (`--record`); `None` never (a replay's room).
    record: Option<&'a RoomSettings>,
    /// How long it stays open empty.
    grace: std::time::Duration,
}

/// Join-or-create tries this many times when racing connections fill each room it picks.
const MATCH_ATTEMPTS: usize = 8;

/// The open rooms, shared by the registry (which adds) and the room drivers (which remove
/// their own when they close).
#[derive(Debug, Default)]
pub struct Directory {
    rooms: DashMap<String, Arc<RoomHandle>>,
    /// Rooms open or being opened: checked against the cap before a room is made.
    open: AtomicUsize,
    /// Where each resume token leads. Room drivers issue and forget tokens; connections spend
    /// them. A spent token stays (as [`ResumeEntry::Spent`]) while its player is in the room,
    /// so a second use is told apart from a token that expired.
    resumes: DashMap<ResumeToken, ResumeEntry>,
}

#[derive(Debug)]
enum ResumeEntry {
    Live {
        room: Arc<RoomHandle>,
        member: ClientId,
    },
    Spent,
}

/// What a resume token turned out to be.
#[derive(Debug)]
pub enum Spend {
    /// Valid: it is spent now, and leads to this member of this room.
    Live {
        room: Arc<RoomHandle>,
        member: ClientId,
    },
    /// Already used while its player is still in the room: refused.
    Spent,
    /// Never issued, or its player left (the grace period ended): a new player joins.
    Unknown,
}

impl Directory {
    /// A new token for `member` of `room`: 128 bits from the operating system's random source.
    pub fn issue_token(&self, room: &Arc<RoomHandle>, member: ClientId) -> ResumeToken {
        loop {
            let mut bytes = [0u8; 16];
            // The OS source failing is not something a game server can work around; a
            // token of zeros is never issued, so resume is then simply off for this player.
            if getrandom::fill(&mut bytes).is_err() {
                return ResumeToken([0; 16]);
            }
            let token = ResumeToken(bytes);
            if let dashmap::Entry::Vacant(v) = self.resumes.entry(token) {
                v.insert(ResumeEntry::Live {
                    room: Arc::clone(room),
                    member,
                });
                return token;
            }
        }
    }

    /// Spends `token`, atomically: of two connections racing with the same token, one gets the
    /// player and the other [`Spend::Spent`].
    pub fn spend(&self, token: ResumeToken) -> Spend {
        if token.0 == [0; 16] {
            return Spend::Unknown;
        }
        let Some(mut entry) = self.resumes.get_mut(&token) else {
            return Spend::Unknown;
        };
        match std::mem::replace(&mut *entry, ResumeEntry::Spent) {
            ResumeEntry::Live { room, member } => Spend::Live { room, member },
            ResumeEntry::Spent => Spend::Spent,
        }
    }

    /// The token leads nowhere any more (its player left).
    pub fn forget_token(&self, token: ResumeToken) {
        self.resumes.remove(&token);
    }

    /// Tokens known (live or spent): bounded by the players in rooms times a few.
    pub fn tokens(&self) -> usize {
        self.resumes.len()
    }

    /// A room closed: it leaves the directory and frees its place under the room cap.
    pub fn remove(&self, id: &str) {
        if self.rooms.remove(id).is_some() {
            self.open.fetch_sub(1, Ordering::AcqRel);
        }
    }

    pub fn get(&self, id: &str) -> Option<Arc<RoomHandle>> {
        self.rooms.get(id).map(|r| Arc::clone(&r))
    }

    pub fn len(&self) -> usize {
        self.rooms.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rooms.is_empty()
    }
}

/// What the rest of the process knows about one room. The room itself lives on a scheduler
/// thread; this is how connections reach it and `/rooms` describes it.
#[derive(Debug)]
pub struct RoomHandle {
    pub id: String,
    pub kind: String,
    /// The game its kind plays (`Game::NAME`).
    pub game: &'static str,
    pub map: String,
    pub tick_rate: u16,
    /// Not listed in `/rooms`; joined by id only.
    pub private: bool,
    /// Never closed for being empty (the room open from the start).
    pub persistent: bool,
    /// Clients at most (players and spectators).
    pub cap: usize,
    /// Seats reserved or taken, and whether the room has closed to new ones.
    seats: Seats,
    /// Where a connection hands its client to the room's driver.
    pub joins: mpsc::Sender<Join>,
    /// Published by the room's driver: clients in the room now, its tick, its tick p99 (us).
    pub clients: AtomicUsize,
    pub tick: AtomicU32,
    pub tick_p99_us: AtomicU64,
    /// Published by the room's driver on each join and leave: its members' names (away ones
    /// included), for an orchestrator's player list.
    pub members: std::sync::Mutex<BTreeMap<ClientId, String>>,
}

impl RoomHandle {
    /// Seats reserved or taken (0 once closed).
    pub fn seats(&self) -> usize {
        self.seats.count()
    }

    /// Reserves one seat, unless the room is full or closed.
    pub(crate) fn reserve(self: &Arc<Self>) -> Result<Seat, CloseReason> {
        match self.seats.reserve(self.cap) {
            Ok(()) => Ok(Seat {
                room: Arc::clone(self),
            }),
            Err(Refused::Closed) => Err(no_such_room(&self.id)),
            Err(Refused::Full) => Err((
                CloseCode::RoomFull,
                format!("room {} is full ({} clients)", self.id, self.cap),
            )),
        }
    }

    /// Closes the room to new seats if none is reserved or taken; true when it did.
    pub fn try_close(&self) -> bool {
        self.seats.try_close()
    }

    /// Closes the room to new seats whatever is reserved (a failed or stopping room).
    pub fn force_close(&self) {
        self.seats.force_close();
    }
}

impl RoomHandle {
    /// A handle for a room that no registry knows (tests that drive one room's driver).
    pub fn detached(id: &str, cap: usize, joins: mpsc::Sender<Join>) -> RoomHandle {
        RoomHandle {
            id: id.to_owned(),
            kind: "test".to_owned(),
            game: "arena",
            map: String::new(),
            tick_rate: 60,
            private: true,
            persistent: true,
            cap,
            seats: Seats::default(),
            joins,
            clients: AtomicUsize::new(0),
            tick: AtomicU32::new(0),
            tick_p99_us: AtomicU64::new(0),
            members: std::sync::Mutex::default(),
        }
    }
}

/// One reserved place in a room; given back when dropped.
#[derive(Debug)]
pub struct Seat {
    room: Arc<RoomHandle>,
}

impl Seat {
    pub fn room(&self) -> &Arc<RoomHandle> {
        &self.room
    }
}

impl Drop for Seat {
    fn drop(&mut self) {
        self.room.seats.release();
    }
}

/// One room as `/rooms` lists it.
#[derive(Debug, Clone, PartialEq)]
pub struct RoomInfo {
    pub id: String,
    pub kind: String,
    pub game: &'static str,
    pub map: String,
    pub clients: usize,
    pub cap: usize,
    pub tick_rate: u16,
    pub tick_p99_ms: f64,
}

/// The process's rooms and players, as [`Registry::roster`] counts them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Roster {
    pub rooms: usize,
    pub players: BTreeSet<String>,
}

#[derive(Debug)]
pub struct Registry {
    directory: Arc<Directory>,
    kinds: Vec<RoomKind>,
    max_rooms: usize,
    scheduler: Scheduler,
    stats: Arc<ServerStats>,
    /// Room ids: a per-process random key over a counter, so ids are short and hard to guess.
    ids: RandomState,
    next_id: AtomicU64,
    limits: DriverLimits,
    /// Every room is recorded when set (`--record`).
    recordings: Option<RecordWriter>,
    /// Where recordings are read from to be watched (`--record`'s directory).
    replays: Option<std::path::PathBuf>,
    /// What `/replays` read of them.
    listing: crate::recording::listing::Listing,
}

impl Registry {
    pub fn new(
        kinds: Vec<RoomKind>,
        max_rooms: usize,
        limits: DriverLimits,
        scheduler: Scheduler,
        stats: Arc<ServerStats>,
    ) -> Registry {
        Registry {
            directory: Arc::new(Directory::default()),
            kinds,
            max_rooms,
            scheduler,
            stats,
            ids: RandomState::new(),
            next_id: AtomicU64::new(1),
            limits,
            recordings: None,
            replays: None,
            listing: Default::default(),
        }
    }

    /// Records every room opened from now on through `writer`.
    pub fn record_to(mut self, writer: RecordWriter) -> Registry {
        self.recordings = Some(writer);
        self
    }

    /// Serves the recordings in `dir` to viewers (`RoomRequest::Replay`, `GET /replays`).
    pub fn replays_from(mut self, dir: std::path::PathBuf) -> Registry {
        self.replays = Some(dir);
        self
    }

    /// The directory recordings are watched from, if any.
    pub fn replay_dir(&self) -> Option<&std::path::Path> {
        self.replays.as_deref()
    }

    /// The recordings that can be watched, the newest first (empty without `--record`).
    /// Blocking: it reads files that changed since the last call.
    pub fn replays(&self) -> Vec<Arc<crate::recording::listing::Listed>> {
        self.replays
            .as_deref()
            .map_or_else(Vec::new, |dir| self.listing.list(dir))
    }

    /// The recordings' writer, if recording.
    pub fn recordings(&self) -> Option<&RecordWriter> {
        self.recordings.as_ref()
    }

    /// Opens the room of the default kind that stays open while the server runs: with no room
    /// options everyone joins it, as before rooms existed.
    pub fn open_default(&self) -> Result<Arc<RoomHandle>, CloseReason> {
        let kind = self.kinds[0].clone();
        self.create(&kind, false, true)
    }

    /// A seat in the room `request` names: the fullest public room of the kind with space (or
    /// a new one), the room with the id, or a new room.
    pub fn seat(&self, request: &RoomRequest) -> Result<Seat, CloseReason> {
        match request {
            RoomRequest::Join { id } => self
                .directory
                .get(id)
                .ok_or_else(|| no_such_room(id))?
                .reserve(),
            RoomRequest::Create { kind, private } => {
                let kind = self.kind(kind)?.clone();
                self.create(&kind, *private, false)?.reserve()
            }
            RoomRequest::Replay {
                id,
                from_tick,
                speed_percent,
            } => self.play(id, *from_tick, *speed_percent),
            RoomRequest::JoinOrCreate { kind } => {
                let kind = self.kind(kind)?.clone();
                for _ in 0..MATCH_ATTEMPTS {
                    let mut open: Vec<Arc<RoomHandle>> = self
                        .directory
                        .rooms
                        .iter()
                        .filter(|r| r.kind == kind.name && !r.private && r.seats() < r.cap)
                        .map(|r| Arc::clone(&r))
                        .collect();
                    // The fullest first, so matches fill up; the oldest among equals.
                    open.sort_by_key(|r| (Reverse(r.seats()), r.tick.load(Ordering::Relaxed)));
                    if let Some(seat) = open.iter().find_map(|r| r.reserve().ok()) {
                        return Ok(seat);
                    }
                    if let Ok(seat) = self.create(&kind, false, false)?.reserve() {
                        return Ok(seat);
                    }
                }
                Err((
                    CloseCode::RoomFull,
                    format!("every room of kind {} filled while joining", kind.name),
                ))
            }
        }
    }

    /// Public rooms, for `/rooms`: the fullest first.
    pub fn public_rooms(&self) -> Vec<RoomInfo> {
        let mut rooms: Vec<RoomInfo> = self
            .directory
            .rooms
            .iter()
            .filter(|r| !r.private)
            .map(|r| RoomInfo {
                id: r.id.clone(),
                kind: r.kind.clone(),
                game: r.game,
                map: r.map.clone(),
                clients: r.clients.load(Ordering::Relaxed),
                cap: r.cap,
                tick_rate: r.tick_rate,
                tick_p99_ms: r.tick_p99_us.load(Ordering::Relaxed) as f64 / 1000.0,
            })
            .collect();
        rooms.sort_by(|a, b| b.clients.cmp(&a.clients).then_with(|| a.id.cmp(&b.id)));
        rooms
    }

    /// Every open room (private and replay rooms included) and the distinct names of their
    /// members: what Agones' `rooms` counter and `players` list show.
    pub fn roster(&self) -> Roster {
        let mut roster = Roster::default();
        for room in self.directory.rooms.iter() {
            roster.rooms += 1;
            let members = room
                .members
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            roster.players.extend(members.values().cloned());
        }
        roster
    }

    pub fn directory(&self) -> &Arc<Directory> {
        &self.directory
    }

    pub fn scheduler(&self) -> &Scheduler {
        &self.scheduler
    }

    fn kind(&self, name: &str) -> Result<&RoomKind, CloseReason> {
        let name = if name.is_empty() {
            &self.kinds[0].name
        } else {
            name
        };
        self.kinds.iter().find(|k| k.name == name).ok_or_else(|| {
            (
                CloseCode::NoSuchRoom,
                format!("no room kind {name:?} on this server"),
            )
        })
    }

    fn create(
        &self,
        kind: &RoomKind,
        private: bool,
        persistent: bool,
    ) -> Result<Arc<RoomHandle>, CloseReason> {
        let (game, settings) = (kind.game.clone(), kind.settings.clone());
        let opening = Opening {
            kind: kind.name.clone(),
            game: kind.game.game(),
            map: kind.settings.map.name.clone(),
            tick_rate: kind.settings.tick_rate,
            private,
            persistent,
            cap: kind.max_clients,
            record: Some(&kind.settings),
            grace: self.limits.grace,
        };
        let make: MakeDriver = Box::new(move |parts| game.make(&settings, parts));
        self.open(opening, make, false).map(|(room, _)| room)
    }

    /// A room of its own for one viewer of recording `id` (a file in the recording
    /// directory), played from `from_tick` at `speed_percent`. Blocking: it reads the file
    /// and re-simulates up to `from_tick`.
    fn play(&self, id: &str, from_tick: u32, speed_percent: u16) -> Result<Seat, CloseReason> {
        let missing = |why: String| (CloseCode::NoSuchRoom, format!("replay {id:?}: {why}"));
        let dir = self
            .replays
            .as_ref()
            .ok_or_else(|| missing("this server keeps no recordings (--record)".into()))?;
        if id.is_empty()
            || !id
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        {
            return Err(missing("not a replay id".into()));
        }
        let recording = crate::recording::read(&dir.join(format!("{id}.snapwrec")))
            .map_err(|e| missing(e.to_string()))?;
        let kind = self
            .kinds
            .iter()
            .find(|k| k.game.game() == recording.header.game)
            .ok_or_else(|| {
                missing(format!(
                    "a game this server does not host ({})",
                    recording.header.game
                ))
            })?;
        let settings =
            crate::recording::settings_of(&recording.header).map_err(|e| missing(e.to_string()))?;
        let rate =
            (u32::from(settings.tick_rate) * u32::from(speed_percent) / 100).clamp(1, 1000) as u16;
        let make = kind
            .game
            .prepare_playback(
                &settings,
                recording.ticks,
                &recording.keyframes,
                recording.checksum,
                Tick(from_tick),
                rate,
            )
            .map_err(|e| missing(e.to_string()))?;
        let opening = Opening {
            kind: REPLAY_KIND.to_owned(),
            game: kind.game.game(),
            map: settings.map.name.clone(),
            tick_rate: settings.tick_rate,
            private: true,
            persistent: false,
            cap: 1,
            record: None,
            // Nobody else can join it: it closes as soon as its viewer leaves.
            grace: std::time::Duration::ZERO,
        };
        // The viewer's seat is taken before the room first ticks: an empty replay room
        // closes at once.
        let (_, seat) = self.open(opening, make, true)?;
        seat.ok_or_else(|| {
            (
                CloseCode::NoSuchRoom,
                "the replay closed at once".to_owned(),
            )
        })
    }

    /// Opens a room: counts it against the cap, names it, lists it and hands its driver to
    /// the scheduler.
    /// With `reserve`, a seat is reserved before the room is scheduled (and returned).
    fn open(
        &self,
        o: Opening<'_>,
        make: MakeDriver,
        reserve: bool,
    ) -> Result<(Arc<RoomHandle>, Option<Seat>), CloseReason> {
        let full = || {
            (
                CloseCode::RoomLimit,
                format!(
                    "the server hosts its limit of {} rooms; try again later",
                    self.max_rooms
                ),
            )
        };
        let mut open = self.directory.open.load(Ordering::Acquire);
        loop {
            if open >= self.max_rooms {
                return Err(full());
            }
            match self.directory.open.compare_exchange_weak(
                open,
                open + 1,
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => break,
                Err(now) => open = now,
            }
        }
        let id = loop {
            let id = self.new_id();
            if !self.directory.rooms.contains_key(&id) {
                break id;
            }
        };
        let (joins, joins_rx) = join_queue();
        let handle = Arc::new(RoomHandle {
            id: id.clone(),
            kind: o.kind.clone(),
            game: o.game,
            map: o.map,
            tick_rate: o.tick_rate,
            private: o.private,
            persistent: o.persistent,
            cap: o.cap,
            seats: Seats::default(),
            joins,
            clients: AtomicUsize::new(0),
            tick: AtomicU32::new(0),
            tick_p99_us: AtomicU64::new(0),
            members: std::sync::Mutex::default(),
        });
        self.directory.rooms.insert(id, Arc::clone(&handle));
        let recorder = o.record.and_then(|settings| {
            self.recordings.as_ref().and_then(|w| {
                w.open(Header {
                    format: FORMAT_VERSION,
                    protocol: snapwire_shared::PROTOCOL_VERSION,
                    game: o.game.to_owned(),
                    kind: o.kind.clone(),
                    room: handle.id.clone(),
                    tick_rate: settings.tick_rate,
                    map: settings.map.clone(),
                    scene: settings.scene.to_string(),
                    started_unix_ms: std::time::SystemTime::now()
                        .duration_since(std::time::UNIX_EPOCH)
                        .map_or(0, |d| d.as_millis() as u64),
                    max_rewind_ms: settings.max_rewind_ms,
                })
            })
        });
        let driver = make(DriverParts {
            handle: Arc::clone(&handle),
            joins: joins_rx,
            directory: Arc::clone(&self.directory),
            stats: Arc::clone(&self.stats),
            limits: DriverLimits {
                grace: o.grace,
                ..self.limits
            },
            recorder,
        });
        let seat = if reserve {
            Some(Arc::clone(&handle).reserve()?)
        } else {
            None
        };
        self.scheduler.add(driver);
        Ok((handle, seat))
    }

    /// Six characters of base 36.
    fn new_id(&self) -> String {
        let mut h = self.ids.build_hasher();
        h.write_u64(self.next_id.fetch_add(1, Ordering::Relaxed));
        let mut v = h.finish();
        let mut id = String::with_capacity(6);
        for _ in 0..6 {
            let d = (v % 36) as u32;
            v /= 36;
            id.push(char::from_digit(d, 36).unwrap_or('0'));
        }
        id
    }
}

fn no_such_room(id: &str) -> CloseReason {
    (
        CloseCode::NoSuchRoom,
        format!("no room {id:?} (it closed, or never existed)"),
    )
}
