//! `snapwire-server`: parses flags, sets up logging, binds, and calls [`snapwire_server::run`].

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context;
use clap::{CommandFactory, FromArgMatches, Parser};
use snapwire_server::config::defaults;
use snapwire_server::config_sources;
use snapwire_server::ticket::{SECRET_ENV, Ticket, TicketKey, unix_now};
use snapwire_server::{Config, Scene};
use snapwire_shared::map::MapDef;
use snapwire_shared::quantize::pos_from_units;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tracing_subscriber::EnvFilter;

/// snapwire's authoritative game server: WebSocket at /ws, health at /healthz.
#[derive(Debug, Parser)]
#[command(version)]
struct Args {
    #[command(subcommand)]
    command: Option<Command>,
    /// A TOML file of settings: any flag below as `key = value`, with `_` for `-`
    /// (`tick_rate = 30`; lists for repeatable flags). The environment (`SNAPWIRE_TICK_RATE`,
    /// lists comma-separated) overrides the file; flags override both. Also SNAPWIRE_CONFIG.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Print the effective settings (file, environment and flags combined) as a config file,
    /// and exit.
    #[arg(long)]
    print_config: bool,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8080")]
    bind: SocketAddr,
    /// Simulation ticks per second (1-240).
    #[arg(long, default_value_t = defaults::TICK_RATE)]
    tick_rate: u16,
    /// Map file (JSON); the built-in arena when omitted.
    #[arg(long)]
    map: Option<PathBuf>,
    /// Connections beyond this are refused with a "server is full" close.
    #[arg(long, default_value_t = defaults::MAX_CLIENTS)]
    max_clients: usize,
    /// Extra entities: `empty` or `drift:N` (`panic:N` makes each room of the default kind
    /// panic after N ticks: fault injection, to watch one room fail alone).
    #[arg(long, default_value = "empty")]
    scene: Scene,
    /// Width and height of what a player sees, in world units, as WxH.
    #[arg(long, default_value_t = View(defaults::VIEW))]
    view: View,
    /// Snapshots kept as delta baselines.
    #[arg(long, default_value_t = defaults::HISTORY)]
    history: usize,
    /// Send full snapshots instead of deltas (to measure what deltas save).
    #[arg(long)]
    full_snapshots: bool,
    /// Keep sending snapshots to a client however many it has not acknowledged (to measure
    /// what flow control does; by default a client that stops reading is held after about
    /// two round trips, with a probe now and then).
    #[arg(long)]
    no_flow_control: bool,
    /// Send each client a snapshot every N ticks (staggered), to cap bandwidth; under load the
    /// server may send more rarely still (up to every 4th tick)
    #[arg(long, default_value_t = 1)]
    snapshot_every: u32,
    /// Each client's byte budget for snapshots, in kilobits a second, on either transport
    /// (off by default): a client that spent it gets no snapshot until it refills, and
    /// entities new to its view wait, the nearest first, rather than exceed it
    #[arg(long, value_name = "KBPS", value_parser = clap::value_parser!(u32).range(16..=1_000_000))]
    max_kbps_per_client: Option<u32>,
    /// Directory of the browser client served at `/` (`cargo xtask serve` builds it).
    #[arg(long, default_value = "assets")]
    assets: PathBuf,
    /// Niceness of the socket threads (0-19; 0 = the same priority as the tick thread). Higher
    /// lets the tick thread run first when both want the CPU, so a busy core delays snapshots
    /// (slow readers skip stale ones) rather than ticks; too high starves the sockets when the
    /// tick alone nearly fills the core.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u8).range(0..=19))]
    io_nice: u8,
    /// Socket threads (tokio workers); 0 (the default) uses one per core this process may run
    /// on. With 1 every socket is served from one thread, which costs least per client when the
    /// server has one core.
    #[arg(long, default_value_t = 0)]
    io_threads: usize,
    /// Clients per room (players and spectators). Without it everyone joins one room; with it
    /// quick play fills a room, then opens another.
    #[arg(long)]
    room_size: Option<usize>,
    /// Rooms open at once, at most; a join that needs one more is refused (close 4010).
    #[arg(long, default_value_t = defaults::MAX_ROOMS)]
    max_rooms: usize,
    /// Seconds an empty room stays open before it closes (the first room never closes).
    #[arg(long, default_value_t = defaults::ROOM_GRACE.as_secs())]
    room_grace: u64,
    /// Threads that step the rooms.
    #[arg(long, default_value_t = defaults::ROOM_THREADS)]
    room_threads: usize,
    /// Connections that have not finished their handshake (HTTP headers, the upgrade and
    /// `Hello`), at most; more are closed as soon as accepted.
    #[arg(long, default_value_t = defaults::MAX_PENDING)]
    max_pending: usize,
    /// Seconds to send an HTTP request's headers.
    #[arg(long, default_value_t = defaults::HEADER_TIMEOUT.as_secs_f64())]
    header_timeout: f64,
    /// Seconds a joined client may send nothing before it is closed (4011): how soon a client
    /// that vanished without a close (a dead link) leaves its room.
    #[arg(long, default_value_t = defaults::IDLE_TIMEOUT.as_secs_f64())]
    idle_timeout: f64,
    /// Seconds a client whose connection dropped keeps its player (standing still, in its
    /// room) for a new connection to resume it with its token; 0 removes it at once.
    #[arg(long, default_value_t = defaults::RESUME_GRACE.as_secs_f64())]
    resume_grace: f64,
    /// Milliseconds back a shot may be judged (lag compensation: a shot hits what the shooter
    /// saw), at most 1000; older claims are clamped and counted. 0 turns it off.
    #[arg(long, default_value_t = snapwire_shared::sim::rules::DEFAULT_MAX_REWIND_MS)]
    max_rewind: u32,
    /// Record every room into this directory, one file per room (`DIR/ROOM-UNIXMS.snapwrec`):
    /// its joins, leaves and applied inputs per tick and a keyframe every 5 s, packed and
    /// zstd-compressed (about 11 KB per player-minute). `/replays` lists them to watch;
    /// `snapwire-server replay FILE --verify` re-simulates one.
    #[arg(long, value_name = "DIR")]
    record: Option<std::path::PathBuf>,
    /// Seconds a send may take before the client is taken to have stopped reading and dropped.
    #[arg(long, default_value_t = defaults::SEND_TIMEOUT.as_secs_f64())]
    send_timeout: f64,
    /// Inputs a player may send per second on average, and in one burst (default: twice the
    /// tick rate); a player over it for two seconds is closed (1008).
    #[arg(long)]
    input_rate: Option<f64>,
    /// A page origin allowed to open the game socket, like `https://game.example`
    /// (repeatable). Without any, every origin may; requests without an Origin header (not
    /// browsers) are always let through.
    #[arg(long = "allowed-origin", value_name = "ORIGIN")]
    allowed_origins: Vec<String>,
    /// File holding the secret join tickets are signed with (at least 32 bytes); or set
    /// SNAPWIRE_TICKET_SECRET. With either, the game socket needs `/ws?ticket=...`.
    #[arg(long, value_name = "FILE", global = true)]
    ticket_secret_file: Option<PathBuf>,
    /// Certificate chain (PEM) to serve HTTPS, `wss://` and WebTransport with, on the same
    /// port number; needs --tls-key. SIGHUP reads both files again (a renewed certificate)
    /// without dropping anyone.
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// The certificate's private key (PEM); needs --tls-cert.
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// Serve only WebSocket: no WebTransport (HTTP/3 over QUIC) on UDP at the same port number.
    /// Without --tls-cert, WebTransport uses a self-signed certificate it renews every 6 days;
    /// pages learn its hash from `GET /webtransport`.
    #[arg(long)]
    no_webtransport: bool,
    /// A room kind to offer besides `default` (the flags above) and `tag`, as `NAME
    /// key=value ...` with keys game (arena, tag), map, tick_rate, room_size, scene, view,
    /// history, max_rewind, snapshot_every, max_kbps_per_client (or off); the rest is the
    /// default kind's (repeatable). In a config file also `[room_kinds.NAME]` tables.
    #[arg(long = "room-kind", value_name = "KIND")]
    room_kinds: Vec<snapwire_server::room_kind_spec::RoomKindSpec>,
    /// Report to the Agones SDK sidecar (port from AGONES_SDK_GRPC_PORT): Ready once
    /// listening, health pings, the `rooms` counter and `players` list, Shutdown after a
    /// SIGTERM has drained. Needs a build with `--features agones`.
    #[arg(long)]
    agones: bool,
    /// Seconds between health pings to Agones; keep it under the GameServer's
    /// `health.periodSeconds`.
    #[arg(long, default_value_t = 2.0)]
    agones_health_interval: f64,
    /// Seconds an Allocated server with no players waits before it tells Agones it is Ready
    /// again (back in the pool, so the fleet may scale it down); 0 keeps it Allocated.
    #[arg(long, default_value_t = 60.0)]
    agones_idle_ready: f64,
}

#[derive(Debug, clap::Subcommand)]
enum Command {
    /// Re-simulates a room's recording (`--record DIR` wrote it) and checks every tick's
    /// checksum; exits non-zero at the first tick that differs, naming it.
    Replay {
        /// The recording (`DIR/ROOM-UNIXMS.snapwrec`).
        file: std::path::PathBuf,
        /// Check every tick (the only mode; to watch one, open `/#replay=ID` on a server
        /// started with `--record DIR`).
        #[arg(long)]
        verify: bool,
    },
    /// Prints a join ticket signed with the ticket secret (--ticket-secret-file or
    /// SNAPWIRE_TICKET_SECRET), for operators and tests.
    Ticket {
        /// The player's name in the game.
        #[arg(long)]
        player: String,
        /// The room id the ticket is for (default: any room).
        #[arg(long, default_value = "")]
        room: String,
        /// Seconds the ticket stays valid.
        #[arg(long, default_value_t = 60)]
        ttl: u64,
    },
}

/// `--view WxH`, shown in `--help` as it is written.
#[derive(Debug, Clone, Copy)]
struct View((f64, f64));

impl std::str::FromStr for View {
    type Err = snapwire_server::config::ViewError;

    fn from_str(s: &str) -> Result<View, Self::Err> {
        snapwire_server::config::parse_view(s).map(View)
    }
}

impl std::fmt::Display for View {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}x{}", self.0.0, self.0.1)
    }
}

fn seconds(name: &str, s: f64) -> anyhow::Result<std::time::Duration> {
    anyhow::ensure!(
        s.is_finite() && s > 0.0 && s <= 3600.0,
        "--{name} must be a number of seconds in (0, 3600]"
    );
    Ok(std::time::Duration::from_secs_f64(s))
}

fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .init();
    let command = Args::command().args_override_self(true);
    let env: Vec<(String, String)> = std::env::vars()
        .filter(|(k, _)| k.starts_with(config_sources::ENV_PREFIX))
        .collect();
    for (var, nearest) in config_sources::unknown_env(&command, &env) {
        match nearest {
            Some(meant) => tracing::warn!("{var} sets nothing (did you mean {meant}?)"),
            None => tracing::warn!(
                "{var} sets nothing: the variables are the flags of --help as SNAPWIRE_NAME"
            ),
        }
    }
    let argv = config_sources::layered(&command, std::env::args_os().collect(), &env)?;
    let matches = command.clone().get_matches_from(argv);
    let args = Args::from_arg_matches(&matches)?;
    if args.print_config {
        print!("{}", config_sources::print(&command, &matches));
        return Ok(());
    }
    if let Some(Command::Replay { file, verify: _ }) = &args.command {
        let started = std::time::Instant::now();
        let v = snapwire_server::Games::builtin()
            .verify(file)
            .with_context(|| format!("{} does not replay", file.display()))?;
        println!(
            "{}: room {} ({} on {}), {} ticks and {} inputs re-simulated, every checksum matches ({:.2?})",
            file.display(),
            v.header.room,
            v.header.game,
            v.header.map.name,
            v.ticks,
            v.inputs,
            started.elapsed()
        );
        return Ok(());
    }
    if let Some(Command::Ticket { player, room, ttl }) = &args.command {
        let key = TicketKey::load(args.ticket_secret_file.as_deref())?.with_context(|| {
            format!("no ticket secret: pass --ticket-secret-file or set {SECRET_ENV}")
        })?;
        let ticket = Ticket {
            player: player.clone(),
            room: room.clone(),
            expires: unix_now() + ttl,
        };
        println!("{}", key.sign(&ticket));
        return Ok(());
    }
    let mut runtime = if args.io_threads == 1 {
        tokio::runtime::Builder::new_current_thread()
    } else {
        let mut b = tokio::runtime::Builder::new_multi_thread();
        if args.io_threads > 1 {
            b.worker_threads(args.io_threads);
        }
        b
    };
    runtime.enable_all();
    if args.io_nice > 0 {
        // Worker threads only: the tick thread is started from the main thread and keeps its
        // priority. Lowering one's own priority needs no privilege.
        let nice = args.io_nice;
        runtime.on_thread_start(move || {
            if let Err(e) = snapwire_server::priority::lower_current_thread(nice) {
                tracing::warn!("could not lower a socket thread's priority: {e}");
            }
        });
    }
    runtime.build()?.block_on(serve(args))
}

async fn serve(args: Args) -> anyhow::Result<()> {
    let mut config = Config::new(args.tick_rate);
    if let Some(path) = &args.map {
        let json = std::fs::read_to_string(path)
            .with_context(|| format!("reading map {}", path.display()))?;
        config.room.map =
            MapDef::from_json(&json).with_context(|| format!("map {}", path.display()))?;
    }
    config.max_clients = args.max_clients;
    config.room.scene = args.scene;
    config.room.view_width = pos_from_units(args.view.0.0);
    config.room.view_height = pos_from_units(args.view.0.1);
    config.room.history = args.history;
    config.room.full_snapshots = args.full_snapshots;
    config.room.flow_control = !args.no_flow_control;
    config.room.snapshot_every = args.snapshot_every;
    config.room.max_kbps_per_client = args.max_kbps_per_client;
    config.room_size = args.room_size;
    config.max_rooms = args.max_rooms;
    config.room_grace = std::time::Duration::from_secs(args.room_grace);
    config.room_threads = args.room_threads;
    config.max_pending = args.max_pending;
    config.header_timeout = seconds("header-timeout", args.header_timeout)?;
    config.idle_timeout = seconds("idle-timeout", args.idle_timeout)?;
    config.record_dir = args.record.clone();
    config.resume_grace = if args.resume_grace == 0.0 {
        std::time::Duration::ZERO
    } else {
        seconds("resume-grace", args.resume_grace)?
    };
    config.room.max_rewind_ms = args.max_rewind;
    if let (Some(cert), Some(key)) = (&args.tls_cert, &args.tls_key) {
        config.tls = Some(snapwire_server::net::tls::TlsFiles {
            cert: cert.clone(),
            key: key.clone(),
        });
    }
    if args.agones {
        config.agones = Some(snapwire_server::config::AgonesSettings {
            sdk_port: None,
            health_interval: seconds("agones-health-interval", args.agones_health_interval)?,
            idle_ready: if args.agones_idle_ready == 0.0 {
                None
            } else {
                Some(seconds("agones-idle-ready", args.agones_idle_ready)?)
            },
        });
    }
    config.send_timeout = seconds("send-timeout", args.send_timeout)?;
    config.webtransport = !args.no_webtransport;
    config.allowed_origins = args.allowed_origins;
    config.ticket_key = TicketKey::load(args.ticket_secret_file.as_deref())?;
    if config.ticket_key.is_some() {
        tracing::info!("join tickets required on /ws");
    }
    if let Some(rate) = args.input_rate {
        config.room.input_rate.per_second = rate;
        config.room.input_rate.burst = rate;
    }
    // Last: a kind builds on the default kind's settings, all set by now.
    for spec in &args.room_kinds {
        let kind = spec.kind(&config)?;
        config.extra_kinds.push(kind);
    }
    if !args.assets.join("pkg").is_dir() {
        tracing::warn!(dir = %args.assets.display(), "no built browser client under {}/pkg: run `cargo xtask serve` to build it", args.assets.display());
    }
    config.assets = Some(args.assets);

    let listener = TcpListener::bind(args.bind)
        .await
        .with_context(|| format!("binding {}", args.bind))?;
    let shutdown = CancellationToken::new();
    let on_signal = shutdown.clone();
    tokio::spawn(async move {
        wait_for_signal().await;
        tracing::info!("shutdown requested");
        on_signal.cancel();
    });
    snapwire_server::run(listener, config, shutdown).await?;
    Ok(())
}

async fn wait_for_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(_) => return std::future::pending().await,
            };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
}
