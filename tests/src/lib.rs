//! Black-box tests live in `tests/tests/`: each file starts a real server on `127.0.0.1:0`.
//!
//! The library holds what the server's own integration tests need too: a throwaway
//! certificate authority for `wss://` tests.

use std::path::{Path, PathBuf};

/// PEM files written by [`issue_certificate`].
#[derive(Debug, Clone)]
pub struct IssuedCertificate {
    /// The throwaway CA's certificate: what a client must trust.
    pub ca: PathBuf,
    /// The server's certificate (for 127.0.0.1 and localhost), signed by the CA.
    pub cert: PathBuf,
    pub key: PathBuf,
}

/// A throwaway CA and a certificate it signed for 127.0.0.1 and localhost, written to
/// `dir/NAME-ca.pem`, `dir/NAME-cert.pem` and `dir/NAME-key.pem`. Panics on failure: a test
/// helper.
pub fn issue_certificate(dir: &Path, name: &str) -> IssuedCertificate {
    use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().expect("CA key"))
        .expect("CA certificate");
    let key = KeyPair::generate().expect("server key");
    let params = CertificateParams::new(vec!["127.0.0.1".to_owned(), "localhost".to_owned()])
        .expect("server params");
    let cert = params.signed_by(&key, &ca).expect("server certificate");
    let issued = IssuedCertificate {
        ca: dir.join(format!("{name}-ca.pem")),
        cert: dir.join(format!("{name}-cert.pem")),
        key: dir.join(format!("{name}-key.pem")),
    };
    std::fs::write(&issued.ca, ca.pem()).expect("write CA");
    std::fs::write(&issued.cert, cert.pem()).expect("write certificate");
    std::fs::write(&issued.key, key.serialize_pem()).expect("write key");
    issued
}
