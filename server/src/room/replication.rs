//! Per-client snapshot messages: pick the client's view and baseline, encode the delta, wrap it.
//!
//! Shared work happens once per tick before this runs (the [`Frame`] with every entity's state and
//! hash, and the [`Grid`]); here each client costs a grid query and an encode against its own
//! baseline, both read in place from frames through index lists. Spectators all see the whole
//! world, so those with the same baseline share one encoded message. The [`Replicator`] keeps its
//! buffers from tick to tick: in steady state a client's message allocates only its own bytes.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;

use bytes::Bytes;
use snapwire_shared::Tick;
use snapwire_shared::codec;
use snapwire_shared::game::Game;
use snapwire_shared::map::Point;
use snapwire_shared::protocol::{PlayerNameRef, SnapshotMsg, SnapshotRef};
use snapwire_shared::sim::EntityId;
use snapwire_shared::snapshot::{Encoder, Entities, SharedResiduals};

use crate::room::budget::Waiting;
use crate::room::budget::{self, Candidate};
use crate::room::history::{Frame, FrameView, SnapshotHistory};
use crate::room::interest::{Grid, player_view};
use crate::room::member::{Member, SentView};
use crate::room::{ClientId, RoomSettings};

/// What every client's message this tick is built from.
#[derive(Debug)]
pub struct TickContext<'a, G: Game> {
    pub frame: &'a Frame<G::State>,
    pub grid: &'a Grid,
    pub history: &'a SnapshotHistory<G::State>,
    /// Baseline frames kept past history for clients that were away ([`crate::room::Room::park`]).
    pub pinned: &'a BTreeMap<ClientId, Arc<Frame<G::State>>>,
    pub game: &'a G,
    pub settings: &'a RoomSettings,
}

/// One client's message.
#[derive(Debug, Clone)]
pub struct Snapshot {
    pub bytes: Bytes,
    /// Encoded against the empty world (no acknowledged baseline in history).
    pub full: bool,
    /// Entities new to the client left out to fit its limit ([`crate::room::budget`]).
    pub deferred: usize,
}

/// Encoder state kept across ticks.
#[derive(Debug, Default)]
pub struct Replicator {
    encoder: Encoder,
    /// Kept entities' residual bits, computed once per (entity, baseline tick) this tick.
    shared: SharedResiduals,
    /// The current client's view: indices into this tick's frame.
    view: Vec<u32>,
    /// The current client's whole view while some of it waits ([`Replicator::fit`]).
    whole: Vec<u32>,
    /// Bits of each entity the current body adds.
    added_bits: Vec<u32>,
    candidates: Vec<Candidate>,
    /// Positions in `whole` of the entities that wait, ascending.
    left_out: Vec<u32>,
    /// The current client's message bytes, before they are copied out.
    message: Vec<u8>,
    /// This tick's spectator messages, by baseline tick (spectators acknowledge in step, so
    /// there are few).
    spectator_messages: Vec<(Option<Tick>, Bytes)>,
    /// The tick the per-tick state above belongs to.
    tick: Option<Tick>,
}

/// A baseline: its tick and what the client holds of it.
type Baseline<'a, S> = Option<(Tick, FrameView<'a, S>)>;

impl Replicator {
    pub fn new() -> Replicator {
        Replicator::default()
    }

    /// The encoded snapshot for `client`, recording what it was sent; `None` when the client
    /// spent its byte budget and gets nothing this tick.
    pub fn message_for<G: Game>(
        &mut self,
        ctx: &TickContext<'_, G>,
        client: &mut Member,
    ) -> Option<Snapshot> {
        let tick = ctx.frame.tick;
        if self.tick != Some(tick) {
            self.spectator_messages.clear();
            self.shared.begin_tick(ctx.frame.len());
            self.tick = Some(tick);
        }
        let allowance = match &client.budget {
            Some(budget) => Some(budget.allowance()?),
            None => None,
        };
        let baseline = baseline_for(ctx, client.id, client.acked, &client.sent);
        let baseline_tick = baseline.map(|(t, _)| t);
        // A delta fits one datagram; a first snapshot arrives whole or not at all anyway.
        let datagram = client.datagram_limit.filter(|_| baseline.is_some());
        let limit = match (allowance, datagram) {
            (Some(a), Some(d)) => Some(a.min(d)),
            (a, d) => a.or(d),
        };
        let spectator = client.entity.is_none();
        // A spectator that holds (or will hold) the whole world shares its message with every
        // other such spectator on the same baseline.
        let whole_world =
            spectator && client.waiting.is_empty() && client.acked_view().is_none_or(|s| s.all);
        if whole_world
            && let Some((_, cached)) = self
                .spectator_messages
                .iter()
                .find(|(b, _)| *b == baseline_tick)
            && limit.is_none_or(|l| cached.len() <= l)
        {
            let bytes = cached.clone();
            client.record_sent(tick, true, &[], ctx.settings.history);
            if let Some(budget) = &mut client.budget {
                budget.spend(bytes.len());
            }
            return Some(Snapshot {
                bytes,
                full: baseline_tick.is_none(),
                deferred: 0,
            });
        }

        let center = client.entity.and_then(|id| ctx.game.player_position(id));
        if let Some(center) = center {
            let (w, h) = (ctx.settings.view_width, ctx.settings.view_height);
            let previous = client
                .sent
                .back()
                .and_then(|s| Some((ctx.history.get(s.tick)?, s)));
            match previous {
                Some((frame, s)) if s.all => {
                    player_view::<G, _>(
                        ctx.grid,
                        ctx.frame,
                        center,
                        w,
                        h,
                        frame.ids.iter().copied(),
                        &mut self.view,
                    );
                }
                Some((frame, s)) => {
                    let ids = s.indices.iter().map(|&i| frame.ids[i as usize]);
                    player_view::<G, _>(ctx.grid, ctx.frame, center, w, h, ids, &mut self.view);
                }
                None => player_view::<G, _>(ctx.grid, ctx.frame, center, w, h, [], &mut self.view),
            }
        } else if !whole_world {
            self.view.clear();
            self.view.extend(0..ctx.frame.len() as u32);
        }
        // A spectator's whole world needs no list.
        let listed = center.is_some() || !whole_world;
        self.encode(ctx, baseline, listed, client.last_applied_seq);
        let deferred = match limit {
            Some(limit) if self.message.len() > limit => {
                if !listed {
                    self.view.clear();
                    self.view.extend(0..ctx.frame.len() as u32);
                }
                let seq = client.last_applied_seq;
                let records = (&client.sent, &mut client.waiting);
                self.fit(ctx, records, seq, baseline, center, limit)
            }
            _ => {
                client.waiting.clear();
                0
            }
        };
        // Over the budget even with every new entity left out (those sent since the last
        // acknowledgement must go again until it comes): wait for the bucket to fill, or for
        // the acknowledgement, rather than spend seconds of it at once.
        if let (Some(a), Some(budget)) = (allowance, &client.budget)
            && self.message.len() > a
            && !budget.is_full()
        {
            return None;
        }
        let all = !listed && deferred == 0;
        let bytes = Bytes::copy_from_slice(&self.message);
        client.record_sent(tick, all, &self.view, ctx.settings.history);
        if let Some(budget) = &mut client.budget {
            budget.spend(bytes.len());
        }
        if all {
            self.spectator_messages.push((baseline_tick, bytes.clone()));
        }
        Some(Snapshot {
            bytes,
            full: baseline_tick.is_none(),
            deferred,
        })
    }

    /// Encodes this tick's message for the current client into `self.message`: its view (the
    /// list in `self.view`, or the whole frame when not `listed`) against `baseline`.
    fn encode<G: Game>(
        &mut self,
        ctx: &TickContext<'_, G>,
        baseline: Baseline<'_, G::State>,
        listed: bool,
        last_input_seq: u32,
    ) {
        let tick = ctx.frame.tick;
        let view = ctx.frame.view(listed.then_some(&self.view[..]));
        match baseline {
            Some((t, base)) => {
                let gap = tick.since(t).max(0) as u32;
                self.encoder
                    .encode_shared(&base, gap, &view, &mut self.shared);
            }
            None => {
                self.encoder.encode(&ctx.frame.view(Some(&[])), 0, &view);
            }
        }
        // Names of players new to this client; rarely any, so usually no allocation.
        let names: Vec<PlayerNameRef<'_>> = self
            .encoder
            .added()
            .iter()
            .filter_map(|&i| {
                let id = view.id(i as usize);
                ctx.game
                    .player_name(id)
                    .map(|name| PlayerNameRef { id: id.0, name })
            })
            .collect();
        let snapshot = SnapshotRef {
            tick,
            baseline_age: SnapshotMsg::age(tick, baseline.map(|(t, _)| t)),
            last_input_seq,
            checksum: view.checksum(),
            names: &names,
            body: self.encoder.body(),
        };
        codec::encode_snapshot_into(&mut self.message, &snapshot);
    }

    /// Leaves entities new to the client out of its view (`self.view`, whose message in
    /// `self.message` is over `limit`), the lowest priority first, until the message fits or
    /// none is left to leave out; returns how many wait.
    fn fit<G: Game>(
        &mut self,
        ctx: &TickContext<'_, G>,
        (sent, waiting_list): (&VecDeque<SentView>, &mut Waiting),
        last_input_seq: u32,
        baseline: Baseline<'_, G::State>,
        center: Option<Point>,
        limit: usize,
    ) -> usize {
        let frame = ctx.frame;
        self.encoder
            .added_bits(&frame.view(Some(&self.view)), &mut self.added_bits);
        // Sent since the acknowledged snapshot: in the client's state already (a record holds
        // what the one before it did, where still in view), so never left out.
        let last = sent
            .back()
            .and_then(|s| Some((ctx.history.get(s.tick)?, s)));
        let sent_before = |id: EntityId| match last {
            Some((f, s)) if s.all => f.ids.binary_search(&id).is_ok(),
            Some((f, s)) => s
                .indices
                .binary_search_by_key(&id, |&i| f.ids[i as usize])
                .is_ok(),
            None => false,
        };
        let half = (ctx.settings.view_width / 2, ctx.settings.view_height / 2);
        self.candidates.clear();
        for (&at, &bits) in self.encoder.added().iter().zip(&self.added_bits) {
            let index = self.view[at as usize] as usize;
            let id = frame.ids[index];
            if !sent_before(id) {
                let gain = budget::gain(center, frame.positions[index], half);
                // A player's name comes with it: its bytes, a length and its id.
                let name = ctx.game.player_name(id).map_or(0, |n| (n.len() + 6) * 8);
                self.candidates
                    .push(Candidate::new(at, id, bits + name as u32, gain));
            }
        }
        waiting_list.rank(&mut self.candidates);
        self.whole.clear();
        self.whole.extend_from_slice(&self.view);
        let mut waiting = 0;
        while waiting < self.candidates.len() && self.message.len() > limit {
            let over = (self.message.len() - limit) as u32 * 8 + budget::MARGIN_BITS;
            waiting = budget::how_many_wait(&self.candidates, waiting, over);
            self.left_out.clear();
            self.left_out
                .extend(self.candidates[..waiting].iter().map(|c| c.at));
            self.left_out.sort_unstable();
            self.view.clear();
            let mut skip = self.left_out.iter().peekable();
            for (at, &i) in self.whole.iter().enumerate() {
                if skip.next_if(|&&s| s as usize == at).is_none() {
                    self.view.push(i);
                }
            }
            self.encode(ctx, baseline, true, last_input_seq);
        }
        waiting_list.keep(&self.candidates[..waiting]);
        waiting
    }
}

/// The newest acknowledged snapshot still in history, or kept for a client back from away (if
/// delta encoding is on): its tick and what the client holds of it. Borrows only the client's
/// records of what it was sent.
fn baseline_for<'a, G: Game>(
    ctx: &TickContext<'a, G>,
    client: ClientId,
    acked: Option<Tick>,
    sent: &'a VecDeque<SentView>,
) -> Baseline<'a, G::State> {
    if ctx.settings.full_snapshots {
        return None;
    }
    let acked = acked?;
    let sent = sent.iter().find(|s| s.tick == acked)?;
    let frame = ctx.history.get(sent.tick).or_else(|| {
        ctx.pinned
            .get(&client)
            .filter(|frame| frame.tick == sent.tick)
    })?;
    Some((sent.tick, sent_view(frame, sent.all, &sent.indices)))
}

fn sent_view<'a, S>(frame: &'a Frame<S>, all: bool, indices: &'a [u32]) -> FrameView<'a, S> {
    frame.view((!all).then_some(indices))
}
