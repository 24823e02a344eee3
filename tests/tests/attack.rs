//! An attack, byte by byte: while 8 bots play, 50 attacker connections send what a hostile
//! peer would (garbage, truncated headers then silence, length claims of 2^62, fragments that
//! never end, bad opcodes, unmasked frames, reserved bits, valid frames with absurd values,
//! silent sockets, header dribbles). Every attacker is closed within its limit, with the code
//! its attack deserves; the bots never notice; nothing panics.

mod support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use snapwire_bots::{BotOptions, Live, run_bots};
use snapwire_server::Config;
use snapwire_shared::protocol::{ClientMsg, InputMsg};
use snapwire_shared::{CloseCode, codec};
use support::TestServer;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Attack {
    Garbage,
    TruncatedHeader,
    HugeLength,
    EndlessFragments,
    BadOpcode,
    Unmasked,
    ReservedBits,
    AbsurdValue,
    SilentTcp,
    HeaderDribble,
}

impl Attack {
    const ALL: [Attack; 10] = [
        Attack::Garbage,
        Attack::TruncatedHeader,
        Attack::HugeLength,
        Attack::EndlessFragments,
        Attack::BadOpcode,
        Attack::Unmasked,
        Attack::ReservedBits,
        Attack::AbsurdValue,
        Attack::SilentTcp,
        Attack::HeaderDribble,
    ];

    /// The close codes the attack may get (`None`: the socket just closes, before any
    /// WebSocket exists or when the server cannot trust the stream any more), and how long
    /// deciding to close may take with the test's one-second limits (silence is checked once a
    /// second). After its close frame the server waits up to 2 s for the peer's, which an
    /// attacker never sends.
    fn expected(self) -> (Vec<Option<u16>>, Duration) {
        let quick = Duration::from_millis(1500);
        let limit = Duration::from_millis(2500);
        let code = |c: CloseCode| Some(c.code());
        match self {
            // Random bytes may also read as a huge frame, or a text frame.
            Attack::Garbage => (
                vec![
                    code(CloseCode::ProtocolError),
                    code(CloseCode::TooLarge),
                    code(CloseCode::TextFrame),
                ],
                quick,
            ),
            Attack::BadOpcode | Attack::Unmasked | Attack::ReservedBits => {
                (vec![code(CloseCode::ProtocolError)], quick)
            }
            Attack::HugeLength => (vec![code(CloseCode::TooLarge)], quick),
            Attack::AbsurdValue => (vec![code(CloseCode::InvalidValue)], quick),
            Attack::TruncatedHeader => (vec![code(CloseCode::Handshake)], limit),
            Attack::EndlessFragments => (vec![code(CloseCode::Idle)], limit),
            Attack::SilentTcp | Attack::HeaderDribble => (vec![None], limit),
        }
    }
}

/// A client frame: FIN + `opcode` (plus any extra bits in `first`), masked unless `unmasked`.
fn frame(first: u8, payload: &[u8], unmasked: bool) -> Vec<u8> {
    let mut f = vec![first];
    let mask_bit = if unmasked { 0 } else { 0x80 };
    match payload.len() {
        n @ 0..=125 => f.push(mask_bit | n as u8),
        n => {
            f.push(mask_bit | 126);
            f.extend_from_slice(&(n as u16).to_be_bytes());
        }
    }
    if unmasked {
        f.extend_from_slice(payload);
    } else {
        let key = [0x12, 0x34, 0x56, 0x78];
        f.extend_from_slice(&key);
        f.extend(payload.iter().enumerate().map(|(i, b)| b ^ key[i % 4]));
    }
    f
}

async fn upgraded(addr: std::net::SocketAddr) -> TcpStream {
    let mut tcp = TcpStream::connect(addr).await.expect("connect");
    tcp.write_all(
        b"GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
          Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
    )
    .await
    .expect("request");
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        tcp.read_exact(&mut byte).await.expect("response");
        head.push(byte[0]);
    }
    assert!(
        head.starts_with(b"HTTP/1.1 101"),
        "{}",
        String::from_utf8_lossy(&head)
    );
    tcp
}

fn hello() -> Vec<u8> {
    frame(
        0x82,
        &codec::encode_client(&support::hello("attacker")),
        false,
    )
}

/// What the server did after an attack's last byte: its close code (if it sent one), when the
/// close frame came (or the socket closed, without one), and when the socket closed.
struct Outcome {
    code: Option<u16>,
    decided: Duration,
    closed: Duration,
}

/// Runs one attack.
async fn attack(addr: std::net::SocketAddr, kind: Attack, seed: u64) -> Outcome {
    let mut tcp = match kind {
        Attack::SilentTcp => TcpStream::connect(addr).await.expect("connect"),
        Attack::HeaderDribble => {
            let mut t = TcpStream::connect(addr).await.expect("connect");
            t.write_all(b"GET /ws HTTP/1.1\r\nHost: 127.0")
                .await
                .expect("write");
            t
        }
        _ => upgraded(addr).await,
    };
    let bytes: Vec<u8> = match kind {
        Attack::Garbage => {
            let mut x = seed | 1;
            (0..4096)
                .map(|_| {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    x as u8
                })
                .collect()
        }
        Attack::TruncatedHeader => vec![0x82],
        Attack::HugeLength => {
            let mut f = vec![0x82, 0x80 | 127];
            f.extend_from_slice(&(1u64 << 62).to_be_bytes());
            f.extend_from_slice(&[1, 2, 3, 4]);
            f
        }
        Attack::EndlessFragments => {
            let mut f = hello();
            f.extend(frame(0x02, &[1], false)); // binary, not final
            for _ in 0..20_000 {
                f.extend(frame(0x00, &[2], false)); // continuation, not final
            }
            f
        }
        Attack::BadOpcode => frame(0x83, &[1, 2, 3], false),
        Attack::Unmasked => {
            let mut f = hello();
            f.extend(frame(0x82, &[1, 2, 3], true));
            f
        }
        Attack::ReservedBits => frame(0x82 | 0x40, &[1, 2, 3], false),
        Attack::AbsurdValue => {
            let input = ClientMsg::Input(InputMsg {
                seq: 1,
                tick: 0,
                move_x: i8::MIN,
                move_y: 0,
                aim: 0,
                buttons: 0,
                view_tick: 0,
                view_frac: 0,
            });
            let mut f = hello();
            f.extend(frame(0x82, &codec::encode_client(&input), false));
            f
        }
        Attack::SilentTcp | Attack::HeaderDribble => Vec::new(),
    };
    // The server may close mid-write: that is the point.
    let _ = tcp.write_all(&bytes).await;
    let sent = Instant::now();
    let mut read = Vec::new();
    let mut buf = [0u8; 4096];
    let mut decided = None;
    loop {
        match tokio::time::timeout(Duration::from_secs(10), tcp.read(&mut buf)).await {
            Ok(Ok(0) | Err(_)) => break,
            Ok(Ok(n)) => {
                read.extend_from_slice(&buf[..n]);
                if decided.is_none() && close_code(&read).is_some() {
                    decided = Some(sent.elapsed());
                }
            }
            Err(_) => panic!("{kind:?}: still open 10 s after the attack"),
        }
    }
    let closed = sent.elapsed();
    Outcome {
        code: close_code(&read),
        decided: decided.unwrap_or(closed),
        closed,
    }
}

/// The code of the first close frame among the server's (unmasked) frames, if any.
fn close_code(mut bytes: &[u8]) -> Option<u16> {
    while bytes.len() >= 2 {
        let opcode = bytes[0] & 0x0f;
        let (len, head) = match bytes[1] & 0x7f {
            126 if bytes.len() >= 4 => (usize::from(u16::from_be_bytes([bytes[2], bytes[3]])), 4),
            127 => return None,
            n => (usize::from(n), 2),
        };
        let payload = bytes.get(head..head + len)?;
        if opcode == 0x8 {
            return payload.get(..2).map(|c| u16::from_be_bytes([c[0], c[1]]));
        }
        bytes = &bytes[head + len..];
    }
    None
}

fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.trim().trim_end_matches(" kB").trim().parse().ok())
        })
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_attackers_are_each_closed_and_the_bots_never_notice() {
    let mut config = Config::new(60);
    config.hello_timeout = Duration::from_secs(1);
    config.header_timeout = Duration::from_secs(1);
    config.idle_timeout = Duration::from_secs(1);
    let server = TestServer::start(config).await;
    let mut opts = BotOptions::new(server.url(), 8, Duration::from_secs(8));
    opts.ramp = Duration::from_millis(400);
    opts.fire = false;
    opts.server_metrics = false;
    let live = Arc::new(Live::default());
    let bots = tokio::spawn(run_bots(opts, Arc::clone(&live)));
    support::wait_until(|| live.connected.load(std::sync::atomic::Ordering::Relaxed) == 8).await;
    let rss_before = rss_kib();

    let addr = server.addr;
    let attackers: Vec<_> = (0..50u64)
        .map(|i| {
            let kind = Attack::ALL[i as usize % Attack::ALL.len()];
            tokio::spawn(async move { (kind, attack(addr, kind, i + 1).await) })
        })
        .collect();
    let mut slowest = Duration::ZERO;
    let mut seen = std::collections::BTreeMap::new();
    for a in attackers {
        let (kind, out) = a.await.expect("attacker task");
        let (codes, bound) = kind.expected();
        let code = out.code;
        assert!(
            codes.contains(&code),
            "{kind:?} closed with {code:?}, expected one of {codes:?}"
        );
        assert!(
            out.decided <= bound,
            "{kind:?}: closed after {:?} (limit {bound:?})",
            out.decided
        );
        assert!(
            out.closed <= out.decided + Duration::from_millis(2500),
            "{kind:?}: the socket outlived its close frame by {:?}",
            out.closed - out.decided
        );
        slowest = slowest.max(out.decided);
        let e = seen
            .entry(format!("{kind:?}"))
            .or_insert((code, Duration::ZERO));
        e.1 = e.1.max(out.decided);
    }
    let run = bots.await.expect("bots");
    assert!(run.report.pass, "{:#?}", run.report);
    assert_eq!((run.report.errors, run.report.desyncs), (0, 0));
    // The bots never noticed: nobody dropped or desynced, and snapshots kept flowing. The
    // rate is a liveness floor (a stalled server sends none), not a speed figure: those are
    // the benches'.
    assert_eq!(run.report.drops, 0, "{:#?}", run.report);
    assert!(
        run.report.snapshots_per_bot_per_s >= 10.0,
        "bots fell to {} snapshots/s",
        run.report.snapshots_per_bot_per_s
    );
    let rss_after = rss_kib();
    for (kind, (code, took)) in &seen {
        eprintln!("  {kind}: close {code:?} after at most {took:?}");
    }
    eprintln!(
        "50 attackers closed, the slowest {slowest:?} after its last byte; bots {:.2} snapshots/s; \
         test process RSS {rss_before} -> {rss_after} KiB",
        run.report.snapshots_per_bot_per_s
    );
    // The whole test process (server, bots and attackers): no attacker's bytes are kept.
    assert!(
        rss_after < rss_before + 64 * 1024,
        "RSS grew {rss_before} -> {rss_after} KiB"
    );
    server.stop().await;
}
