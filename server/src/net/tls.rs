//! HTTPS and `wss://` on the game's port (`--tls-cert FILE --tls-key FILE`, PEM), with
//! rustls: a page served over https may only open `wss://`. The certificate is read again on
//! SIGHUP (a renewed certificate), without dropping anyone: connections keep the one they
//! started with, new ones get the new one. A reload that fails keeps the old certificate.

use std::path::{Path, PathBuf};
use std::sync::{Arc, PoisonError, RwLock};

use rustls::ServerConfig;
use rustls::pki_types::pem::{self, PemObject};
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use thiserror::Error;
use tokio_rustls::TlsAcceptor;

pub use crate::config::TlsFiles;

#[derive(Debug, Error)]
pub enum TlsError {
    #[error("{0}: {1}")]
    File(PathBuf, String),
    #[error("{0} holds no certificate")]
    NoCertificate(PathBuf),
    #[error("the certificate and key do not work together: {0}")]
    Config(String),
}

/// The acceptor new connections use, replaced on reload.
pub struct Tls {
    files: TlsFiles,
    acceptor: RwLock<TlsAcceptor>,
}

impl std::fmt::Debug for Tls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tls").field("files", &self.files).finish()
    }
}

impl Tls {
    pub fn load(files: TlsFiles) -> Result<Tls, TlsError> {
        let acceptor = acceptor(&files)?;
        Ok(Tls {
            files,
            acceptor: RwLock::new(acceptor),
        })
    }

    /// The acceptor for a connection accepted now.
    pub fn acceptor(&self) -> TlsAcceptor {
        self.acceptor
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Reads the files again; on an error the current certificate stays.
    pub fn reload(&self) -> Result<(), TlsError> {
        let fresh = acceptor(&self.files)?;
        *self
            .acceptor
            .write()
            .unwrap_or_else(PoisonError::into_inner) = fresh;
        Ok(())
    }
}

fn acceptor(files: &TlsFiles) -> Result<TlsAcceptor, TlsError> {
    let certs = CertificateDer::pem_file_iter(&files.cert)
        .map_err(|e| pem_error(&files.cert, &e))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| pem_error(&files.cert, &e))?;
    if certs.is_empty() {
        return Err(TlsError::NoCertificate(files.cert.clone()));
    }
    let key = PrivateKeyDer::from_pem_file(&files.key).map_err(|e| pem_error(&files.key, &e))?;
    let mut config = ServerConfig::builder()
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| TlsError::Config(e.to_string()))?;
    // HTTP/1.1 only: the WebSocket upgrade is an HTTP/1.1 request.
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(TlsAcceptor::from(Arc::new(config)))
}

/// The PEM parser's own words show a broken line as a list of byte values; an operator
/// reading the log after a failed reload needs the line.
fn pem_error(path: &Path, e: &pem::Error) -> TlsError {
    let why = match e {
        pem::Error::MissingSectionEnd { end_marker } => format!(
            "its {} section has no END line (the file is cut short?)",
            String::from_utf8_lossy(end_marker)
        ),
        pem::Error::IllegalSectionStart { line } => {
            format!("a malformed BEGIN line `{}`", String::from_utf8_lossy(line))
        }
        pem::Error::NoItemsFound => "no PEM section of the expected kind".to_owned(),
        other => other.to_string(),
    };
    TlsError::File(path.to_path_buf(), why)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A certificate file cut in the middle of its base64 (a renewal half written) names the
    /// missing line in words, not as byte values.
    #[test]
    fn a_cut_certificate_is_reported_in_words() {
        let dir = std::env::temp_dir().join(format!("snapwire-pem-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let files = TlsFiles {
            cert: dir.join("cut.pem"),
            key: dir.join("key.pem"),
        };
        std::fs::write(&files.cert, "-----BEGIN CERTIFICATE-----\nMIIB\n").expect("write");
        let err = Tls::load(files).expect_err("a cut file").to_string();
        assert!(
            err.ends_with(
                "cut.pem: its CERTIFICATE section has no END line (the file is cut short?)"
            ),
            "{err}"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}
