//! Every open room by id, and matchmaking: which room a `Hello` lands in.
//!
//! Connection tasks read the directory (a `DashMap`, so they never wait on each other or on the
//! scheduler) while room drivers add and remove entries. A place in a room is a [`Seat`],
//! reserved with a compare-and-swap on the room's seat count before the join is queued, so a
//! room never takes more clients than its cap however many connections race for the last
//! place; dropping the seat (the client left, or its join never arrived) gives the place back.

use std::cmp::Reverse;
use std::collections::BTreeSet;
use std::hash::{BuildHasher, Hasher, RandomState};
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, AtomicU64, AtomicUsize, Ordering};

use snapwire_shared::protocol::RoomRequest;
use snapwire_shared::{CloseCode, Tick};

use crate::config::RoomKind;
use crate::driver::admission::{RoomHandle, Seat, join_queue, no_such_room};
use crate::driver::directory::Directory;
use crate::driver::games::{Games, UnknownGame};
use crate::driver::hosted::MakeDriver;
use crate::driver::room_driver::{DriverLimits, DriverParts};
use crate::driver::scheduler::Scheduler;
use crate::driver::seats::Seats;
use crate::recording::{FORMAT_VERSION, Header, RecordWriter};
use crate::room::{CloseReason, RoomSettings};
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
    /// The games the kinds name, and that recordings are played back with.
    games: Games,
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
    /// Fails when a kind names a game that is not among `games`.
    pub fn new(
        kinds: Vec<RoomKind>,
        games: Games,
        max_rooms: usize,
        limits: DriverLimits,
        scheduler: Scheduler,
        stats: Arc<ServerStats>,
    ) -> Result<Registry, UnknownGame> {
        for kind in &kinds {
            games.get(&kind.game)?;
        }
        Ok(Registry {
            directory: Arc::new(Directory::default()),
            kinds,
            games,
            max_rooms,
            scheduler,
            stats,
            ids: RandomState::new(),
            next_id: AtomicU64::new(1),
            limits,
            recordings: None,
            replays: None,
            listing: Default::default(),
        })
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
                    let mut open: Vec<Arc<RoomHandle>> = self.directory.all();
                    open.retain(|r| r.kind == kind.name && !r.private && r.seats() < r.cap);
                    // The fullest first, so matches fill up; the oldest among equals.
                    open.sort_by_key(|r| (Reverse(r.seats()), r.tick.load(Ordering::Relaxed)));
                    if let Some(seat) = open.iter().find_map(|r| r.reserve().ok()) {
                        return Ok(seat);
                    }
                    if let Ok(seat) = self.create(&kind, false, false)?.reserve() {
                        return Ok(seat);
                    }
                }
                Err(CloseReason::new(
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
            .all()
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
        for room in self.directory.all() {
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
            CloseReason::new(
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
        let game = self.games.get(&kind.game).map_err(|e| {
            // `new` checked every kind's game.
            CloseReason::new(CloseCode::InternalError, e.to_string())
        })?;
        let (game, settings) = (game.clone(), kind.settings.clone());
        let opening = Opening {
            kind: kind.name.clone(),
            game: game.game(),
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
        let missing =
            |why: String| CloseReason::new(CloseCode::NoSuchRoom, format!("replay {id:?}: {why}"));
        let dir = self
            .replays
            .as_ref()
            .ok_or_else(|| missing("this server keeps no recordings (--record)".into()))?;
        // The connection checked it too; this one opens a file by it.
        if !snapwire_shared::protocol::is_replay_id(id) {
            return Err(missing("not a replay id".into()));
        }
        let recording = crate::recording::read(&dir.join(format!("{id}.snapwrec")))
            .map_err(|e| missing(e.to_string()))?;
        let game = self
            .games
            .get(&recording.header.game)
            .map_err(|e| missing(e.to_string()))?;
        let settings =
            crate::recording::settings_of(&recording.header).map_err(|e| missing(e.to_string()))?;
        let rate =
            (u32::from(settings.tick_rate) * u32::from(speed_percent) / 100).clamp(1, 1000) as u16;
        let make = game
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
            game: game.game(),
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
            CloseReason::new(
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
            CloseReason::new(
                CloseCode::RoomLimit,
                format!(
                    "the server hosts its limit of {} rooms; try again later",
                    self.max_rooms
                ),
            )
        };
        if !self.directory.count_opening(self.max_rooms) {
            return Err(full());
        }
        let (joins, joins_rx) = join_queue();
        let handle = loop {
            let handle = Arc::new(RoomHandle {
                id: self.new_id(),
                kind: o.kind.clone(),
                game: o.game,
                map: o.map.clone(),
                tick_rate: o.tick_rate,
                private: o.private,
                persistent: o.persistent,
                cap: o.cap,
                seats: Seats::default(),
                joins: joins.clone(),
                clients: AtomicUsize::new(0),
                tick: AtomicU32::new(0),
                tick_p99_us: AtomicU64::new(0),
                members: std::sync::Mutex::default(),
            });
            if self.directory.insert(&handle) {
                break handle;
            }
        };
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
