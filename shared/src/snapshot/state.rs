//! What a client sees: each entity's replicated fields, and a view (a set of entities by id).

use crate::sim::EntityId;
use crate::snapshot::replicate::{Replicate, ReplicateKind};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, ReplicateKind)]
pub enum EntityKind {
    #[default]
    Player = 0,
    Projectile = 1,
    Drifter = 2,
    /// A kill: `owner` killed `target` here, a moment ago (kill feeds read it).
    Obituary = 3,
}

/// Replicated fields of one arena entity, all already quantized by the rules. Fields an entity
/// kind does not use stay 0, which the codec sends for free.
///
/// The attributes are the arena's wire layout (PROTOCOL.md, "Snapshot body"): motion changes
/// together and is dead-reckoned, aim changes alone, the rest rarely; the chunks fit each
/// field's usual residual.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Replicate)]
pub struct EntityState {
    #[replicate(kind)]
    pub kind: EntityKind,
    /// Position quanta.
    #[replicate(group = "motion", chunk = 5, velocity = "vx")]
    pub x: i32,
    #[replicate(group = "motion", chunk = 5, velocity = "vy")]
    pub y: i32,
    /// Position quanta per tick.
    #[replicate(group = "motion", chunk = 4)]
    pub vx: i32,
    #[replicate(group = "motion", chunk = 4)]
    pub vy: i32,
    #[replicate(chunk = 6)]
    pub angle: u16,
    #[replicate(group = "rare", chunk = 4)]
    pub health: u8,
    #[replicate(group = "rare", chunk = 2)]
    pub life: u8,
    #[replicate(group = "rare", chunk = 3)]
    pub score: i32,
    /// Owning player's id, for projectiles; the killer, for an obituary.
    #[replicate(group = "rare", chunk = 6)]
    pub owner: u32,
    /// Hits the player has landed, wrapping (a hit marker when it grows).
    #[replicate(group = "rare", chunk = 2)]
    pub hits: u8,
    /// The player killed, for an obituary.
    #[replicate(group = "rare", chunk = 6)]
    pub target: u32,
}

/// Entities sorted by id, unique: a snapshot as one client sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct View<T = EntityState> {
    entities: Vec<(EntityId, T)>,
}

impl<T> Default for View<T> {
    fn default() -> View<T> {
        View {
            entities: Vec::new(),
        }
    }
}

impl<T: Replicate> View<T> {
    /// Builds a view from entities in strictly increasing id order.
    ///
    /// # Panics
    /// In debug builds, if ids are not strictly increasing (a server-side bug, never peer data).
    pub fn from_sorted(entities: Vec<(EntityId, T)>) -> View<T> {
        debug_assert!(entities.windows(2).all(|w| w[0].0 < w[1].0));
        View { entities }
    }

    pub fn entities(&self) -> &[(EntityId, T)] {
        &self.entities
    }

    pub fn get(&self, id: EntityId) -> Option<&T> {
        self.entities
            .binary_search_by_key(&id, |e| e.0)
            .ok()
            .map(|i| &self.entities[i].1)
    }

    pub fn len(&self) -> usize {
        self.entities.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entities.is_empty()
    }
}
