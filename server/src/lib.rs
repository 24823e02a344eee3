//! snapwire's authoritative game server, in three layers:
//!
//! - [`room`]: the core. A match as a value with no I/O: world, each client's replication
//!   state, snapshot history, interest, delta encoding, scoreboard, load shedding.
//! - [`net`]: HTTP routes, the WebSocket connections, the bounded queues in and the
//!   latest-wins outboxes out. Nothing there knows the rules.
//! - [`driver`] between them: the [`driver::registry`] of open rooms and matchmaking, the
//!   [`driver::scheduler`] that steps many rooms on a few threads, each at its own rate, and
//!   the [`driver::room_driver`] that moves one room's messages to and from its connections.
//!
//! Also: [`stats`] holds every counter (`/metrics`), [`config`] the settings and room kinds,
//! [`config_sources`] reads them from a file and the environment too, [`room_kind_spec`]
//! parses the kinds an operator adds (`--room-kind`), [`ticket`] signs and checks join
//! tickets, [`priority`] keeps the
//! socket threads below the room threads, [`recording`] writes and reads recorded matches,
//! and (feature `agones`) `agones` reports the process's lifecycle to an Agones sidecar.
//!
//! Data path: socket -> [`net::connection`] (handshake, seat in a room, decode, range-check)
//! -> [`driver::admission`] (bounded queues) -> [`driver::room_driver`] ->
//! [`room::Room::handle`], then per tick [`room::Room::tick`] (apply inputs, step simulation,
//! record snapshot, build each client's message, build scores) -> the client's
//! [`driver::link::ClientLink`] ([`net::outbox`] for WebSocket: latest-wins) -> the
//! connection's writer -> socket. `net` imports `driver`, never the reverse.
//!
//! [`serve`] is the whole server and its composition root (settings in, running rooms,
//! threads and listeners out, with the [`driver::games::Games`] it is handed): `main.rs` parses
//! flags and calls [`run`] (the built-in games), tests and a team's own `main` call [`serve`]
//! on `127.0.0.1:0`.

#[cfg(feature = "agones")]
pub mod agones;
pub mod config;
pub mod config_sources;
pub mod driver;
pub mod net;
pub mod priority;
pub mod recording;
pub mod room;
pub mod room_kind_spec;
pub mod stats;
pub mod ticket;

use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::time::Duration;

use thiserror::Error;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::{info, warn};

pub use config::{Config, ConfigError, Scene};
pub use driver::games::Games;
pub use driver::hosted::GameMaker;
pub use stats::ServerStats;

use crate::driver::registry::Registry;
use crate::driver::room_driver::DriverLimits;
use crate::driver::scheduler::Scheduler;
use crate::net::http::{self, AppState};
use crate::net::listener::{self, AcceptLimits};
use crate::net::session::ConnectionContext;
use crate::net::webtransport::WebTransport;

/// How long shutdown waits for connections to send their close frames.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(5);

#[derive(Debug, Error)]
pub enum ServerError {
    #[error("invalid configuration: {0}")]
    Config(#[from] ConfigError),
    /// A room kind names a game the server was not handed.
    #[error("invalid configuration: {0}")]
    UnknownGame(#[from] driver::games::UnknownGame),
    #[error("i/o: {0}")]
    Io(#[from] std::io::Error),
    #[error(transparent)]
    WebTransport(#[from] net::webtransport::WebTransportError),
    #[error("a room scheduler thread panicked")]
    SchedulerPanicked,
    /// The async runtime shut down before the room threads were joined (the process or a
    /// test is ending): the rooms were told to stop, but nobody waited for them.
    #[error("the runtime shut down before the room threads were joined")]
    Interrupted,
    /// With `--agones`: the sidecar could not be reached, or refused Ready.
    #[cfg(feature = "agones")]
    #[error(
        "Agones: could not reach the SDK sidecar or say Ready: {} (the sidecar listens on \
         localhost at AGONES_SDK_GRPC_PORT, default 9357)",
        agones::detail(.0)
    )]
    Agones(::agones::errors::Error),
}

/// Reads the certificate again on each SIGHUP (a renewed one), until `shutdown`.
fn reload_on_sighup(tls: Arc<net::tls::Tls>, shutdown: CancellationToken) {
    #[cfg(unix)]
    tokio::spawn(async move {
        use tokio::signal::unix::{SignalKind, signal};
        let Ok(mut hup) = signal(SignalKind::hangup()) else {
            warn!("cannot listen for SIGHUP: the certificate will not be reloaded");
            return;
        };
        loop {
            tokio::select! {
                _ = hup.recv() => match tls.reload() {
                    Ok(()) => info!("certificate reloaded"),
                    Err(e) => warn!("certificate reload failed, keeping the old one: {e}"),
                },
                _ = shutdown.cancelled() => return,
            }
        }
    });
    #[cfg(not(unix))]
    let _ = (tls, shutdown);
}

/// Serves the built-in games on `listener` until `shutdown` is cancelled, then closes every
/// client with `GoingAway` and returns once connections have drained.
pub async fn run(
    listener: TcpListener,
    config: Config,
    shutdown: CancellationToken,
) -> Result<(), ServerError> {
    let stats = Arc::new(ServerStats::default());
    serve(listener, config, Games::builtin(), shutdown, stats).await
}

/// [`run`] hosting `games` (the room kinds name theirs among them), publishing counters into
/// `stats` (tests read them).
pub async fn serve(
    listener: TcpListener,
    config: Config,
    games: Games,
    shutdown: CancellationToken,
    stats: Arc<ServerStats>,
) -> Result<(), ServerError> {
    let config = Arc::new(config.validate()?);
    let scheduler = Scheduler::start(config.room_threads, &shutdown)?;
    let recordings = match &config.record_dir {
        Some(dir) => Some(recording::RecordWriter::start(dir.clone())?),
        None => None,
    };
    let mut registry = Registry::new(
        config.kinds(),
        games,
        config.max_rooms,
        DriverLimits {
            grace: config.room_grace,
            idle_timeout: config.idle_timeout,
            resume_grace: config.resume_grace,
        },
        scheduler,
        Arc::clone(&stats),
    )?;
    if let Some(writer) = recordings {
        registry = registry.record_to(writer);
    }
    if let Some(dir) = &config.record_dir {
        registry = registry.replays_from(dir.clone());
    }
    let registry = Arc::new(registry);
    registry
        .open_default()
        .map_err(|e| ServerError::Config(ConfigError::DefaultRoom(e.words)))?;

    let tasks = TaskTracker::new();
    let stats_for_accept = Arc::clone(&stats);
    let ctx = ConnectionContext {
        config: Arc::clone(&config),
        registry: Arc::clone(&registry),
        stats: Arc::clone(&stats),
        shutdown: shutdown.clone(),
    };
    let slots = Arc::new(Semaphore::new(config.max_clients));
    let next_client = Arc::new(AtomicU64::new(1));
    let webtransport = if config.webtransport {
        let wt = WebTransport::bind(
            listener.local_addr()?,
            config.tls.as_ref(),
            config.idle_timeout,
        )
        .await?;
        Some(wt)
    } else {
        None
    };
    let state = AppState {
        ctx: ctx.clone(),
        slots: Arc::clone(&slots),
        tasks: tasks.clone(),
        next_client: Arc::clone(&next_client),
        webtransport: webtransport.as_ref().map(WebTransport::offer),
    };
    let wt_tasks = TaskTracker::new();
    let wt_served = webtransport.map(|wt| {
        tokio::spawn(wt.serve(ctx, slots, next_client, wt_tasks.clone(), shutdown.clone()))
    });
    info!(addr = %listener.local_addr()?, tick_rate = config.room.tick_rate, scene = ?config.room.scene, "serving /ws and /healthz");
    let limits = AcceptLimits {
        max_pending: config.max_pending,
        header_timeout: config.header_timeout,
    };
    let tls = match &config.tls {
        Some(files) => {
            let tls = Arc::new(
                net::tls::Tls::load(files.clone())
                    .map_err(|e| std::io::Error::other(format!("TLS: {e}")))?,
            );
            reload_on_sighup(Arc::clone(&tls), shutdown.clone());
            Some(tls)
        }
        None => None,
    };
    // Ready once the default room is open and the listener bound: connections that arrive
    // meanwhile wait in the kernel's backlog.
    #[cfg(feature = "agones")]
    let agones = match &config.agones {
        Some(settings) => Some(
            agones::Agones::start(
                settings,
                Arc::clone(&registry),
                agones::Capacity {
                    rooms: i64::try_from(config.max_rooms).unwrap_or(i64::MAX),
                    players: i64::try_from(config.max_clients).unwrap_or(i64::MAX),
                },
                Arc::clone(&stats),
            )
            .await
            .map_err(ServerError::Agones)?,
        ),
        None => None,
    };
    let served = listener::serve(
        listener,
        http::router(state),
        limits,
        tls,
        stats_for_accept,
        tasks.clone(),
        shutdown.clone(),
    )
    .await;

    if let Some(wt) = wt_served {
        // Its sessions close as the rooms close their links; `serve` waits for them.
        let _ = wt.await;
    }
    tasks.close();
    if tokio::time::timeout(DRAIN_TIMEOUT, tasks.wait())
        .await
        .is_err()
    {
        warn!("connections did not drain within {DRAIN_TIMEOUT:?}");
    }
    let joined = tokio::task::spawn_blocking(move || {
        let joined = registry.scheduler().join();
        // The rooms have stopped: their last seconds go to disk before `run` returns.
        if let Some(writer) = registry.recordings() {
            writer.finish();
        }
        joined
    })
    .await;
    // Every client has its close and every room has stopped: only now is the server done.
    #[cfg(feature = "agones")]
    if let Some(agones) = agones {
        agones.shutdown().await;
    }
    served?;
    match joined {
        Ok(true) => Ok(()),
        Ok(false) => Err(ServerError::SchedulerPanicked),
        Err(e) if e.is_cancelled() => Err(ServerError::Interrupted),
        Err(_) => Err(ServerError::SchedulerPanicked),
    }
}
