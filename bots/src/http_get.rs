//! One `GET` over HTTP/1.1, plain or TLS, for reading the server's `/metrics`: over `https://`
//! with the same rustls configuration (and `--ca`) as the bots' `wss://`, or the public web's
//! roots. hyper's connection-level client over tokio-rustls; reqwest's TLS would bring a
//! second crypto provider into the tree (aws-lc) or need one installed process-wide.

use std::sync::Arc;

use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper::Request;
use hyper_util::rt::TokioIo;
use rustls::pki_types::ServerName;
use thiserror::Error;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;

/// Why a `GET` gave no text, with the URL it was for.
#[derive(Debug, Error)]
#[error("GET {url}: {why}")]
pub struct GetError {
    pub url: String,
    pub why: GetFailure,
}

#[derive(Debug, Error)]
pub enum GetFailure {
    #[error("only http:// and https:// URLs")]
    Scheme,
    #[error("no host")]
    NoHost,
    #[error(transparent)]
    Uri(#[from] hyper::http::uri::InvalidUri),
    #[error(transparent)]
    Request(#[from] hyper::http::Error),
    #[error(transparent)]
    Connect(#[from] std::io::Error),
    #[error(transparent)]
    ServerName(#[from] rustls::pki_types::InvalidDnsNameError),
    #[error(transparent)]
    Http(#[from] hyper::Error),
    #[error("HTTP {0}")]
    Status(hyper::StatusCode),
    #[error("the body is not UTF-8")]
    NotUtf8,
    #[error("no answer within {0:?}")]
    Timeout(std::time::Duration),
}

/// The body of `GET url` as text; an error for anything but a 2xx answer.
pub async fn get_text(
    url: &str,
    tls: Option<&Arc<rustls::ClientConfig>>,
) -> Result<String, GetError> {
    let fail = |why: GetFailure| GetError {
        url: url.to_owned(),
        why,
    };
    let uri: hyper::Uri = url.parse().map_err(|e| fail(GetFailure::Uri(e)))?;
    let https = match uri.scheme_str() {
        Some("https") => true,
        Some("http") => false,
        _ => return Err(fail(GetFailure::Scheme)),
    };
    let host = uri.host().ok_or_else(|| fail(GetFailure::NoHost))?;
    let port = uri.port_u16().unwrap_or(if https { 443 } else { 80 });
    let bare_host = host.trim_start_matches('[').trim_end_matches(']');
    let tcp = TcpStream::connect((bare_host, port))
        .await
        .map_err(|e| fail(e.into()))?;
    let authority = uri
        .authority()
        .map(|a| a.as_str().to_owned())
        .unwrap_or_default();
    let path = uri.path_and_query().map_or("/", |p| p.as_str());
    let request = Request::get(path)
        .header(hyper::header::HOST, authority)
        .body(Empty::<Bytes>::new())
        .map_err(|e| fail(e.into()))?;
    if https {
        let config = tls.cloned().unwrap_or_else(public_roots);
        let name = ServerName::try_from(bare_host.to_owned()).map_err(|e| fail(e.into()))?;
        let stream = tokio_rustls::TlsConnector::from(config)
            .connect(name, tcp)
            .await
            .map_err(|e| fail(e.into()))?;
        send(stream, request).await.map_err(fail)
    } else {
        send(tcp, request).await.map_err(fail)
    }
}

async fn send<S>(io: S, request: Request<Empty<Bytes>>) -> Result<String, GetFailure>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(io)).await?;
    // The connection is driven on its own task until the answer is read (one request).
    let driver = tokio::spawn(connection);
    let response = sender.send_request(request).await?;
    let status = response.status();
    let body = response.into_body().collect().await?.to_bytes();
    driver.abort();
    if !status.is_success() {
        return Err(GetFailure::Status(status));
    }
    String::from_utf8(body.to_vec()).map_err(|_| GetFailure::NotUtf8)
}

/// The public web's roots (Mozilla's, as data): what a bot trusts without `--ca`.
fn public_roots() -> Arc<rustls::ClientConfig> {
    let roots = rustls::RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    Arc::new(
        rustls::ClientConfig::builder()
            .with_root_certificates(roots)
            .with_no_client_auth(),
    )
}
