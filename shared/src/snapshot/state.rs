//! What a client sees: each entity's replicated fields, and a view (a set of entities by id).

use crate::sim::EntityId;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum EntityKind {
    #[default]
    Player = 0,
    Projectile = 1,
    Drifter = 2,
}

impl EntityKind {
    pub fn from_bits(bits: u32) -> Option<EntityKind> {
        match bits {
            0 => Some(EntityKind::Player),
            1 => Some(EntityKind::Projectile),
            2 => Some(EntityKind::Drifter),
            _ => None,
        }
    }
}

/// Replicated fields of one entity, all already quantized by the rules. Fields an entity kind
/// does not use stay 0, which the codec sends for free.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct EntityState {
    pub kind: EntityKind,
    /// Position quanta.
    pub x: i32,
    pub y: i32,
    /// Position quanta per tick.
    pub vx: i32,
    pub vy: i32,
    pub angle: u16,
    pub health: u8,
    pub life: u8,
    pub score: i32,
    /// Owning player's id, for projectiles.
    pub owner: u32,
}

/// Entities sorted by id, unique: a snapshot as one client sees it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct View {
    entities: Vec<(EntityId, EntityState)>,
}

impl View {
    /// Builds a view from entities in strictly increasing id order.
    ///
    /// # Panics
    /// In debug builds, if ids are not strictly increasing (a server-side bug, never peer data).
    pub fn from_sorted(entities: Vec<(EntityId, EntityState)>) -> View {
        debug_assert!(entities.windows(2).all(|w| w[0].0 < w[1].0));
        View { entities }
    }

    pub fn entities(&self) -> &[(EntityId, EntityState)] {
        &self.entities
    }

    pub fn get(&self, id: EntityId) -> Option<&EntityState> {
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

impl EntityState {
    /// Number of replicated fields after `kind`.
    pub const FIELDS: usize = 9;

    /// The fields in codec order, as 32-bit words.
    pub fn fields(&self) -> [u32; EntityState::FIELDS] {
        [
            self.x as u32,
            self.y as u32,
            self.vx as u32,
            self.vy as u32,
            u32::from(self.angle),
            u32::from(self.health),
            u32::from(self.life),
            self.score as u32,
            self.owner,
        ]
    }

    /// Inverse of [`EntityState::fields`]; narrow fields keep their low bits, which is exact for
    /// words produced by the codec's width-aware arithmetic.
    pub fn from_fields(kind: EntityKind, f: [u32; EntityState::FIELDS]) -> EntityState {
        EntityState {
            kind,
            x: f[0] as i32,
            y: f[1] as i32,
            vx: f[2] as i32,
            vy: f[3] as i32,
            angle: f[4] as u16,
            health: f[5] as u8,
            life: f[6] as u8,
            score: f[7] as i32,
            owner: f[8],
        }
    }
}
