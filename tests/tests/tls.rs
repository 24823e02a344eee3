//! `wss://` on the game's port: bots join through TLS with a throwaway CA (and read the
//! server's `/metrics` over https with it), a client that does
//! not trust the certificate (or speaks plain `ws://`) gets nowhere, and SIGHUP swaps in a
//! new certificate, for `wss://` and WebTransport alike, without dropping anyone connected.

mod support;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use snapwire_bots::{BotOptions, Live, run_bots};
use snapwire_server::Config;
use snapwire_server::net::tls::TlsFiles;
use support::{TestServer, issue_certificate as issue, wait_until};

/// One bot over WebTransport, trusting `ca` (the server's certificate is the operator's, so
/// not pinned by its hash).
fn webtransport_bot(server: &TestServer, ca: &Path) -> BotOptions {
    let mut opts = bots(server, ca, 1, 1);
    opts.transport = snapwire_bots::link::Transport::Webtransport;
    opts
}

/// Whether one bot made by `opts` joins within about two seconds (a reload is asynchronous:
/// a few tries).
async fn joins_soon(opts: impl Fn() -> BotOptions) -> bool {
    for _ in 0..20 {
        if run_bots(opts(), Arc::new(Live::default()))
            .await
            .report
            .bots_connected
            == 1
        {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    false
}

fn bots(server: &TestServer, ca: &Path, n: usize, seconds: u64) -> BotOptions {
    let url = format!("wss://127.0.0.1:{}/ws", server.addr.port());
    let mut opts = BotOptions::new(url, n, Duration::from_secs(seconds));
    opts.ramp = Duration::from_millis(200);
    opts.server_metrics = false;
    opts.reconnect = false;
    opts.trust_ca(ca).expect("a CA");
    opts
}

/// A directory of its own for a test (`snapwire-NAME-PID`), the certificate files a server
/// uses there, and a first certificate in them; returns its CA too.
fn certificate_dir(name: &str) -> (std::path::PathBuf, TlsFiles, std::path::PathBuf) {
    let dir = std::env::temp_dir().join(format!("snapwire-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let files = TlsFiles {
        cert: dir.join("cert.pem"),
        key: dir.join("key.pem"),
    };
    let ca = issue(&dir, name, &files);
    (dir, files, ca)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bots_join_over_wss_and_a_new_certificate_comes_without_dropping_anyone() {
    let (dir, files, first_ca) = certificate_dir("tls");
    let mut config = Config::new(60);
    config.tls = Some(files.clone());
    let server = TestServer::start(config).await;

    // The load tool's report reads the server's own figures from `https://.../metrics`,
    // trusting the same CA as its `wss://`.
    let mut first = bots(&server, &first_ca, 4, 2);
    first.server_metrics = true;
    let run = run_bots(first, Arc::new(Live::default())).await;
    eprintln!(
        "over wss: {} bots, {:.1} snapshots/s each, errors {}",
        run.report.bots_connected, run.report.snapshots_per_bot_per_s, run.report.errors
    );
    assert_eq!(run.report.bots_connected, 4, "{:#?}", run.report);
    assert_eq!((run.report.errors, run.report.desyncs), (0, 0));
    assert!(
        run.report.server_tick_p99_ms.is_some() && run.report.server_overruns.is_some(),
        "the server's figures over https: {:#?}",
        run.report
    );
    // A liveness floor: snapshots flow through TLS (the speed is the benches').
    assert!(
        run.report.snapshots_per_bot_per_s > 10.0,
        "{:#?}",
        run.report
    );
    // Through TLS every frame goes through the connection's stream: the room never writes to
    // the socket itself (that would bypass the encryption).
    assert!(server.stats.frames_out.get() > 100);
    assert_eq!(server.stats.frames_out_direct.get(), 0);
    // WebTransport serves the same certificate.
    let wt = run_bots(
        webtransport_bot(&server, &first_ca),
        Arc::new(Live::default()),
    )
    .await;
    assert_eq!(
        (wt.report.bots_connected, wt.report.errors),
        (1, 0),
        "{:#?}",
        wt.report
    );

    // Not trusted, not TLS: refused, and counted as errors by the bots.
    let other = dir.join("other");
    std::fs::create_dir_all(&other).expect("dir");
    let stranger = issue(
        &other,
        "stranger",
        &TlsFiles {
            cert: other.join("c.pem"),
            key: other.join("k.pem"),
        },
    );
    let refused = run_bots(bots(&server, &stranger, 1, 1), Arc::new(Live::default())).await;
    assert_eq!(refused.report.bots_connected, 0, "{:#?}", refused.report);
    let mut plain = bots(&server, &first_ca, 1, 1);
    plain.url = format!("ws://127.0.0.1:{}/ws", server.addr.port());
    let refused = run_bots(plain, Arc::new(Live::default())).await;
    assert_eq!(refused.report.bots_connected, 0, "{:#?}", refused.report);

    // A long run stays connected across a reload to a certificate from another CA.
    let staying = tokio::spawn(run_bots(
        bots(&server, &first_ca, 2, 4),
        Arc::new(Live::default()),
    ));
    wait_until(|| server.stats.clients.get() == 2).await;
    let second_ca = issue(&dir, "second", &files);
    let hup = std::process::Command::new("kill")
        .args(["-HUP", &std::process::id().to_string()])
        .status()
        .expect("kill -HUP");
    assert!(hup.success());
    // New connections get the new certificate, over both transports.
    assert!(
        joins_soon(|| bots(&server, &second_ca, 1, 1)).await,
        "a client trusting only the new CA joins after SIGHUP"
    );
    assert!(
        joins_soon(|| webtransport_bot(&server, &second_ca)).await,
        "a WebTransport client trusting only the new CA joins after SIGHUP"
    );
    let staying = staying.await.expect("the long run");
    assert_eq!(staying.report.bots_connected, 2, "{:#?}", staying.report);
    assert_eq!(staying.report.drops, 0, "nobody dropped by the reload");
    assert_eq!(staying.report.errors, 0, "{:#?}", staying.report);
    server.stop().await;
    let _ = std::fs::remove_dir_all(&dir);
}

/// A socket that opens a TLS connection and then says nothing, or starts a handshake and
/// stops: the handshake counts against the header timeout, so both are closed by it, and
/// they hold no place once closed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_client_during_the_tls_handshake_is_closed_by_the_header_timeout() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let (dir, files, ca) = certificate_dir("tls-silent");
    let mut config = Config::new(60);
    config.tls = Some(files);
    config.header_timeout = Duration::from_millis(500);
    config.max_pending = 2;
    let server = TestServer::start(config).await;

    let mut silent = tokio::net::TcpStream::connect(server.addr)
        .await
        .expect("connect");
    let mut halfway = tokio::net::TcpStream::connect(server.addr)
        .await
        .expect("connect");
    // The first bytes of a TLS record carrying a ClientHello, and no more.
    halfway
        .write_all(&[0x16, 0x03, 0x01, 0x02, 0x00, 0x01])
        .await
        .expect("write");
    let started = std::time::Instant::now();
    for (what, socket) in [("silent", &mut silent), ("halfway", &mut halfway)] {
        let mut buf = [0u8; 64];
        let closed = tokio::time::timeout(Duration::from_secs(5), async {
            loop {
                match socket.read(&mut buf).await {
                    Ok(0) | Err(_) => break,
                    Ok(_) => {}
                }
            }
        })
        .await;
        assert!(closed.is_ok(), "{what}: still open after 5 s");
        let took = started.elapsed();
        eprintln!("{what}: closed {took:?} into a 500 ms header timeout");
        assert!(
            took >= Duration::from_millis(450),
            "{what}: closed after {took:?}, before its timeout"
        );
    }
    // Both places under `max_pending` are free again: real clients join over wss.
    let run = run_bots(bots(&server, &ca, 2, 1), Arc::new(Live::default())).await;
    assert_eq!(run.report.bots_connected, 2, "{:#?}", run.report);
    server.stop().await;
    let _ = std::fs::remove_dir_all(&dir);
}
