//! Per-client snapshot messages: pick the client's view and baseline, encode the delta, wrap it.
//!
//! Shared work happens once per tick before this runs (the [`Frame`] with every entity's state and
//! hash, and the [`Grid`]); here each client costs a grid query and an encode against its own
//! baseline. Spectators all see the whole world, so those with the same baseline share one
//! encoded message.

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Bytes;
use snapwire_shared::Tick;
use snapwire_shared::codec;
use snapwire_shared::map::Point;
use snapwire_shared::protocol::{PlayerName, ServerMsg, SnapshotMsg};
use snapwire_shared::sim::{EntityId, World};
use snapwire_shared::snapshot::{EntityKind, View, encode};

use crate::clients::ClientState;
use crate::config::Config;
use crate::interest::{Grid, player_view};
use crate::snapshot_history::{Frame, SnapshotHistory};

/// Per-tick encoder state shared across clients.
#[derive(Debug)]
pub struct Replicator<'a> {
    frame: &'a Frame,
    grid: &'a Grid,
    history: &'a SnapshotHistory,
    world: &'a World,
    config: &'a Config,
    all_indices: Vec<u32>,
    all_ids: Arc<[EntityId]>,
    /// Spectator messages by baseline tick.
    spectator_cache: HashMap<Option<Tick>, Bytes>,
    scratch: Vec<u32>,
}

impl<'a> Replicator<'a> {
    pub fn new(
        frame: &'a Frame,
        grid: &'a Grid,
        history: &'a SnapshotHistory,
        world: &'a World,
        config: &'a Config,
    ) -> Replicator<'a> {
        Replicator {
            frame,
            grid,
            history,
            world,
            config,
            all_indices: (0..frame.entities.len() as u32).collect(),
            all_ids: frame.entities.iter().map(|e| e.id).collect(),
            spectator_cache: HashMap::new(),
            scratch: Vec::new(),
        }
    }

    /// The encoded snapshot for `client`, recording what it was sent.
    pub fn message_for(&mut self, client: &mut ClientState) -> Bytes {
        let tick = self.frame.tick;
        let baseline = self.baseline_for(client);
        let baseline_tick = baseline.as_ref().map(|(t, _, _)| *t);
        let spectator = client.entity.is_none();
        if spectator && let Some(cached) = self.spectator_cache.get(&baseline_tick) {
            client.record_sent(tick, Arc::clone(&self.all_ids), self.config.history);
            return cached.clone();
        }

        let indices = match client.entity.and_then(|id| self.world.player(id)) {
            Some(p) => {
                let center = Point {
                    x: p.body.x,
                    y: p.body.y,
                };
                let previous = client.sent.back().map_or(&[][..], |(_, ids)| &ids[..]);
                let mut out = std::mem::take(&mut self.scratch);
                let (w, h) = (self.config.view_width, self.config.view_height);
                player_view(self.grid, self.frame, center, w, h, previous, &mut out);
                out
            }
            None => self.all_indices.clone(),
        };
        let view = self.frame.view_at(&indices);
        let checksum = indices.iter().fold(0u32, |acc, &i| {
            acc.wrapping_add(self.frame.entities[i as usize].hash)
        });
        let ids: Arc<[EntityId]> = if spectator {
            Arc::clone(&self.all_ids)
        } else {
            view.entities().iter().map(|(id, _)| *id).collect()
        };
        self.scratch = indices;

        let (base_view, gap) = match baseline {
            Some((t, ids, frame)) => (frame.view_of(&ids), tick.since(t).max(0) as u32),
            None => (View::default(), 0),
        };
        let body = encode(&base_view, gap, &view);
        let names = view
            .entities()
            .iter()
            .filter(|(id, s)| s.kind == EntityKind::Player && base_view.get(*id).is_none())
            .filter_map(|(id, _)| {
                self.world.player(*id).map(|p| PlayerName {
                    id: id.0,
                    name: p.name.clone(),
                })
            })
            .collect();
        let msg = ServerMsg::Snapshot(SnapshotMsg {
            tick,
            baseline_age: SnapshotMsg::age(tick, baseline_tick),
            last_input_seq: client.last_applied_seq,
            checksum,
            names,
            body,
        });
        let bytes = Bytes::from(codec::encode_server(&msg));
        client.record_sent(tick, ids, self.config.history);
        if spectator {
            self.spectator_cache.insert(baseline_tick, bytes.clone());
        }
        bytes
    }

    /// The newest acknowledged snapshot still in history (if delta encoding is on): its tick,
    /// the ids the client was sent then, and the frame holding their states.
    fn baseline_for(&self, client: &ClientState) -> Option<(Tick, Arc<[EntityId]>, &'a Frame)> {
        if self.config.full_snapshots {
            return None;
        }
        let (tick, ids) = client.acked_ids()?;
        let frame: &'a Frame = self.history.get(tick)?;
        Some((tick, Arc::clone(ids), frame))
    }
}
