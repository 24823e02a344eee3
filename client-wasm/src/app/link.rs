//! The connection's life as the app sees it: a close read into words or a reconnect, the
//! backoff between attempts, the resume token, and the sockets a replay control asks for.

use snapwire_shared::client::ClientSession;
use snapwire_shared::protocol::{ResumeToken, RoomRequest};
use snapwire_shared::{CloseCode, codec};

use crate::games::WebGame;

use super::{App, Status};

/// A server that sends nothing for this long (ms) is taken for dead: a dead link gives no
/// close and no error, only silence. It sends a snapshot a tick, a ping when we are quiet.
pub const SERVER_SILENT_MS: f64 = 5000.0;

/// First wait before reconnecting (ms), doubled per attempt up to [`RECONNECT_MAX_MS`], each
/// with jitter (half to all of it): pages dropped together (a server's network blip) do not
/// all come back in the same millisecond.
const RECONNECT_FIRST_MS: f64 = 250.0;
const RECONNECT_MAX_MS: f64 = 4000.0;

/// Reconnecting gives up after this long (ms): the server keeps a dropped player 30 s by
/// default, so later attempts would only make a new one.
pub const RECONNECT_GIVE_UP_MS: f64 = 25_000.0;

/// A change of connection the app asks the shell for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SocketAction {
    /// Drop the socket and open a new one that sends this `Hello`.
    Open(Vec<u8>),
    /// Drop the socket (a paused replay).
    Close,
}

impl<G: WebGame> App<G> {
    /// What the shell must do with the socket, once.
    pub fn take_socket_action(&mut self) -> Option<SocketAction> {
        self.socket_action.take()
    }

    /// A new app continuing the player `token` names (kept across a page reload): the same
    /// player if the server still holds it, else a new one in `room`.
    pub fn rejoining(
        name: &str,
        spectate: bool,
        room: RoomRequest,
        token: ResumeToken,
    ) -> (App<G>, Vec<u8>) {
        let (session, hello) = ClientSession::<G>::rejoining(name, spectate, room, token);
        App::with_session(name, session, &hello)
    }

    /// The socket closed. A dropped link (no close frame: 1005 or 1006, or the server's idle
    /// close) of a welcomed game is reconnected, with backoff, and resumes the player; any
    /// other close ends the game with its reason.
    pub fn on_close(&mut self, code: u16, reason: &str, now_ms: f64) {
        let dropped = matches!(code, 1005 | 1006) || code == CloseCode::Idle.code();
        let since_ms = match self.status {
            Status::Reconnecting { since_ms, .. } => since_ms,
            _ => now_ms,
        };
        let attempt = match self.status {
            Status::Reconnecting { attempt, .. } => attempt + 1,
            _ => 0,
        };
        if dropped
            && self.session.resume_token().is_some()
            && now_ms - since_ms < RECONNECT_GIVE_UP_MS
        {
            self.reconnect_later(attempt, since_ms, now_ms);
            return;
        }
        self.status = Status::Closed(match CloseCode::from_code(code) {
            Some(CloseCode::VersionMismatch) => {
                "A new version is deployed: reload the page.".to_owned()
            }
            Some(CloseCode::ServerFull) => "The server is full; try again later.".to_owned(),
            Some(CloseCode::GoingAway) => "The server shut down.".to_owned(),
            Some(CloseCode::Replaced) => {
                "This player continued in another tab or window.".to_owned()
            }
            Some(CloseCode::ReplayEnded) => "The replay ended.".to_owned(),
            _ if dropped => "The connection was lost and could not be resumed.".to_owned(),
            _ if reason.is_empty() => format!("Disconnected (code {code})."),
            _ => format!("Disconnected: {reason} (code {code})."),
        });
    }

    pub(super) fn reconnect_later(&mut self, attempt: u32, since_ms: f64, now_ms: f64) {
        let backoff =
            (RECONNECT_FIRST_MS * f64::from(1u32 << attempt.min(5))).min(RECONNECT_MAX_MS);
        self.jitter ^= self.jitter << 13;
        self.jitter ^= self.jitter >> 7;
        self.jitter ^= self.jitter << 17;
        let spread = 0.5 + (self.jitter % 1000) as f64 / 2000.0;
        self.status = Status::Reconnecting {
            attempt,
            at_ms: now_ms + backoff * spread,
            since_ms,
        };
        self.release_controls();
    }

    /// While reconnecting: the encoded `Hello` for a new connection once its time has come
    /// (the shell opens the socket and sends it); `None` otherwise.
    pub fn reconnect_due(&mut self, now_ms: f64) -> Option<Vec<u8>> {
        let Status::Reconnecting { at_ms, .. } = self.status else {
            return None;
        };
        if now_ms < at_ms {
            return None;
        }
        // Far in the future: the shell's close (or this connection's reply) moves it on.
        if let Status::Reconnecting { at_ms, .. } = &mut self.status {
            *at_ms = f64::INFINITY;
        }
        self.last_heard_ms = Some(now_ms);
        Some(codec::encode_client(&self.session.reconnect()))
    }

    /// The resume token, as hex, once welcomed: the shell keeps it across a page reload.
    pub fn resume_token_hex(&self) -> Option<String> {
        self.session.resume_token().map(|t| t.to_hex())
    }

    /// Why the game ended, once it has.
    pub fn closed_reason(&self) -> Option<&str> {
        match &self.status {
            Status::Closed(why) => Some(why),
            _ => None,
        }
    }
}
