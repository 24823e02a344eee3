//! Flow control by acknowledgement: latest-wins below the outbox too.
//!
//! The outbox skips snapshots a connection's writer has not taken, but once written a snapshot
//! waits in the kernel: the server's send buffer, the link, the client's receive buffer. A
//! client that stopped reading for three seconds then read 177 old snapshots before a fresh
//! one, and a client reading 20 snapshots a second fell further behind every second (its
//! snapshots 164 ticks old after four seconds, then closed for tick skew). Kernel options
//! cannot fix this: `TCP_NOTSENT_LOWAT` bounds only the server's unsent bytes, not what sits
//! in flight or in the client's buffer.
//!
//! What the server does know is what the client acknowledged: a snapshot is acknowledged
//! within a round trip of being sent. So a client gets no new snapshot while its oldest
//! unacknowledged one is older than its window: twice its shortest recent round trip plus a
//! margin (its ack delay and jitter), between [`MIN_WINDOW_TICKS`] and two seconds. While
//! held it gets a few probes ([`Flow::may_send`]), fresh snapshots, so a client that reads
//! again finds a recent one behind the rest. At most a window of snapshots (and the probes) is
//! ever below
//! the outbox, however long a client stalls, and a slow reader stays a window behind the
//! present instead of drifting away from it. Acknowledging is then what keeps snapshots
//! coming, as in TCP: a client that never acknowledges gets the probes only (one a second).
//!
//! No clock: ticks are the room's time.

use snapwire_shared::Tick;

/// The smallest window, in ticks: room for a client's own ack delay (a spectator acknowledges
/// every fourth snapshot) and a scheduling hiccup on a link with no delay at all.
pub const MIN_WINDOW_TICKS: u32 = 12;

/// Ticks before the round-trip minimum is renewed: a link whose delay grew (a new route) gets
/// a larger window within this many ticks (about ten seconds at 60 Hz), or twice that.
const RTT_WINDOW_TICKS: u32 = 600;

/// A client's flow-control state.
#[derive(Debug, Default, Clone)]
pub struct Flow {
    /// The oldest snapshot sent after the newest acknowledged one.
    first_unacked: Option<Tick>,
    /// The last snapshot sent (for the probe interval).
    last_sent: Option<Tick>,
    /// The shortest ack round trip (ticks) in the current and the previous period.
    rtt_now: Option<u32>,
    rtt_before: Option<u32>,
    period_started: Option<Tick>,
}

impl Flow {
    /// A snapshot of `tick` went to the client.
    pub fn on_sent(&mut self, tick: Tick) {
        self.first_unacked.get_or_insert(tick);
        self.last_sent = Some(tick);
    }

    /// The client acknowledged the snapshot of `acked` at `now`; `next` is the oldest snapshot
    /// sent after it, if any.
    pub fn on_ack(&mut self, acked: Tick, now: Tick, next: Option<Tick>) {
        self.first_unacked = next;
        let sample = now.since(acked).max(0) as u32;
        let start = *self.period_started.get_or_insert(now);
        if now.since(start) >= RTT_WINDOW_TICKS as i32 {
            self.rtt_before = self.rtt_now.take();
            self.period_started = Some(now);
        }
        self.rtt_now = Some(self.rtt_now.map_or(sample, |r| r.min(sample)));
    }

    /// The client's shortest recent round trip, in ticks (from its acknowledgements).
    pub fn rtt_ticks(&self) -> Option<u32> {
        match (self.rtt_now, self.rtt_before) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// How old the oldest unacknowledged snapshot may grow before the client is held: twice
    /// the round trip plus the minimum, at most two seconds; a second until the first ack.
    pub fn window(&self, tick_rate: u16) -> u32 {
        let most = 2 * u32::from(tick_rate);
        match self.rtt_ticks() {
            Some(rtt) => (2 * rtt + MIN_WINDOW_TICKS).min(most),
            None => u32::from(tick_rate).max(MIN_WINDOW_TICKS),
        }
    }

    /// Whether the client may be sent a snapshot of `now`: its window is open, or it is held
    /// and a probe is due. Probes go a quarter second after the window closed, then at
    /// doubling intervals up to a second: a client that reads again finds a snapshot at most
    /// that old behind the few queued, and one that is only slow (a latency spike) is not left
    /// without news; a stalled one gets a handful, not four a second.
    pub fn may_send(&self, now: Tick, tick_rate: u16) -> bool {
        let Some(first) = self.first_unacked else {
            return true;
        };
        let window = self.window(tick_rate) as i32;
        if now.since(first) <= window {
            return true;
        }
        let Some(last) = self.last_sent else {
            return true;
        };
        // How long the client had been held when the last probe went: the next waits as long.
        let held_then = last.since(first) - window;
        let rate = i32::from(tick_rate);
        now.since(last) >= held_then.clamp((rate / 4).max(1), rate.max(1))
    }

    /// The client kept none of its snapshots (a reload): nothing sent is outstanding.
    pub fn forget(&mut self) {
        self.first_unacked = None;
        self.last_sent = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_silent_client_is_held_after_its_window_and_probed_ever_more_rarely() {
        let mut f = Flow::default();
        let mut sent = 0;
        for t in 0..240 {
            if f.may_send(Tick(t), 60) {
                f.on_sent(Tick(t));
                sent += 1;
            }
        }
        // A second of snapshots (no ack yet: the first window), then probes: 15 ticks after
        // the window closed at 60, then at doubling intervals up to a second.
        let mut probes = Vec::new();
        for t in 240..400 {
            if f.may_send(Tick(t), 60) {
                f.on_sent(Tick(t));
                probes.push(t);
            }
        }
        assert_eq!(sent, 61 + 4, "75, 90, 120, 180");
        assert_eq!(probes, [240, 300, 360], "then one a second");
    }

    #[test]
    fn acknowledgements_keep_the_window_open_and_size_it_by_the_round_trip() {
        let mut f = Flow::default();
        // Acks come back 6 ticks after each snapshot: the window is 2 x 6 + 12 = 24.
        for t in 0..300u32 {
            assert!(f.may_send(Tick(t), 60), "held at {t}");
            f.on_sent(Tick(t));
            if t >= 6 {
                f.on_ack(Tick(t - 6), Tick(t), Some(Tick(t - 5)));
            }
        }
        assert_eq!(f.rtt_ticks(), Some(6));
        assert_eq!(f.window(60), 24);
        // The client stalls: held once its oldest unacked snapshot is 24 ticks old.
        let first_held = (300..400u32)
            .find(|&t| {
                let ok = f.may_send(Tick(t), 60);
                if ok {
                    f.on_sent(Tick(t));
                }
                !ok
            })
            .expect("held");
        assert_eq!(first_held, 294 + 25);
        // A far link is capped at two seconds.
        let mut far = Flow::default();
        far.on_ack(Tick(0), Tick(500), None);
        assert_eq!(far.window(60), 120);
    }
}
