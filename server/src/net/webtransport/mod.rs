//! WebTransport (HTTP/3 over QUIC) beside WebSocket, on UDP at the TCP listener's port number,
//! with the `wtransport` crate (on quinn: sessions, bidirectional streams and datagrams, server
//! and client, and self-signed certificates a browser accepts by hash; `web-transport-quinn`
//! offers the same over quinn with less: no self-signed builder, no client for the tests).
//!
//! A client opens a session at [`PATH`] (`?ticket=...` as on `/ws`), then one bidirectional
//! stream: the session stream, framed as [`snapwire_shared::stream`] says, which carries its
//! `Hello` and everything that must arrive (`Welcome`, `Resumed`, scoreboards, the close with
//! its code and reason). Snapshots travel as datagrams, one message each, and so do the
//! client's inputs and acks: a lost datagram costs one snapshot or one input, never a stall.
//!
//! - [`identity`]: the certificate (the operator's, or a self-made one renewed in time).
//! - `session`: one session's task. `link`: its [`crate::driver::link::ClientLink`].
//!
//! Limits are the WebSocket side's: the same client slots, the same cap on connections
//! mid-handshake (counted apart), the `Hello` timeout, Origin and ticket checks, the room's
//! input rate and idle timeout.

pub mod identity;
mod link;
mod session;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::time::Duration;

use thiserror::Error;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::{info, warn};
use wtransport::endpoint::endpoint_side::Server;
use wtransport::quinn::congestion::BbrConfig;
use wtransport::quinn::{IdleTimeout, TransportConfig};
use wtransport::{Endpoint, ServerConfig, VarInt};

use crate::config::TlsFiles;
use crate::net::session::ConnectionContext;
use identity::{Certificate, IdentityError, ROTATE_EVERY};

/// The path a WebTransport session is opened at (`https://HOST:PORT/wt`).
pub const PATH: &str = "/wt";

/// QUIC's keep-alive: an idle but live session sends something this often, so neither side's
/// idle timer (nor a NAT's) ends it.
const KEEP_ALIVE: Duration = Duration::from_secs(3);

#[derive(Debug, Error)]
pub enum WebTransportError {
    #[error(transparent)]
    Identity(#[from] IdentityError),
    #[error("WebTransport cannot listen on UDP {addr}: {source} (--no-webtransport turns it off)")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
}

/// The WebTransport listener: its UDP endpoint and its certificate.
pub struct WebTransport {
    endpoint: Endpoint<Server>,
    certificate: Arc<Certificate>,
    addr: SocketAddr,
    idle_timeout: Duration,
}

impl WebTransport {
    /// Listens on UDP `addr` (the TCP listener's address) with the operator's certificate, or a
    /// self-made one.
    pub async fn bind(
        addr: SocketAddr,
        tls: Option<&TlsFiles>,
        idle_timeout: Duration,
    ) -> Result<WebTransport, WebTransportError> {
        let certificate = Certificate::load(tls).await?;
        let bind = |source| WebTransportError::Bind { addr, source };
        let socket = udp_socket(addr).map_err(bind)?;
        let config = tuned(
            ServerConfig::builder()
                .with_bind_socket(socket)
                .with_identity(certificate.identity()),
            idle_timeout,
        )
        .map_err(bind)?;
        let endpoint = Endpoint::server(config).map_err(bind)?;
        let addr = endpoint
            .local_addr()
            .map_err(|source| WebTransportError::Bind { addr, source })?;
        Ok(WebTransport {
            endpoint,
            certificate,
            addr,
            idle_timeout,
        })
    }

    /// What `GET /webtransport` says.
    pub fn offer(&self) -> Offer {
        Offer {
            certificate: Arc::clone(&self.certificate),
            port: self.addr.port(),
        }
    }

    /// Accepts sessions until `shutdown`; each runs on `tasks`, under the server's caps.
    pub async fn serve(
        self,
        ctx: ConnectionContext,
        slots: Arc<Semaphore>,
        next_client: Arc<AtomicU64>,
        tasks: TaskTracker,
        shutdown: CancellationToken,
    ) {
        info!(addr = %self.addr, path = PATH, "serving WebTransport");
        let pending = Arc::new(Semaphore::new(ctx.config.max_pending));
        let gate = Arc::new(session::Gate {
            ctx,
            slots,
            next_client,
        });
        let mut renew =
            tokio::time::interval_at(tokio::time::Instant::now() + ROTATE_EVERY, ROTATE_EVERY);
        let mut hangups = Hangups::new(!self.certificate.self_signed);
        loop {
            tokio::select! {
                incoming = self.endpoint.accept() => {
                    // Past the cap on handshakes in flight, a new session is refused at once.
                    let Ok(permit) = Arc::clone(&pending).try_acquire_owned() else {
                        gate.ctx.stats.refused_pending.inc();
                        incoming.refuse();
                        continue;
                    };
                    tasks.spawn(session::serve(incoming, Arc::clone(&gate), permit));
                }
                _ = renew.tick(), if self.certificate.self_signed => self.renew(),
                () = hangups.next() => self.reload().await,
                _ = shutdown.cancelled() => break,
            }
        }
        // The rooms close every session's link as they stop; the sessions send their closes.
        // What is still open once they have had their time is cut.
        tasks.close();
        let _ = tokio::time::timeout(Duration::from_secs(5), tasks.wait()).await;
        self.endpoint
            .close(VarInt::from_u32(0), b"server shutting down");
    }

    /// A new self-made certificate for new sessions (open ones keep theirs).
    fn renew(&self) {
        match self.certificate.renew() {
            Ok(()) => self.use_certificate("renewed"),
            Err(e) => warn!("WebTransport certificate renewal failed: {e}"),
        }
    }

    /// The operator's certificate read again (SIGHUP), for new sessions.
    async fn reload(&self) {
        match self.certificate.reload().await {
            Ok(()) => self.use_certificate("reloaded"),
            Err(e) => warn!("WebTransport certificate reload failed, keeping the old one: {e}"),
        }
    }

    /// Hands the certificate to the endpoint (it keeps its socket: no rebind).
    fn use_certificate(&self, what: &str) {
        match server_config(self.addr, &self.certificate, self.idle_timeout)
            .and_then(|config| self.endpoint.reload_config(config, false))
        {
            Ok(()) => info!("WebTransport certificate {what}"),
            Err(e) => warn!("WebTransport certificate not {what}: {e}"),
        }
    }
}

/// SIGHUP, when the certificate is the operator's (the same signal reloads `wss://`'s).
struct Hangups {
    #[cfg(unix)]
    signal: Option<tokio::signal::unix::Signal>,
}

impl Hangups {
    fn new(wanted: bool) -> Hangups {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            let signal = wanted.then(|| signal(SignalKind::hangup())).and_then(|s| {
                s.map_err(|e| warn!("cannot listen for SIGHUP: WebTransport's certificate will not be reloaded: {e}"))
                    .ok()
            });
            Hangups { signal }
        }
        #[cfg(not(unix))]
        {
            let _ = wanted;
            Hangups {}
        }
    }

    /// The next SIGHUP; never, without one to listen for.
    async fn next(&mut self) {
        #[cfg(unix)]
        if let Some(signal) = &mut self.signal
            && signal.recv().await.is_some()
        {
            return;
        }
        std::future::pending().await
    }
}

/// A renewed certificate's configuration (the endpoint keeps its socket: no rebind).
fn server_config(
    addr: SocketAddr,
    certificate: &Certificate,
    idle_timeout: Duration,
) -> std::io::Result<ServerConfig> {
    tuned(
        ServerConfig::builder()
            .with_bind_address(addr)
            .with_identity(certificate.identity()),
        idle_timeout,
    )
}

fn tuned(
    builder: wtransport::config::ServerConfigBuilder<
        wtransport::config::states::WantsTransportConfigServer,
    >,
    idle_timeout: Duration,
) -> std::io::Result<ServerConfig> {
    let mut config = builder.build();
    config
        .quic_config_mut()
        .transport_config(Arc::new(transport(idle_timeout)?));
    Ok(config)
}

/// QUIC's transport settings for game traffic.
pub fn transport(idle_timeout: Duration) -> std::io::Result<TransportConfig> {
    let mut t = TransportConfig::default();
    t.keep_alive_interval(Some(KEEP_ALIVE));
    // A path that has carried nothing for longer than a client may be silent is dead (an hour
    // at most: QUIC's limit is far above).
    let idle = idle_timeout.clamp(KEEP_ALIVE * 2, Duration::from_secs(3600));
    t.max_idle_timeout(Some(IdleTimeout::try_from(idle).map_err(|e| {
        std::io::Error::other(format!("idle timeout {idle:?}: {e}"))
    })?));
    // A loss-based controller (quinn's default, Cubic) halves its window at each random loss a
    // lossy Wi-Fi link makes and, on a 200 ms round trip, settles below the few KB a second
    // a client's snapshots take: quinn then drops datagrams it may not send (42 snapshots a
    // second instead of 59 through `average`, measured). BBR paces by the bandwidth and round
    // trip it measures instead, and random loss does not shrink it.
    t.congestion_controller_factory(Arc::new(BbrConfig::default()));
    // An old snapshot is worth nothing: little may wait for the window (quinn drops the
    // oldest datagrams queued when this is full).
    t.datagram_send_buffer_size(DATAGRAMS_QUEUED);
    Ok(t)
}

/// Bytes of datagrams quinn holds per connection while the congestion window is closed: a few
/// ticks of a crowded view's snapshots.
pub const DATAGRAMS_QUEUED: usize = 64 * 1024;

/// Bytes of datagrams the kernel may hold for the endpoint, each way. Its default (208 KiB
/// here) overflows in a burst of handshakes on a busy core and the kernel drops the rest
/// (`RcvbufErrors` in /proc/net/snmp): a stalled handshake. The kernel caps it at
/// `net.core.rmem_max` / `wmem_max`.
pub const UDP_BUFFER: usize = 4 << 20;

/// A UDP socket bound to `addr` with [`UDP_BUFFER`]s (as large as the kernel allows).
pub fn udp_socket(addr: SocketAddr) -> std::io::Result<std::net::UdpSocket> {
    use socket2::{Domain, Protocol, Socket, Type};
    let socket = Socket::new(Domain::for_address(addr), Type::DGRAM, Some(Protocol::UDP))?;
    // Smaller buffers still work: only a burst may then lose packets QUIC sends again.
    let _ = socket.set_recv_buffer_size(UDP_BUFFER);
    let _ = socket.set_send_buffer_size(UDP_BUFFER);
    socket.set_nonblocking(true)?;
    socket.bind(&addr.into())?;
    Ok(socket.into())
}

impl std::fmt::Debug for WebTransport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebTransport")
            .field("addr", &self.addr)
            .field("certificate", &self.certificate)
            .finish()
    }
}

/// What a page needs to open a session: the port and the certificate's hash.
#[derive(Debug, Clone)]
pub struct Offer {
    certificate: Arc<Certificate>,
    port: u16,
}

impl Offer {
    /// `GET /webtransport`'s body.
    pub fn json(&self) -> serde_json::Value {
        let hash: String = self
            .certificate
            .hash()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        serde_json::json!({
            "enabled": true,
            "port": self.port,
            "path": PATH,
            "certificate_hashes": [{ "algorithm": "sha-256", "value": hash }],
            "self_signed": self.certificate.self_signed,
        })
    }
}
