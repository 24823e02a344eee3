//! Join tickets: who may join, where, until when, signed with HMAC-SHA256 by whoever hands
//! them out (a matchmaker, an allocation service, `snapwire-server ticket`). A browser cannot
//! set headers on a WebSocket, so a ticket travels in the URL: `/ws?ticket=...`, and is
//! checked before the upgrade (401 and no socket when missing, bad or expired).
//!
//! Format: `v1.` + base64url(JSON `{"p": player, "r": room, "e": expiry}`) + `.` +
//! base64url(HMAC-SHA256 of everything before the last dot). `r` may be empty (any room);
//! `e` is in seconds since the Unix epoch.

use std::path::Path;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use thiserror::Error;

/// The environment variable that may hold the ticket secret (never a command-line argument,
/// which other users of the machine can read).
pub const SECRET_ENV: &str = "SNAPWIRE_TICKET_SECRET";

/// Shorter secrets are refused: HMAC-SHA256 wants at least 32 bytes of key.
const MIN_SECRET_BYTES: usize = 32;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ticket {
    /// The player's name in the game.
    #[serde(rename = "p")]
    pub player: String,
    /// The room id the ticket is for; empty for any room.
    #[serde(rename = "r")]
    pub room: String,
    /// Seconds since the Unix epoch after which the ticket is refused.
    #[serde(rename = "e")]
    pub expires: u64,
}

#[derive(Debug, Error, PartialEq, Eq)]
pub enum TicketError {
    #[error("no ticket (this server requires one: /ws?ticket=...)")]
    Missing,
    #[error("the ticket is not a snapwire ticket")]
    Malformed,
    #[error("the ticket's signature does not match")]
    BadSignature,
    #[error("the ticket expired")]
    Expired,
}

#[derive(Debug, Error)]
pub enum SecretError {
    #[error("reading the ticket secret from {0}: {1}")]
    Read(String, std::io::Error),
    #[error("the ticket secret must be at least {MIN_SECRET_BYTES} bytes")]
    Short,
}

/// The shared secret tickets are signed with.
#[derive(Clone)]
pub struct TicketKey(Vec<u8>);

impl std::fmt::Debug for TicketKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never in a log.
        f.write_str("TicketKey(..)")
    }
}

impl TicketKey {
    pub fn new(secret: impl Into<Vec<u8>>) -> Result<TicketKey, SecretError> {
        let secret = secret.into();
        if secret.len() < MIN_SECRET_BYTES {
            return Err(SecretError::Short);
        }
        Ok(TicketKey(secret))
    }

    /// The secret from `file` (trailing newline dropped), else from [`SECRET_ENV`]; `None`
    /// when neither is given (tickets are off).
    pub fn load(file: Option<&Path>) -> Result<Option<TicketKey>, SecretError> {
        let secret = match file {
            Some(path) => {
                std::fs::read(path).map_err(|e| SecretError::Read(path.display().to_string(), e))?
            }
            None => match std::env::var_os(SECRET_ENV) {
                Some(v) => v.into_encoded_bytes(),
                None => return Ok(None),
            },
        };
        let trimmed = secret.trim_ascii_end().to_vec();
        TicketKey::new(trimmed).map(Some)
    }

    pub fn sign(&self, ticket: &Ticket) -> String {
        let payload = serde_json::to_vec(ticket).unwrap_or_default();
        let body = format!("v1.{}", B64.encode(payload));
        let mac = self.mac(body.as_bytes()).finalize().into_bytes();
        format!("{body}.{}", B64.encode(mac))
    }

    /// The ticket, if it is well formed, signed with this key and not expired at `now`
    /// (seconds since the Unix epoch).
    pub fn verify(&self, text: &str, now: u64) -> Result<Ticket, TicketError> {
        let (body, mac) = text.rsplit_once('.').ok_or(TicketError::Malformed)?;
        let payload = body.strip_prefix("v1.").ok_or(TicketError::Malformed)?;
        let mac = B64.decode(mac).map_err(|_| TicketError::Malformed)?;
        // Constant-time comparison, in the hmac crate.
        self.mac(body.as_bytes())
            .verify_slice(&mac)
            .map_err(|_| TicketError::BadSignature)?;
        let payload = B64.decode(payload).map_err(|_| TicketError::Malformed)?;
        let ticket: Ticket =
            serde_json::from_slice(&payload).map_err(|_| TicketError::Malformed)?;
        if ticket.expires <= now {
            return Err(TicketError::Expired);
        }
        Ok(ticket)
    }

    fn mac(&self, bytes: &[u8]) -> Hmac<Sha256> {
        // HMAC takes a key of any length.
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.0)
            .unwrap_or_else(|_| unreachable!("HMAC accepts any key length"));
        mac.update(bytes);
        mac
    }
}

/// Seconds since the Unix epoch, now.
pub fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> TicketKey {
        TicketKey::new(*b"0123456789abcdef0123456789abcdef").expect("32 bytes")
    }

    #[test]
    fn a_signed_ticket_verifies_until_it_expires() {
        let t = Ticket {
            player: "Анна".into(),
            room: "k7x2q9".into(),
            expires: 1_000,
        };
        let text = key().sign(&t);
        assert!(text.starts_with("v1."));
        assert!(
            text.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
        );
        assert_eq!(key().verify(&text, 999), Ok(t));
        assert_eq!(key().verify(&text, 1_000), Err(TicketError::Expired));
    }

    #[test]
    fn tampered_or_foreign_tickets_are_refused() {
        let t = Ticket {
            player: "ann".into(),
            room: String::new(),
            expires: u64::MAX,
        };
        let text = key().sign(&t);
        let other = TicketKey::new(vec![7u8; 32]).expect("key");
        assert_eq!(other.verify(&text, 0), Err(TicketError::BadSignature));
        // Another player's name in the same envelope.
        let forged_payload = B64.encode(br#"{"p":"admin","r":"","e":18446744073709551615}"#);
        let mac = text.rsplit_once('.').map(|(_, m)| m).unwrap_or_default();
        let forged = format!("v1.{forged_payload}.{mac}");
        assert_eq!(key().verify(&forged, 0), Err(TicketError::BadSignature));
        assert_eq!(key().verify("v1.abc", 0), Err(TicketError::Malformed));
        assert_eq!(key().verify("nonsense", 0), Err(TicketError::Malformed));
        assert!(TicketKey::new(*b"short").is_err());
    }

    /// A known answer, computed outside Rust (Python's `hmac` and `base64` from the format in
    /// the module doc), so a matchmaker in another language can check its signer against it.
    #[test]
    fn the_signature_is_hmac_sha256_over_the_text_before_the_last_dot() {
        const KNOWN: &str = "v1.eyJwIjoiYW5uIiwiciI6Ims3IiwiZSI6MTcwMDAwMDAwMH0.\
                             l_9aHizuwlagbCS3Qru_ERO-9ZfccUXCl-jw9nrs4nA";
        let t = Ticket {
            player: "ann".into(),
            room: "k7".into(),
            expires: 1_700_000_000,
        };
        assert_eq!(key().sign(&t), KNOWN);
        assert_eq!(key().verify(KNOWN, 1_699_999_999), Ok(t));
    }

    /// The secret file: its trailing newline (as `echo` writes it) is not part of the key; a
    /// short secret and a missing file are refused with their reasons.
    #[test]
    fn the_secret_loads_from_a_file_without_its_trailing_newline() {
        let dir = std::env::temp_dir().join(format!("snapwire-ticket-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let file = dir.join("secret");
        std::fs::write(&file, "0123456789abcdef0123456789abcdef\n").expect("write");
        let loaded = TicketKey::load(Some(&file)).expect("loads").expect("a key");
        let t = Ticket {
            player: "ann".into(),
            room: String::new(),
            expires: 10,
        };
        assert_eq!(
            loaded.sign(&t),
            key().sign(&t),
            "the same key as without the newline"
        );
        std::fs::write(&file, "too short\n").expect("write");
        assert!(matches!(
            TicketKey::load(Some(&file)),
            Err(SecretError::Short)
        ));
        let missing = dir.join("nope");
        let err = TicketKey::load(Some(&missing)).expect_err("no such file");
        assert!(err.to_string().contains("nope"), "{err}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
