//! The open rooms by id and where each resume token leads: shared by the registry (which
//! adds rooms), the room drivers (which remove their own when they close, and issue and forget
//! tokens) and the connections (which look rooms up and spend tokens).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use dashmap::DashMap;
use snapwire_shared::protocol::ResumeToken;

use crate::driver::admission::{ClientId, RoomHandle};

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

    /// Counts a room being opened against `max`; false (and nothing counted) when that many
    /// are open or being opened already.
    pub fn count_opening(&self, max: usize) -> bool {
        let mut open = self.open.load(Ordering::Acquire);
        loop {
            if open >= max {
                return false;
            }
            match self.open.compare_exchange_weak(
                open,
                open + 1,
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => return true,
                Err(now) => open = now,
            }
        }
    }

    /// Lists a room counted by [`Self::count_opening`]; false (and nothing listed) when its
    /// id is taken.
    pub fn insert(&self, room: &Arc<RoomHandle>) -> bool {
        match self.rooms.entry(room.id.clone()) {
            dashmap::Entry::Occupied(_) => false,
            dashmap::Entry::Vacant(v) => {
                v.insert(Arc::clone(room));
                true
            }
        }
    }

    pub fn contains(&self, id: &str) -> bool {
        self.rooms.contains_key(id)
    }

    /// Every open room, at one moment (each room as it was when passed).
    pub fn all(&self) -> Vec<Arc<RoomHandle>> {
        self.rooms.iter().map(|r| Arc::clone(&r)).collect()
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
