//! Client-side prediction of the local player, with reconciliation against the server.
//!
//! The server moves a player only when it applies one of that player's inputs, in sequence
//! order. So the authoritative state in a snapshot that acknowledges input `s` is exactly the
//! state after input `s`, and replaying the inputs after `s` with the same rules predicts the
//! present. A mismatch at `s` means something the client could not know (a hit, a respawn) or a bug.

use std::collections::VecDeque;

use crate::map::MapDef;
use crate::protocol::input_acked;
use crate::sim::movement::{self, Body};
use crate::sim::{PlayerInput, Rules};
use crate::snapshot::EntityState;

/// Unacknowledged inputs kept for replay: two seconds at 60 Hz. Past that the client is far
/// out of touch and the oldest inputs are dropped (the next reconcile snaps to the server).
pub const MAX_PENDING: usize = 128;

#[derive(Debug)]
pub struct Predictor {
    rules: Rules,
    map: MapDef,
    /// Inputs not yet acknowledged, with the body predicted after each.
    pending: VecDeque<(u32, PlayerInput, Body)>,
    /// The server's latest state of the player.
    authoritative: Option<EntityState>,
    /// Predicted state after the newest input.
    predicted: Option<Body>,
    /// Reconciliations where the prediction for the acknowledged input was wrong although
    /// nothing outside the player's own inputs (death, respawn) explains it.
    pub mispredictions: u64,
    /// Reconciliations that checked a prediction.
    pub checked: u64,
    /// Reconciliations that moved the predicted present (for any reason).
    pub corrections: u64,
}

impl Predictor {
    pub fn new(rules: Rules, map: MapDef) -> Predictor {
        Predictor {
            rules,
            map,
            pending: VecDeque::new(),
            authoritative: None,
            predicted: None,
            mispredictions: 0,
            checked: 0,
            corrections: 0,
        }
    }

    /// The predicted body after every input sent so far.
    pub fn predicted(&self) -> Option<Body> {
        self.predicted
    }

    /// Records an input as sent and predicts its effect.
    pub fn push(&mut self, seq: u32, input: PlayerInput) {
        let Some(mut body) = self.predicted else {
            // Nothing to predict from until the first snapshot; keep the input for replay.
            self.pending.push_back((seq, input, Body::default()));
            self.trim();
            return;
        };
        if self.authoritative.is_some_and(|a| a.health > 0) {
            movement::step(&mut body, &input, &self.rules, &self.map);
        }
        self.predicted = Some(body);
        self.pending.push_back((seq, input, body));
        self.trim();
    }

    /// Takes the server's state of the player after input `last_input_seq` (0: none yet).
    /// Returns how far the predicted present moved, in position quanta (0 when the prediction
    /// held), for smoothing the correction on screen.
    pub fn reconcile(&mut self, auth: EntityState, last_input_seq: u32) -> (i32, i32) {
        let previous = self.authoritative.replace(auth);
        let auth_body = Body {
            x: auth.x,
            y: auth.y,
            vx: auth.vx,
            vy: auth.vy,
            angle: auth.angle,
        };
        let mut acked = None;
        while let Some(&(seq, _, body)) = self.pending.front() {
            if input_acked(seq, last_input_seq) {
                acked = Some((seq, body));
                self.pending.pop_front();
            } else {
                break;
            }
        }
        let explained =
            previous.is_none_or(|p| p.life != auth.life || p.health == 0) || auth.health == 0;
        if let Some((seq, body)) = acked
            && seq == last_input_seq
            && self.predicted.is_some()
            && !explained
        {
            self.checked += 1;
            if body != auth_body {
                self.mispredictions += 1;
            }
        }
        let mut body = auth_body;
        for entry in &mut self.pending {
            if auth.health > 0 {
                movement::step(&mut body, &entry.1, &self.rules, &self.map);
            }
            entry.2 = body;
        }
        let moved = match self.predicted {
            Some(old) if previous.is_some() => (body.x - old.x, body.y - old.y),
            _ => (0, 0),
        };
        if moved != (0, 0) {
            self.corrections += 1;
        }
        self.predicted = Some(body);
        moved
    }

    fn trim(&mut self) {
        while self.pending.len() > MAX_PENDING {
            self.pending.pop_front();
        }
    }
}
