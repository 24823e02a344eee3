//! What a room keeps about each client: its inputs, acknowledgements and what it was sent.
//! Nothing here belongs to a connection (no queue, no socket), so a later connection can take
//! over a member's state.

use std::collections::VecDeque;

use snapwire_shared::Tick;
use snapwire_shared::sim::{EntityId, PlayerInput};

use crate::room::ClientId;
use crate::room::budget::{ByteBudget, Waiting};
use crate::room::flow::Flow;

/// Inputs waiting to be applied. A client sending faster than the tick rate fills this; the
/// oldest input is then dropped, and the client's prediction snaps back to the server.
pub const MAX_QUEUED_INPUTS: usize = 32;

/// Input steps a player may bank while none arrive (half a second at 60 Hz), so the burst
/// that follows a network stall is applied within a few ticks, but never faster on average
/// than one per tick (no speed hacks). Over TCP every lost packet is such a stall: with a bank
/// of 3, each one left a standing queue that drained at one extra input per 30 ticks, and on
/// the `average` link (100 ms, 2% loss) inputs waited 490 ms (p50) for their acknowledgement
/// where the round trip is 200 ms.
pub const MAX_INPUT_BUDGET: u32 = 30;

/// Inputs applied for one player in one tick at most, however much is banked: catching up
/// after a stall takes a few ticks, so others see the player hurry rather than jump.
pub const MAX_INPUTS_PER_TICK: usize = 3;

/// Ticks a queue of inputs may stand (never empty after applying) before one extra input is
/// applied to drain it. Without this, one burst of network jitter would add a tick of input
/// latency for the rest of the connection; with it, a client sending too fast gains at most one
/// step in this many.
pub const STANDING_QUEUE_TICKS: u32 = 30;

/// Bad acknowledgements tolerated (and logged) before the connection is closed.
pub const MAX_BAD_ACKS: u32 = 16;

#[derive(Debug)]
pub struct Member {
    pub id: ClientId,
    pub name: String,
    /// The player entity; `None` for a spectator.
    pub entity: Option<EntityId>,
    /// Its connection dropped and it may resume ([`crate::room::Room::park`]): its player
    /// stands still, and it is sent nothing.
    pub away: bool,
    pub inputs: VecDeque<(u32, PlayerInput)>,
    pub last_received_seq: u32,
    pub last_applied_seq: u32,
    pub input_budget: u32,
    /// Consecutive ticks that ended with inputs still queued.
    pub standing_ticks: u32,
    /// Inputs dropped (out of order, a full queue, or sent by a spectator) since the tick loop
    /// last asked.
    dropped: u64,
    /// Input tokens left ([`crate::room::InputRate`]).
    tokens: f64,
    /// Consecutive ticks in which an input found no token.
    pub over_rate_ticks: u32,
    /// An input found no token since the last refill.
    over_rate_now: bool,
    /// Newest snapshot tick the client acknowledged.
    pub acked: Option<Tick>,
    pub bad_acks: u32,
    /// What each snapshot sent since the acknowledged one held, oldest first: the baseline
    /// for the next delta is one of these. At most the server's snapshot history long.
    pub sent: VecDeque<SentView>,
    /// Index lists of records already dropped, reused for new ones (no allocation per tick).
    spare: Vec<Vec<u32>>,
    /// Acknowledgement flow control: whether it may be sent a snapshot now.
    pub flow: Flow,
    /// The largest snapshot its link carries as one datagram (`None`: any size): deltas stay
    /// within it ([`crate::room::budget`]).
    pub datagram_limit: Option<usize>,
    /// Its byte budget, when the room has one (`--max-kbps-per-client`).
    pub budget: Option<ByteBudget>,
    /// Entities in its view that did not fit its snapshots yet.
    pub waiting: Waiting,
}

/// The entities one snapshot sent to a client held.
#[derive(Debug)]
pub struct SentView {
    pub tick: Tick,
    /// The whole frame of `tick` (spectators); `indices` is then empty.
    pub all: bool,
    /// Ascending indices into the entities of the frame of `tick`.
    pub indices: Vec<u32>,
}

/// Dropped index lists a client keeps for reuse: a client acknowledging every tick frees one
/// and needs one per tick.
const SPARE_LISTS: usize = 4;

/// What an acknowledgement turned out to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AckOutcome {
    Accepted,
    /// Not newer than the last ack, or older than anything the server still remembers
    /// sending: harmless, ignored.
    TooOld,
    /// A tick ahead of the server, or one it never sent.
    Bad(&'static str),
}

impl Member {
    pub fn new(id: ClientId, name: String, entity: Option<EntityId>) -> Member {
        Member {
            id,
            name,
            entity,
            away: false,
            inputs: VecDeque::new(),
            last_received_seq: 0,
            last_applied_seq: 0,
            input_budget: 1,
            standing_ticks: 0,
            dropped: 0,
            tokens: 1.0,
            over_rate_ticks: 0,
            over_rate_now: false,
            acked: None,
            bad_acks: 0,
            sent: VecDeque::new(),
            spare: Vec::new(),
            flow: Flow::default(),
            datagram_limit: None,
            budget: None,
            waiting: Waiting::default(),
        }
    }

    /// Queues an input. Out-of-order or repeated sequence numbers are dropped: TCP keeps order,
    /// so only a broken or hostile client sends them.
    pub fn queue_input(&mut self, seq: u32, input: PlayerInput) -> bool {
        let stale =
            self.last_received_seq != 0 && (seq.wrapping_sub(self.last_received_seq) as i32) <= 0;
        if self.entity.is_none() || stale {
            self.dropped += 1;
            return false;
        }
        self.last_received_seq = seq;
        if self.inputs.len() == MAX_QUEUED_INPUTS {
            self.inputs.pop_front();
            self.dropped += 1;
        }
        self.inputs.push_back((seq, input));
        true
    }

    /// Fills the input bucket (a new client starts with a full one).
    pub fn fill_tokens(&mut self, burst: f64) {
        self.tokens = burst;
    }

    /// Spends one input token; false (and the tick marked over the rate) when none is left.
    pub fn take_token(&mut self) -> bool {
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            return true;
        }
        self.over_rate_now = true;
        false
    }

    /// Once a tick: tokens refill, and a tick spent over the rate extends the streak.
    pub fn refill_tokens(&mut self, refill: f64, burst: f64) {
        self.tokens = (self.tokens + refill).min(burst);
        if std::mem::take(&mut self.over_rate_now) {
            self.over_rate_ticks += 1;
        } else {
            self.over_rate_ticks = 0;
        }
    }

    /// Inputs dropped since the last call.
    pub fn take_dropped(&mut self) -> u64 {
        std::mem::take(&mut self.dropped)
    }

    /// A tick in which the player took no step (it was away): one more may be banked.
    pub fn bank_input_step(&mut self) {
        self.input_budget = (self.input_budget + 1).min(MAX_INPUT_BUDGET);
    }

    /// Inputs to apply this tick, in order: at most the banked budget, plus one when a queue
    /// has stood for [`STANDING_QUEUE_TICKS`].
    pub fn take_inputs(&mut self) -> impl Iterator<Item = (u32, PlayerInput)> + '_ {
        self.input_budget = (self.input_budget + 1).min(MAX_INPUT_BUDGET);
        let mut n = (self.input_budget as usize)
            .min(self.inputs.len())
            .min(MAX_INPUTS_PER_TICK);
        self.input_budget -= n as u32;
        if self.inputs.len() > n {
            self.standing_ticks += 1;
            if self.standing_ticks >= STANDING_QUEUE_TICKS {
                n += 1;
                self.standing_ticks = 0;
            }
        } else {
            self.standing_ticks = 0;
        }
        self.inputs.drain(..n)
    }

    pub fn on_ack(&mut self, tick: Tick, now: Tick) -> AckOutcome {
        let outcome = if tick > now {
            AckOutcome::Bad("acknowledged a tick from the future")
        } else if self.acked.is_some_and(|a| tick <= a) {
            // Datagrams arrive out of order (WebTransport): an ack not newer than the last
            // changes nothing, and costs nothing.
            AckOutcome::TooOld
        } else if self.sent.front().is_none_or(|s| tick < s.tick) {
            AckOutcome::TooOld
        } else if !self.sent.iter().any(|s| s.tick == tick) {
            AckOutcome::Bad("acknowledged a tick it was never sent")
        } else {
            self.acked = Some(tick);
            // Acknowledgements only move forward, so older records can never be a baseline.
            while self.sent.front().is_some_and(|s| s.tick < tick) {
                self.drop_oldest();
            }
            let next = self.sent.get(1).map(|s| s.tick);
            self.flow.on_ack(tick, now, next);
            AckOutcome::Accepted
        };
        if matches!(outcome, AckOutcome::Bad(_)) {
            self.bad_acks += 1;
        }
        outcome
    }

    /// Remembers what the snapshot of `tick` held: the whole frame, or `indices` of it.
    pub fn record_sent(&mut self, tick: Tick, all: bool, indices: &[u32], keep: usize) {
        while self.sent.len() >= keep.max(1) {
            self.drop_oldest();
        }
        let mut list = self.spare.pop().unwrap_or_default();
        list.clear();
        if !all {
            list.extend_from_slice(indices);
        }
        self.sent.push_back(SentView {
            tick,
            all,
            indices: list,
        });
        self.flow.on_sent(tick);
    }

    /// The client kept none of its snapshots (it reloaded): no baseline until it acknowledges
    /// a new one.
    pub fn forget_acks(&mut self) {
        self.acked = None;
        self.flow.forget();
        self.waiting.clear();
        while !self.sent.is_empty() {
            self.drop_oldest();
        }
    }

    /// The client starts its input sequence over (a reload answered with `Welcome`): the next
    /// input is new whatever its number, and no snapshot acknowledges an old one.
    pub fn restart_inputs(&mut self) {
        // Discarded with the old connection, like a leaver's: not counted as dropped, which
        // counts inputs refused from a live one.
        self.inputs.clear();
        self.last_received_seq = 0;
        self.last_applied_seq = 0;
    }

    /// What the client holds for its acknowledged tick, if that is still remembered.
    pub fn acked_view(&self) -> Option<&SentView> {
        let acked = self.acked?;
        self.sent.iter().find(|s| s.tick == acked)
    }

    fn drop_oldest(&mut self) {
        if let Some(old) = self.sent.pop_front()
            && self.spare.len() < SPARE_LISTS
        {
            self.spare.push(old.indices);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client() -> Member {
        Member::new(1, "c".into(), Some(EntityId(1)))
    }

    #[test]
    fn hostile_acks_are_refused_and_counted() {
        let mut c = client();
        for t in 10..20 {
            c.record_sent(Tick(t), false, &[], 64);
        }
        assert_eq!(
            c.on_ack(Tick(25), Tick(20)),
            AckOutcome::Bad("acknowledged a tick from the future")
        );
        assert_eq!(c.on_ack(Tick(5), Tick(20)), AckOutcome::TooOld);
        assert_eq!(c.on_ack(Tick(15), Tick(20)), AckOutcome::Accepted);
        // An older ack (a datagram overtaken by a newer one) changes nothing.
        assert_eq!(c.on_ack(Tick(12), Tick(20)), AckOutcome::TooOld);
        assert_eq!(c.on_ack(Tick(15), Tick(20)), AckOutcome::TooOld);
        assert_eq!(c.bad_acks, 1);
        assert_eq!(c.acked, Some(Tick(15)));
        assert_eq!(
            c.sent.front().map(|s| s.tick),
            Some(Tick(15)),
            "records older than the acknowledged tick are dropped"
        );
    }

    #[test]
    fn input_budget_never_exceeds_one_per_tick_on_average() {
        let mut c = client();
        for seq in 1..=20 {
            assert!(c.queue_input(seq, PlayerInput::default()));
        }
        assert!(!c.queue_input(3, PlayerInput::default()));
        assert_eq!(c.take_dropped(), 1, "the stale input is counted as dropped");
        let applied: usize = (0..10).map(|_| c.take_inputs().count()).sum();
        assert!(
            applied <= 10 + MAX_INPUT_BUDGET as usize,
            "applied {applied}"
        );
        // A client sending two inputs per tick still moves at most 1 + 1/30 steps per tick.
        let mut seq = 100;
        let mut applied = 0;
        for _ in 0..300 {
            for _ in 0..2 {
                seq += 1;
                c.queue_input(seq, PlayerInput::default());
            }
            applied += c.take_inputs().count();
        }
        assert!(
            applied <= 300 + 300 / STANDING_QUEUE_TICKS as usize + MAX_INPUT_BUDGET as usize,
            "applied {applied}"
        );
    }
}
