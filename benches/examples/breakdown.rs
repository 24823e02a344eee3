use snapwire_benches::Scene;
use snapwire_shared::snapshot::{EntityKind, View, encode, format};
fn main() {
    let mut scene = Scene::play(64, false);
    let (mut kept, mut changed, mut added, mut removed, mut proj_added) = (0, 0, 0, 0, 0);
    let mut field_changes = [0usize; 9];
    let mut bytes = 0;
    let mut n = 0;
    let mut prev: Option<View> = None;
    for _ in 0..200 {
        scene.tick();
        let frame = scene.history.get(scene.world.tick()).unwrap().clone();
        // Client 0's view approximated as the whole world.
        let view = View::from_sorted(frame.entities.iter().map(|e| (e.id, e.state)).collect());
        if let Some(p) = &prev {
            bytes += encode(p, 1, &view).len();
            n += 1;
            for (id, s) in view.entities() {
                match p.get(*id) {
                    Some(b) => {
                        kept += 1;
                        let pr = format::predict(b, 1);
                        let f = s.fields();
                        if f != pr {
                            changed += 1;
                        }
                        for k in 0..9 {
                            if f[k] != pr[k] {
                                field_changes[k] += 1;
                            }
                        }
                    }
                    None => {
                        added += 1;
                        if s.kind == EntityKind::Projectile {
                            proj_added += 1;
                        }
                    }
                }
            }
            removed += p
                .entities()
                .iter()
                .filter(|(id, _)| view.get(*id).is_none())
                .count();
        }
        prev = Some(view);
    }
    let n = n as f64;
    println!(
        "per snapshot: bytes {:.1} kept {:.1} changed {:.1} added {:.1} (projectiles {:.1}) removed {:.1}",
        bytes as f64 / n,
        kept as f64 / n,
        changed as f64 / n,
        added as f64 / n,
        proj_added as f64 / n,
        removed as f64 / n
    );
    println!(
        "field changes per snapshot: {:?}",
        field_changes.map(|c| (c as f64 / n * 10.0).round() / 10.0)
    );
}
