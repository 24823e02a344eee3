//! The certificate WebTransport is served with: the operator's (`--tls-cert/--tls-key`, the same
//! files as `wss://`), or one this process makes. A browser accepts a self-made certificate
//! through `serverCertificateHashes` only when it is ECDSA P-256 and valid for at most 14
//! days, so a self-made one is valid for [`SELF_SIGNED_DAYS`] and replaced every
//! [`ROTATE_EVERY`]; `GET /webtransport` tells pages its hash. The operator's is read again on
//! SIGHUP, as `wss://`'s is.

use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration;

use thiserror::Error;
use wtransport::Identity;

use crate::config::TlsFiles;

/// A self-made certificate's validity: under Chrome's 14-day limit with a day to spare for
/// clocks that disagree.
pub const SELF_SIGNED_DAYS: u32 = 13;

/// A self-made certificate is replaced this often, long before it expires.
pub const ROTATE_EVERY: Duration = Duration::from_secs(6 * 24 * 3600);

#[derive(Debug, Error)]
pub enum IdentityError {
    #[error("could not make a self-signed certificate: {0}")]
    SelfSigned(String),
    #[error("certificate {} or key {}: {source}", .files.cert.display(), .files.key.display())]
    Files {
        files: TlsFiles,
        source: wtransport::tls::error::PemLoadError,
    },
}

/// The certificate in use and its SHA-256 hash.
#[derive(Debug)]
pub struct Certificate {
    identity: RwLock<Identity>,
    hash: RwLock<[u8; 32]>,
    /// Made here (and so replaced here), not the operator's.
    pub self_signed: bool,
    /// The operator's files, read again by [`Certificate::reload`].
    files: Option<TlsFiles>,
}

impl Certificate {
    /// The operator's certificate, or a self-made one when there is none.
    pub async fn load(files: Option<&TlsFiles>) -> Result<Arc<Certificate>, IdentityError> {
        let (identity, self_signed) = match files {
            Some(files) => (from_files(files).await?, false),
            None => (self_signed()?, true),
        };
        Ok(Arc::new(Certificate {
            hash: RwLock::new(hash_of(&identity)),
            identity: RwLock::new(identity),
            self_signed,
            files: files.cloned(),
        }))
    }

    /// Reads the operator's files again (a renewed certificate); on an error the one in use
    /// stays. A self-made certificate has no files: [`Certificate::renew`] replaces it.
    pub async fn reload(&self) -> Result<(), IdentityError> {
        let Some(files) = &self.files else {
            return Ok(());
        };
        self.replace(from_files(files).await?);
        Ok(())
    }

    /// A copy of the identity, for an endpoint's configuration.
    pub fn identity(&self) -> Identity {
        self.identity
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone_identity()
    }

    /// The certificate's SHA-256, as `serverCertificateHashes` wants it.
    pub fn hash(&self) -> [u8; 32] {
        *self.hash.read().unwrap_or_else(PoisonError::into_inner)
    }

    /// Replaces a self-made certificate with a new one (the caller hands it to the endpoint).
    pub fn renew(&self) -> Result<(), IdentityError> {
        self.replace(self_signed()?);
        Ok(())
    }

    fn replace(&self, identity: Identity) {
        *self.hash.write().unwrap_or_else(PoisonError::into_inner) = hash_of(&identity);
        *self
            .identity
            .write()
            .unwrap_or_else(PoisonError::into_inner) = identity;
    }
}

async fn from_files(files: &TlsFiles) -> Result<Identity, IdentityError> {
    Identity::load_pemfiles(&files.cert, &files.key)
        .await
        .map_err(|source| IdentityError::Files {
            files: files.clone(),
            source,
        })
}

fn self_signed() -> Result<Identity, IdentityError> {
    use wtransport::tls::self_signed::time::{Duration as Span, OffsetDateTime};
    // Valid from an hour ago: a client whose clock is a little behind still accepts it.
    let from = OffsetDateTime::now_utc() - Span::hours(1);
    Identity::self_signed_builder()
        .subject_alt_names(["localhost", "127.0.0.1", "::1"])
        .validity_period(from, from + Span::days(i64::from(SELF_SIGNED_DAYS)))
        .build()
        .map_err(|e| IdentityError::SelfSigned(e.to_string()))
}

fn hash_of(identity: &Identity) -> [u8; 32] {
    identity
        .certificate_chain()
        .as_slice()
        .first()
        .map_or([0; 32], |c| *c.hash().as_ref())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_renewed_self_made_certificate_has_a_new_hash_and_reload_keeps_it() {
        let c = Certificate::load(None).await.expect("self-made");
        assert!(c.self_signed);
        let first = c.hash();
        c.renew().expect("renewed");
        let second = c.hash();
        assert_ne!(first, second, "a new key, a new certificate");
        // Nothing to read again: a self-made certificate stays as it is.
        c.reload().await.expect("no files");
        assert_eq!(c.hash(), second);
    }
}
