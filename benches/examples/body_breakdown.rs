//! What a play-scene snapshot body is made of, to choose encodings from measurement:
//! `cargo run --release -p snapwire-benches --example body_breakdown`.
//!
//! Encodes the whole world (a spectator's view) each tick against the previous tick and counts
//! kept, changed, added and removed entities, and how often each field differs from the
//! dead-reckoning prediction.

use snapwire_benches::Scene;
use snapwire_shared::snapshot::{EntityKind, EntityState, Replicate, View, encode, format};

const TICKS: u32 = 300;

fn main() {
    let mut scene = Scene::play(64, false);
    let mut totals = Totals::default();
    let mut previous: Option<View> = None;
    for _ in 0..TICKS {
        scene.step_world();
        let frame = scene.record();
        let view = View::from_sorted(
            frame
                .ids
                .iter()
                .copied()
                .zip(frame.states.iter().copied())
                .collect(),
        );
        if let Some(prev) = &previous {
            totals.add(prev, &view);
        }
        previous = Some(view);
    }
    let n = f64::from(TICKS - 1);
    let per = |v: usize| v as f64 / n;
    println!(
        "per snapshot: {:.1} bytes; kept {:.1}, changed {:.1}, added {:.1} ({:.1} projectiles), removed {:.1}",
        per(totals.bytes),
        per(totals.kept),
        per(totals.changed),
        per(totals.added),
        per(totals.projectiles_added),
        per(totals.removed)
    );
    let changes: Vec<String> = EntityState::LAYOUT
        .fields
        .iter()
        .zip(totals.field_changes)
        .map(|(f, c)| format!("{} {:.1}", f.name, per(c)))
        .collect();
    println!(
        "fields differing from prediction per snapshot: {}",
        changes.join(", ")
    );
}

#[derive(Default)]
struct Totals {
    bytes: usize,
    kept: usize,
    changed: usize,
    added: usize,
    projectiles_added: usize,
    removed: usize,
    field_changes: [usize; 9],
}

impl Totals {
    fn add(&mut self, prev: &View, view: &View) {
        self.bytes += encode(prev, 1, view).len();
        for (id, state) in view.entities() {
            let Some(base) = prev.get(*id) else {
                self.added += 1;
                self.projectiles_added += usize::from(state.kind == EntityKind::Projectile);
                continue;
            };
            self.kept += 1;
            let (actual, predicted) = (state.words(), format::predict(base, 1));
            self.changed += usize::from(actual != predicted);
            for (k, count) in self.field_changes.iter_mut().enumerate() {
                *count += usize::from(actual[k] != predicted[k]);
            }
        }
        self.removed += prev
            .entities()
            .iter()
            .filter(|(id, _)| view.get(*id).is_none())
            .count();
    }
}
