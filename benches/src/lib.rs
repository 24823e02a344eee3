//! Scenes for the benchmarks in `benches/benches/`: the drift scene and a play scene, built
//! with the real rules and the server's real replication code.

use std::sync::Arc;

use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use snapwire_server::room::history::Frame;
use snapwire_server::room::{ClientId, Inbound, Message, Room, RoomSettings, Scene as RoomScene};
use snapwire_shared::map::MapDef;
use snapwire_shared::quantize::angle_from_radians;
use snapwire_shared::sim::{PlayerInput, ViewTime};
use snapwire_shared::tick::Tick;

/// The field map for crowds (`assets/maps/field.json`).
pub fn field_map() -> MapDef {
    // The file is checked by a unit test in `shared`.
    MapDef::from_json(include_str!("../../assets/maps/field.json"))
        .unwrap_or_else(|e| unreachable!("field.json: {e}"))
}

/// A real [`Room`] with clients that acknowledge every snapshot, driven without sockets.
#[derive(Debug)]
pub struct Scene {
    pub room: Room,
    pub clients: Vec<ClientId>,
    rng: SmallRng,
    /// Per client: held direction, aim, firing (the bots' random walk).
    walkers: Vec<(i8, i8, f32, bool)>,
    /// The next input's sequence number (the same for every player).
    seq: u32,
}

impl Scene {
    /// `drifters` drift entities and `spectators` spectator clients.
    pub fn drift(drifters: u32, spectators: usize, full: bool) -> Scene {
        let mut s = settings(MapDef::arena(), full);
        s.scene = RoomScene::Drift(drifters);
        Scene::new(s, spectators, true)
    }

    /// `players` player clients moving at random and firing.
    pub fn play(players: usize, full: bool) -> Scene {
        Scene::play_on(MapDef::arena(), players, full)
    }

    /// `players` player clients on `map`.
    pub fn play_on(map: MapDef, players: usize, full: bool) -> Scene {
        Scene::new(settings(map, full), players, false)
    }

    fn new(settings: RoomSettings, clients: usize, spectate: bool) -> Scene {
        let mut room = Room::new(settings);
        let ids: Vec<ClientId> = (1..=clients as u64).collect();
        for &id in &ids {
            room.join(id, &format!("p{id}"), spectate);
        }
        let mut scene = Scene {
            room,
            walkers: vec![(127, 0, 0.0, false); ids.len()],
            clients: ids,
            rng: SmallRng::seed_from_u64(7),
            seq: 1,
        };
        // Warm up so every client has a baseline and the play scene is spread out.
        for _ in 0..120 {
            scene.tick();
        }
        scene
    }

    /// One tick of the room, as the server runs it; returns the snapshot sizes.
    pub fn tick(&mut self) -> Vec<usize> {
        self.step_world();
        let frame = self.record();
        let sizes = self.build(&frame);
        self.ack_all();
        sizes
    }

    /// Players walk like the bots (hold a direction for about half a second, sweep the aim,
    /// fire in bursts); the room applies their inputs and steps.
    pub fn step_world(&mut self) {
        let tick = self.room.tick_number();
        for (c, w) in self.clients.iter().zip(&mut self.walkers) {
            if self.room.member(*c).is_none_or(|m| m.entity.is_none()) {
                continue;
            }
            if self.rng.random_ratio(1, 30) {
                let a: f32 = self.rng.random_range(0.0..std::f32::consts::TAU);
                *w = ((a.cos() * 127.0) as i8, (a.sin() * 127.0) as i8, w.2, w.3);
            }
            if self.rng.random_ratio(1, 20) {
                w.3 = !w.3;
            }
            w.2 = (w.2 + self.rng.random_range(-0.2..0.2)).rem_euclid(std::f32::consts::TAU);
            let input = PlayerInput {
                move_x: w.0,
                move_y: w.1,
                aim: angle_from_radians(w.2),
                fire: w.3,
                alt_fire: false,
                // What a client 100 ms behind the world claims (lag compensation).
                view: ViewTime {
                    tick: Tick(tick.0.wrapping_sub(6)),
                    frac: 128,
                },
            };
            let msg = Inbound::Input {
                seq: self.seq as u16,
                tick: tick.0 as u16,
                input,
                ack: false,
            };
            let _ = self.room.handle(*c, msg);
        }
        self.seq += 1;
        self.room.apply_inputs();
        self.room.step_simulation();
    }

    pub fn record(&mut self) -> Arc<Frame> {
        self.room.record_snapshot()
    }

    /// Builds every client's snapshot (the stage the benches time); returns their sizes.
    pub fn build(&mut self, frame: &Frame) -> Vec<usize> {
        self.room.build_client_messages(frame);
        self.room
            .outgoing()
            .iter()
            .filter_map(|o| match &o.message {
                Message::Snapshot { bytes, .. } => Some(bytes.len()),
                Message::Scores(_) => None,
            })
            .collect()
    }

    pub fn ack_all(&mut self) {
        let now = self.room.tick_number();
        for c in &self.clients {
            let _ = self.room.handle(*c, Inbound::Ack(now));
        }
    }
}

fn settings(map: MapDef, full: bool) -> RoomSettings {
    RoomSettings {
        map,
        full_snapshots: full,
        ..RoomSettings::new(60)
    }
}
