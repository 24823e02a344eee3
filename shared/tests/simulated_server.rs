//! The client logic driven by a simulated server in-process, no sockets: a `World` stepped at
//! 60 Hz, inputs delivered after a latency, snapshots encoded against the client's acked
//! baseline and delivered after the same latency, some lost.

use std::collections::VecDeque;
use std::sync::Arc;

use snapwire_shared::client::{ClientSession, Interpolator, SessionEvent};
use snapwire_shared::codec;
use snapwire_shared::map::MapDef;
use snapwire_shared::protocol::{
    BUTTON_ACK, ClientMsg, ServerMsg, SnapshotMsg, Welcome, extend_u16,
};
use snapwire_shared::sim::{EntityId, PlayerInput, Rules, World};
use snapwire_shared::snapshot::{View, checksum, encode};
use snapwire_shared::{Tick, snapshot};

const LATENCY_TICKS: usize = 3;

struct SimServer {
    world: World,
    player: EntityId,
    history: VecDeque<(Tick, View)>,
    acked: Option<Tick>,
    last_applied: u32,
}

impl SimServer {
    fn new() -> SimServer {
        let mut world = World::new(
            Arc::new(MapDef::arena()),
            Rules::for_tick_rate(60),
            Tick(1000),
        );
        let player = world.spawn_player("me".into());
        world.add_drifters(10);
        SimServer {
            world,
            player,
            history: VecDeque::new(),
            acked: None,
            last_applied: 0,
        }
    }

    fn welcome(&self) -> Vec<u8> {
        codec::encode_server(&ServerMsg::Welcome(Welcome {
            player_id: Some(self.player.0),
            tick: self.world.tick(),
            tick_rate: 60,
            map: (**self.world.map()).clone(),
            view_width: self.world.map().width,
            view_height: self.world.map().height,
        }))
    }

    /// One server tick applying `inputs`, returning the snapshot frame.
    fn tick(&mut self, inputs: Vec<ClientMsg>) -> Vec<u8> {
        for msg in inputs {
            match msg {
                ClientMsg::Input(i) => {
                    let parsed = PlayerInput::parse(&i).expect("client sends valid input");
                    self.world.apply_input(self.player, &parsed);
                    self.last_applied = extend_u16(i.seq, self.last_applied);
                    if i.buttons & BUTTON_ACK != 0 {
                        self.acked = Some(Tick(extend_u16(i.tick, self.world.tick().0)));
                    }
                }
                ClientMsg::Ack { tick } => self.acked = Some(tick),
                ClientMsg::Hello { .. } => {}
            }
        }
        self.world.step();
        let view = View::from_sorted(
            self.world
                .entities()
                .map(|(id, e)| (id, e.net_state()))
                .collect(),
        );
        let tick = self.world.tick();
        let base = self
            .acked
            .and_then(|a| self.history.iter().find(|(t, _)| *t == a).cloned());
        let (baseline, base_view) = base.map_or((None, View::default()), |(t, v)| (Some(t), v));
        let body = encode(
            &base_view,
            baseline.map_or(0, |b| tick.since(b) as u32),
            &view,
        );
        let msg = SnapshotMsg {
            tick,
            baseline_age: SnapshotMsg::age(tick, baseline),
            last_input_seq: self.last_applied,
            checksum: checksum(&view),
            names: Vec::new(),
            body,
        };
        self.history.push_back((tick, view));
        if self.history.len() > 64 {
            self.history.pop_front();
        }
        codec::encode_server(&ServerMsg::Snapshot(msg))
    }
}

#[test]
fn prediction_replays_and_interpolation_follows_a_simulated_server() {
    let mut server = SimServer::new();
    let (mut client, _hello) = ClientSession::new("me", false);
    assert!(matches!(
        client.handle(&server.welcome()),
        Ok(SessionEvent::Welcome(_))
    ));
    let mut interpolator = Interpolator::new(60);

    let mut to_server: VecDeque<Vec<ClientMsg>> = (0..LATENCY_TICKS).map(|_| Vec::new()).collect();
    let mut to_client: VecDeque<Option<Vec<u8>>> = (0..LATENCY_TICKS).map(|_| None).collect();
    for t in 0..600u32 {
        // The client: one input per tick (turning every second), and acks for what arrived.
        let mut outgoing = Vec::new();
        let angle = f64::from(t / 60) * 1.3;
        let (mx, my) = (angle.cos() as f32, angle.sin() as f32);
        outgoing.extend(client.input(mx, my, 0.5, false));
        if let Some(Some(frame)) = to_client.pop_front() {
            match client.handle(&frame).expect("valid snapshot") {
                SessionEvent::Snapshot { tick, .. } => {
                    let (_, view) = client.replica().latest().expect("a snapshot");
                    interpolator.push(tick, view, f64::from(t) * 1000.0 / 60.0);
                    outgoing.extend(client.take_ack());
                }
                other => panic!("unexpected {other:?}"),
            }
        }
        to_server.push_back(outgoing);
        let frame = server.tick(to_server.pop_front().unwrap_or_default());
        // Every fifth snapshot is lost.
        to_client.push_back((t % 5 != 4).then_some(frame));
    }

    let predictor = client.predictor().expect("a player predicts");
    assert!(predictor.checked > 400, "checked {}", predictor.checked);
    assert_eq!(predictor.mispredictions, 0);
    assert_eq!(client.stats.desyncs, 0);
    // The prediction runs ahead of the last snapshot by the unacknowledged inputs: replaying
    // them on the server's state gives the same body as the client holds.
    let predicted = predictor.predicted().expect("predicted");
    let (_, view) = client.replica().latest().expect("snapshot");
    let auth = view.get(server.player).expect("own player in view");
    assert_ne!(
        (predicted.x, predicted.y),
        (auth.x, auth.y),
        "prediction leads the server"
    );

    // Interpolated drifters sit between their positions in two received snapshots.
    let now = 600.0 * 1000.0 / 60.0;
    let drawn = interpolator.sample(now);
    assert_eq!(drawn.len(), view.len());
    for d in drawn
        .iter()
        .filter(|d| d.state.kind == snapshot::EntityKind::Drifter)
    {
        assert!(
            (d.x - f64::from(d.state.x)).abs() <= 3.0 * 100.0 + 1.0,
            "drifter {} drawn at {} vs {}",
            d.id.0,
            d.x,
            d.state.x
        );
    }
}
