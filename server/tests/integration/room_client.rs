//! The real client logic against the real room, no sockets: one player whose inputs reach the
//! room after a latency, snapshots that reach the client after the same latency (one in five
//! lost), across the wrap of the 32-bit tick. Every message goes through the same encode,
//! decode and parse steps as on the wire.

use std::collections::VecDeque;

use snapwire_server::net::session::parse_message;
use snapwire_server::room::{Message, Room, Scene};
use snapwire_shared::Tick;
use snapwire_shared::client::{ClientSession, Interpolator, SessionEvent};
use snapwire_shared::codec;
use snapwire_shared::protocol::ServerMsg;
use snapwire_shared::sim::EntityId;
use snapwire_shared::snapshot::EntityKind;

const LATENCY_TICKS: usize = 3;
const CLIENT: u64 = 7;

#[test]
fn prediction_replays_and_interpolation_follows_the_room() {
    let mut settings = snapwire_server::room::RoomSettings::new(60);
    settings.scene = Scene::Drift(10);
    // Everything in view, so every drifter is interpolated.
    settings.view_width = settings.map.width * 2;
    settings.view_height = settings.map.height * 2;
    let mut room = Room::starting_at(settings, Tick(u32::MAX - 300));
    let welcome = room.join(CLIENT, "me", false);
    let me = EntityId(welcome.player_id.expect("a player"));
    let (mut client, _hello) = ClientSession::new("me", false);
    let welcome = codec::encode_server(&ServerMsg::Welcome(welcome));
    assert!(matches!(
        client.handle(&welcome),
        Ok(SessionEvent::Welcome(_))
    ));
    let mut interpolator: Interpolator = Interpolator::new(60);

    let mut to_room: VecDeque<Vec<Vec<u8>>> = (0..LATENCY_TICKS).map(|_| Vec::new()).collect();
    let mut to_client: VecDeque<Vec<Vec<u8>>> = (0..LATENCY_TICKS).map(|_| Vec::new()).collect();
    let mut snapshots = 0;
    for t in 0..600u32 {
        // The client: one input per tick (turning every second), acks for what arrived.
        let mut outgoing = Vec::new();
        let angle = f64::from(t / 60) * 1.3;
        let (mx, my) = (angle.cos() as f32, angle.sin() as f32);
        outgoing.extend(client.input(mx, my, 0.5, false));
        for frame in to_client.pop_front().unwrap_or_default() {
            match client.handle(&frame).expect("valid frame") {
                SessionEvent::Snapshot { tick, .. } => {
                    let (_, view) = client.replica().latest().expect("a snapshot");
                    interpolator.push(tick, view, f64::from(t) * 1000.0 / 60.0);
                    outgoing.extend(client.take_ack());
                }
                SessionEvent::Scores | SessionEvent::Stale | SessionEvent::Part => {}
                SessionEvent::Welcome(_) | SessionEvent::Resumed(_) => panic!("a second Welcome"),
            }
        }
        to_room.push_back(outgoing.iter().map(codec::encode_client).collect());

        // The room: what arrived, then a tick.
        for frame in to_room.pop_front().unwrap_or_default() {
            let msg = parse_message(&frame).expect("the client sends valid frames");
            room.handle(CLIENT, msg).expect("the client breaks no rule");
        }
        room.tick();
        let frames = room
            .outgoing()
            .iter()
            .filter(|o| o.client == CLIENT)
            .filter_map(|o| match &o.message {
                // Every fifth snapshot is lost.
                Message::Snapshot { bytes, .. } => {
                    snapshots += 1;
                    (snapshots % 5 != 0).then(|| bytes.to_vec())
                }
                Message::Scores(bytes) => Some(bytes.to_vec()),
            })
            .collect();
        to_client.push_back(frames);
    }

    assert!(
        room.tick_number().0 < 300,
        "the tick wrapped during the run"
    );
    let predictor = client.predictor().expect("a player predicts");
    assert!(predictor.checked > 400, "checked {}", predictor.checked);
    assert_eq!(predictor.mispredictions, 0);
    assert_eq!(client.stats.desyncs, 0);
    assert!(
        client
            .scores()
            .is_some_and(|s| s.players == 1 && s.you == Some((1, 0)))
    );
    // The prediction runs ahead of the last snapshot by the unacknowledged inputs.
    let predicted = predictor.predicted().expect("predicted");
    let (_, view) = client.replica().latest().expect("snapshot");
    let auth = view.get(me).expect("own player in view");
    assert_ne!(
        (predicted.x, predicted.y),
        (auth.x, auth.y),
        "prediction leads the room"
    );

    // Interpolated drifters sit between their positions in two received snapshots.
    let now = 600.0 * 1000.0 / 60.0;
    let drawn = interpolator.sample(now);
    assert_eq!(drawn.len(), view.len());
    assert_eq!(
        drawn
            .iter()
            .filter(|d| d.state.kind == EntityKind::Drifter)
            .count(),
        10
    );
    for d in drawn.iter().filter(|d| d.state.kind == EntityKind::Drifter) {
        assert!(
            (d.x - f64::from(d.state.x)).abs() <= 3.0 * 100.0 + 1.0,
            "drifter {} drawn at {} vs {}",
            d.id.0,
            d.x,
            d.state.x
        );
    }
}
