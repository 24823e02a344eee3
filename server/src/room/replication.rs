//! Per-client snapshot messages: pick the client's view and baseline, encode the delta, wrap it.
//!
//! Shared work happens once per tick before this runs (the [`Frame`] with every entity's state and
//! hash, and the [`Grid`]); here each client costs a grid query and an encode against its own
//! baseline, both read in place from frames through index lists. Spectators all see the whole
//! world, so those with the same baseline share one encoded message. The [`Replicator`] keeps its
//! buffers from tick to tick: in steady state a client's message allocates only its own bytes.

use std::collections::BTreeMap;
use std::sync::Arc;

use bytes::Bytes;
use snapwire_shared::Tick;
use snapwire_shared::codec;
use snapwire_shared::game::Game;
use snapwire_shared::protocol::{PlayerNameRef, SnapshotMsg, SnapshotRef};
use snapwire_shared::snapshot::{Encoder, Entities, SharedResiduals};

use crate::room::history::{Frame, FrameView, SnapshotHistory};
use crate::room::interest::{Grid, player_view};
use crate::room::member::Member;
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
}

/// Encoder state kept across ticks.
#[derive(Debug, Default)]
pub struct Replicator {
    encoder: Encoder,
    /// Kept entities' residual bits, computed once per (entity, baseline tick) this tick.
    shared: SharedResiduals,
    /// The current client's view: indices into this tick's frame.
    view: Vec<u32>,
    /// The current client's message bytes, before they are copied out.
    message: Vec<u8>,
    /// This tick's spectator messages, by baseline tick (spectators acknowledge in step, so
    /// there are few).
    spectator_messages: Vec<(Option<Tick>, Bytes)>,
    /// The tick the per-tick state above belongs to.
    tick: Option<Tick>,
}

impl Replicator {
    pub fn new() -> Replicator {
        Replicator::default()
    }

    /// The encoded snapshot for `client`, recording what it was sent.
    pub fn message_for<G: Game>(
        &mut self,
        ctx: &TickContext<'_, G>,
        client: &mut Member,
    ) -> Snapshot {
        let tick = ctx.frame.tick;
        if self.tick != Some(tick) {
            self.spectator_messages.clear();
            self.shared.begin_tick(ctx.frame.len());
            self.tick = Some(tick);
        }
        let baseline = baseline_for(ctx, client);
        let baseline_tick = baseline.map(|(t, _)| t);
        let spectator = client.entity.is_none();
        if spectator
            && let Some((_, cached)) = self
                .spectator_messages
                .iter()
                .find(|(b, _)| *b == baseline_tick)
        {
            let bytes = cached.clone();
            client.record_sent(tick, true, &[], ctx.settings.history);
            return Snapshot {
                bytes,
                full: baseline_tick.is_none(),
            };
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
        }
        let view = ctx.frame.view(center.map(|_| &self.view[..]));

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
            baseline_age: SnapshotMsg::age(tick, baseline_tick),
            last_input_seq: client.last_applied_seq,
            checksum: view.checksum(),
            names: &names,
            body: self.encoder.body(),
        };
        codec::encode_snapshot_into(&mut self.message, &snapshot);
        let bytes = Bytes::copy_from_slice(&self.message);
        client.record_sent(tick, center.is_none(), &self.view, ctx.settings.history);
        if spectator {
            self.spectator_messages.push((baseline_tick, bytes.clone()));
        }
        Snapshot {
            bytes,
            full: baseline_tick.is_none(),
        }
    }
}

/// The newest acknowledged snapshot still in history, or kept for a client back from away (if
/// delta encoding is on): its tick and
/// what the client holds of it.
fn baseline_for<'a, G: Game>(
    ctx: &TickContext<'a, G>,
    client: &'a Member,
) -> Option<(Tick, FrameView<'a, G::State>)> {
    if ctx.settings.full_snapshots {
        return None;
    }
    let sent = client.acked_view()?;
    let frame = ctx.history.get(sent.tick).or_else(|| {
        ctx.pinned
            .get(&client.id)
            .filter(|frame| frame.tick == sent.tick)
    })?;
    Some((sent.tick, sent_view(frame, sent.all, &sent.indices)))
}

fn sent_view<'a, S>(frame: &'a Frame<S>, all: bool, indices: &'a [u32]) -> FrameView<'a, S> {
    frame.view((!all).then_some(indices))
}
