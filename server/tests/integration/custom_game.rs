//! A game that is not the arena, hosted by the real room core: its own derived state, its own
//! rules; the room replicates it with the same interest, history and delta codec, and a client
//! rebuilds every snapshot exactly from the bytes.

use std::collections::BTreeMap;

use snapwire_server::room::{Inbound, Message, Room};
use snapwire_shared::Tick;
use snapwire_shared::codec;
use snapwire_shared::game::Game;
use snapwire_shared::map::Point;
use snapwire_shared::protocol::{ServerMsg, Welcome};
use snapwire_shared::sim::{EntityId, PlayerInput};
use snapwire_shared::snapshot::{Replicate, View, checksum, decode};

/// Beads on a line: each player is a bead that moves along x by its input; a bead that
/// reaches the end scores and starts over.
#[derive(Debug, Clone, Copy, PartialEq, Default, Replicate)]
struct Bead {
    #[replicate(group = "motion", chunk = 3, velocity = "speed")]
    x: i32,
    #[replicate(group = "motion", bits = 8, chunk = 2)]
    speed: i8,
    #[replicate(bits = 10)]
    laps: u16,
}

#[derive(Debug, Default)]
struct Beads {
    tick: Tick,
    beads: BTreeMap<EntityId, (String, Bead)>,
    next: u32,
}

const END: i32 = 600;

impl Game for Beads {
    type State = Bead;
    type Input = i8;
    const NAME: &'static str = "beads";

    fn input(controls: &PlayerInput) -> i8 {
        controls.move_x.clamp(-10, 10)
    }

    fn tick(&self) -> Tick {
        self.tick
    }

    fn join(&mut self, name: &str) -> EntityId {
        self.next += 1;
        let id = EntityId(self.next);
        self.beads.insert(id, (name.to_owned(), Bead::default()));
        id
    }

    fn leave(&mut self, player: EntityId) {
        self.beads.remove(&player);
    }

    fn apply_input(&mut self, player: EntityId, input: &i8) {
        if let Some((_, b)) = self.beads.get_mut(&player) {
            b.speed = *input;
        }
    }

    fn step(&mut self) {
        for (_, b) in self.beads.values_mut() {
            b.x += i32::from(b.speed);
            if b.x >= END {
                b.x = 0;
                b.laps += 1;
            }
        }
        self.tick = self.tick.next();
    }

    fn len(&self) -> usize {
        self.beads.len()
    }

    fn entities(&self) -> impl Iterator<Item = (EntityId, Bead)> + '_ {
        self.beads.iter().map(|(id, (_, b))| (*id, *b))
    }

    fn player_position(&self, player: EntityId) -> Option<Point> {
        self.beads.get(&player).map(|(_, b)| Point { x: b.x, y: 0 })
    }

    fn player_name(&self, player: EntityId) -> Option<&str> {
        self.beads.get(&player).map(|(n, _)| n.as_str())
    }

    fn player_score(&self, player: EntityId) -> Option<i32> {
        self.beads.get(&player).map(|(_, b)| i32::from(b.laps))
    }

    type Local = ();

    fn local(_: &Welcome) {}

    /// What `apply_input` does to the own bead.
    fn predict(_: &(), own: &mut Bead, input: &i8) {
        own.speed = *input;
    }

    fn position_of(state: &Bead) -> Point {
        Point { x: state.x, y: 0 }
    }
}

/// An input that also acknowledges `acked` (the newest snapshot the client holds), if any.
fn input(seq: u32, now: Tick, acked: Option<Tick>, move_x: i8) -> Inbound {
    Inbound::Input {
        seq: seq as u16,
        tick: acked.unwrap_or(now).0 as u16,
        input: PlayerInput {
            move_x,
            ..PlayerInput::default()
        },
        ack: acked.is_some(),
    }
}

#[test]
fn a_room_hosts_a_game_of_its_own_and_clients_rebuild_it_exactly() {
    let mut room = Room::with_game(
        snapwire_server::room::RoomSettings::new(60),
        Beads::default(),
    );
    let a = room.join(1, "ann", false).player_id.expect("a player");
    let b = room.join(2, "bob", false).player_id.expect("a player");
    let _ = room.join(3, "watcher", true);
    // What each client holds, by tick, as a real client keeps its received snapshots.
    let mut held: BTreeMap<u64, BTreeMap<Tick, View<Bead>>> = BTreeMap::new();
    let mut names: BTreeMap<u32, String> = BTreeMap::new();
    let mut scores_seen = 0;
    for n in 1..=200u32 {
        let now = room.tick_number();
        // Ann runs at 7 a tick, Bob at 3; both acknowledge the last snapshot they got.
        let acked = |c: u64, held: &BTreeMap<u64, BTreeMap<Tick, View<Bead>>>| {
            held.get(&c).and_then(|m| m.keys().next_back().copied())
        };
        for (client, speed) in [(1u64, 7i8), (2, 3)] {
            let msg = input(n, now, acked(client, &held), speed);
            room.handle(client, msg).expect("valid");
        }
        if let Some(t) = acked(3, &held) {
            room.handle(3, Inbound::Ack(t)).expect("valid");
        }
        for out in room.tick().to_vec() {
            let bytes = match out.message {
                Message::Snapshot { bytes, .. } => bytes,
                Message::Scores(bytes) => {
                    let Ok(ServerMsg::Scores(s)) = codec::decode_server(&bytes) else {
                        panic!("a scoreboard");
                    };
                    assert_eq!(s.players, 2);
                    scores_seen += 1;
                    continue;
                }
            };
            let Ok(ServerMsg::Snapshot(msg)) = codec::decode_server(&bytes) else {
                panic!("a snapshot");
            };
            for name in &msg.names {
                names.insert(name.id, name.name.clone());
            }
            let mine = held.entry(out.client).or_default();
            let base = match msg.baseline() {
                Some(t) => mine.get(&t).cloned().expect("the baseline is one it holds"),
                None => View::default(),
            };
            let view: View<Bead> =
                decode(&base, u32::from(msg.baseline_age), &msg.body).expect("a valid body");
            assert_eq!(checksum(&view), msg.checksum, "tick {}", msg.tick);
            // The room's own state, as the game shows it, is what the client rebuilt.
            let truth: Vec<(EntityId, Bead)> = room
                .world()
                .entities()
                .map(|(id, s)| (id, s.quantized()))
                .collect();
            assert_eq!(view.entities(), &truth[..]);
            mine.insert(msg.tick, view);
            // Keep what a client would: the last few.
            while mine.len() > 8 {
                mine.pop_first();
            }
        }
    }
    let ann = room.world().beads[&EntityId(a)].1;
    let bob = room.world().beads[&EntityId(b)].1;
    // 200 steps each. Ann at 7 a step passes the end on steps 86 and 172 (602 -> 0, the
    // overshoot lost), then 28 more steps; Bob at 3 reaches it exactly on step 200.
    assert_eq!((ann.laps, ann.x), (2, 28 * 7));
    assert_eq!((bob.laps, bob.x), (1, 0));
    assert_eq!(names.get(&a).map(String::as_str), Some("ann"));
    assert_eq!(names.get(&b).map(String::as_str), Some("bob"));
    assert!(scores_seen >= 3 * 3, "one board a second per client");
}
