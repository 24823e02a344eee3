//! The fixed-rate simulation loop, on a thread of its own. It owns the world and every
//! client's tick-side state; it talks to connections only through non-blocking queues
//! (`ingress`) and latest-wins slots (`outbox`), so it never awaits a socket.
//!
//! Every tick runs these stages, in this order (see [`TickLoop::tick`]):
//! 1. drain ingress: joins, leaves, and each client's parsed messages;
//! 2. apply inputs: each player's queued inputs, in sequence order, within its budget;
//! 3. step simulation: projectiles, respawns, drifters; the tick number advances;
//! 4. record snapshot: every entity's quantized state and hash once, into history; the grid;
//! 5. build each client's message: its view, delta-encoded against its acknowledged baseline
//!    (every client every tick, or a staggered share of them when shedding load);
//! 6. hand to outboxes: replace each client's pending snapshot; adjust the send rate (load
//!    shedding, [`crate::send_rate`]);
//! 7. send scores: the match scoreboard, to each client once a second ([`crate::scoreboard`]).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::thread;
use std::time::Instant;

use axum::body::Bytes;
use snapwire_shared::codec;
use snapwire_shared::protocol::{MAX_NAME_CHARS, ServerMsg, Welcome};
use snapwire_shared::quantize::pos_to_units;
use snapwire_shared::sim::{Entity, Rules, World};
use snapwire_shared::{CloseCode, Tick};
use tokio::sync::mpsc::{self, error::TryRecvError};
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, warn};

use crate::clients::{AckOutcome, ClientState, MAX_BAD_ACKS};
use crate::config::{Config, Scene};
use crate::ingress::{ClientId, Inbound, Join};
use crate::interest::Grid;
use crate::replication::{Replicator, TickContext};
use crate::scoreboard::Scoreboard;
use crate::send_rate::SendRate;
use crate::snapshot_history::{Frame, SnapshotHistory};
use crate::stats::{PlayerSummary, ServerStats};

/// How often the player list for `/players` is republished: ten times a second at 60 Hz.
const PLAYERS_EVERY_TICKS: u32 = 6;

/// Falling further behind than this many ticks skips them instead of running them back to back.
const MAX_CATCH_UP_TICKS: u32 = 5;

#[derive(Debug)]
pub struct TickLoop {
    world: World,
    clients: BTreeMap<ClientId, ClientState>,
    history: SnapshotHistory,
    grid: Grid,
    replicator: Replicator,
    /// This tick's messages between stages 5 and 6; kept to reuse its buffer.
    outgoing: Vec<(ClientId, Bytes)>,
    /// Which clients get a snapshot this tick: all, unless the server sheds load.
    send_rate: SendRate,
    /// The last tick's work as a share of the tick period.
    last_work: f64,
    scoreboard: Scoreboard,
    /// Names of the players in the world (each unique).
    player_names: BTreeSet<String>,
    joins: mpsc::Receiver<Join>,
    config: Arc<Config>,
    stats: Arc<ServerStats>,
}

impl TickLoop {
    pub fn new(
        config: Arc<Config>,
        joins: mpsc::Receiver<Join>,
        stats: Arc<ServerStats>,
    ) -> TickLoop {
        let mut world = World::new(
            Arc::new(config.map.clone()),
            Rules::for_tick_rate(config.tick_rate),
            Tick(0),
        );
        match config.scene {
            Scene::Empty => {}
            Scene::Drift(n) => world.add_drifters(n),
        }
        TickLoop {
            world,
            clients: BTreeMap::new(),
            history: SnapshotHistory::new(config.history),
            grid: Grid::default(),
            replicator: Replicator::new(),
            outgoing: Vec::new(),
            send_rate: SendRate::new(config.snapshot_every),
            last_work: 0.0,
            scoreboard: Scoreboard::new(config.tick_rate),
            player_names: BTreeSet::new(),
            joins,
            config,
            stats,
        }
    }

    /// Runs the loop on a new thread until `shutdown` is cancelled, then closes every client
    /// with `GoingAway`. If the loop dies (a panic in the rules), it cancels `shutdown` itself:
    /// a server that no longer ticks must not keep accepting players.
    pub fn spawn(self, shutdown: CancellationToken) -> std::io::Result<thread::JoinHandle<()>> {
        thread::Builder::new()
            .name("snapwire-tick".into())
            .spawn(move || {
                let _stop_server = shutdown.clone().drop_guard();
                self.run(shutdown);
            })
    }

    fn run(mut self, shutdown: CancellationToken) {
        let period = self.config.tick_period();
        let mut next = Instant::now() + period;
        while !shutdown.is_cancelled() {
            let now = Instant::now();
            if next > now {
                thread::sleep(next - now);
            }
            let started = Instant::now();
            self.tick();
            let took = started.elapsed();
            self.last_work = took.as_secs_f64() / period.as_secs_f64();
            self.stats
                .last_tick_us
                .store(took.as_micros() as u64, Ordering::Relaxed);
            self.stats.tick_duration.observe(took.as_secs_f64());
            // Deadlines advance by whole periods from the start, so the rate never drifts.
            next += period;
            let now = Instant::now();
            if now > next {
                self.stats.overruns.inc();
                let behind = (now - next).as_nanos() / period.as_nanos().max(1);
                if behind > u128::from(MAX_CATCH_UP_TICKS) {
                    self.stats.skipped_ticks.inc_by(behind as u64);
                    next = now + period;
                    warn!(behind, "tick loop fell behind; skipping ticks");
                }
            }
        }
        for client in self.clients.values() {
            client
                .outbox
                .close(Some((CloseCode::GoingAway, "server shutting down".into())));
        }
        info!(tick = %self.world.tick(), "tick loop stopped");
    }

    /// One tick: the stages in order.
    pub fn tick(&mut self) {
        self.drain_ingress();
        self.apply_inputs();
        self.step_simulation();
        let frame = self.record_snapshot();
        self.build_client_messages(&frame);
        self.hand_to_outboxes();
        self.send_scores();
        self.publish_stats();
    }

    pub fn world(&self) -> &World {
        &self.world
    }

    fn drain_ingress(&mut self) {
        while let Ok(join) = self.joins.try_recv() {
            self.admit(join);
        }
        let now = self.world.tick();
        let mut gone = Vec::new();
        for (id, client) in &mut self.clients {
            loop {
                let ack = match client.inbound.try_recv() {
                    Ok(Inbound::Input { seq, input, ack }) => {
                        if !client.queue_input(seq, input) {
                            debug!(
                                client = id,
                                seq, "dropped an out-of-order or spectator input"
                            );
                        }
                        ack
                    }
                    Ok(Inbound::Ack(tick)) => Some(tick),
                    Err(TryRecvError::Empty) => break,
                    Err(TryRecvError::Disconnected) => {
                        gone.push(*id);
                        break;
                    }
                };
                let Some(tick) = ack else { continue };
                if let AckOutcome::Bad(why) = client.on_ack(tick, now) {
                    warn!(client = id, %tick, why, bad_acks = client.bad_acks, "bad ack ignored");
                    if client.bad_acks > MAX_BAD_ACKS {
                        // The writer sends the close, and counts it.
                        let reason = format!("{why} ({} bad acks)", client.bad_acks);
                        client.outbox.close(Some((CloseCode::BadAck, reason)));
                        gone.push(*id);
                        break;
                    }
                }
            }
            if client.outbox.is_closing() && !gone.contains(id) {
                gone.push(*id);
            }
        }
        for id in gone {
            self.leave(id);
        }
    }

    fn apply_inputs(&mut self) {
        let (mut applied, mut late, mut dropped) = (0, 0, 0);
        for client in self.clients.values_mut() {
            dropped += client.take_dropped();
            let Some(entity) = client.entity else {
                continue;
            };
            let mut last = None;
            for (n, (seq, input)) in client.take_inputs().enumerate() {
                self.world.apply_input(entity, &input);
                last = Some(seq);
                applied += 1;
                late += u64::from(n > 0);
            }
            if let Some(seq) = last {
                client.last_applied_seq = seq;
            }
        }
        self.stats.inputs_applied.inc_by(applied);
        self.stats.inputs_late.inc_by(late);
        self.stats.inputs_dropped.inc_by(dropped);
    }

    fn step_simulation(&mut self) {
        self.world.step();
    }

    fn record_snapshot(&mut self) -> Arc<Frame> {
        let frame = Arc::new(Frame::capture(&self.world));
        self.grid.rebuild(&self.config.map, &frame);
        self.history.record(Arc::clone(&frame));
        frame
    }

    fn build_client_messages(&mut self, frame: &Frame) {
        let ctx = TickContext {
            frame,
            grid: &self.grid,
            history: &self.history,
            world: &self.world,
            config: &self.config,
        };
        self.outgoing.clear();
        let (mut full, mut delta) = (0, 0);
        for (id, client) in &mut self.clients {
            if !self.send_rate.due(*id, frame.tick.0) {
                continue;
            }
            let snapshot = self.replicator.message_for(&ctx, client);
            if snapshot.full {
                full += 1;
            } else {
                delta += 1;
            }
            self.stats
                .snapshot_bytes
                .observe(snapshot.bytes.len() as f64);
            self.outgoing.push((*id, snapshot.bytes));
        }
        self.stats.snapshots_full.inc_by(full);
        self.stats.snapshots_delta.inc_by(delta);
    }

    fn hand_to_outboxes(&mut self) {
        let (mut skipped, sent) = (0, self.outgoing.len() as u64);
        for (id, bytes) in self.outgoing.drain(..) {
            if let Some(client) = self.clients.get(&id) {
                skipped += u64::from(client.outbox.put_latest(bytes));
            }
        }
        self.stats.outbox_skipped.inc_by(skipped);
        self.send_rate.observe(skipped, sent, self.last_work);
        self.stats
            .snapshot_divisor
            .set(i64::from(self.send_rate.divisor()));
    }

    fn send_scores(&mut self) {
        self.scoreboard.rank_if_due(&self.world);
        let tick = self.world.tick().0;
        for (id, client) in &self.clients {
            if self.scoreboard.due(*id, tick) {
                let scores = ServerMsg::Scores(self.scoreboard.message_for(client.entity));
                client
                    .outbox
                    .put_scores(Bytes::from(codec::encode_server(&scores)));
            }
        }
    }

    fn admit(&mut self, mut join: Join) {
        if !join.spectate {
            // Players on one scoreboard must be told apart.
            join.name = unique_name(&join.name, |n| self.player_names.contains(n));
            self.player_names.insert(join.name.clone());
        }
        let entity = (!join.spectate).then(|| self.world.spawn_player(join.name.clone()));
        let welcome = ServerMsg::Welcome(Welcome {
            player_id: entity.map(|e| e.0),
            tick: self.world.tick(),
            tick_rate: self.config.tick_rate,
            map: self.config.map.clone(),
            view_width: self.config.view_width,
            view_height: self.config.view_height,
        });
        if join
            .outbox
            .push_reliable(Bytes::from(codec::encode_server(&welcome)))
            .is_err()
        {
            // A fresh outbox has room; failing here means the connection is already gone.
            if let Some(e) = entity {
                self.world.remove(e);
                self.player_names.remove(&join.name);
            }
            return;
        }
        info!(client = join.client, name = %join.name, spectate = join.spectate, entity = ?entity, "joined");
        let client = ClientState::new(join.client, join.name, entity, join.inbound, join.outbox);
        self.clients.insert(join.client, client);
    }

    fn leave(&mut self, id: ClientId) {
        if let Some(client) = self.clients.remove(&id) {
            if let Some(e) = client.entity {
                self.world.remove(e);
                self.player_names.remove(&client.name);
            }
            client.outbox.close(None);
            info!(client = id, name = %client.name, "left");
        }
    }

    fn publish_stats(&self) {
        if self.world.tick().0.is_multiple_of(PLAYERS_EVERY_TICKS) {
            let players = self
                .world
                .entities()
                .filter_map(|(id, e)| match e {
                    Entity::Player(p) => Some(PlayerSummary {
                        id: id.0,
                        name: p.name.clone(),
                        x: pos_to_units(p.body.x),
                        y: pos_to_units(p.body.y),
                        health: p.health,
                        score: p.score,
                    }),
                    _ => None,
                })
                .collect();
            self.stats.publish_players(players);
        }
        self.stats
            .tick
            .store(self.world.tick().0, Ordering::Relaxed);
        self.stats.ticks.inc();
        self.stats.clients.set(self.clients.len() as i64);
    }
}

/// `wanted`, or `wanted` with the lowest free suffix " 2", " 3", ... when another player has
/// it; shortened so the result stays within the name limit in characters.
fn unique_name(wanted: &str, taken: impl Fn(&str) -> bool) -> String {
    if !taken(wanted) {
        return wanted.to_owned();
    }
    (2u32..)
        .map(|n| {
            let suffix = format!(" {n}");
            let room = MAX_NAME_CHARS.saturating_sub(suffix.chars().count());
            let base: String = wanted.chars().take(room).collect();
            format!("{}{suffix}", base.trim_end())
        })
        .find(|candidate| !taken(candidate))
        .unwrap_or_else(|| unreachable!("an unbounded range always finds a free suffix"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duplicate_names_get_the_lowest_free_suffix_within_the_limit() {
        let taken = ["ann", "ann 2", &"x".repeat(24)];
        let is_taken = |n: &str| taken.contains(&n);
        assert_eq!(unique_name("bob", is_taken), "bob");
        assert_eq!(unique_name("ann", is_taken), "ann 3");
        let long = unique_name(&"x".repeat(24), is_taken);
        assert_eq!(long, format!("{} 2", "x".repeat(22)));
        assert_eq!(long.chars().count(), MAX_NAME_CHARS);
    }
}
