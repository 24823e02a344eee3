//! `snapwire-netsim --upstream 127.0.0.1:8080 --listen 127.0.0.1:8090 --profile flaky`: point
//! clients at the listen address and they reach the server through a simulated link.

use std::net::SocketAddr;

use clap::Parser;
use snapwire_netsim::{Netsim, Profile};

#[derive(Parser, Debug)]
#[command(
    version,
    about = "A TCP link simulator: latency, jitter, stalls, bandwidth, cuts"
)]
struct Args {
    /// Where clients connect.
    #[arg(long, default_value = "127.0.0.1:8090")]
    listen: SocketAddr,
    /// The server.
    #[arg(long, default_value = "127.0.0.1:8080")]
    upstream: SocketAddr,
    /// lan, average (100 ms +-25 ms, 2% stalls), bad (200 ms +-60 ms, 5%, 1 Mbit/s) or flaky
    /// (average, and each connection is cut after 5-20 s).
    #[arg(long, default_value = "average")]
    profile: Profile,
    /// Seeds the link behaviour: the same seed and order of connections repeat a run.
    #[arg(long, default_value_t = 1)]
    seed: u64,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .init();
    let args = Args::parse();
    let netsim = Netsim::start(args.listen, args.upstream, args.profile, args.seed).await?;
    println!(
        "{} -> {} as {:?} (seed {})",
        netsim.addr(),
        args.upstream,
        args.profile,
        args.seed
    );
    tokio::signal::ctrl_c().await?;
    println!("{} connections, {} cut", netsim.accepted(), netsim.cuts());
    Ok(())
}
