//! Snapshot budgets through the real room and the real client, no sockets: a byte budget
//! (`--max-kbps-per-client`) and a datagram limit (WebTransport), with a link that delays and
//! loses snapshots. Every snapshot applied must verify its checksum; what waits must arrive.

use std::collections::VecDeque;

use snapwire_server::net::session::parse_message;
use snapwire_server::room::{Message, Room, RoomSettings, Scene};
use snapwire_shared::Tick;
use snapwire_shared::client::{ClientSession, SessionEvent};
use snapwire_shared::codec;
use snapwire_shared::game::Game;
use snapwire_shared::protocol::ServerMsg;
use snapwire_shared::sim::EntityId;
use snapwire_shared::snapshot::EntityKind;

const LATENCY_TICKS: usize = 6;
const CLIENT: u64 = 3;

/// One client and a room, a link of [`LATENCY_TICKS`] each way that loses every `lose_every`-th
/// snapshot.
struct Link {
    room: Room,
    client: ClientSession,
    to_room: VecDeque<Vec<Vec<u8>>>,
    to_client: VecDeque<Vec<Vec<u8>>>,
    sent: u64,
    lose_every: u64,
    /// Bytes of each snapshot the room built, by tick.
    sizes: Vec<usize>,
    deferred: u64,
}

impl Link {
    fn new(settings: RoomSettings, spectate: bool, lose_every: u64) -> Link {
        let mut room = Room::starting_at(settings, Tick(1000));
        let welcome = room.join(CLIENT, "me", spectate);
        let (mut client, _hello) = ClientSession::new("me", spectate);
        let welcome = codec::encode_server(&ServerMsg::Welcome(welcome));
        assert!(matches!(
            client.handle(&welcome),
            Ok(SessionEvent::Welcome(_))
        ));
        Link {
            room,
            client,
            to_room: (0..LATENCY_TICKS).map(|_| Vec::new()).collect(),
            to_client: (0..LATENCY_TICKS).map(|_| Vec::new()).collect(),
            sent: 0,
            lose_every,
            sizes: Vec::new(),
            deferred: 0,
        }
    }

    fn tick(&mut self) {
        let mut outgoing = Vec::new();
        for frame in self.to_client.pop_front().unwrap_or_default() {
            match self.client.handle(&frame).expect("every snapshot verifies") {
                SessionEvent::Snapshot { .. } => outgoing.extend(self.client.take_ack()),
                SessionEvent::Welcome(_) | SessionEvent::Resumed(_) => panic!("a second Welcome"),
                _ => {}
            }
        }
        self.to_room
            .push_back(outgoing.iter().map(codec::encode_client).collect());
        for frame in self.to_room.pop_front().unwrap_or_default() {
            let msg = parse_message(&frame).expect("valid frames");
            self.room.handle(CLIENT, msg).expect("no rule broken");
        }
        self.room.tick();
        self.deferred += self.room.take_counters().entities_deferred;
        let mut frames = Vec::new();
        for o in self.room.outgoing().iter().filter(|o| o.client == CLIENT) {
            if let Message::Snapshot { bytes, .. } = &o.message {
                self.sizes.push(bytes.len());
                self.sent += 1;
                if !self.sent.is_multiple_of(self.lose_every) {
                    frames.push(bytes.to_vec());
                }
            }
        }
        self.to_client.push_back(frames);
    }

    /// Distances from the client's player to the other players it holds, and to those it
    /// does not hold yet.
    fn distances(&self) -> (Vec<f64>, Vec<f64>) {
        let world = self.room.world();
        let me = EntityId(self.client.player_id().expect("a player").0);
        let at = |id| world.player_position(id).expect("a player");
        let mine = at(me);
        let (_, view) = self.client.replica().latest().expect("a snapshot");
        let (mut came, mut waited) = (Vec::new(), Vec::new());
        for m in self.room.members() {
            let Some(id) = m.entity.filter(|id| *id != me) else {
                continue;
            };
            let p = at(id);
            let d = f64::from(p.x - mine.x).hypot(f64::from(p.y - mine.y));
            if view.get(id).is_some() {
                came.push(d);
            } else {
                waited.push(d);
            }
        }
        (came, waited)
    }

    fn held(&self, kind: EntityKind) -> usize {
        self.client.replica().latest().map_or(0, |(_, view)| {
            view.entities()
                .iter()
                .filter(|(_, s)| s.kind == kind)
                .count()
        })
    }
}

#[test]
fn a_spectator_on_a_byte_budget_gets_a_large_world_within_it() {
    let mut settings = RoomSettings::new(60);
    settings.scene = Scene::Drift(1000);
    // 160 kbps: 333 bytes a tick, 5,000 at most at once; the whole world is about 9.7 KB.
    settings.max_kbps_per_client = Some(160);
    let mut link = Link::new(settings, true, 50);
    let mut ticks = 0;
    while link.held(EntityKind::Drifter) < 1000 {
        link.tick();
        ticks += 1;
        assert!(ticks < 600, "the world never arrived whole");
    }
    // 9.7 KB at 333 bytes a tick is 30 ticks; the first (partial) snapshot's acknowledgement
    // waits for the spectator's every fourth, later batches are acknowledged at once: about
    // 76 ticks. Round trip by round trip with nothing sent in between it would be over 300.
    assert!(ticks <= 120, "the world took {ticks} ticks");
    assert!(link.deferred > 0, "nothing waited: the budget never bit");
    // Over the run, never more than a burst and the rate: the bucket held.
    let total: usize = link.sizes.iter().sum();
    let allowed = 5_000 + 334 * ticks;
    assert!(total <= allowed, "sent {total} bytes, allowed {allowed}");
    assert!(link.sizes.iter().all(|&s| s <= 5_000), "{:?}", link.sizes);
    // It keeps up afterwards: drifters move by prediction, so deltas are small.
    for _ in 0..120 {
        link.tick();
    }
    assert_eq!(link.held(EntityKind::Drifter), 1000);
    assert_eq!(link.client.stats.desyncs, 0);
    assert!(link.client.stats.snapshots > 100);
}

#[test]
fn deltas_fit_the_datagram_and_a_crowd_arrives_nearest_first() {
    let mut settings = RoomSettings::new(60);
    // Everything in view.
    settings.view_width = settings.map.width * 2;
    settings.view_height = settings.map.height * 2;
    let mut link = Link::new(settings, false, 7);
    link.room.set_datagram_limit(CLIENT, Some(300));
    for _ in 0..60 {
        link.tick();
    }
    let before = link.sizes.len();
    // Sixty players join at once: far more than one datagram of new entities.
    for i in 0..60 {
        link.room.join(100 + i, &format!("p{i}"), false);
    }
    let mut ticks = 0;
    let mut first_batch = None;
    while link.held(EntityKind::Player) < 61 {
        link.tick();
        ticks += 1;
        let held = link.held(EntityKind::Player);
        if held > 1 && first_batch.is_none() {
            first_batch = Some(link.distances());
        }
        assert!(ticks < 600, "the crowd never arrived whole");
    }
    assert!(link.deferred > 0, "nothing waited");
    let deltas = &link.sizes[before..];
    assert!(
        deltas.iter().all(|&s| s <= 300),
        "a delta over the datagram: {deltas:?}"
    );
    assert!(deltas.len() > 3, "{deltas:?}");
    // The first players to arrive were the nearest.
    let (came, waited) = first_batch.expect("some came first");
    let mean = |d: &[f64]| d.iter().sum::<f64>() / d.len() as f64;
    assert!(!came.is_empty() && !waited.is_empty());
    assert!(
        mean(&came) < mean(&waited),
        "came {came:?}, waited {waited:?}"
    );
    assert_eq!(link.client.stats.desyncs, 0);
}
