//! The proxy between a real client and a real echo server on loopback: delay as configured,
//! order kept, a cut resets both ends, a blackhole is silence on an open connection.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use snapwire_netsim::{Netsim, Profile};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// An echo server on 127.0.0.1:0.
async fn echo() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        while let Ok((mut s, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut buf = [0u8; 4096];
                while let Ok(n) = s.read(&mut buf).await {
                    if n == 0 || s.write_all(&buf[..n]).await.is_err() {
                        break;
                    }
                }
            });
        }
    });
    addr
}

async fn through(profile: Profile) -> (Netsim, TcpStream) {
    let netsim = Netsim::start(
        "127.0.0.1:0".parse().expect("addr"),
        echo().await,
        profile,
        7,
    )
    .await
    .expect("netsim starts");
    let client = TcpStream::connect(netsim.addr()).await.expect("connect");
    client.set_nodelay(true).expect("nodelay");
    (netsim, client)
}

/// Sends `msg` and reads its echo: the link is up (and registered with the proxy's controls).
async fn round_trip(client: &mut TcpStream, msg: &[u8]) {
    client.write_all(msg).await.expect("write");
    let mut back = vec![0u8; msg.len()];
    tokio::time::timeout(Duration::from_secs(5), client.read_exact(&mut back))
        .await
        .expect("echoed within 5 s")
        .expect("read");
    assert_eq!(back, msg);
}

#[tokio::test]
async fn a_round_trip_takes_two_latencies_and_order_holds() {
    let profile = Profile {
        latency: Duration::from_millis(60),
        jitter: Duration::from_millis(20),
        ..Profile::LAN
    };
    let (_netsim, mut client) = through(profile).await;
    let started = Instant::now();
    let mut sent = Vec::new();
    for k in 0..50u8 {
        client.write_all(&[k]).await.expect("write");
        sent.push(k);
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    let mut got = vec![0u8; sent.len()];
    tokio::time::timeout(Duration::from_secs(5), client.read_exact(&mut got))
        .await
        .expect("echoed within 5 s")
        .expect("read");
    assert_eq!(got, sent, "bytes arrive in order");
    // The first byte came back no sooner than two one-way delays at their shortest.
    let took = started.elapsed();
    assert!(took >= Duration::from_millis(80), "{took:?}");
}

#[tokio::test]
async fn a_cut_resets_the_connection() {
    let (netsim, mut client) = through(Profile::LAN).await;
    round_trip(&mut client, b"hi").await;
    netsim.cut_all();
    let mut buf = [0u8; 8];
    let read = tokio::time::timeout(Duration::from_secs(5), client.read(&mut buf))
        .await
        .expect("the cut is noticed");
    assert!(
        matches!(&read, Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset),
        "{read:?}"
    );
    assert_eq!(netsim.cuts(), 1);
}

#[tokio::test]
async fn a_blackhole_is_silence_on_an_open_connection() {
    let (netsim, mut client) = through(Profile::LAN).await;
    round_trip(&mut client, b"hi").await;
    netsim.blackhole_all(true);
    client.write_all(b"anyone?").await.expect("write");
    let mut buf = [0u8; 8];
    let read = tokio::time::timeout(Duration::from_millis(500), client.read(&mut buf)).await;
    assert!(read.is_err(), "nothing comes back: {read:?}");
    netsim.blackhole_all(false);
    // What was sent into the blackhole is gone; the link carries on.
    round_trip(&mut client, b"back").await;
}

#[tokio::test]
async fn a_flaky_link_is_cut_within_its_range() {
    let profile = Profile {
        cut_after: Some((Duration::from_millis(200), Duration::from_millis(400))),
        ..Profile::LAN
    };
    let started = Instant::now();
    let (netsim, mut client) = through(profile).await;
    let mut buf = [0u8; 8];
    let read = tokio::time::timeout(Duration::from_secs(5), client.read(&mut buf))
        .await
        .expect("cut within 5 s");
    assert!(read.is_err(), "{read:?}");
    let took = started.elapsed();
    assert!(took >= Duration::from_millis(190), "{took:?}");
    assert_eq!(netsim.cuts(), 1);
}
