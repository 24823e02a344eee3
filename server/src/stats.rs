//! What the server counts, once, for `/metrics` (Prometheus text, through `prometheus-client`),
//! `/healthz` (a few of the same numbers as JSON) and tests.
//!
//! Each number is updated in one place: the tick loop owns the tick, input, snapshot and outbox
//! figures; connections own frames and bytes in and out and the close codes. Counters are atomics,
//! so connection tasks never wait on the tick thread or each other.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;
use snapwire_shared::CloseCode;

/// Upper bounds of the tick duration histogram, in seconds: fine below the 16.7 ms period of
/// 60 Hz, where a p99 is read.
const TICK_BUCKETS: [f64; 18] = [
    0.0001, 0.00025, 0.0005, 0.001, 0.002, 0.003, 0.004, 0.005, 0.006, 0.007, 0.008, 0.010, 0.0125,
    0.0167, 0.025, 0.050, 0.1, 0.25,
];

/// Upper bounds of the snapshot size histogram, in bytes.
/// Ages of the moments shooters claim, in seconds: the bound `--max-rewind` is chosen by.
const CLAIM_AGE_BUCKETS: [f64; 11] = [0.025, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5, 0.75, 1.0];

const SNAPSHOT_BUCKETS: [f64; 12] = [
    16.0, 32.0, 64.0, 128.0, 256.0, 512.0, 1024.0, 2048.0, 4096.0, 8192.0, 16384.0, 65536.0,
];

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct CloseLabels {
    /// The WebSocket close code.
    pub code: u16,
}

/// Which transport carried a frame.
#[derive(Debug, Clone, Copy, Hash, PartialEq, Eq)]
pub enum Transport {
    Websocket,
    Webtransport,
}

impl Transport {
    /// The `transport` label's value.
    pub fn label(self) -> &'static str {
        match self {
            Transport::Websocket => "websocket",
            Transport::Webtransport => "webtransport",
        }
    }
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct TransportLabels {
    /// `websocket` or `webtransport`.
    pub transport: &'static str,
    /// `in` or `out`.
    pub direction: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct KindLabels {
    /// The room kind (a handful per server, so the label's cardinality stays small; room ids
    /// are not labels).
    pub kind: String,
}

/// A tick duration histogram per room kind.
type KindHistograms = Family<KindLabels, Histogram, fn() -> Histogram>;

fn tick_histogram() -> Histogram {
    Histogram::new(TICK_BUCKETS)
}

/// The per-kind figures one room's driver updates, looked up once when the room opens.
#[derive(Debug, Clone)]
pub struct KindStats {
    pub rooms: Gauge,
    pub clients: Gauge,
    pub tick_duration: Histogram,
}

/// Shared by every task.
#[derive(Debug)]
pub struct ServerStats {
    /// The tick the default room (the one open from the start) last completed.
    pub tick: AtomicU32,
    /// Time spent in the last tick's work, in microseconds.
    pub last_tick_us: AtomicU64,
    pub ticks: Counter,
    /// Clients with a connection, in rooms.
    pub clients: Gauge,
    /// Clients whose connection dropped, kept in their rooms for the resume grace.
    pub clients_away: Gauge,
    /// Clients that came back with their resume token.
    pub resumes: Counter,
    /// Resumes refused: a token already used, or a player that left meanwhile (4012).
    pub resumes_refused: Counter,
    /// Away clients whose grace period ended before they came back.
    pub resumes_expired: Counter,
    /// Rooms open.
    pub rooms: Gauge,
    /// Rooms closed because their simulation panicked.
    pub rooms_failed: Counter,
    /// 1 once Agones reported this server Allocated (`--agones`).
    pub agones_allocated: Gauge,
    /// Agones SDK calls that failed (`--agones`): the sidecar is away or refused a value.
    pub agones_errors: Counter,
    /// Health streams opened to the Agones sidecar: more than one means it dropped one.
    pub agones_health_streams: Counter,
    /// Connections closed on accept: too many were mid-handshake.
    pub refused_pending: Counter,
    /// Game socket requests refused (403) for their page's origin.
    pub refused_origin: Counter,
    /// WebTransport sessions that opened their session stream (WebSocket connections are
    /// counted by the listener).
    pub webtransport_sessions: Counter,
    /// Inputs a WebTransport datagram carried again (each input rides in a few, so a lost
    /// datagram loses none), skipped before the room.
    pub inputs_repeated: Counter,
    /// Game socket requests refused (401): no ticket, a bad one or an expired one.
    pub refused_ticket: Counter,
    /// Connections dropped because a send failed or did not complete within the send timeout
    /// (a client that stopped reading, or a reset).
    pub send_failures: Counter,
    /// Rooms open, clients and tick durations by room kind.
    pub rooms_by_kind: Family<KindLabels, Gauge>,
    pub clients_by_kind: Family<KindLabels, Gauge>,
    pub tick_duration_by_kind: KindHistograms,
    /// Ticks that finished after the next one was due.
    pub overruns: Counter,
    /// Ticks skipped to catch up after falling far behind.
    pub skipped_ticks: Counter,
    /// Seconds of work per tick.
    pub tick_duration: Histogram,
    pub inputs_applied: Counter,
    /// Inputs applied after their tick: a second or later input of one player in one tick.
    pub inputs_late: Counter,
    /// Inputs dropped: out of order, a full input queue, or sent by a spectator.
    pub inputs_dropped: Counter,
    /// Shots judged at the moment their input claimed (lag compensation).
    pub shots_judged: Counter,
    /// Claims beyond the maximum rewind (or in the future), clamped: many mean players on
    /// links slower than `--max-rewind` allows for, or clients lying about what they saw.
    pub rewinds_clamped: Counter,
    /// Inputs dropped for arriving faster than the input rate allows.
    pub inputs_over_rate: Counter,
    /// Snapshots replaced in a client's outbox before its writer sent them (a slow reader).
    pub outbox_skipped: Counter,
    pub frames_in: Counter,
    pub bytes_in: Counter,
    pub frames_out: Counter,
    pub bytes_out: Counter,
    /// Of `frames_out`, those the room's thread wrote to the socket itself (`net::direct`).
    pub frames_out_direct: Counter,
    /// Bytes per snapshot message.
    pub snapshot_bytes: Histogram,
    /// How old the moment was that each input holding a trigger claimed (before clamping),
    /// when the room applied it.
    pub claim_age: Histogram,
    pub snapshots_full: Counter,
    pub snapshots_delta: Counter,
    /// Snapshots not sent to a client with too many unacknowledged (flow control).
    pub snapshots_held: Counter,
    pub snapshots_over_budget: Counter,
    pub entities_deferred: Counter,
    /// Clients get a snapshot one tick in this many (above 1 when shedding load).
    pub snapshot_divisor: Gauge,
    /// Connections the server closed, by close code.
    pub closes: Family<CloseLabels, Counter>,
    /// `frames_in`/`frames_out` and `bytes_in`/`bytes_out` by transport.
    pub transport_frames: Family<TransportLabels, Counter>,
    pub transport_bytes: Family<TransportLabels, Counter>,
    /// The `in` series of those, per transport (WebSocket, WebTransport), kept at hand: a frame
    /// in counts without a look-up in the families.
    transport_in: [(Counter, Counter); 2],
    /// Closes for anything the client did wrong (every code but going-away and server-full).
    pub connections_closed_for_bad_input: Counter,
    /// Every player, by room, each room's list republished ten times a second.
    players: Mutex<BTreeMap<String, Arc<Vec<PlayerSummary>>>>,
    registry: Registry,
}

/// One player as `/players` reports it.
#[derive(Debug, Clone, PartialEq)]
pub struct PlayerSummary {
    /// The room's id.
    pub room: String,
    pub id: u32,
    pub name: String,
    /// World units.
    pub x: f64,
    pub y: f64,
    /// For games with health (the arena); `null` otherwise.
    pub health: Option<u8>,
    pub score: i32,
}

impl Default for ServerStats {
    fn default() -> ServerStats {
        let mut s = ServerStats {
            tick: AtomicU32::new(0),
            last_tick_us: AtomicU64::new(0),
            ticks: Counter::default(),
            clients: Gauge::default(),
            clients_away: Gauge::default(),
            resumes: Counter::default(),
            resumes_refused: Counter::default(),
            resumes_expired: Counter::default(),
            rooms: Gauge::default(),
            rooms_failed: Counter::default(),
            agones_allocated: Gauge::default(),
            agones_errors: Counter::default(),
            agones_health_streams: Counter::default(),
            refused_pending: Counter::default(),
            refused_origin: Counter::default(),
            webtransport_sessions: Counter::default(),
            inputs_repeated: Counter::default(),
            refused_ticket: Counter::default(),
            send_failures: Counter::default(),
            rooms_by_kind: Family::default(),
            clients_by_kind: Family::default(),
            tick_duration_by_kind: Family::new_with_constructor(tick_histogram),
            overruns: Counter::default(),
            skipped_ticks: Counter::default(),
            tick_duration: Histogram::new(TICK_BUCKETS),
            inputs_applied: Counter::default(),
            inputs_late: Counter::default(),
            shots_judged: Counter::default(),
            rewinds_clamped: Counter::default(),
            inputs_dropped: Counter::default(),
            inputs_over_rate: Counter::default(),
            outbox_skipped: Counter::default(),
            frames_in: Counter::default(),
            bytes_in: Counter::default(),
            frames_out: Counter::default(),
            bytes_out: Counter::default(),
            frames_out_direct: Counter::default(),
            snapshot_bytes: Histogram::new(SNAPSHOT_BUCKETS),
            claim_age: Histogram::new(CLAIM_AGE_BUCKETS),
            snapshots_full: Counter::default(),
            snapshots_delta: Counter::default(),
            snapshots_held: Counter::default(),
            snapshots_over_budget: Counter::default(),
            entities_deferred: Counter::default(),
            snapshot_divisor: Gauge::default(),
            closes: Family::default(),
            transport_frames: Family::default(),
            transport_bytes: Family::default(),
            transport_in: Default::default(),
            connections_closed_for_bad_input: Counter::default(),
            players: Mutex::default(),
            registry: Registry::with_prefix("snapwire"),
        };
        // Every series a dashboard or an alert reads is there from the start, at 0: a
        // counter that appears only on its first event reads as "no data", not as 0.
        for code in CloseCode::ALL {
            let _ = s.closes.get_or_create(&CloseLabels { code: code.code() });
        }
        for transport in [Transport::Websocket, Transport::Webtransport] {
            for direction in ["in", "out"] {
                let labels = TransportLabels {
                    transport: transport.label(),
                    direction,
                };
                let frames = s.transport_frames.get_or_create(&labels).clone();
                let bytes = s.transport_bytes.get_or_create(&labels).clone();
                if direction == "in" {
                    s.transport_in[transport as usize] = (frames, bytes);
                }
            }
        }
        s.register();
        s
    }
}

/// What a transport counts for each frame it writes to a socket, whichever thread writes it
/// (the connection's task, or the room's thread writing directly): one definition of a frame
/// out for both.
#[derive(Debug, Clone)]
pub struct FramesOut {
    frames: Counter,
    direct: Counter,
    bytes: Counter,
    /// This transport's frames and bytes out.
    by_transport: (Counter, Counter),
}

impl FramesOut {
    /// A frame of `len` bytes went to the socket (or its beginning did, the rest queued);
    /// `direct`: from the room's thread.
    pub fn wrote(&self, len: usize, direct: bool) {
        self.frames.inc();
        self.bytes.inc_by(len as u64);
        self.by_transport.0.inc();
        self.by_transport.1.inc_by(len as u64);
        if direct {
            self.direct.inc();
        }
    }
}

impl ServerStats {
    /// The counters a transport's writes go to.
    pub fn frames_out(&self, transport: Transport) -> FramesOut {
        let labels = TransportLabels {
            transport: transport.label(),
            direction: "out",
        };
        FramesOut {
            frames: self.frames_out.clone(),
            direct: self.frames_out_direct.clone(),
            bytes: self.bytes_out.clone(),
            by_transport: (
                self.transport_frames.get_or_create(&labels).clone(),
                self.transport_bytes.get_or_create(&labels).clone(),
            ),
        }
    }

    /// A frame of `len` bytes came in over `transport` (a WebSocket frame, a datagram, a
    /// session stream frame).
    pub fn frame_in(&self, transport: Transport, len: usize) {
        self.frames_in.inc();
        self.bytes_in.inc_by(len as u64);
        let (frames, bytes) = &self.transport_in[transport as usize];
        frames.inc();
        bytes.inc_by(len as u64);
    }

    /// Records a close the server sent.
    pub fn count_close(&self, code: u16, bad_input: bool) {
        self.closes.get_or_create(&CloseLabels { code }).inc();
        if bad_input {
            self.connections_closed_for_bad_input.inc();
        }
    }

    /// The figures of one room kind, for a room's driver to keep.
    pub fn kind(&self, kind: &str) -> KindStats {
        let labels = KindLabels {
            kind: kind.to_owned(),
        };
        KindStats {
            rooms: self.rooms_by_kind.get_or_create(&labels).clone(),
            clients: self.clients_by_kind.get_or_create(&labels).clone(),
            tick_duration: self.tick_duration_by_kind.get_or_create(&labels).clone(),
        }
    }

    /// Every player in every room, by room id.
    pub fn players(&self) -> Vec<PlayerSummary> {
        let rooms = self.players.lock().unwrap_or_else(PoisonError::into_inner);
        rooms.values().flat_map(|r| r.iter().cloned()).collect()
    }

    /// Replaces one room's player list.
    pub fn publish_players(&self, room: &str, players: Vec<PlayerSummary>) {
        self.players
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(room.to_owned(), Arc::new(players));
    }

    /// A room closed: its players are gone.
    pub fn forget_room(&self, room: &str) {
        self.players
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(room);
    }

    pub fn players_json(&self) -> serde_json::Value {
        let players: Vec<_> = self
            .players()
            .iter()
            .map(|p| serde_json::json!({"room": p.room, "id": p.id, "name": p.name, "x": p.x, "y": p.y, "health": p.health, "score": p.score}))
            .collect();
        serde_json::Value::Array(players)
    }

    /// `/healthz`: small, for liveness probes and a quick look.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "status": "ok",
            "tick": self.tick.load(Ordering::Relaxed),
            "clients": self.clients.get(),
            "clients_away": self.clients_away.get(),
            "resumes": self.resumes.get(),
            "rooms": self.rooms.get(),
            "ticks": self.ticks.get(),
            "overruns": self.overruns.get(),
            "skipped_ticks": self.skipped_ticks.get(),
            "closed_for_bad_input": self.connections_closed_for_bad_input.get(),
            "last_tick_us": self.last_tick_us.load(Ordering::Relaxed),
            "snapshot_divisor": self.snapshot_divisor.get(),
        })
    }

    /// `/metrics`: every figure in the Prometheus text format.
    pub fn to_prometheus(&self) -> String {
        let mut out = String::with_capacity(8 * 1024);
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }

    fn register(&mut self) {
        let r = &mut self.registry;
        r.register("ticks", "Simulation ticks run", self.ticks.clone());
        r.register(
            "clients",
            "Clients joined, with a connection",
            self.clients.clone(),
        );
        r.register(
            "clients_away",
            "Clients whose connection dropped, kept for the resume grace",
            self.clients_away.clone(),
        );
        r.register(
            "resumes",
            "Clients that came back with their resume token",
            self.resumes.clone(),
        );
        r.register(
            "resumes_refused",
            "Resumes refused: a token already used, or its player gone",
            self.resumes_refused.clone(),
        );
        r.register(
            "resumes_expired",
            "Away clients whose resume grace ended",
            self.resumes_expired.clone(),
        );
        r.register("rooms", "Rooms open", self.rooms.clone());
        r.register(
            "agones_allocated",
            "1 once Agones reported this server Allocated (--agones)",
            self.agones_allocated.clone(),
        );
        r.register(
            "agones_errors",
            "Agones SDK calls that failed (--agones)",
            self.agones_errors.clone(),
        );
        r.register(
            "agones_health_streams",
            "Health streams opened to the Agones sidecar; more than one: it dropped one",
            self.agones_health_streams.clone(),
        );
        r.register(
            "refused_pending",
            "Connections closed on accept because too many were mid-handshake",
            self.refused_pending.clone(),
        );
        r.register(
            "refused_origin",
            "Game socket requests refused for their page's origin",
            self.refused_origin.clone(),
        );
        r.register(
            "inputs_repeated",
            "Inputs a WebTransport datagram carried again, skipped before the room",
            self.inputs_repeated.clone(),
        );
        r.register(
            "webtransport_sessions",
            "WebTransport sessions that opened their session stream",
            self.webtransport_sessions.clone(),
        );
        r.register(
            "refused_ticket",
            "Game socket requests refused for a missing, bad or expired ticket",
            self.refused_ticket.clone(),
        );
        r.register(
            "send_failures",
            "Connections dropped: a send failed or outlasted the send timeout",
            self.send_failures.clone(),
        );
        r.register(
            "kind_rooms",
            "Rooms open, by room kind",
            self.rooms_by_kind.clone(),
        );
        r.register(
            "kind_clients",
            "Clients joined, by room kind",
            self.clients_by_kind.clone(),
        );
        r.register(
            "kind_tick_duration_seconds",
            "Work per room tick, by room kind",
            self.tick_duration_by_kind.clone(),
        );
        r.register(
            "rooms_failed",
            "Rooms closed because their simulation panicked",
            self.rooms_failed.clone(),
        );
        r.register(
            "tick_overruns",
            "Ticks that finished after the next was due",
            self.overruns.clone(),
        );
        r.register(
            "ticks_skipped",
            "Ticks skipped after falling more than five behind",
            self.skipped_ticks.clone(),
        );
        r.register(
            "tick_duration_seconds",
            "Work per tick",
            self.tick_duration.clone(),
        );
        r.register(
            "inputs_applied",
            "Player inputs applied",
            self.inputs_applied.clone(),
        );
        r.register(
            "inputs_late",
            "Inputs applied as a second or later input of one player in one tick",
            self.inputs_late.clone(),
        );
        r.register(
            "shots_judged",
            "Shots judged at the moment their input claimed (lag compensation)",
            self.shots_judged.clone(),
        );
        r.register(
            "rewinds_clamped",
            "Lag compensation claims older than --max-rewind (or in the future), clamped",
            self.rewinds_clamped.clone(),
        );
        r.register(
            "inputs_dropped",
            "Inputs dropped: out of order, queue full, or from a spectator",
            self.inputs_dropped.clone(),
        );
        r.register(
            "inputs_over_rate",
            "Inputs dropped for arriving faster than the input rate allows",
            self.inputs_over_rate.clone(),
        );
        r.register(
            "outbox_skipped",
            "Snapshots replaced before a slow client's writer sent them",
            self.outbox_skipped.clone(),
        );
        r.register(
            "frames_in",
            "WebSocket messages received",
            self.frames_in.clone(),
        );
        r.register(
            "bytes_in",
            "Payload bytes of messages received",
            self.bytes_in.clone(),
        );
        r.register(
            "frames_out",
            "WebSocket messages sent",
            self.frames_out.clone(),
        );
        r.register(
            "bytes_out",
            "Payload bytes of messages sent",
            self.bytes_out.clone(),
        );
        r.register(
            "frames_out_direct",
            "Of the messages sent, those a room's thread wrote to an idle plain-TCP connection itself",
            self.frames_out_direct.clone(),
        );
        r.register(
            "claim_age_seconds",
            "Age of the moment an input holding a trigger claimed, before --max-rewind clamps it",
            self.claim_age.clone(),
        );
        r.register(
            "snapshot_bytes",
            "Bytes per snapshot message",
            self.snapshot_bytes.clone(),
        );
        r.register(
            "snapshots_full",
            "Snapshots sent against the empty world",
            self.snapshots_full.clone(),
        );
        r.register(
            "snapshots_delta",
            "Snapshots sent as a delta against an acknowledged one",
            self.snapshots_delta.clone(),
        );
        r.register(
            "snapshots_held",
            "Snapshots not sent to a client with too many unacknowledged (flow control)",
            self.snapshots_held.clone(),
        );
        r.register(
            "snapshots_over_budget",
            "Snapshots not sent to a client that spent its byte budget (--max-kbps-per-client)",
            self.snapshots_over_budget.clone(),
        );
        r.register(
            "entities_deferred",
            "Entities new to a client's view left out of a snapshot to fit its datagram or budget",
            self.entities_deferred.clone(),
        );
        r.register(
            "snapshot_divisor",
            "Clients get a snapshot one tick in this many (above 1: shedding load)",
            self.snapshot_divisor.clone(),
        );
        r.register(
            "transport_frames",
            "Frames in and out by transport (WebSocket frames; WebTransport datagrams and stream frames)",
            self.transport_frames.clone(),
        );
        r.register(
            "transport_bytes",
            "Bytes in and out by transport",
            self.transport_bytes.clone(),
        );
        r.register(
            "closes",
            "Connections closed by the server, by close code",
            self.closes.clone(),
        );
        r.register(
            "closed_for_bad_input",
            "Connections closed for a client's fault",
            self.connections_closed_for_bad_input.clone(),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metrics_render_in_prometheus_text() {
        let s = ServerStats::default();
        s.ticks.inc_by(3);
        s.tick_duration.observe(0.0015);
        s.count_close(4005, true);
        let text = s.to_prometheus();
        assert!(text.contains("snapwire_ticks_total 3"), "{text}");
        assert!(
            text.contains("snapwire_tick_duration_seconds_bucket{le=\"0.002\"} 1"),
            "{text}"
        );
        assert!(
            text.contains("snapwire_closes_total{code=\"4005\"} 1"),
            "{text}"
        );
        assert_eq!(s.connections_closed_for_bad_input.get(), 1);
    }
}
