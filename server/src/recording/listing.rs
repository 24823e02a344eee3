//! The recordings `/replays` lists: the newest files in the recording directory, each read
//! once while it does not change (a page on the join screen asks every few seconds, and a
//! finished match's file never changes again; the one being written is read again as it
//! grows).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::SystemTime;

use super::{Header, read};
use crate::room::record::Entry;

/// Recordings listed at most (the newest).
pub const LISTED: usize = 50;

/// One recording as `/replays` lists it.
#[derive(Debug)]
pub struct Listed {
    /// The file name without `.snapwrec`: what a viewer asks for.
    pub id: String,
    pub header: Header,
    /// The first recorded tick (the one its first step made) and how many follow.
    pub first_tick: u32,
    pub ticks: usize,
    /// Players that joined over the match.
    pub players: usize,
    pub bytes: u64,
}

/// A file's size and time of change, and what was read of it then.
type Seen = (u64, SystemTime, Arc<Listed>);

/// What was read of each file, by its size and time of change.
#[derive(Debug, Default)]
pub struct Listing {
    read: Mutex<HashMap<PathBuf, Seen>>,
}

impl Listing {
    /// The newest recordings in `dir` that read (a file still being written reads up to its
    /// last whole block). Blocking.
    pub fn list(&self, dir: &Path) -> Vec<Arc<Listed>> {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return Vec::new();
        };
        let mut files: Vec<(SystemTime, u64, PathBuf)> = entries
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "snapwrec"))
            .filter_map(|p| {
                let meta = std::fs::metadata(&p).ok()?;
                Some((meta.modified().ok()?, meta.len(), p))
            })
            .collect();
        files.sort_by_key(|f| std::cmp::Reverse(f.0));
        files.truncate(LISTED);
        let mut cache = self.read.lock().unwrap_or_else(PoisonError::into_inner);
        // Files no longer listed are forgotten: the cache holds at most `LISTED`.
        cache.retain(|path, _| files.iter().any(|f| &f.2 == path));
        files
            .into_iter()
            .filter_map(|(modified, bytes, path)| {
                if let Some((b, m, listed)) = cache.get(&path)
                    && (*b, *m) == (bytes, modified)
                {
                    return Some(Arc::clone(listed));
                }
                let listed = Arc::new(describe(&path, bytes)?);
                cache.insert(path, (bytes, modified, Arc::clone(&listed)));
                Some(listed)
            })
            .collect()
    }
}

fn describe(path: &Path, bytes: u64) -> Option<Listed> {
    let id = path.file_stem()?.to_str()?.to_owned();
    let r = read(path).ok()?;
    let players = r
        .ticks
        .iter()
        .flat_map(|t| &t.entries)
        .filter(|e| {
            matches!(
                e,
                Entry::Join {
                    spectate: false,
                    ..
                }
            )
        })
        .count();
    Some(Listed {
        id,
        first_tick: r.ticks.first().map_or(0, |t| t.tick.0),
        ticks: r.ticks.len(),
        players,
        bytes,
        header: r.header,
    })
}
