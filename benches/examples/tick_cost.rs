//! Where a tick's time goes with many players: `cargo run --release -p snapwire-benches
//! --example tick_cost -- [PLAYERS] [field|arena]` steps the real world and replication for a
//! few seconds of game time and prints per-stage medians and the average view size.

use std::time::Instant;

use snapwire_benches::{Scene, field_map};
use snapwire_shared::map::MapDef;

fn main() {
    let mut args = std::env::args().skip(1);
    let players: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(1500);
    let map = match args.next().as_deref() {
        Some("arena") => MapDef::arena(),
        _ => field_map(),
    };
    let mut scene = Scene::play_on(map, players, false);
    let (mut step, mut record, mut build) = (Vec::new(), Vec::new(), Vec::new());
    let mut bytes = 0usize;
    for _ in 0..240 {
        let t = Instant::now();
        scene.step_world();
        step.push(t.elapsed().as_secs_f64() * 1e3);
        let t = Instant::now();
        let frame = scene.record();
        record.push(t.elapsed().as_secs_f64() * 1e3);
        let t = Instant::now();
        bytes += scene.build(&frame).iter().sum::<usize>();
        build.push(t.elapsed().as_secs_f64() * 1e3);
        scene.ack_all();
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let views: usize = scene
        .room
        .members()
        .map(|c| c.sent.back().map_or(0, |s| s.indices.len()))
        .sum();
    println!(
        "{players} players: entities {}, mean view {:.1}, mean message {:.1} B; median ms: step {:.3}, record {:.3}, build {:.3} ({:.2} us per client)",
        scene.room.world().len(),
        views as f64 / players as f64,
        bytes as f64 / (240 * players) as f64,
        median(&mut step),
        median(&mut record),
        median(&mut build),
        median(&mut build.clone()) * 1000.0 / players as f64,
    );
}
