//! The driver of one room: a thread that steps the [`Room`] at a fixed rate and moves its
//! messages between the room and the connections. It talks to connections only through
//! non-blocking queues (`net::ingress`) and latest-wins slots (`net::outbox`), so it never
//! awaits a socket; the room itself does no I/O at all.
//!
//! Every tick runs these stages, in this order (see [`TickLoop::tick`]):
//! 1. drain ingress: joins, leaves, and each client's parsed messages into [`Room::handle`];
//! 2. the room's tick ([`Room::tick`]): apply inputs, step simulation, record snapshot, build
//!    each client's message, build scores;
//! 3. hand to outboxes: replace each client's pending snapshot or scoreboard; report the
//!    skips and the tick's work to the room's load shedding;
//! 4. publish stats.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::thread;
use std::time::Instant;

use bytes::Bytes;
use snapwire_shared::CloseCode;
use snapwire_shared::codec;
use snapwire_shared::protocol::ServerMsg;
use snapwire_shared::quantize::pos_to_units;
use snapwire_shared::sim::Entity;
use tokio::sync::mpsc::{self, error::TryRecvError};
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use crate::config::Config;
use crate::net::ingress::{ClientId, Inbound, Join};
use crate::net::outbox::Outbox;
use crate::room::{Message, Room};
use crate::stats::{PlayerSummary, ServerStats};

/// How often the player list for `/players` is republished: ten times a second at 60 Hz.
const PLAYERS_EVERY_TICKS: u32 = 6;

/// Falling further behind than this many ticks skips them instead of running them back to back.
const MAX_CATCH_UP_TICKS: u32 = 5;

#[derive(Debug)]
pub struct TickLoop {
    room: Room,
    /// What each client's connection gave the room: its queue in, its outbox out.
    transports: BTreeMap<ClientId, Transport>,
    /// The last tick's work as a share of the tick period.
    last_work: f64,
    joins: mpsc::Receiver<Join>,
    config: Arc<Config>,
    stats: Arc<ServerStats>,
}

/// The connection side of a client, apart from what the room keeps about it.
#[derive(Debug)]
struct Transport {
    inbound: mpsc::Receiver<Inbound>,
    outbox: Arc<Outbox>,
}

impl Drop for Transport {
    /// A transport dropped without a close (the driver unwinding from a panic in the rules)
    /// still ends its connection, with a reason; after a normal leave or shutdown the outbox is
    /// already closing and this changes nothing (the first reason wins).
    fn drop(&mut self) {
        self.outbox.close(Some((
            CloseCode::InternalError,
            "the server's simulation stopped".into(),
        )));
    }
}

impl TickLoop {
    pub fn new(
        config: Arc<Config>,
        joins: mpsc::Receiver<Join>,
        stats: Arc<ServerStats>,
    ) -> TickLoop {
        TickLoop {
            room: Room::new(config.room_settings()),
            transports: BTreeMap::new(),
            last_work: 0.0,
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
        for t in self.transports.values() {
            t.outbox
                .close(Some((CloseCode::GoingAway, "server shutting down".into())));
        }
        info!(tick = %self.room.tick_number(), "tick loop stopped");
    }

    /// One tick: the stages in order.
    pub fn tick(&mut self) {
        self.drain_ingress();
        self.room.tick();
        self.hand_to_outboxes();
        self.publish_stats();
    }

    pub fn room(&self) -> &Room {
        &self.room
    }

    fn drain_ingress(&mut self) {
        while let Ok(join) = self.joins.try_recv() {
            self.admit(join);
        }
        let mut gone = Vec::new();
        for (id, t) in &mut self.transports {
            loop {
                match t.inbound.try_recv() {
                    Ok(msg) => {
                        if let Err(reason) = self.room.handle(*id, msg) {
                            // The writer sends the close, and counts it.
                            t.outbox.close(Some(reason));
                            gone.push(*id);
                            break;
                        }
                    }
                    Err(TryRecvError::Empty) => break,
                    Err(TryRecvError::Disconnected) => {
                        gone.push(*id);
                        break;
                    }
                }
            }
            if t.outbox.is_closing() && !gone.contains(id) {
                gone.push(*id);
            }
        }
        for id in gone {
            self.leave(id);
        }
    }

    fn hand_to_outboxes(&mut self) {
        let (mut skipped, mut sent) = (0, 0);
        // The room's messages for this tick; `tick` returned them, and they stay until the next.
        let outgoing = self.room.outgoing();
        for out in outgoing {
            let Some(t) = self.transports.get(&out.client) else {
                continue;
            };
            match &out.message {
                Message::Snapshot { bytes, .. } => {
                    sent += 1;
                    self.stats.snapshot_bytes.observe(bytes.len() as f64);
                    skipped += u64::from(t.outbox.put_latest(bytes.clone()));
                }
                Message::Scores(bytes) => t.outbox.put_scores(bytes.clone()),
            }
        }
        self.stats.outbox_skipped.inc_by(skipped);
        self.room.observe_load(skipped, sent, self.last_work);
        self.stats
            .snapshot_divisor
            .set(i64::from(self.room.snapshot_divisor()));
    }

    fn admit(&mut self, join: Join) {
        let welcome = self.room.join(join.client, &join.name, join.spectate);
        let entity = welcome.player_id;
        let bytes = Bytes::from(codec::encode_server(&ServerMsg::Welcome(welcome)));
        if join.outbox.push_reliable(bytes).is_err() {
            // A fresh outbox has room; failing here means the connection is already gone.
            self.room.leave(join.client);
            return;
        }
        let name = self.room.member(join.client).map(|m| m.name.clone());
        info!(client = join.client, name = ?name, spectate = join.spectate, entity = ?entity, "joined");
        self.transports.insert(
            join.client,
            Transport {
                inbound: join.inbound,
                outbox: join.outbox,
            },
        );
    }

    fn leave(&mut self, id: ClientId) {
        let name = self.room.member(id).map(|m| m.name.clone());
        self.room.leave(id);
        if let Some(t) = self.transports.remove(&id) {
            t.outbox.close(None);
            info!(client = id, name = ?name, "left");
        }
    }

    fn publish_stats(&mut self) {
        let counters = self.room.take_counters();
        self.stats.inputs_applied.inc_by(counters.inputs_applied);
        self.stats.inputs_late.inc_by(counters.inputs_late);
        self.stats.inputs_dropped.inc_by(counters.inputs_dropped);
        self.stats.snapshots_full.inc_by(counters.snapshots_full);
        self.stats.snapshots_delta.inc_by(counters.snapshots_delta);
        let tick = self.room.tick_number();
        if tick.0.is_multiple_of(PLAYERS_EVERY_TICKS) {
            let players = self
                .room
                .world()
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
        self.stats.tick.store(tick.0, Ordering::Relaxed);
        self.stats.ticks.inc();
        self.stats.clients.set(self.transports.len() as i64);
    }
}
