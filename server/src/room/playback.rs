//! A recording played back into a room for viewers to watch (`/#replay=ID`). Each tick takes
//! the next recorded tick's joins, leaves and inputs instead of clients' inputs, steps, and
//! checks the recorded checksum; viewers are spectators and receive ordinary snapshots through
//! the usual replication. No I/O: the driver paces it (at the playback rate) and ends it.
//!
//! The recorded clients become members the room never sends to (they are "away": no
//! connection), under ids offset by [`PUPPET`] so they never meet a viewer's id.

use std::collections::VecDeque;

use snapwire_shared::Tick;
use snapwire_shared::game::Game;

use super::member::Member;
use super::record::{Checksum, Keyframe, ReplayError, TickRecord};
use super::{ClientId, Outgoing, Room};

/// Added to recorded client ids: live ids count up from 1 and never reach it.
pub const PUPPET: ClientId = 1 << 63;

/// Where a playback is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PlaybackState {
    Playing,
    /// Every recorded tick was played.
    Ended,
    /// A tick came out different from its recording (a rules change without a format
    /// converter, or a corrupt file).
    Diverged(ReplayError),
}

#[derive(Debug)]
pub struct Playback {
    ticks: VecDeque<TickRecord>,
    checksum: Checksum,
    /// Ticks per second played (the match's rate times the speed): viewers' `Welcome` says it,
    /// so their interpolation runs at the pace snapshots come.
    rate: u16,
    state: PlaybackState,
}

impl<G: Game> Room<G> {
    /// The room's whole state now, for a recording's keyframe; `None` for a game that keeps
    /// none.
    pub fn keyframe(&self) -> Option<Keyframe> {
        Some(Keyframe {
            tick: self.world.tick(),
            world: self.world.keyframe()?,
            members: self
                .members
                .iter()
                .map(|(id, m)| (*id, m.name.clone(), m.entity))
                .collect(),
        })
    }

    /// Puts a fresh room (same settings) into a keyframe's state, its clients' ids offset by
    /// `id_offset`. False when the game cannot read it (the room is then unusable).
    fn restore(&mut self, k: &Keyframe, id_offset: ClientId) -> bool {
        if !self.world.restore(&k.world) {
            return false;
        }
        self.members.clear();
        self.player_names.clear();
        for (id, name, entity) in &k.members {
            if entity.is_some() {
                self.player_names.insert(name.clone());
            }
            self.members.insert(
                id | id_offset,
                Member::new(id | id_offset, name.clone(), *entity),
            );
        }
        true
    }

    /// Makes this fresh room play `ticks` back: starts from the last of `keyframes` at or
    /// before `from` (when the game reads it back and it matches its tick's checksum),
    /// re-simulates (silently, checking checksums) every tick from there up to `from`, then
    /// leaves the rest for [`Room::tick`] to play at `rate` ticks a second. Viewers joining it
    /// are spectators.
    pub fn start_playback(
        &mut self,
        ticks: Vec<TickRecord>,
        keyframes: &[Keyframe],
        checksum: Checksum,
        from: Tick,
        rate: u16,
    ) -> Result<(), ReplayError> {
        let mut ticks = VecDeque::from(ticks);
        if let Some(k) = keyframes.iter().rev().find(|k| k.tick <= from)
            && let Some(at) = ticks.iter().position(|r| r.tick == k.tick)
        {
            // A keyframe must be what re-simulating would have reached, or it is not used.
            let fresh = self.world.keyframe();
            if self.restore(k, PUPPET) {
                let frame = super::Frame::capture(&self.world);
                if self.check_recorded(&ticks[at], &frame, checksum).is_ok() {
                    ticks.drain(..=at);
                } else if let Some(f) = fresh {
                    // Back to the start, as if no keyframe existed.
                    self.world.restore(&f);
                    self.members.clear();
                    self.player_names.clear();
                }
            }
        }
        while let Some(record) = ticks.front().filter(|r| r.tick <= from) {
            self.apply_recorded(record, PUPPET)?;
            self.step_simulation();
            let frame = super::Frame::capture(&self.world);
            self.check_recorded(record, &frame, checksum)?;
            ticks.pop_front();
        }
        self.mark_puppets();
        self.playback = Some(Playback {
            ticks,
            checksum,
            rate: rate.max(1),
            state: PlaybackState::Playing,
        });
        Ok(())
    }

    /// The playback's state; `None` for a live room.
    pub fn playback_state(&self) -> Option<&PlaybackState> {
        self.playback.as_ref().map(|p| &p.state)
    }

    /// Ticks a second the room runs at: the playback rate, or the tick rate.
    pub fn pace(&self) -> u16 {
        self.playback
            .as_ref()
            .map_or(self.settings.tick_rate, |p| p.rate)
    }

    /// One played tick: the recorded entries, the step, the check, then snapshots for the
    /// viewers as in a live tick.
    pub(super) fn play_tick(&mut self) -> &[Outgoing] {
        self.outgoing.clear();
        let Some(p) = &mut self.playback else {
            return &self.outgoing;
        };
        // It waits for its viewer: the first snapshot it sees is of the tick it asked for.
        let watched = self.members.keys().any(|id| id & PUPPET == 0);
        if p.state != PlaybackState::Playing || !watched {
            return &self.outgoing;
        }
        let Some(record) = p.ticks.pop_front() else {
            p.state = PlaybackState::Ended;
            return &self.outgoing;
        };
        let checksum = p.checksum;
        let applied = self.apply_recorded(&record, PUPPET);
        self.mark_puppets();
        self.step_simulation();
        let frame = self.record_snapshot();
        let checked = applied.and_then(|()| self.check_recorded(&record, &frame, checksum));
        if let (Err(e), Some(p)) = (checked, &mut self.playback) {
            p.state = PlaybackState::Diverged(e);
            return &self.outgoing;
        }
        self.build_client_messages(&frame);
        self.build_scores();
        &self.outgoing
    }

    /// Recorded clients have no connection: nothing is built for them.
    fn mark_puppets(&mut self) {
        for (id, m) in &mut self.members {
            if id & PUPPET != 0 {
                m.away = true;
            }
        }
    }
}
