//! Scenes for the benchmarks in `benches/benches/`: the drift scene and a play scene, built
//! with the real rules and the server's real replication code.

use std::sync::Arc;

use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use snapwire_server::Config;
use snapwire_server::clients::ClientState;
use snapwire_server::interest::Grid;
use snapwire_server::outbox::Outbox;
use snapwire_server::replication::{Replicator, TickContext};
use snapwire_server::snapshot_history::{Frame, SnapshotHistory};
use snapwire_shared::Tick;
use snapwire_shared::map::MapDef;
use snapwire_shared::quantize::angle_from_radians;
use snapwire_shared::sim::{EntityId, PlayerInput, Rules, World};

/// The field map for crowds (`assets/maps/field.json`).
pub fn field_map() -> MapDef {
    // The file is checked by a unit test in `shared`.
    MapDef::from_json(include_str!("../../assets/maps/field.json"))
        .unwrap_or_else(|e| unreachable!("field.json: {e}"))
}

/// A world, its history, and clients that acknowledge every snapshot.
#[derive(Debug)]
pub struct Scene {
    pub world: World,
    pub history: SnapshotHistory,
    pub clients: Vec<ClientState>,
    pub config: Config,
    pub grid: Grid,
    replicator: Replicator,
    rng: SmallRng,
    /// Per client: held direction, aim, firing (the bots' random walk).
    walkers: Vec<(i8, i8, f32, bool)>,
}

impl Scene {
    /// `drifters` drift entities and `spectators` spectator clients.
    pub fn drift(drifters: u32, spectators: usize, full: bool) -> Scene {
        let mut world = World::new(Arc::new(MapDef::arena()), Rules::for_tick_rate(60), Tick(0));
        world.add_drifters(drifters);
        let clients = (0..spectators).map(|i| client(i as u64, None)).collect();
        Scene::new(world, clients, full)
    }

    /// `players` player clients moving at random and firing.
    pub fn play(players: usize, full: bool) -> Scene {
        Scene::play_on(MapDef::arena(), players, full)
    }

    /// `players` player clients on `map`.
    pub fn play_on(map: MapDef, players: usize, full: bool) -> Scene {
        let mut world = World::new(Arc::new(map), Rules::for_tick_rate(60), Tick(0));
        let clients = (0..players)
            .map(|i| client(i as u64, Some(world.spawn_player(format!("p{i}")))))
            .collect();
        Scene::new(world, clients, full)
    }

    fn new(world: World, clients: Vec<ClientState>, full: bool) -> Scene {
        let mut config = Config::new(60);
        config.map = (**world.map()).clone();
        config.full_snapshots = full;
        let history = SnapshotHistory::new(config.history);
        let walkers = vec![(127, 0, 0.0, false); clients.len()];
        let mut scene = Scene {
            world,
            history,
            clients,
            config,
            grid: Grid::default(),
            replicator: Replicator::new(),
            rng: SmallRng::seed_from_u64(7),
            walkers,
        };
        // Warm up so every client has a baseline and the play scene is spread out.
        for _ in 0..120 {
            scene.tick();
        }
        scene
    }

    /// Steps the world and builds every client's message, as the tick loop does; returns the
    /// message sizes.
    pub fn tick(&mut self) -> Vec<usize> {
        self.step_world();
        let frame = self.record();
        let sizes = self.build(&frame);
        self.ack_all();
        sizes
    }

    /// Players walk like the bots: hold a direction for about half a second, sweep the aim,
    /// fire in bursts.
    pub fn step_world(&mut self) {
        for (c, w) in self.clients.iter().zip(&mut self.walkers) {
            let Some(id) = c.entity else { continue };
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
            };
            self.world.apply_input(id, &input);
        }
        self.world.step();
    }

    pub fn record(&mut self) -> Arc<Frame> {
        let frame = Arc::new(Frame::capture(&self.world));
        self.grid.rebuild(&self.config.map, &frame);
        self.history.record(Arc::clone(&frame));
        frame
    }

    pub fn build(&mut self, frame: &Frame) -> Vec<usize> {
        let ctx = TickContext {
            frame,
            grid: &self.grid,
            history: &self.history,
            world: &self.world,
            config: &self.config,
        };
        self.clients
            .iter_mut()
            .map(|c| self.replicator.message_for(&ctx, c).bytes.len())
            .collect()
    }

    pub fn ack_all(&mut self) {
        let now = self.world.tick();
        for c in &mut self.clients {
            c.on_ack(now, now);
        }
    }
}

fn client(id: u64, entity: Option<EntityId>) -> ClientState {
    // The receiver is never read: the bench drives the client's tick-side state directly.
    let (_tx, rx) = tokio::sync::mpsc::channel(1);
    ClientState::new(id, format!("c{id}"), entity, rx, Arc::new(Outbox::new()))
}
