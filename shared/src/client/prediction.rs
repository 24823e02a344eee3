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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::PlayerInput;
    use crate::snapshot::{EntityKind, EntityState};

    fn welcome() -> Welcome {
        crate::client::fixtures::welcome(0)
    }

    fn standing() -> EntityState {
        EntityState {
            kind: EntityKind::Player,
            x: 10_000,
            y: 10_000,
            health: 100,
            ..EntityState::default()
        }
    }

    fn right() -> PlayerInput {
        PlayerInput::from_controls(1.0, 0.0, 0.0, false)
    }

    /// The server's answer to input `seq`, computed with the same rules: a prediction that
    /// holds is checked and never counted.
    fn server_after(inputs: usize) -> EntityState {
        let local = World::local(&welcome());
        let mut s = standing();
        for _ in 0..inputs {
            World::predict(&local, &mut s, &right());
        }
        s
    }

    #[test]
    fn a_prediction_that_holds_is_checked_and_not_counted() {
        let mut p = Predictor::<World>::new(&welcome());
        p.reconcile(standing(), 0);
        for seq in 1..=3 {
            p.push(seq, right());
        }
        let moved = p.reconcile(server_after(2), 2);
        assert_eq!((p.checked, p.mispredictions, p.corrections), (1, 0, 0));
        assert_eq!(moved, (0, 0), "the present did not move");
        assert_eq!(p.predicted(), Some(server_after(3)));
    }

    /// The detector the bots' and the page's `mispredictions == 0` rely on: the server's state
    /// after an input differs from what the client predicted for it, with nothing (a death, a
    /// respawn) to explain it. It must fire, and the present must move to the server's.
    #[test]
    fn a_wrong_prediction_fires_the_detector_and_corrects_the_present() {
        let mut p = Predictor::<World>::new(&welcome());
        p.reconcile(standing(), 0);
        for seq in 1..=3 {
            p.push(seq, right());
        }
        let mut wrong = server_after(2);
        wrong.x += 37;
        let moved = p.reconcile(wrong, 2);
        assert_eq!((p.checked, p.mispredictions, p.corrections), (1, 1, 1));
        assert_eq!(
            moved,
            (37, 0),
            "the present moved by the server's difference"
        );
        let local = World::local(&welcome());
        let mut present = wrong;
        World::predict(&local, &mut present, &right());
        assert_eq!(
            p.predicted(),
            Some(present),
            "replayed from the server's state"
        );
    }

    /// A respawn between two snapshots explains any difference: corrected, not counted.
    #[test]
    fn a_respawn_is_corrected_without_counting_a_misprediction() {
        let mut p = Predictor::<World>::new(&welcome());
        p.reconcile(standing(), 0);
        p.push(1, right());
        let respawned = EntityState {
            x: 30_000,
            life: 1,
            ..standing()
        };
        let moved = p.reconcile(respawned, 1);
        assert_eq!((p.checked, p.mispredictions), (0, 0));
        assert_eq!(p.corrections, 1);
        assert_ne!(moved, (0, 0));
    }
}
