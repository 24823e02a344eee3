//! `snapwire-netsim`: a TCP and UDP proxy that makes a loopback link behave like a real one, for
//! trying the game and its clients over bad networks by hand and in tests (`tc netem` is not
//! available everywhere, and needs root).
//!
//! - [`profile`]: named link behaviours (`lan`, `average`, `bad`, `flaky`).
//! - [`schedule`]: when each chunk is delivered (pure, seeded).
//! - [`datagrams`]: when each datagram is delivered, or lost (pure, seeded).
//! - [`Netsim`] (here): the proxy: one task per direction per connection, each a bounded
//!   queue of chunks and their delivery times, with controls to cut or blackhole every link;
//!   `udp`: the same for datagrams, on the same port number (WebTransport beside WebSocket).
//!
//! What it models is what a game sees over TCP: data arrives late, in order; a lost segment
//! is a stall followed by a burst; a slow link spaces data out; a cut is a reset; a blackhole
//! is silence with the connection still open. Over UDP: a lost datagram is gone, jitter
//! reorders, a slow link queues a quarter second and then drops.

pub mod datagrams;
pub mod profile;
pub mod schedule;
mod udp;

use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tracing::debug;

pub use profile::Profile;
use schedule::Schedule;

/// Chunks waiting for their delivery time, per direction. When full, the proxy stops reading
/// from the sender, which is what a full TCP window does.
const QUEUE: usize = 1024;

/// How often a stalled direction checks whether the stall ended.
pub(crate) const STALL_POLL: Duration = Duration::from_millis(5);

/// Bytes read at once.
const CHUNK: usize = 16 * 1024;

/// A running proxy; stops when dropped.
#[derive(Debug)]
pub struct Netsim {
    addr: SocketAddr,
    shared: Arc<Shared>,
    stop: CancellationToken,
}

#[derive(Debug, Default)]
struct Shared {
    links: Mutex<Vec<Weak<Link>>>,
    accepted: AtomicU64,
    cuts: AtomicU64,
    /// Every datagram is dropped, both ways, flows old and new: a network that lets only TCP
    /// through.
    udp_blocked: AtomicBool,
}

/// Controls of one proxied connection.
#[derive(Debug, Default)]
struct Link {
    cut: CancellationToken,
    blackhole: AtomicBool,
    /// Delivery paused, both ways: what is sent waits (as in a router's queue) and arrives
    /// in a burst when the stall ends.
    stalled: AtomicBool,
}

impl Shared {
    /// A new link, under the proxy's controls (cut, blackhole, stall) while it lives.
    fn new_link(&self) -> Arc<Link> {
        let link = Arc::new(Link::default());
        self.links
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(Arc::downgrade(&link));
        link
    }
}

impl Netsim {
    /// Listens on `listen` (port 0 picks one) and forwards each connection to `upstream`
    /// through a link of `profile`; connection `n` draws from a generator seeded with
    /// `seed` and `n`, so a run with the same seed and order of connections repeats.
    pub async fn start(
        listen: SocketAddr,
        upstream: SocketAddr,
        profile: Profile,
        seed: u64,
    ) -> io::Result<Netsim> {
        let listener = TcpListener::bind(listen).await?;
        let addr = listener.local_addr()?;
        // Datagrams on the same port number, to the upstream's same port number.
        let udp = Arc::new(tokio::net::UdpSocket::bind(addr).await?);
        let shared = Arc::new(Shared::default());
        let stop = CancellationToken::new();
        tokio::spawn(udp::serve(
            udp,
            upstream,
            profile,
            seed ^ 0x0d06,
            Arc::clone(&shared),
            stop.clone(),
        ));
        tokio::spawn(accept_loop(
            listener,
            upstream,
            profile,
            seed,
            Arc::clone(&shared),
            stop.clone(),
        ));
        Ok(Netsim { addr, shared, stop })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Connections accepted so far.
    pub fn accepted(&self) -> u64 {
        self.shared.accepted.load(Ordering::Relaxed)
    }

    /// Connections cut so far (by the profile or [`Netsim::cut_all`]).
    pub fn cuts(&self) -> u64 {
        self.shared.cuts.load(Ordering::Relaxed)
    }

    /// Resets every open connection, both ends, now (and silences every UDP flow for good).
    pub fn cut_all(&self) {
        for link in self.links() {
            link.cut.cancel();
        }
    }

    /// Drops everything every open connection sends from now on (`true`), or forwards
    /// again (`false`): the connections stay open and silent, as behind a dead router.
    pub fn blackhole_all(&self, on: bool) {
        for link in self.links() {
            link.blackhole.store(on, Ordering::Relaxed);
        }
    }

    /// Holds back delivery on every open connection, both ways (`true`), or lets what waited
    /// through in a burst (`false`): a stall, as a Wi-Fi hiccup or a lost packet's
    /// retransmission makes one, on demand.
    pub fn stall_all(&self, on: bool) {
        for link in self.links() {
            link.stalled.store(on, Ordering::Relaxed);
        }
    }

    /// Drops every datagram from now on, both ways, on every flow old or new (`true`), or lets
    /// them through again (`false`): a network (a corporate firewall, some hotel Wi-Fi) that
    /// carries only TCP.
    pub fn block_udp(&self, on: bool) {
        self.shared.udp_blocked.store(on, Ordering::Relaxed);
    }

    fn links(&self) -> Vec<Arc<Link>> {
        let mut links = self
            .shared
            .links
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        links.retain(|l| l.strong_count() > 0);
        links.iter().filter_map(Weak::upgrade).collect()
    }
}

impl Drop for Netsim {
    fn drop(&mut self) {
        self.stop.cancel();
        self.cut_all();
    }
}

async fn accept_loop(
    listener: TcpListener,
    upstream: SocketAddr,
    profile: Profile,
    seed: u64,
    shared: Arc<Shared>,
    stop: CancellationToken,
) {
    loop {
        let accepted = tokio::select! {
            a = listener.accept() => a,
            _ = stop.cancelled() => return,
        };
        let Ok((client, peer)) = accepted else {
            continue;
        };
        let n = shared.accepted.fetch_add(1, Ordering::Relaxed);
        let link = shared.new_link();
        let shared = Arc::clone(&shared);
        let conn_seed = seed ^ n.wrapping_mul(0x9e37_79b9_7f4a_7c15);
        tokio::spawn(async move {
            if let Err(e) = serve(client, upstream, profile, conn_seed, &link, &shared).await {
                debug!(%peer, "link ended: {e}");
            }
        });
    }
}

/// One connection: both directions through their schedules until either side closes, the
/// link is cut, or the profile's cut comes.
async fn serve(
    client: TcpStream,
    upstream: SocketAddr,
    profile: Profile,
    seed: u64,
    link: &Link,
    shared: &Shared,
) -> io::Result<()> {
    let server = TcpStream::connect(upstream).await?;
    client.set_nodelay(true)?;
    server.set_nodelay(true)?;
    let start = Instant::now();
    let mut up = Schedule::new(profile, seed);
    let down = Schedule::new(profile, seed.wrapping_add(1));
    let cut_at = up.cut_after().map(|d| start + d);
    let (mut cr, mut cw) = client.into_split();
    let (mut sr, mut sw) = server.into_split();
    let cut = {
        let both = async {
            tokio::join!(
                pipe(&mut cr, &mut sw, up, link, start),
                pipe(&mut sr, &mut cw, down, link, start)
            )
        };
        let cut_timer = async {
            match cut_at {
                Some(at) => tokio::time::sleep_until(at).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            _ = both => false,
            _ = link.cut.cancelled() => true,
            _ = cut_timer => true,
        }
    };
    if cut {
        shared.cuts.fetch_add(1, Ordering::Relaxed);
        // A cut is a reset at both ends: close with linger 0, without the FIN that dropping a
        // write half would send first.
        for stream in [cr.reunite(cw), sr.reunite(sw)].into_iter().flatten() {
            #[allow(deprecated)]
            let _ = stream.set_linger(Some(Duration::ZERO));
        }
    }
    Ok(())
}

/// One direction: read chunks, stamp each with its delivery time, write it then; when the
/// sender finishes, finish the other side too. Dropped mid-way when the link is cut.
async fn pipe(
    from: &mut OwnedReadHalf,
    to: &mut OwnedWriteHalf,
    mut schedule: Schedule,
    link: &Link,
    start: Instant,
) {
    let (tx, mut rx) = mpsc::channel::<(Instant, Vec<u8>)>(QUEUE);
    let read = async move {
        let mut buf = vec![0u8; CHUNK];
        loop {
            let n = match from.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            if link.blackhole.load(Ordering::Relaxed) {
                continue;
            }
            let at = start + schedule.deliver_at(start.elapsed(), n);
            if tx.send((at, buf[..n].to_vec())).await.is_err() {
                break;
            }
        }
        // Dropping `tx` tells the writer the sender finished.
    };
    let write = async move {
        while let Some((at, bytes)) = rx.recv().await {
            tokio::time::sleep_until(at).await;
            while link.stalled.load(Ordering::Relaxed) {
                tokio::time::sleep(STALL_POLL).await;
            }
            if link.blackhole.load(Ordering::Relaxed) {
                continue;
            }
            if to.write_all(&bytes).await.is_err() {
                return;
            }
        }
        if link.blackhole.load(Ordering::Relaxed) {
            // Behind a dead router a close is silence too: hold the connection until cut.
            link.cut.cancelled().await;
            return;
        }
        let _ = to.shutdown().await;
    };
    tokio::join!(read, write);
}
