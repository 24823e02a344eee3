//! Stage 1 of a tick: what came in from the connections. Each client's parsed messages go
//! into the room; a link that closed, a client that went silent (pinged, then closed 4011) or
//! one that flooded its queue leaves or goes away, by [`gone_by`].

use std::sync::Arc;
use std::time::{Duration, Instant};

use snapwire_shared::CloseCode;
use snapwire_shared::game::Game;
use tokio::sync::mpsc::{self, error::TryRecvError};

use super::RoomDriver;
use crate::driver::admission::Inbound;
use crate::driver::link::ClientLink;
use crate::room::CloseReason;

/// The connection side of a client, apart from what the room keeps about it.
#[derive(Debug)]
pub(super) struct Transport {
    pub(super) inbound: mpsc::Receiver<Inbound>,
    pub(super) link: Arc<dyn ClientLink>,
    /// When the last message from the client was drained.
    pub(super) last_heard: Instant,
    /// A ping went out since then.
    pub(super) pinged: bool,
}

impl Transport {
    pub(super) fn new(
        inbound: mpsc::Receiver<Inbound>,
        link: Arc<dyn ClientLink>,
        now: Instant,
    ) -> Transport {
        Transport {
            inbound,
            link,
            last_heard: now,
            pinged: false,
        }
    }
}

/// What became of a client's connection this tick.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Gone {
    /// It left on purpose, or broke a rule: it leaves the room now.
    Left,
    /// The link dropped (or went silent): the client is away, and may resume.
    Dropped,
}

impl Drop for Transport {
    /// A transport dropped without a close (a room failing) still ends its connection, with a
    /// reason; after a normal leave or shutdown the outbox is already closing and this changes
    /// nothing (the first reason wins).
    fn drop(&mut self) {
        self.link.close(Some(CloseReason::new(
            CloseCode::InternalError,
            "the room's simulation stopped".into(),
        )));
    }
}

impl<G: Game> RoomDriver<G> {
    pub(super) fn drain_ingress(&mut self, now: Instant) {
        while let Ok(join) = self.joins.try_recv() {
            self.admit(join, now);
        }
        // Silence is checked a few times per timeout (at most once a second), not per message.
        let every = (self.limits.idle_timeout / 4).min(Duration::from_secs(1));
        let check_idle = self.idle_checked.is_none_or(|at| now - at >= every);
        if check_idle {
            self.idle_checked = Some(now);
        }
        let mut gone = Vec::new();
        for (id, c) in &mut self.clients {
            let Some(t) = &mut c.link else {
                if check_idle
                    && c.away_since
                        .is_some_and(|at| now - at > self.limits.resume_grace)
                {
                    self.stats.resumes_expired.inc();
                    gone.push((*id, Gone::Left));
                }
                continue;
            };
            let mut heard = false;
            let mut outcome = None;
            loop {
                match t.inbound.try_recv() {
                    Ok(Inbound::Leave) => {
                        outcome = Some(Gone::Left);
                        break;
                    }
                    Ok(msg) => {
                        heard = true;
                        if let Err(reason) = self.room.handle(*id, msg) {
                            // The writer sends the close, and counts it.
                            t.link.close(Some(reason));
                            outcome = Some(Gone::Left);
                            break;
                        }
                    }
                    Err(TryRecvError::Empty) => break,
                    Err(TryRecvError::Disconnected) => {
                        // The connection ended: why, its link says (the reason comes
                        // before the end, so it is there by now).
                        outcome = Some(gone_by(t.link.close_code()).unwrap_or(Gone::Dropped));
                        break;
                    }
                }
            }
            if heard {
                t.last_heard = now;
                t.pinged = false;
            }
            if outcome.is_none() && check_idle && now - t.last_heard > self.limits.idle_timeout {
                // Silent past the limit: a dead link looks like this. The client may still
                // come back on a new connection and resume.
                let silent = self.limits.idle_timeout.as_secs_f64();
                t.link.close(Some(CloseReason::new(
                    CloseCode::Idle,
                    format!("sent nothing for {silent} s"),
                )));
                outcome = Some(Gone::Dropped);
            } else if outcome.is_none()
                && check_idle
                && !t.pinged
                && now - t.last_heard > self.limits.idle_timeout / 2
            {
                // Half the timeout in silence: a ping keeps proxies and NATs from dropping a
                // quiet connection, and a dead peer fails the send. A pong is not a message:
                // only inputs and acks reset the clock.
                t.link.ping();
                t.pinged = true;
            }
            if outcome.is_none() {
                // The connection may have closed it without ending yet.
                outcome = gone_by(t.link.close_code());
            }
            if let Some(outcome) = outcome {
                gone.push((*id, outcome));
            }
        }
        for (id, outcome) in gone {
            match outcome {
                // A replay's viewer that went (to seek, or away) does not come back to it.
                Gone::Dropped
                    if !self.limits.resume_grace.is_zero()
                        && self.room.playback_state().is_none() =>
                {
                    self.park(id, now)
                }
                _ => self.leave(id),
            }
        }
    }
}

/// What a link's close means for its client: closed with a reason (a broken rule) it leaves,
/// and is not kept for a resume; closed without one (the socket is gone) it may come back;
/// `None` while the link is open.
pub(super) fn gone_by(close: Option<Option<CloseCode>>) -> Option<Gone> {
    match close {
        Some(Some(_)) => Some(Gone::Left),
        Some(None) => Some(Gone::Dropped),
        None => None,
    }
}
