//! The authoritative world: a value that owns every entity and steps them. No I/O, no clock.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::game::Rewinds;
use crate::map::{MapDef, Point};
use crate::quantize::{POS_SCALE, angle_direction};
use crate::sim::input::{PlayerInput, ViewTime};
use crate::sim::movement::{self, Body};
use crate::sim::rail;
use crate::sim::rewind::Past;
use crate::sim::rules::{
    MAX_HEALTH, PLAYER_RADIUS, PROJECTILE_DAMAGE, PROJECTILE_RADIUS, RAIL_DAMAGE, Rules,
};
use crate::sim::spawn;
use crate::sim::wall_grid::WallGrid;
use crate::snapshot::{EntityKind, EntityState};
use crate::tick::Tick;

/// Entity ids are never reused within a world's lifetime (4 billion spawns).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
pub struct EntityId(pub u32);

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Player {
    pub name: String,
    pub body: Body,
    pub health: u8,
    /// Bumped on every death, so a client knows a jump in position was a respawn.
    pub life: u8,
    pub score: i32,
    /// Player steps until the next shot is allowed.
    pub cooldown: u16,
    /// Ticks until a dead player respawns.
    pub respawn_in: u16,
    /// Player steps until the rail may fire again.
    pub rail_cooldown: u16,
    /// Hits this player has landed, wrapping: a client shows a hit marker when it grows.
    pub hits: u8,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Projectile {
    pub owner: EntityId,
    pub x: i32,
    pub y: i32,
    pub vx: i32,
    pub vy: i32,
    pub ttl: u16,
    /// Extra flight steps still owed: a shot fired by a player who saw the world this many
    /// ticks late catches up on its first step (checking walls and hits on the way).
    pub catch_up: u16,
}

/// A kill, kept in the world for a moment where the victim fell so that clients that see the
/// place learn who killed whom (their kill feed).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Obituary {
    pub killer: EntityId,
    pub victim: EntityId,
    pub x: i32,
    pub y: i32,
    pub ttl: u16,
}

/// A scene entity that moves by a constant step per tick and wraps at the map edges.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Drifter {
    pub x: i32,
    pub y: i32,
    pub vx: i32,
    pub vy: i32,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum Entity {
    Player(Player),
    Projectile(Projectile),
    Drifter(Drifter),
    Obituary(Obituary),
}

#[derive(Debug, Clone, PartialEq)]
pub struct World {
    tick: Tick,
    rules: Rules,
    map: Arc<MapDef>,
    /// The map's walls by cell, for projectiles.
    walls: Arc<WallGrid>,
    entities: BTreeMap<EntityId, Entity>,
    next_id: u32,
    /// Obituaries take ids counting down from the top, apart from everything else: a kill
    /// feed changes no other entity's id (recordings made before it replay the same).
    next_obituary_id: u32,
    /// Players' positions over the last few ticks, for lag compensation.
    past: Past,
    rewinds: Rewinds,
}

impl World {
    pub fn new(map: Arc<MapDef>, rules: Rules, tick: Tick) -> World {
        World {
            tick,
            rules,
            walls: Arc::new(WallGrid::new(&map, PROJECTILE_RADIUS)),
            map,
            entities: BTreeMap::new(),
            next_id: 1,
            next_obituary_id: u32::MAX,
            past: Past::new(rules.max_rewind_ticks),
            rewinds: Rewinds::default(),
        }
    }

    /// What lag compensation has done since the world began.
    pub fn rewinds(&self) -> Rewinds {
        self.rewinds
    }

    /// Everything that changes as the world steps, as bytes ([`crate::game::Game::keyframe`]).
    pub fn keyframe(&self) -> Vec<u8> {
        crate::codec::encode_value(&KeyframeRef {
            tick: self.tick,
            entities: &self.entities,
            next_id: self.next_id,
            next_obituary_id: self.next_obituary_id,
            past: &self.past,
            rewinds: (self.rewinds.judged, self.rewinds.clamped),
        })
    }

    /// Puts back a [`World::keyframe`] into a world set up with the same map and rules.
    pub fn restore(&mut self, bytes: &[u8]) -> bool {
        let Ok(k) = crate::codec::decode_value::<Keyframe>(bytes) else {
            return false;
        };
        self.tick = k.tick;
        self.entities = k.entities;
        self.next_id = k.next_id;
        self.next_obituary_id = k.next_obituary_id;
        self.past = k.past;
        self.rewinds = Rewinds {
            judged: k.rewinds.0,
            clamped: k.rewinds.1,
        };
        true
    }

    pub fn tick(&self) -> Tick {
        self.tick
    }

    pub fn rules(&self) -> &Rules {
        &self.rules
    }

    pub fn map(&self) -> &Arc<MapDef> {
        &self.map
    }

    pub fn entities(&self) -> impl Iterator<Item = (EntityId, &Entity)> {
        self.entities.iter().map(|(id, e)| (*id, e))
    }

    pub fn len(&self) -> usize {
        self.entities.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entities.is_empty()
    }

    pub fn player(&self, id: EntityId) -> Option<&Player> {
        match self.entities.get(&id) {
            Some(Entity::Player(p)) => Some(p),
            _ => None,
        }
    }

    pub fn player_mut(&mut self, id: EntityId) -> Option<&mut Player> {
        match self.entities.get_mut(&id) {
            Some(Entity::Player(p)) => Some(p),
            _ => None,
        }
    }

    /// Adds a player at the spawn point farthest from the living players ([`spawn::choose`]).
    pub fn spawn_player(&mut self, name: String) -> EntityId {
        let id = self.allocate_id();
        let spawn = self.spawn_point(id, 0);
        let body = Body {
            x: spawn.x,
            y: spawn.y,
            ..Body::default()
        };
        let player = Player {
            name,
            body,
            health: MAX_HEALTH,
            life: 0,
            score: 0,
            cooldown: 0,
            respawn_in: 0,
            rail_cooldown: 0,
            hits: 0,
        };
        self.entities.insert(id, Entity::Player(player));
        id
    }

    pub fn remove(&mut self, id: EntityId) {
        self.entities.remove(&id);
    }

    /// Adds `n` drifters spread over the map, each moving (+0.1, -0.05) units per tick.
    pub fn add_drifters(&mut self, n: u32) {
        let (w, h) = (i64::from(self.map.width), i64::from(self.map.height));
        for i in 0..i64::from(n) {
            let id = self.allocate_id();
            // A low-discrepancy spread (golden-ratio steps) that is pure integer arithmetic.
            let x = (i * 618_034 % 1_000_000) * w / 1_000_000;
            let y = (i * 414_214 % 1_000_000) * h / 1_000_000;
            let drifter = Drifter {
                x: x as i32,
                y: y as i32,
                vx: POS_SCALE / 10,
                vy: -POS_SCALE / 20,
            };
            self.entities.insert(id, Entity::Drifter(drifter));
        }
    }

    /// One player step from one input: movement, aim and firing. Called once per input the
    /// server accepts, in sequence order; a dead player's inputs are consumed without effect.
    ///
    /// Shots are lag-compensated: the rail is judged against players where the input's
    /// [`ViewTime`] says the shooter saw them; a projectile starts as far along its flight as
    /// that moment is old. Both within [`Rules::max_rewind_ticks`].
    pub fn apply_input(&mut self, id: EntityId, input: &PlayerInput) {
        let (rules, map) = (self.rules, Arc::clone(&self.map));
        let Some(Entity::Player(player)) = self.entities.get_mut(&id) else {
            return;
        };
        if player.health == 0 {
            return;
        }
        movement::step(&mut player.body, input, &rules, &map);
        player.cooldown = player.cooldown.saturating_sub(1);
        player.rail_cooldown = player.rail_cooldown.saturating_sub(1);
        let fire = input.fire && player.cooldown == 0;
        let rail = input.alt_fire && player.rail_cooldown == 0;
        if fire {
            player.cooldown = rules.fire_cooldown;
        }
        if rail {
            player.rail_cooldown = rules.rail_cooldown;
        }
        let from = (player.body.x, player.body.y);
        if !fire && !rail {
            return;
        }
        let judged = Past::judge(input.view, self.tick, rules.max_rewind_ticks);
        self.rewinds.judged += u64::from(fire) + u64::from(rail);
        if judged.clamped {
            self.rewinds.clamped += u64::from(fire) + u64::from(rail);
        }
        let dir = angle_direction(input.aim);
        if fire {
            self.fire_projectile(id, from, dir, judged.rewind);
        }
        if rail {
            self.fire_rail(id, from, dir, judged.at);
        }
    }

    /// A projectile from the shooter's edge that will catch up `ahead` ticks of flight (the
    /// age of what the shooter saw) on its first step.
    fn fire_projectile(&mut self, owner: EntityId, from: (i32, i32), dir: (f64, f64), ahead: u16) {
        let rules = self.rules;
        let reach = f64::from(PLAYER_RADIUS + PROJECTILE_RADIUS);
        let p = Projectile {
            owner,
            x: from.0 + (dir.0 * reach).round() as i32,
            y: from.1 + (dir.1 * reach).round() as i32,
            vx: (dir.0 * rules.projectile_speed).round() as i32,
            vy: (dir.1 * rules.projectile_speed).round() as i32,
            ttl: rules.projectile_lifetime,
            catch_up: ahead,
        };
        let pid = self.allocate_id();
        self.entities.insert(pid, Entity::Projectile(p));
    }

    /// The rail: the nearest other player on the ray before the first wall, where it was at
    /// moment `at`, takes [`RAIL_DAMAGE`] now.
    fn fire_rail(&mut self, shooter: EntityId, from: (i32, i32), dir: (f64, f64), at: ViewTime) {
        let from = (f64::from(from.0), f64::from(from.1));
        let reach = rail::wall_distance(&self.map, from, dir, self.rules.rail_range);
        let entities = &self.entities;
        let targets = self.past.players_at(at).filter(|(tid, _, _)| {
            *tid != shooter && matches!(entities.get(tid), Some(Entity::Player(p)) if p.health > 0)
        });
        let hit = rail::first_target(from, dir, reach, f64::from(PLAYER_RADIUS), targets);
        if let Some((victim, _)) = hit {
            self.damage(victim, shooter, RAIL_DAMAGE);
        }
    }

    /// `amount` of damage to a living player from `shooter`'s shot: the shooter's hit count
    /// grows; a kill scores, starts the victim's respawn and leaves an obituary.
    fn damage(&mut self, victim: EntityId, shooter: EntityId, amount: u8) {
        let respawn_ticks = self.rules.respawn_ticks;
        let Some(Entity::Player(v)) = self.entities.get_mut(&victim) else {
            return;
        };
        if v.health == 0 {
            return;
        }
        v.health = v.health.saturating_sub(amount);
        let killed = v.health == 0;
        let at = (v.body.x, v.body.y);
        if killed {
            v.life = v.life.wrapping_add(1);
            v.respawn_in = respawn_ticks;
            v.body.vx = 0;
            v.body.vy = 0;
        }
        if let Some(Entity::Player(s)) = self.entities.get_mut(&shooter) {
            s.hits = s.hits.wrapping_add(1);
            if killed {
                s.score = s.score.saturating_add(1);
            }
        }
        if killed {
            let obituary = Obituary {
                killer: shooter,
                victim,
                x: at.0,
                y: at.1,
                ttl: self.rules.obituary_ticks,
            };
            let id = EntityId(self.next_obituary_id);
            self.next_obituary_id = self.next_obituary_id.wrapping_sub(1).max(1);
            self.entities.insert(id, Entity::Obituary(obituary));
        }
    }

    /// Advances everything that moves on the server's clock by one tick, in this order:
    /// projectiles (flight, walls, hits), obituaries, respawns, drifters; then remembers where
    /// the players are for lag compensation.
    pub fn step(&mut self) {
        self.step_projectiles();
        self.step_obituaries();
        self.step_respawns();
        self.step_drifters();
        self.tick = self.tick.next();
        let players = self.entities.iter().filter_map(|(id, e)| match e {
            Entity::Player(p) if p.health > 0 => Some((*id, p.body.x, p.body.y, p.life)),
            _ => None,
        });
        self.past.record(self.tick, players);
    }

    fn step_projectiles(&mut self) {
        let mut spent = Vec::new();
        let mut hits = Vec::new();
        // Hits are found against player positions before any damage of this tick is applied.
        let targets = Targets::of(&self.entities);
        for (id, e) in &mut self.entities {
            let Entity::Projectile(p) = e else { continue };
            // One step of flight, or more for a shot still catching up, each one checked.
            for _ in 0..=std::mem::take(&mut p.catch_up) {
                p.x = p.x.saturating_add(p.vx);
                p.y = p.y.saturating_add(p.vy);
                p.ttl = p.ttl.saturating_sub(1);
                let at = Point { x: p.x, y: p.y };
                if p.ttl == 0 || !self.map.contains(at) || self.walls.near_wall(&self.map, at) {
                    spent.push(*id);
                    break;
                }
                if let Some(tid) = targets.first_hit(p) {
                    hits.push((*id, p.owner, tid));
                    break;
                }
            }
        }
        for id in &spent {
            self.entities.remove(id);
        }
        for (pid, owner, target) in hits {
            self.entities.remove(&pid);
            self.damage(target, owner, PROJECTILE_DAMAGE);
        }
    }

    fn step_obituaries(&mut self) {
        self.entities.retain(|_, e| match e {
            Entity::Obituary(o) => {
                o.ttl = o.ttl.saturating_sub(1);
                o.ttl > 0
            }
            _ => true,
        });
    }

    fn step_respawns(&mut self) {
        let mut respawned = Vec::new();
        for (id, e) in &mut self.entities {
            let Entity::Player(p) = e else { continue };
            if p.health == 0 {
                p.respawn_in = p.respawn_in.saturating_sub(1);
                if p.respawn_in == 0 {
                    respawned.push((*id, p.life));
                }
            }
        }
        for (id, life) in respawned {
            let spawn = self.spawn_point(id, life);
            if let Some(Entity::Player(p)) = self.entities.get_mut(&id) {
                p.health = MAX_HEALTH;
                p.body = Body {
                    x: spawn.x,
                    y: spawn.y,
                    angle: p.body.angle,
                    ..Body::default()
                };
            }
        }
    }

    fn step_drifters(&mut self) {
        let (w, h) = (self.map.width, self.map.height);
        for e in self.entities.values_mut() {
            let Entity::Drifter(d) = e else { continue };
            d.x = (d.x + d.vx).rem_euclid(w);
            d.y = (d.y + d.vy).rem_euclid(h);
        }
    }

    fn allocate_id(&mut self) -> EntityId {
        let id = EntityId(self.next_id);
        self.next_id = self.next_id.wrapping_add(1).max(1);
        id
    }

    fn spawn_point(&self, id: EntityId, life: u8) -> Point {
        let others: Vec<Point> = self
            .entities
            .iter()
            .filter_map(|(pid, e)| match e {
                Entity::Player(p) if *pid != id && p.health > 0 => Some(Point {
                    x: p.body.x,
                    y: p.body.y,
                }),
                _ => None,
            })
            .collect();
        // The rotation starts at a per-player, per-life offset: joins and respawns spread.
        spawn::choose(&self.map.spawns, &others, id.0 as usize + usize::from(life))
    }
}

/// A world's changing state (its map and rules come from its settings).
#[derive(serde::Serialize)]
struct KeyframeRef<'a> {
    tick: Tick,
    entities: &'a BTreeMap<EntityId, Entity>,
    next_id: u32,
    next_obituary_id: u32,
    past: &'a Past,
    rewinds: (u64, u64),
}

#[derive(serde::Deserialize)]
struct Keyframe {
    tick: Tick,
    entities: BTreeMap<EntityId, Entity>,
    next_id: u32,
    next_obituary_id: u32,
    past: Past,
    rewinds: (u64, u64),
}

/// Living players bucketed by cell, so a projectile checks the few players near it instead of
/// every entity: with 1,500 players and thousands of projectiles the plain scan was quadratic.
/// The result is the same as the scan's: the lowest-id living player (not the owner) in reach.
struct Targets {
    /// (cell, id, x, y), sorted by cell then id.
    players: Vec<(i64, EntityId, i32, i32)>,
}

/// Cell side in position quanta: larger than a hit's reach, so a hit is in one of 2 x 2 cells.
const TARGET_CELL: i32 = 4 * POS_SCALE;

const HIT_REACH: i32 = PLAYER_RADIUS + PROJECTILE_RADIUS;

impl Targets {
    fn of(entities: &BTreeMap<EntityId, Entity>) -> Targets {
        let mut players: Vec<_> = entities
            .iter()
            .filter_map(|(id, e)| match e {
                Entity::Player(p) if p.health > 0 => {
                    Some((cell_key(p.body.x, p.body.y), *id, p.body.x, p.body.y))
                }
                _ => None,
            })
            .collect();
        players.sort_unstable_by_key(|&(cell, id, _, _)| (cell, id));
        Targets { players }
    }

    fn first_hit(&self, p: &Projectile) -> Option<EntityId> {
        let reach2 = i64::from(HIT_REACH).pow(2);
        let (x0, x1) = (
            (p.x.saturating_sub(HIT_REACH)).div_euclid(TARGET_CELL),
            (p.x.saturating_add(HIT_REACH)).div_euclid(TARGET_CELL),
        );
        let (y0, y1) = (
            (p.y.saturating_sub(HIT_REACH)).div_euclid(TARGET_CELL),
            (p.y.saturating_add(HIT_REACH)).div_euclid(TARGET_CELL),
        );
        let mut best: Option<EntityId> = None;
        for cy in y0..=y1 {
            for cx in x0..=x1 {
                let key = (i64::from(cy) << 32) | i64::from(cx as u32);
                let from = self.players.partition_point(|t| t.0 < key);
                let to = self.players.partition_point(|t| t.0 <= key);
                let hit = self.players[from..to].iter().find(|(_, id, x, y)| {
                    let (dx, dy) = (i64::from(*x - p.x), i64::from(*y - p.y));
                    *id != p.owner && dx * dx + dy * dy < reach2
                });
                if let Some(&(_, id, _, _)) = hit {
                    best = Some(best.map_or(id, |b| b.min(id)));
                }
            }
        }
        best
    }
}

fn cell_key(x: i32, y: i32) -> i64 {
    let (cx, cy) = (x.div_euclid(TARGET_CELL), y.div_euclid(TARGET_CELL));
    (i64::from(cy) << 32) | i64::from(cx as u32)
}

impl Entity {
    /// What clients see of this entity: the replicated, quantized fields.
    pub fn net_state(&self) -> EntityState {
        match self {
            Entity::Player(p) => EntityState {
                kind: EntityKind::Player,
                x: p.body.x,
                y: p.body.y,
                vx: p.body.vx,
                vy: p.body.vy,
                angle: p.body.angle,
                health: p.health,
                life: p.life,
                score: p.score,
                hits: p.hits,
                ..EntityState::default()
            },
            Entity::Projectile(p) => EntityState {
                kind: EntityKind::Projectile,
                x: p.x,
                y: p.y,
                vx: p.vx,
                vy: p.vy,
                owner: p.owner.0,
                ..EntityState::default()
            },
            Entity::Drifter(d) => EntityState {
                kind: EntityKind::Drifter,
                x: d.x,
                y: d.y,
                vx: d.vx,
                vy: d.vy,
                ..EntityState::default()
            },
            Entity::Obituary(o) => EntityState {
                kind: EntityKind::Obituary,
                x: o.x,
                y: o.y,
                owner: o.killer.0,
                target: o.victim.0,
                ..EntityState::default()
            },
        }
    }

    /// Where the entity is, for interest management.
    pub fn position(&self) -> Point {
        match self {
            Entity::Player(p) => Point {
                x: p.body.x,
                y: p.body.y,
            },
            Entity::Projectile(p) => Point { x: p.x, y: p.y },
            Entity::Drifter(d) => Point { x: d.x, y: d.y },
            Entity::Obituary(o) => Point { x: o.x, y: o.y },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The plain scan the grid replaced: the lowest-id living player, not the owner, in reach.
    fn scan(entities: &BTreeMap<EntityId, Entity>, p: &Projectile) -> Option<EntityId> {
        let reach2 = i64::from(HIT_REACH).pow(2);
        entities.iter().find_map(|(tid, t)| match t {
            Entity::Player(pl) if *tid != p.owner && pl.health > 0 => {
                let (dx, dy) = (i64::from(pl.body.x - p.x), i64::from(pl.body.y - p.y));
                (dx * dx + dy * dy < reach2).then_some(*tid)
            }
            _ => None,
        })
    }

    proptest! {
        #[test]
        fn the_target_grid_finds_what_the_scan_finds(
            players in proptest::collection::vec((-2000i32..12_000, -2000i32..12_000, 0u8..3), 0..60),
            shots in proptest::collection::vec((-2000i32..12_000, -2000i32..12_000, 0u32..70), 1..40),
        ) {
            let mut entities = BTreeMap::new();
            for (i, (x, y, h)) in players.into_iter().enumerate() {
                let player = Player {
                    name: String::new(),
                    body: Body { x, y, ..Body::default() },
                    health: h * 50,
                    life: 0,
                    score: 0,
                    cooldown: 0,
                    respawn_in: 0,
                    rail_cooldown: 0,
                    hits: 0,
                };
                entities.insert(EntityId(i as u32 + 1), Entity::Player(player));
            }
            let targets = Targets::of(&entities);
            for (x, y, owner) in shots {
                let p = Projectile { owner: EntityId(owner), x, y, vx: 0, vy: 0, ttl: 1, catch_up: 0 };
                prop_assert_eq!(targets.first_hit(&p), scan(&entities, &p));
            }
        }
    }
}
