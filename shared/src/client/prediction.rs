//! Client-side prediction of the local player, with reconciliation against the server.
//!
//! The server moves a player only when it applies one of that player's inputs, in sequence
//! order. So the authoritative state in a snapshot that acknowledges input `s` is exactly the
//! state after input `s`, and replaying the inputs after `s` with the same rules predicts the
//! present. A mismatch at `s` means something the client could not know (a hit, a respawn) or a bug.

use std::collections::VecDeque;

use crate::game::Game;
use crate::protocol::{Welcome, input_acked};
use crate::sim::World;

/// Unacknowledged inputs kept for replay: two seconds at 60 Hz. Past that the client is far
/// out of touch and the oldest inputs are dropped (the next reconcile snaps to the server).
pub const MAX_PENDING: usize = 128;

/// The own player of game `G`, predicted with the game's rules ([`Game::predict`]).
#[derive(Debug)]
pub struct Predictor<G: Game = World> {
    local: G::Local,
    /// Inputs not yet acknowledged, with the state predicted after each (`None` before the
    /// first snapshot: nothing to predict from yet).
    pending: VecDeque<(u32, G::Input, Option<G::State>)>,
    /// The server's latest state of the player.
    authoritative: Option<G::State>,
    /// Predicted state after the newest input.
    predicted: Option<G::State>,
    /// Reconciliations where the prediction for the acknowledged input was wrong although
    /// nothing outside the player's own inputs (death, respawn) explains it.
    pub mispredictions: u64,
    /// Reconciliations that checked a prediction.
    pub checked: u64,
    /// Reconciliations that moved the predicted present (for any reason).
    pub corrections: u64,
}

impl<G: Game> Predictor<G> {
    pub fn new(welcome: &Welcome) -> Predictor<G> {
        Predictor {
            local: G::local(welcome),
            pending: VecDeque::new(),
            authoritative: None,
            predicted: None,
            mispredictions: 0,
            checked: 0,
            corrections: 0,
        }
    }

    /// The predicted state after every input sent so far.
    pub fn predicted(&self) -> Option<G::State> {
        self.predicted
    }

    /// Records an input as sent and predicts its effect.
    pub fn push(&mut self, seq: u32, input: G::Input) {
        let predicted = self.predicted.map(|mut state| {
            G::predict(&self.local, &mut state, &input);
            state
        });
        self.predicted = predicted;
        self.pending.push_back((seq, input, predicted));
        self.trim();
    }

    /// Takes the server's state of the player after input `last_input_seq` (0: none yet).
    /// Returns how far the predicted present moved, in position quanta (0 when the prediction
    /// held), for smoothing the correction on screen.
    pub fn reconcile(&mut self, auth: G::State, last_input_seq: u32) -> (i32, i32) {
        let previous = self.authoritative.replace(auth);
        let mut acked = None;
        while let Some(&(seq, _, state)) = self.pending.front() {
            if input_acked(seq, last_input_seq) {
                acked = Some((seq, state));
                self.pending.pop_front();
            } else {
                break;
            }
        }
        let explained = previous.is_none_or(|p| G::unpredictable(&p, &auth));
        if let Some((seq, Some(state))) = acked
            && seq == last_input_seq
            && !explained
        {
            self.checked += 1;
            if !G::same_prediction(&state, &auth) {
                self.mispredictions += 1;
            }
        }
        let mut state = auth;
        for entry in &mut self.pending {
            G::predict(&self.local, &mut state, &entry.1);
            entry.2 = Some(state);
        }
        let now = G::position_of(&state);
        let moved = match self.predicted {
            Some(old) if previous.is_some() => {
                let old = G::position_of(&old);
                (now.x - old.x, now.y - old.y)
            }
            _ => (0, 0),
        };
        if moved != (0, 0) {
            self.corrections += 1;
        }
        self.predicted = Some(state);
        moved
    }

    fn trim(&mut self) {
        while self.pending.len() > MAX_PENDING {
            self.pending.pop_front();
        }
    }
}
