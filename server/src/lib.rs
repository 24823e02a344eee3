//! snapwire's authoritative game server.
//!
//! Data path, one module per step:
//! socket -> [`connection`] (handshake, parse, range-check) -> [`ingress`] (bounded queues) ->
//! [`tick_loop`] (fixed rate, own thread) -> `snapwire_shared::sim` (the rules) ->
//! [`snapshot_history`] (recent frames) + [`interest`] (grid) -> [`replication`] (per-client
//! delta) -> [`outbox`] (latest-wins) -> [`connection`] writer -> socket.
//!
//! Each tick, in order (the stages of [`tick_loop::TickLoop::tick`]):
//! 1. drain ingress, 2. apply inputs, 3. step simulation, 4. record snapshot,
//! 5. build each client's message, 6. hand to outboxes, 7. send scores.
//!
//! Other modules: [`config`] (settings), [`http`] (routes: `/ws`, `/healthz`, `/metrics`,
//! `/players`), [`clients`] (the tick loop's per-client state), [`stats`] (every counter),
//! [`priority`] (socket threads below the tick thread), [`send_rate`] (load shedding: fewer
//! snapshots per client when the sockets fall behind), [`scoreboard`] (the match's scores, once
//! a second per client).
//!
//! [`run`] is the whole server: `main.rs` parses flags and calls it, tests call it on
//! `127.0.0.1:0`.

pub mod clients;
pub mod config;
pub mod connection;
pub mod http;
pub mod ingress;
pub mod interest;
pub mod outbox;
pub mod priority;
pub mod replication;
pub mod scoreboard;
pub mod send_rate;
pub mod snapshot_history;
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

use crate::connection::ConnectionContext;
use crate::http::AppState;
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
