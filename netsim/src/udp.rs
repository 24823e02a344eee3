//! The proxy's UDP side, on the TCP listener's port number (so WebTransport beside WebSocket
//! goes through the same link): each client address is a flow with an upstream socket of its
//! own, and each datagram either way is delivered when its [`DatagramSchedule`] says, or lost.
//! The links' blackhole and stall controls hold for flows as for connections; a flow idle for
//! [`FLOW_IDLE`] is forgotten.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use tokio::net::UdpSocket;
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::datagrams::DatagramSchedule;
use crate::{Link, Profile, STALL_POLL, Shared};

/// A flow that carried nothing for this long is dropped (its upstream socket closed).
pub const FLOW_IDLE: Duration = Duration::from_secs(60);

/// Datagrams in flight per direction of a flow; more are dropped, as a full router drops.
const IN_FLIGHT: usize = 4096;

/// The largest datagram forwarded (IPv4's limit).
const MAX_DATAGRAM: usize = 65_535;

struct Flow {
    up: mpsc::Sender<(Instant, Vec<u8>)>,
    schedule: DatagramSchedule,
    start: Instant,
    last_seen: Instant,
    link: Arc<Link>,
    stop: CancellationToken,
}

/// Forwards datagrams between clients on `socket` and `upstream` until `stop`.
pub(crate) async fn serve(
    socket: Arc<UdpSocket>,
    upstream: SocketAddr,
    profile: Profile,
    seed: u64,
    shared: Arc<Shared>,
    stop: CancellationToken,
) {
    let mut flows: HashMap<SocketAddr, Flow> = HashMap::new();
    let mut buf = vec![0u8; MAX_DATAGRAM];
    let mut sweep = tokio::time::interval(FLOW_IDLE / 4);
    let mut next_flow = 0u64;
    loop {
        let (n, peer) = tokio::select! {
            received = socket.recv_from(&mut buf) => match received {
                Ok(r) => r,
                Err(_) => continue,
            },
            _ = sweep.tick() => {
                let now = Instant::now();
                flows.retain(|_, f| {
                    let live = now - f.last_seen < FLOW_IDLE;
                    if !live {
                        f.stop.cancel();
                    }
                    live
                });
                continue;
            }
            _ = stop.cancelled() => break,
        };
        let flow = match flows.entry(peer) {
            std::collections::hash_map::Entry::Occupied(f) => f.into_mut(),
            std::collections::hash_map::Entry::Vacant(v) => {
                let flow_seed = seed
                    ^ 0x75d9_u64
                        .wrapping_add(next_flow)
                        .wrapping_mul(0x9e37_79b9_7f4a_7c15);
                next_flow += 1;
                let Ok(flow) =
                    open(peer, upstream, profile, flow_seed, &socket, &shared, &stop).await
                else {
                    continue;
                };
                v.insert(flow)
            }
        };
        let now = Instant::now();
        flow.last_seen = now;
        if silent(&flow.link) || shared.udp_blocked.load(Ordering::Relaxed) {
            continue;
        }
        if let Some(after) = flow.schedule.deliver_at(now - flow.start, n) {
            let _ = flow.up.try_send((flow.start + after, buf[..n].to_vec()));
        }
    }
    for flow in flows.values() {
        flow.stop.cancel();
    }
}

/// A new flow for `peer`: its upstream socket, the task that delivers upstream, and the task
/// that reads upstream's answers and delivers them back to `peer`.
async fn open(
    peer: SocketAddr,
    upstream: SocketAddr,
    profile: Profile,
    seed: u64,
    socket: &Arc<UdpSocket>,
    shared: &Arc<Shared>,
    stop: &CancellationToken,
) -> std::io::Result<Flow> {
    let any: SocketAddr = if upstream.is_ipv4() {
        (std::net::Ipv4Addr::UNSPECIFIED, 0).into()
    } else {
        (std::net::Ipv6Addr::UNSPECIFIED, 0).into()
    };
    let up_socket = Arc::new(UdpSocket::bind(any).await?);
    up_socket.connect(upstream).await?;
    let link = shared.new_link();
    let stop = stop.child_token();
    let start = Instant::now();
    // Upstream: deliver each datagram at its time.
    let (up, up_rx) = mpsc::channel(IN_FLIGHT);
    {
        let (up_socket, link, stop) = (Arc::clone(&up_socket), Arc::clone(&link), stop.clone());
        tokio::spawn(deliver(up_rx, link, stop, move |bytes| {
            let s = Arc::clone(&up_socket);
            async move {
                let _ = s.send(&bytes).await;
            }
        }));
    }
    // Downstream: read upstream's answers, schedule them, deliver them to the peer.
    let (down, down_rx) = mpsc::channel(IN_FLIGHT);
    {
        let (socket, link, stop) = (Arc::clone(socket), Arc::clone(&link), stop.clone());
        tokio::spawn(deliver(down_rx, link, stop, move |bytes| {
            let s = Arc::clone(&socket);
            async move {
                let _ = s.send_to(&bytes, peer).await;
            }
        }));
    }
    {
        let (link, stop, shared) = (Arc::clone(&link), stop.clone(), Arc::clone(shared));
        let mut schedule = DatagramSchedule::new(profile, seed.wrapping_add(1));
        tokio::spawn(async move {
            let mut buf = vec![0u8; MAX_DATAGRAM];
            loop {
                let n = tokio::select! {
                    r = up_socket.recv(&mut buf) => match r {
                        Ok(n) => n,
                        Err(_) => continue,
                    },
                    _ = stop.cancelled() => return,
                };
                if silent(&link) || shared.udp_blocked.load(Ordering::Relaxed) {
                    continue;
                }
                let now = Instant::now();
                if let Some(after) = schedule.deliver_at(now - start, n) {
                    let _ = down.try_send((start + after, buf[..n].to_vec()));
                }
            }
        });
    }
    Ok(Flow {
        up,
        schedule: DatagramSchedule::new(profile, seed),
        start,
        last_seen: start,
        link,
        stop,
    })
}

/// A blackholed flow carries nothing for now; a cut one carries nothing ever again (UDP has
/// no reset: a cut path is silence, and the endpoints find out by their timeouts).
fn silent(link: &Link) -> bool {
    link.blackhole.load(Ordering::Relaxed) || link.cut.is_cancelled()
}

/// Sends each datagram when its time comes, in the order of those times (jitter reorders).
async fn deliver<F, Fut>(
    mut rx: mpsc::Receiver<(Instant, Vec<u8>)>,
    link: Arc<Link>,
    stop: CancellationToken,
    send: F,
) where
    F: Fn(Vec<u8>) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    // (time, arrival order, bytes): equal times keep their order.
    let mut due: BinaryHeap<Reverse<(Instant, u64, Vec<u8>)>> = BinaryHeap::new();
    let mut order = 0u64;
    loop {
        let next = due.peek().map(|Reverse((at, _, _))| *at);
        tokio::select! {
            received = rx.recv() => match received {
                Some((at, bytes)) => {
                    order += 1;
                    due.push(Reverse((at, order, bytes)));
                }
                None => return,
            },
            _ = async {
                match next {
                    Some(at) => tokio::time::sleep_until(at).await,
                    None => std::future::pending().await,
                }
            } => {
                while link.stalled.load(Ordering::Relaxed) {
                    tokio::time::sleep(STALL_POLL).await;
                }
                let now = Instant::now();
                while let Some(Reverse((at, _, _))) = due.peek() {
                    if *at > now {
                        break;
                    }
                    if let Some(Reverse((_, _, bytes))) = due.pop()
                        && !silent(&link)
                    {
                        send(bytes).await;
                    }
                }
            }
            _ = stop.cancelled() => return,
        }
    }
}
