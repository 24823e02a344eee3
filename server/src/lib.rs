//! snapwire's authoritative game server, in three layers:
//!
//! - [`room`]: the core. A match as a value with no I/O: world, each client's replication
//!   state, snapshot history, interest, delta encoding, scoreboard, load shedding.
//! - [`net`]: HTTP routes, the WebSocket connections, the bounded queues in and the
//!   latest-wins outboxes out. Nothing there knows the rules.
//! - the driver between them: [`tick_loop`] steps a room at its tick rate on a thread of its
//!   own and moves messages between the room and the connections; [`stats`] holds every
//!   counter (`/metrics`), [`config`] the settings, [`priority`] keeps the socket threads below
//!   the tick thread.
//!
//! Data path: socket -> [`net::connection`] (handshake, decode, range-check) ->
//! [`net::ingress`] (bounded queues) -> [`tick_loop`] -> [`room::Room::handle`], then per tick
//! [`room::Room::tick`] (apply inputs, step simulation, record snapshot, build each client's
//! message, build scores) -> [`net::outbox`] (latest-wins) -> the connection's writer -> socket.
//!
//! [`run`] is the whole server: `main.rs` parses flags and calls it, tests call it on
//! `127.0.0.1:0`.

pub mod config;
pub mod net;
pub mod priority;
pub mod room;
pub mod stats;
pub mod tick_loop;

use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::time::Duration;

use axum::serve::ListenerExt;
use thiserror::Error;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::{info, warn};

pub use config::{Config, ConfigError, Scene};
pub use stats::ServerStats;

use crate::net::connection::ConnectionContext;
use crate::net::http::{self, AppState};
use crate::net::ingress;
use crate::tick_loop::TickLoop;

/// How long shutdown waits for connections to send their close frames.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(5);

#[derive(Debug, Error)]
pub enum ServerError {
    #[error("invalid configuration: {0}")]
    Config(#[from] ConfigError),
    #[error("i/o: {0}")]
    Io(#[from] std::io::Error),
    #[error("the tick loop panicked")]
    TickLoopPanicked,
}

/// Serves the game on `listener` until `shutdown` is cancelled, then closes every client with
/// `GoingAway` and returns once connections have drained.
pub async fn run(
    listener: TcpListener,
    config: Config,
    shutdown: CancellationToken,
) -> Result<(), ServerError> {
    run_with_stats(listener, config, shutdown, Arc::new(ServerStats::default())).await
}

/// [`run`], publishing counters into `stats` (tests read them).
pub async fn run_with_stats(
    listener: TcpListener,
    config: Config,
    shutdown: CancellationToken,
    stats: Arc<ServerStats>,
) -> Result<(), ServerError> {
    let config = Arc::new(config.validate()?);
    let (joins_tx, joins_rx) = ingress::join_queue();
    let tick_thread =
        TickLoop::new(Arc::clone(&config), joins_rx, Arc::clone(&stats)).spawn(shutdown.clone())?;

    let tasks = TaskTracker::new();
    let state = AppState {
        ctx: ConnectionContext {
            config: Arc::clone(&config),
            joins: joins_tx,
            stats,
            shutdown: shutdown.clone(),
        },
        slots: Arc::new(Semaphore::new(config.max_clients)),
        tasks: tasks.clone(),
        next_client: Arc::new(AtomicU64::new(1)),
    };
    info!(addr = %listener.local_addr()?, tick_rate = config.tick_rate, scene = ?config.scene, "serving /ws and /healthz");
    // Snapshots and inputs are small frames that must leave at once: no Nagle batching.
    let listener = listener.tap_io(|tcp| {
        if let Err(e) = tcp.set_nodelay(true) {
            warn!("TCP_NODELAY: {e}");
        }
    });
    let served = axum::serve(listener, http::router(state))
        .with_graceful_shutdown(shutdown.clone().cancelled_owned())
        .await;

    tasks.close();
    if tokio::time::timeout(DRAIN_TIMEOUT, tasks.wait())
        .await
        .is_err()
    {
        warn!("connections did not drain within {DRAIN_TIMEOUT:?}");
    }
    let joined = tokio::task::spawn_blocking(move || tick_thread.join()).await;
    served?;
    match joined {
        Ok(Ok(())) => Ok(()),
        _ => Err(ServerError::TickLoopPanicked),
    }
}
