//! Recordings on disk (`--record DIR`): one file per room, written off the room threads, and
//! read back to verify a match re-simulates bit for bit (`snapwire-server replay FILE
//! --verify`). The room core only lists what entered it ([`crate::room::record`]); this is
//! the I/O around it.
//!
//! A file is the 8 bytes `snapwrec`, then blocks: a `u32` little-endian length, then that many
//! bytes of zstd holding one bincode [`Block`] (format 1: LZ4). The first block is the
//! [`Header`]; each later one a second of [`TickRecord`]s, [`packed`]. A file cut short (a crash)
//! still reads up to its last whole block. PROTOCOL.md has the layout.
//!
//! Every format this server ever wrote stays readable: [`format1`] reads the first one into
//! today's types.
//!
//! Queue policy: rooms hand blocks to one writer thread through a bounded queue
//! ([`QUEUE`] blocks); a room that finds it full stops recording (with a warning) rather than
//! wait: the tick never waits on a disk.

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;

use serde::{Deserialize, Serialize};
use snapwire_shared::codec;
use snapwire_shared::map::MapDef;
use thiserror::Error;
use tracing::{info, warn};

use crate::room::record::{Checksum, Keyframe, TickRecord};
use crate::room::{RoomSettings, SceneError};

mod format1;
pub mod listing;
pub mod packed;

/// The file's first bytes.
pub const MAGIC: &[u8; 8] = b"snapwrec";

/// Bumped on every change to [`Header`], [`Block`] or [`TickRecord`]; a reader refuses
/// versions it does not know.
pub const FORMAT_VERSION: u32 = 2;

/// Blocks waiting for the writer, from all rooms.
const QUEUE: usize = 256;

/// Ticks per block: a second at 60 Hz.
pub const TICKS_PER_BLOCK: usize = 60;

/// What a recording is of: enough to set the same room up again.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Header {
    pub format: u32,
    pub protocol: u32,
    /// `Game::NAME`.
    pub game: String,
    pub kind: String,
    pub room: String,
    pub tick_rate: u16,
    pub map: MapDef,
    /// The room's scene (`Scene`'s text form: `empty`, `drift:N`).
    pub scene: String,
    /// When the room opened, in Unix milliseconds.
    pub started_unix_ms: u64,
    /// The room's bound on lag compensation (format 2 on).
    pub max_rewind_ms: u32,
}

/// A recording read back: today's types whatever format the file had.
#[derive(Debug)]
pub struct Recording {
    pub header: Header,
    pub ticks: Vec<TickRecord>,
    /// Where a viewer may start without re-simulating from the first tick (format 2 on).
    pub keyframes: Vec<Keyframe>,
    /// How its checksums were made.
    pub checksum: Checksum,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Block {
    Header(Header),
    /// About a second of ticks, [`packed`].
    Ticks(#[serde(with = "serde_bytes")] Vec<u8>),
    /// The room's state after the last tick written before it ([`KEYFRAME_SECONDS`]).
    Keyframe(Keyframe),
}

/// A keyframe is written every this many seconds of a match (for a game that keeps them).
pub const KEYFRAME_SECONDS: u32 = 5;

#[derive(Debug, Error)]
pub enum RecordingError {
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("not a snapwire recording (no `snapwrec` at the start)")]
    NotARecording,
    #[error("recording format {0}; this server reads 1 to {FORMAT_VERSION}")]
    Format(u32),
    #[error("block {0}: {1}")]
    Block(usize, BlockError),
    #[error("the recording has no header")]
    NoHeader,
}

/// What is wrong with one block of a recording.
#[derive(Debug, Error)]
pub enum BlockError {
    #[error("zstd: {0}")]
    Zstd(std::io::Error),
    #[error("LZ4: {0}")]
    Lz4(lz4_flex::block::DecompressError),
    #[error("over {} bytes once decompressed", codec::MAX_VALUE_BYTES)]
    TooLarge,
    #[error("claims {0} bytes")]
    ClaimsTooMuch(usize),
    #[error(transparent)]
    Decode(#[from] codec::DecodeError),
    #[error("a second header")]
    SecondHeader,
    #[error("packed ticks: {0}")]
    Packed(#[from] packed::PackedError),
}

enum Job {
    Open(String, Box<Header>),
    Write(String, Block),
    Close(String),
    /// The server is stopping: flush every file and end.
    Finish,
}

/// The writer thread's door: rooms send their blocks here. Cheap to clone.
#[derive(Debug, Clone)]
pub struct RecordWriter {
    jobs: SyncSender<Job>,
    thread: Arc<Mutex<Option<JoinHandle<()>>>>,
}

impl std::fmt::Debug for Job {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Job::Open(room, _) => write!(f, "Open({room})"),
            Job::Write(room, _) => write!(f, "Write({room})"),
            Job::Close(room) => write!(f, "Close({room})"),
            Job::Finish => write!(f, "Finish"),
        }
    }
}

impl RecordWriter {
    /// Starts the writer thread, which writes `DIR/ROOM-UNIXMS.snapwrec` per room.
    pub fn start(dir: PathBuf) -> std::io::Result<RecordWriter> {
        std::fs::create_dir_all(&dir)?;
        let (jobs, rx) = sync_channel(QUEUE);
        let thread = std::thread::Builder::new()
            .name("snapwire-recorder".into())
            .spawn(move || write_loop(&dir, &rx))?;
        Ok(RecordWriter {
            jobs,
            thread: Arc::new(Mutex::new(Some(thread))),
        })
    }

    /// Writes out what is queued and stops the thread (at shutdown, after the rooms stopped).
    pub fn finish(&self) {
        let _ = self.jobs.send(Job::Finish);
        let thread = self
            .thread
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(t) = thread {
            let _ = t.join();
        }
    }

    /// A recorder for one room; `None` when the queue is full already.
    pub fn open(&self, header: Header) -> Option<RoomRecorder> {
        let room = header.room.clone();
        self.jobs
            .try_send(Job::Open(room.clone(), Box::new(header)))
            .ok()?;
        Some(RoomRecorder {
            jobs: self.jobs.clone(),
            room,
            pending: Vec::new(),
            stopped: false,
        })
    }
}

/// One room's side: buffers a block's worth of ticks, then hands it over without waiting.
#[derive(Debug)]
pub struct RoomRecorder {
    jobs: SyncSender<Job>,
    room: String,
    pending: Vec<TickRecord>,
    stopped: bool,
}

impl RoomRecorder {
    /// Adds ticks; hands a block to the writer once a second's worth is here. False once the
    /// recording stopped (the queue was full: the disk is slower than the rooms).
    pub fn push(&mut self, ticks: Vec<TickRecord>) -> bool {
        if self.stopped {
            return false;
        }
        self.pending.extend(ticks);
        if self.pending.len() >= TICKS_PER_BLOCK {
            self.flush();
        }
        !self.stopped
    }

    /// Writes a keyframe after the ticks before it; false once the recording stopped.
    pub fn keyframe(&mut self, keyframe: Keyframe) -> bool {
        self.flush();
        if !self.stopped
            && let Err(e) = self
                .jobs
                .try_send(Job::Write(self.room.clone(), Block::Keyframe(keyframe)))
        {
            warn!(room = %self.room, "recording dropped: {e}");
            self.stopped = true;
        }
        !self.stopped
    }

    fn flush(&mut self) {
        if self.pending.is_empty() || self.stopped {
            return;
        }
        let block = Block::Ticks(packed::pack(&std::mem::take(&mut self.pending)));
        if let Err(e) = self.jobs.try_send(Job::Write(self.room.clone(), block)) {
            let why = match e {
                TrySendError::Full(_) => "the writer is behind",
                TrySendError::Disconnected(_) => "the writer stopped",
            };
            warn!(room = %self.room, why, "recording dropped");
            self.stopped = true;
        }
    }
}

impl Drop for RoomRecorder {
    /// The room closed: what is buffered goes, and the file is closed.
    fn drop(&mut self) {
        self.flush();
        if !self.stopped {
            let _ = self.jobs.try_send(Job::Close(self.room.clone()));
        }
    }
}

fn write_loop(dir: &Path, jobs: &Receiver<Job>) {
    let mut files: HashMap<String, BufWriter<File>> = HashMap::new();
    while let Ok(job) = jobs.recv() {
        let (room, result) = match job {
            Job::Open(room, header) => {
                let path = dir.join(format!("{room}-{}.snapwrec", header.started_unix_ms));
                let opened = File::create(&path).and_then(|f| {
                    let mut w = BufWriter::new(f);
                    w.write_all(MAGIC)?;
                    write_block(&mut w, &Block::Header(*header))?;
                    Ok(w)
                });
                match opened {
                    Ok(w) => {
                        info!(path = %path.display(), "recording");
                        files.insert(room.clone(), w);
                        (room, Ok(()))
                    }
                    Err(e) => (room, Err(e)),
                }
            }
            Job::Write(room, block) => {
                let written = match files.get_mut(&room) {
                    Some(w) => write_block(w, &block).and_then(|()| w.flush()),
                    None => Ok(()),
                };
                (room, written)
            }
            Job::Close(room) => {
                let closed = files.remove(&room).map_or(Ok(()), |mut w| w.flush());
                (room, closed)
            }
            Job::Finish => break,
        };
        if let Err(e) = result {
            warn!(%room, "recording failed: {e}");
            files.remove(&room);
        }
    }
    for w in files.values_mut() {
        let _ = w.flush();
    }
}

/// Compression level: 9 costs the writer thread about a millisecond per second of a 16-player
/// room and packs inputs a quarter smaller than LZ4 did (entropy coding).
const ZSTD_LEVEL: i32 = 9;

/// The first bytes of a zstd frame (its magic number, little-endian). A format-1 block starts
/// with LZ4's size prefix instead, which would have to claim about 4 GiB to look like this.
const ZSTD_MAGIC: [u8; 4] = [0x28, 0xb5, 0x2f, 0xfd];

fn write_block(w: &mut impl Write, block: &Block) -> std::io::Result<()> {
    let packed = zstd::bulk::compress(&codec::encode_value(block), ZSTD_LEVEL)?;
    let len = u32::try_from(packed.len())
        .map_err(|_| std::io::Error::other("a recording block over 4 GiB"))?;
    w.write_all(&len.to_le_bytes())?;
    w.write_all(&packed)
}

/// Reads a recording, of any format this server ever wrote: its header and every tick of its
/// whole blocks.
pub fn read(path: &Path) -> Result<Recording, RecordingError> {
    let mut bytes = Vec::new();
    File::open(path)?.read_to_end(&mut bytes)?;
    let rest = bytes
        .strip_prefix(MAGIC.as_slice())
        .ok_or(RecordingError::NotARecording)?;
    let blocks = unpack_blocks(rest)?;
    let first = blocks.first().ok_or(RecordingError::NoHeader)?;
    // Every format begins with the header's variant index, then its format number.
    let (variant, format) = codec::decode_prefix::<(u32, u32)>(first)
        .map_err(|e| RecordingError::Block(0, e.into()))?;
    if variant != 0 {
        return Err(RecordingError::NoHeader);
    }
    match format {
        1 => format1::read(&blocks),
        FORMAT_VERSION => read_current(&blocks),
        other => Err(RecordingError::Format(other)),
    }
}

fn read_current(blocks: &[Vec<u8>]) -> Result<Recording, RecordingError> {
    let mut header = None;
    let mut ticks = Vec::new();
    let mut keyframes = Vec::new();
    for (n, raw) in blocks.iter().enumerate() {
        match codec::decode_value::<Block>(raw).map_err(|e| RecordingError::Block(n, e.into()))? {
            Block::Header(h) if n == 0 => header = Some(h),
            Block::Header(_) => return Err(RecordingError::Block(n, BlockError::SecondHeader)),
            Block::Ticks(t) => {
                ticks.extend(packed::unpack(&t).map_err(|e| RecordingError::Block(n, e.into()))?);
            }
            Block::Keyframe(k) => keyframes.push(k),
        }
    }
    Ok(Recording {
        header: header.ok_or(RecordingError::NoHeader)?,
        ticks,
        keyframes,
        checksum: Checksum::Current,
    })
}

/// One block's bytes: zstd (format 2 on) or LZ4 with its size prepended (format 1), never
/// more than [`codec::MAX_VALUE_BYTES`].
fn decompress(packed: &[u8]) -> Result<Vec<u8>, BlockError> {
    if packed.starts_with(&ZSTD_MAGIC) {
        let mut out = Vec::new();
        zstd::stream::read::Decoder::new(packed)
            .map_err(BlockError::Zstd)?
            .take(codec::MAX_VALUE_BYTES as u64 + 1)
            .read_to_end(&mut out)
            .map_err(BlockError::Zstd)?;
        if out.len() > codec::MAX_VALUE_BYTES {
            return Err(BlockError::TooLarge);
        }
        return Ok(out);
    }
    // The size it claims, checked before anything is allocated for it.
    let claimed = packed
        .get(..4)
        .map_or(0, |b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize);
    if claimed > codec::MAX_VALUE_BYTES {
        return Err(BlockError::ClaimsTooMuch(claimed));
    }
    lz4_flex::decompress_size_prepended(packed).map_err(BlockError::Lz4)
}

/// The decompressed bytes of each whole block.
fn unpack_blocks(mut blocks: &[u8]) -> Result<Vec<Vec<u8>>, RecordingError> {
    let mut out = Vec::new();
    while blocks.len() >= 4 {
        let n = out.len();
        let len = u32::from_le_bytes([blocks[0], blocks[1], blocks[2], blocks[3]]) as usize;
        let Some(packed) = blocks.get(4..4 + len) else {
            break; // Cut short mid-block: keep what came before.
        };
        blocks = &blocks[4 + len..];
        out.push(decompress(packed).map_err(|e| RecordingError::Block(n, e))?);
    }
    Ok(out)
}

/// The settings of the room a recording was made in: how to set one up the same way (what the
/// header does not say is the defaults').
pub fn settings_of(header: &Header) -> Result<RoomSettings, SceneError> {
    Ok(RoomSettings {
        map: header.map.clone(),
        max_rewind_ms: header.max_rewind_ms,
        scene: header.scene.parse()?,
        ..RoomSettings::new(header.tick_rate)
    })
}
