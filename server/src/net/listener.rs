//! Accepting connections, bounded before any byte is trusted: a cap on connections that have
//! not finished their handshake (a semaphore, as mini-redis caps its connections), and HTTP/1
//! served with a header read timeout, so a socket that sends nothing, or dribbles half a
//! header, is closed instead of held forever. Everything after the headers is axum's router.
//!
//! A connection's place under the cap is a [`HandshakeSlot`] carried in its requests: a plain
//! HTTP request gives it back at once, the game socket keeps it until its `Hello` arrived.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio_util::either::Either;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tower::ServiceExt;
use tracing::{debug, warn};

use crate::net::direct::DirectSocket;
use crate::net::tls::Tls;
use crate::stats::ServerStats;

/// The limits that apply before a connection is a client.
#[derive(Debug, Clone, Copy)]
pub struct AcceptLimits {
    /// Connections that have not finished their handshake (HTTP headers, then for the game
    /// socket the upgrade and `Hello`), at most; more are closed as soon as accepted.
    pub max_pending: usize,
    /// Time to send a request's headers (also the time a kept-alive connection may sit idle).
    pub header_timeout: Duration,
}

/// A connection's place under [`AcceptLimits::max_pending`], taken by whoever finishes the
/// handshake first.
#[derive(Debug, Clone)]
pub struct HandshakeSlot(Arc<Mutex<Option<OwnedSemaphorePermit>>>);

impl HandshakeSlot {
    /// Takes the place (to hold until the handshake ends); `None` if already taken.
    pub fn take(&self) -> Option<OwnedSemaphorePermit> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).take()
    }
}

/// Accepts until `shutdown`, serving each connection with `router` on a task `tasks` tracks;
/// over TLS first when `tls` is set.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: AcceptLimits,
    tls: Option<Arc<Tls>>,
    stats: Arc<ServerStats>,
    tasks: TaskTracker,
    shutdown: CancellationToken,
) -> std::io::Result<()> {
    let pending = Arc::new(Semaphore::new(limits.max_pending));
    loop {
        let (tcp, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // Out of file descriptors and the like: wait a little, do not spin.
                    warn!("accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = shutdown.cancelled() => return Ok(()),
        };
        let Ok(permit) = Arc::clone(&pending).try_acquire_owned() else {
            stats.refused_pending.inc();
            debug!(%peer, "too many connections mid-handshake; closed");
            continue;
        };
        // Snapshots and inputs are small frames that must leave at once: no Nagle batching.
        if let Err(e) = tcp.set_nodelay(true) {
            warn!("TCP_NODELAY: {e}");
        }
        let slot = HandshakeSlot(Arc::new(Mutex::new(Some(permit))));
        // The room writes a plain-TCP client's frames itself when it can (`net::direct`);
        // through TLS every byte goes through the connection's stream.
        let direct = match tls {
            None => DirectSocket::of(&tcp)
                .inspect_err(|e| debug!(%peer, "no direct writes: {e}"))
                .ok(),
            Some(_) => None,
        };
        let router = router.clone();
        let service = hyper::service::service_fn(move |mut req: hyper::Request<Incoming>| {
            if req.uri().path() == "/ws" {
                req.extensions_mut().insert(slot.clone());
                if let Some(direct) = &direct {
                    req.extensions_mut().insert(direct.clone());
                }
            } else {
                // Headers read: a plain HTTP request has finished its handshake.
                drop(slot.take());
            }
            router.clone().oneshot(req.map(Body::new))
        });
        let shutdown = shutdown.clone();
        let tls = tls.as_ref().map(|t| t.acceptor());
        tasks.spawn(async move {
            let io = match tls {
                None => Either::Left(tcp),
                // The TLS handshake counts against the header timeout, as a silent or
                // dribbling socket must not hold its place under the cap.
                Some(acceptor) => {
                    match tokio::time::timeout(limits.header_timeout, acceptor.accept(tcp)).await {
                        Ok(Ok(stream)) => Either::Right(stream),
                        Ok(Err(e)) => return debug!(%peer, "TLS handshake failed: {e}"),
                        Err(_) => return debug!(%peer, "TLS handshake timed out"),
                    }
                }
            };
            let conn = http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(limits.header_timeout)
                .serve_connection(TokioIo::new(io), service)
                .with_upgrades();
            let mut conn = std::pin::pin!(conn);
            tokio::select! {
                served = conn.as_mut() => {
                    if let Err(e) = served {
                        debug!(%peer, "connection ended: {e}");
                    }
                }
                _ = shutdown.cancelled() => {
                    conn.as_mut().graceful_shutdown();
                    let _ = conn.await;
                }
            }
        });
    }
}
