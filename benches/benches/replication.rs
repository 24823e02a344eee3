//! Encode cost per client per tick, and bytes per snapshot, full vs delta, for the drift scene
//! (100 drifters, spectators) and the play scene (64 players); and a client's decode of the
//! whole play world against the previous tick.
//!
//! `cargo bench -p snapwire-benches` prints criterion timings and, first, the byte sizes.

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use snapwire_benches::Scene;
use snapwire_shared::snapshot::{View, decode, encode};

fn median(mut v: Vec<usize>) -> usize {
    v.sort_unstable();
    v[v.len() / 2]
}

fn bytes_report() {
    for (name, make) in [
        (
            "drift:100, 16 spectators",
            (|full| Scene::drift(100, 16, full)) as fn(bool) -> Scene,
        ),
        ("play, 64 players", |full| Scene::play(64, full)),
    ] {
        let sizes = |full| {
            let mut scene = make(full);
            let sizes: Vec<usize> = (0..120).flat_map(|_| scene.tick()).collect();
            median(sizes)
        };
        let (full, delta) = (sizes(true), sizes(false));
        eprintln!(
            "{name}: median message bytes full {full}, delta {delta} (ratio {:.1}x); at 60 Hz {:.1} vs {:.1} kbps",
            full as f64 / delta as f64,
            full as f64 * 60.0 * 8.0 / 1000.0,
            delta as f64 * 60.0 * 8.0 / 1000.0
        );
    }
}

fn replication(c: &mut Criterion) {
    bytes_report();
    let mut group = c.benchmark_group("replication per tick");
    for (name, full) in [("delta", false), ("full", true)] {
        bench_scene(
            &mut group,
            &format!("drift100_16_spectators_{name}"),
            Scene::drift(100, 16, full),
        );
        bench_scene(
            &mut group,
            &format!("play_64_players_{name}"),
            Scene::play(64, full),
        );
        bench_scene(
            &mut group,
            &format!("play_256_players_{name}"),
            Scene::play(256, full),
        );
    }
    group.finish();
    decoding(c);
}

/// What every bot and browser does per snapshot: rebuild a view from its baseline and a body.
/// The whole 64-player world (a spectator's view), each tick against the one before.
fn decoding(c: &mut Criterion) {
    let mut scene = Scene::play(64, false);
    let mut views = Vec::new();
    for _ in 0..121 {
        scene.step_world();
        let frame = scene.record();
        let entities = frame.ids.iter().copied().zip(frame.states.iter().copied());
        views.push(View::from_sorted(entities.collect()));
    }
    let bodies: Vec<(View, Vec<u8>)> = views
        .windows(2)
        .map(|w| (w[0].clone(), encode(&w[0], 1, &w[1])))
        .collect();
    c.bench_function("decode play_64 world per snapshot", |b| {
        let mut i = 0;
        b.iter(|| {
            let (base, body) = &bodies[i % bodies.len()];
            i += 1;
            black_box(decode(base, 1, body))
        })
    });
}

/// Times only stage 5 (building every client's message); stepping and recording are setup.
fn bench_scene(
    group: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
    name: &str,
    mut scene: Scene,
) {
    group.bench_function(name, |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                scene.step_world();
                let frame = scene.record();
                let started = Instant::now();
                black_box(scene.build(&frame));
                total += started.elapsed();
                scene.ack_all();
            }
            total
        })
    });
}

criterion_group!(benches, replication);
criterion_main!(benches);
