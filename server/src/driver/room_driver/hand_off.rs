//! Stage 3 of a tick: the room's messages to the clients' links. A link whose connection is
//! idle writes at once from this thread (plain TCP) while the tick has time left
//! ([`DIRECT_WRITE_SHARE`]); the rest replace what is pending for their connection's task.

use std::time::Instant;

use snapwire_shared::game::Game;

use super::RoomDriver;
use crate::driver::link::Put;
use crate::room::Message;

/// A room writes its clients' frames to their sockets itself (`net::direct`) only until its
/// tick has used this share of the period; later frames go to the connections' tasks. A write
/// costs the room's thread the kernel's share of a send (about 6 us on the capacity machine),
/// so a room of 1,000 players writing every frame would spend most of its period on it while
/// the socket threads, which read the inputs, wait. Load shedding leaves the writes out of the
/// tick's work (they only use what the tick left of this share): counted in, they held a room
/// of 1,000 players at half rate (33 snapshots a second against 53 with queued writes).
pub(super) const DIRECT_WRITE_SHARE: f64 = 0.5;

impl<G: Game> RoomDriver<G> {
    /// Stage 3. Frames are written straight to idle sockets until `write_until`, then left
    /// for the connections' tasks.
    pub(super) fn hand_to_outboxes(&mut self, write_until: Instant) {
        let began = Instant::now();
        let (mut skipped, mut sent) = (0, 0);
        let mut may_write = true;
        for out in self.room.outgoing() {
            let Some(t) = self.clients.get(&out.client).and_then(|c| c.link.as_ref()) else {
                continue;
            };
            // A clock read is tens of nanoseconds against microseconds for a write.
            may_write = may_write && Instant::now() < write_until;
            // The transport counts what it writes (`stats::FramesOut`), directly or not.
            let put = match &out.message {
                Message::Snapshot { bytes, .. } => {
                    sent += 1;
                    self.stats.snapshot_bytes.observe(bytes.len() as f64);
                    t.link.put_latest(bytes.clone(), may_write)
                }
                Message::Scores(bytes) => t.link.put_scores(bytes.clone(), may_write),
            };
            if put == Put::Replaced && matches!(out.message, Message::Snapshot { .. }) {
                skipped += 1;
            }
        }
        self.stats.outbox_skipped.inc_by(skipped);
        self.last_hand_off = began.elapsed();
        self.room.observe_load(skipped, sent, self.last_work);
        self.stats
            .snapshot_divisor
            .set(i64::from(self.room.snapshot_divisor()));
    }
}
