//! Any snapshot body against a fixed baseline: decoding must return, never panic or allocate
//! without bound; and whatever decodes must re-encode to a body that decodes to the same view.
#![no_main]

use libfuzzer_sys::fuzz_target;
use snapwire_shared::sim::EntityId;
use snapwire_shared::snapshot::{EntityKind, EntityState, View, decode, encode};

fuzz_target!(|input: (u8, &[u8])| {
    let (gap, body) = input;
    let baseline = View::from_sorted(
        (1..=20u32)
            .map(|i| {
                let s = EntityState {
                    kind: EntityKind::Drifter,
                    x: i as i32 * 1000,
                    y: 500,
                    vx: 100,
                    vy: -50,
                    ..Default::default()
                };
                (EntityId(i * 3), s)
            })
            .collect(),
    );
    if let Ok(view) = decode(&baseline, u32::from(gap), body) {
        let again = encode(&baseline, u32::from(gap), &view);
        assert_eq!(
            decode(&baseline, u32::from(gap), &again).as_ref(),
            Ok(&view)
        );
    }
});
