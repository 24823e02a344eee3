//! Agones lifecycle (feature `agones`, flag `--agones`): how an orchestrator learns that this
//! process can take players, is alive, is in use, and has finished.
//!
//! - `Ready` once the listener is bound and the default room is open;
//! - a health ping every `--agones-health-interval` on a task of its own. The SDK sends the
//!   pings over one long-lived stream and swallows the error when the sidecar ends it, so a
//!   ping that finds the stream gone opens a new one (`snapwire_agones_health_streams`);
//! - `Allocated` observed through `WatchGameServer` (re-watched if the stream ends), logged and
//!   published as `snapwire_agones_allocated`;
//! - an Allocated server that has had no players for `--agones-idle-ready` says `Ready` again,
//!   back in the pool the fleet may scale down (an Allocated server is never scaled down, so
//!   without this an emptied server would be kept forever);
//! - the `rooms` counter (capacity `--max-rooms`) and the `players` list (member names, capacity
//!   `--max-clients` up to Agones' 1000) kept to the registry's [`Roster`], compared every
//!   [`ROSTER_INTERVAL`] and only the changes sent;
//! - after SIGTERM has drained every connection (each client got 1001), `Shutdown`.
//!
//! A refused SDK call is logged (once per kind until one succeeds) and counted
//! (`snapwire_agones_errors`); the game goes on. Only reaching the sidecar at start is fatal:
//! a server Agones never hears `Ready` from is never given players.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use agones::Sdk;
use tokio::sync::mpsc::error::TrySendError;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use crate::config::AgonesSettings;
use crate::driver::registry::{Registry, Roster};
use crate::stats::ServerStats;

pub use crate::config::{
    AGONES_PLAYERS_LIST as PLAYERS_LIST, AGONES_ROOMS_COUNTER as ROOMS_COUNTER,
};
/// How often the rooms counter and the players list are compared with the registry.
pub const ROSTER_INTERVAL: Duration = Duration::from_millis(500);

/// A connected SDK and the tasks that keep it informed.
pub struct Agones {
    sdk: Sdk,
    stop: CancellationToken,
    tasks: Vec<JoinHandle<()>>,
    stats: Arc<ServerStats>,
}

impl std::fmt::Debug for Agones {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Agones").finish_non_exhaustive()
    }
}

impl Agones {
    /// Connects to the sidecar (the SDK waits up to 30 s for it), sets the capacities, says
    /// `Ready` and starts the health, watch and roster tasks.
    pub async fn start(
        settings: &AgonesSettings,
        registry: Arc<Registry>,
        capacity: Capacity,
        stats: Arc<ServerStats>,
    ) -> Result<Agones, agones::errors::Error> {
        let mut sdk = Sdk::new(settings.sdk_port, None).await?;
        let mut beta = sdk.beta().clone();
        // Capacities follow the server's own limits, whatever the GameServer spec guessed.
        // Neither is fatal: a spec without the counter or list only loses that report.
        if let Err(e) = beta
            .set_counter_capacity(ROOMS_COUNTER, capacity.rooms)
            .await
        {
            stats.agones_errors.inc();
            warn!(
                "Agones: could not set the {ROOMS_COUNTER} counter's capacity: {}",
                detail(&e)
            );
        }
        let players = capacity
            .players
            .min(crate::config::AGONES_LIST_CAPACITY_MAX as i64);
        if let Err(e) = beta.set_list_capacity(PLAYERS_LIST, players).await {
            stats.agones_errors.inc();
            warn!(
                "Agones: could not set the {PLAYERS_LIST} list's capacity: {}",
                detail(&e)
            );
        }
        sdk.ready().await?;
        info!("Agones: Ready");
        let stop = CancellationToken::new();
        // Set by the watch when Agones says Allocated, cleared when it says Ready again.
        let allocated = Arc::new(AtomicBool::new(false));
        let tasks = vec![
            tokio::spawn(keep_healthy(
                sdk.clone(),
                settings.health_interval,
                Arc::clone(&stats),
                stop.clone(),
            )),
            tokio::spawn(watch(
                sdk.clone(),
                Arc::clone(&allocated),
                Arc::clone(&stats),
                stop.clone(),
            )),
            tokio::spawn(keep_roster(
                RosterLinks {
                    sdk: sdk.clone(),
                    beta,
                    idle_ready: settings.idle_ready,
                    allocated,
                },
                registry,
                Arc::clone(&stats),
                stop.clone(),
            )),
        ];
        Ok(Agones {
            sdk,
            stop,
            tasks,
            stats,
        })
    }

    /// Every connection has drained: stops the tasks and tells Agones this server is done.
    pub async fn shutdown(mut self) {
        self.stop.cancel();
        for task in self.tasks.drain(..) {
            let _ = task.await;
        }
        match self.sdk.shutdown().await {
            Ok(()) => info!("Agones: Shutdown"),
            Err(e) => {
                self.stats.agones_errors.inc();
                warn!("Agones: Shutdown failed: {}", detail(&e));
            }
        }
    }
}

/// What the counter and list may hold at most.
#[derive(Debug, Clone, Copy)]
pub struct Capacity {
    pub rooms: i64,
    pub players: i64,
}

async fn keep_healthy(sdk: Sdk, every: Duration, stats: Arc<ServerStats>, stop: CancellationToken) {
    let mut pings = sdk.health_check();
    stats.agones_health_streams.inc();
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = stop.cancelled() => return,
        }
        match pings.try_send(()) {
            Ok(()) => {}
            // The stream is not taking pings (the sidecar is slow): this one is skipped; a
            // queue of stale pings would not say the process is alive now.
            Err(TrySendError::Full(())) => {}
            Err(TrySendError::Closed(())) => {
                // The SDK's stream ended (the sidecar closed it, or restarted).
                warn!("Agones: the health stream ended; opening a new one");
                pings = sdk.health_check();
                stats.agones_health_streams.inc();
                let _ = pings.try_send(());
            }
        }
    }
}

async fn watch(
    mut sdk: Sdk,
    allocated: Arc<AtomicBool>,
    stats: Arc<ServerStats>,
    stop: CancellationToken,
) {
    let mut last_state = String::new();
    loop {
        let stream = tokio::select! {
            s = sdk.watch_gameserver() => s,
            _ = stop.cancelled() => return,
        };
        match stream {
            Ok(mut stream) => loop {
                let next = tokio::select! {
                    n = stream.message() => n,
                    _ = stop.cancelled() => return,
                };
                let Ok(Some(gs)) = next else { break };
                let state = gs.status.map(|s| s.state).unwrap_or_default();
                if state != last_state {
                    info!(state = %state, "Agones: GameServer state");
                    let now_allocated = state == "Allocated";
                    allocated.store(now_allocated, Ordering::Release);
                    stats.agones_allocated.set(i64::from(now_allocated));
                    last_state = state;
                }
            },
            Err(e) => {
                stats.agones_errors.inc();
                warn!("Agones: WatchGameServer failed: {}", detail(&e));
            }
        }
        // The stream ended: watch again after a pause, not in a tight loop.
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(1)) => {}
            _ = stop.cancelled() => return,
        }
    }
}

/// What the roster task needs to report players and hand an emptied server back.
struct RosterLinks {
    sdk: Sdk,
    beta: agones::beta::Beta,
    idle_ready: Option<Duration>,
    allocated: Arc<AtomicBool>,
}

/// Sends the roster's changes; remembers only what the sidecar accepted, so a refused call is
/// tried again on the next round. Says `Ready` again once Allocated and empty for
/// `idle_ready`.
async fn keep_roster(
    links: RosterLinks,
    registry: Arc<Registry>,
    stats: Arc<ServerStats>,
    stop: CancellationToken,
) {
    let RosterLinks {
        mut sdk,
        mut beta,
        idle_ready,
        allocated,
    } = links;
    let mut sent = Roster::default();
    let mut empty_since: Option<Instant> = None;
    // Whether the last call of each kind failed: warn once per outage, not twice a second.
    let mut failing = [false; 4];
    let mut report =
        |kind: usize, result: Result<(), agones::errors::Error>, what: &str| match result {
            Ok(()) => {
                failing[kind] = false;
                true
            }
            Err(e) => {
                stats.agones_errors.inc();
                if !std::mem::replace(&mut failing[kind], true) {
                    warn!("Agones: {what} failed: {}", detail(&e));
                }
                false
            }
        };
    let mut tick = tokio::time::interval(ROSTER_INTERVAL);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    // A counter the spec starts above zero is set on the first round.
    let mut first = true;
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = stop.cancelled() => return,
        }
        let now = registry.roster();
        if let Some(idle) = idle_ready {
            let empty_and_allocated = now.players.is_empty() && allocated.load(Ordering::Acquire);
            match (empty_and_allocated, empty_since) {
                (false, _) => empty_since = None,
                (true, None) => empty_since = Some(Instant::now()),
                (true, Some(since)) if since.elapsed() >= idle => {
                    let r = sdk.ready().await;
                    if report(3, r, "Ready (back from Allocated)") {
                        info!(idle = ?idle, "Agones: Allocated and empty; Ready again");
                        // The watch confirms; until then do not ask twice.
                        allocated.store(false, Ordering::Release);
                        empty_since = None;
                    }
                }
                (true, Some(_)) => {}
            }
        }
        if first || now.rooms != sent.rooms {
            let r = beta
                .set_counter_count(ROOMS_COUNTER, now.rooms as i64)
                .await;
            if report(0, r, "setting the rooms counter") {
                sent.rooms = now.rooms;
                first = false;
            }
        }
        let gone: Vec<String> = sent.players.difference(&now.players).cloned().collect();
        for name in gone {
            // Already gone (an earlier call landed but its answer was lost) is done too.
            let r = already(
                beta.delete_list_value(PLAYERS_LIST, &name).await,
                tonic::Code::NotFound,
            );
            if report(1, r, "removing a player from the players list") {
                sent.players.remove(&name);
            }
        }
        let new: Vec<String> = now.players.difference(&sent.players).cloned().collect();
        for name in new {
            let r = already(
                beta.append_list_value(PLAYERS_LIST, &name).await,
                tonic::Code::AlreadyExists,
            );
            if report(2, r, "adding a player to the players list") {
                sent.players.insert(name);
            }
        }
    }
}

/// A list call refused with `code` asked for what is already so.
#[expect(
    clippy::result_large_err,
    reason = "the SDK's own error type, passed straight through and looked at once"
)]
fn already(
    result: Result<(), agones::errors::Error>,
    code: tonic::Code,
) -> Result<(), agones::errors::Error> {
    match result {
        Err(agones::errors::Error::Rpc(status)) if status.code() == code => Ok(()),
        other => other,
    }
}

/// The SDK's errors print as "rpc failure": the status underneath says what failed.
pub fn detail(e: &agones::errors::Error) -> String {
    match e {
        agones::errors::Error::Rpc(status) => format!("{:?}: {}", status.code(), status.message()),
        other => other.to_string(),
    }
}
