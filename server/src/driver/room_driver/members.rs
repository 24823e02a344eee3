//! Who is in the room, from the driver's side: a join admitted as a new member or as a resume
//! of an away one (its token spent, a new one issued), a dropped client parked for the resume
//! grace, a leave, and the member list published for `/players` and Agones.

use std::sync::PoisonError;
use std::sync::atomic::Ordering;
use std::time::Instant;

use bytes::Bytes;
use snapwire_shared::CloseCode;
use snapwire_shared::codec;
use snapwire_shared::game::Game;
use snapwire_shared::protocol::{ResumeToken, ServerMsg};
use tracing::info;

use super::RoomDriver;
use super::intake::Transport;
use crate::driver::admission::{ClientId, Entry, Join, Seat};
use crate::room::CloseReason;

/// Spent tokens remembered per client (to refuse their reuse with 4012); an older one is
/// forgotten, and then starts a new player like an expired token.
const SPENT_TOKENS_KEPT: usize = 8;

/// A client of the room, from the driver's side.
#[derive(Debug)]
pub(super) struct Client {
    /// Its place in the room, held while away too; given back when the client leaves.
    pub(super) _seat: Seat,
    /// Its connection; `None` while away.
    pub(super) link: Option<Transport>,
    /// When its connection dropped (while away).
    pub(super) away_since: Option<Instant>,
    /// The token that resumes it now.
    pub(super) token: ResumeToken,
    /// Tokens it already used, newest last.
    pub(super) spent: Vec<ResumeToken>,
}

impl<G: Game> RoomDriver<G> {
    pub(super) fn admit(&mut self, join: Join, now: Instant) {
        match join.entry {
            Entry::New {
                name,
                spectate,
                seat,
            } => self.admit_new(
                join.client,
                &name,
                spectate,
                seat,
                Transport::new(join.inbound, join.link, now),
            ),
            Entry::Resume {
                member,
                token,
                has_state,
            } => self.resume(
                member,
                token,
                has_state,
                Transport::new(join.inbound, join.link, now),
            ),
        }
    }

    pub(super) fn admit_new(
        &mut self,
        id: ClientId,
        name: &str,
        spectate: bool,
        seat: Seat,
        link: Transport,
    ) {
        let mut welcome = self.room.join(id, name, spectate);
        self.room.set_datagram_limit(id, datagram_limit(&link));
        welcome.room = self.handle.id.clone();
        welcome.kind = self.handle.kind.clone();
        welcome.resume = self.directory.issue_token(&self.handle, id);
        let token = welcome.resume;
        let entity = welcome.player_id;
        let bytes = Bytes::from(codec::encode_server(&ServerMsg::Welcome(welcome)));
        if link.link.push_reliable(bytes).is_err() {
            // A fresh outbox has room; failing here means the connection is already gone.
            self.room.leave(id);
            self.directory.forget_token(token);
            return;
        }
        let name = self.room.member(id).map(|m| m.name.clone());
        info!(room = %self.handle.id, client = id, name = ?name, spectate, entity = ?entity, "joined");
        self.clients.insert(
            id,
            Client {
                _seat: seat,
                link: Some(link),
                away_since: None,
                token,
                spent: Vec::new(),
            },
        );
        self.stats.clients.inc();
        self.kind_stats.clients.inc();
        if let Some(name) = name {
            self.handle
                .members
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .insert(id, name);
        }
        self.publish_members();
    }

    /// A connection brings back `member` with its (now spent) `token`. A member with a
    /// connection still open (half-open: the client saw it die first) has it replaced.
    pub(super) fn resume(
        &mut self,
        member: ClientId,
        token: ResumeToken,
        has_state: bool,
        link: Transport,
    ) {
        let Some(c) = self.clients.get_mut(&member) else {
            // It left between the token's check and now (its grace ended, or it was closed).
            self.directory.forget_token(token);
            self.stats.resumes_refused.inc();
            link.link.close(Some(CloseReason::new(
                CloseCode::ResumeRefused,
                "that player has left the room; join again".into(),
            )));
            return;
        };
        let Some(mut reply) = self.room.resume(member, has_state) else {
            return;
        };
        // The new connection may be another transport.
        self.room.set_datagram_limit(member, datagram_limit(&link));
        let fresh = self.directory.issue_token(&self.handle, member);
        match &mut reply {
            ServerMsg::Resumed(r) => r.resume = fresh,
            ServerMsg::Welcome(w) => {
                w.room = self.handle.id.clone();
                w.kind = self.handle.kind.clone();
                w.resume = fresh;
            }
            ServerMsg::Snapshot(_) | ServerMsg::Scores(_) | ServerMsg::Part(_) => {}
        }
        let bytes = Bytes::from(codec::encode_server(&reply));
        if link.link.push_reliable(bytes).is_err() {
            // The new connection is already gone: the client stays as it was.
            self.directory.forget_token(fresh);
            if c.link.is_none() {
                self.room.park(member);
            }
            return;
        }
        c.spent.push(token);
        if c.spent.len() > SPENT_TOKENS_KEPT {
            let oldest = c.spent.remove(0);
            self.directory.forget_token(oldest);
        }
        // The spent token stays in the directory, marked spent, while the client is here.
        c.token = fresh;
        match c.link.replace(link) {
            Some(old) => old.link.close(Some(CloseReason::new(
                CloseCode::Replaced,
                "this player was resumed on another connection".into(),
            ))),
            None => {
                self.stats.clients.inc();
                self.kind_stats.clients.inc();
                self.stats.clients_away.dec();
            }
        }
        let away = c.away_since.take().map(|at| at.elapsed());
        self.stats.resumes.inc();
        info!(room = %self.handle.id, client = member, away = ?away, "resumed");
    }

    /// The client's connection dropped: it stays in the room, away, for the resume grace.
    pub(super) fn park(&mut self, id: ClientId, now: Instant) {
        let Some(c) = self.clients.get_mut(&id) else {
            return;
        };
        if let Some(t) = c.link.take() {
            t.link.close(None);
            self.stats.clients.dec();
            self.kind_stats.clients.dec();
            self.stats.clients_away.inc();
        }
        c.away_since = Some(now);
        self.room.park(id);
        info!(room = %self.handle.id, client = id, "connection dropped; kept for resume");
    }

    pub(super) fn leave(&mut self, id: ClientId) {
        let name = self.room.member(id).map(|m| m.name.clone());
        self.room.leave(id);
        if let Some(c) = self.clients.remove(&id) {
            self.directory.forget_token(c.token);
            for t in &c.spent {
                self.directory.forget_token(*t);
            }
            if let Some(t) = c.link {
                t.link.close(None);
                self.stats.clients.dec();
                self.kind_stats.clients.dec();
            } else {
                self.stats.clients_away.dec();
            }
            info!(room = %self.handle.id, client = id, name = ?name, "left");
        }
        self.handle
            .members
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&id);
        self.publish_members();
    }

    /// `/rooms` counts members, away ones included: they hold their seats.
    pub(super) fn publish_members(&self) {
        self.handle
            .clients
            .store(self.clients.len(), Ordering::Relaxed);
    }
}

/// Whether deltas are kept within one datagram by deferring new entities. Off until measured:
/// with it on, the slowest of 32 WebTransport bots in a 64-bot arena fell to 23-38 snapshots a
/// second in 3 runs of 4 (`e2e webtransport::bots_on_both_...`), but at that hour the commit
/// before it also did in 2 of 3, so the machine's load may be all of it. Off, a delta larger
/// than a datagram goes in parts (`net/webtransport/link.rs`); the byte budget defers as
/// designed.
const DELTAS_WITHIN_DATAGRAM: bool = false;

/// The datagram limit the room keeps `link`'s deltas within, if any.
fn datagram_limit(link: &Transport) -> Option<usize> {
    link.link
        .datagram_limit()
        .filter(|_| DELTAS_WITHIN_DATAGRAM)
}
