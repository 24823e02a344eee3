//! The game over a simulated link (`snapwire-netsim`): bots play through the `average`
//! profile (100 ms +-25 ms each way, 2% of chunks stalled like a TCP loss) and every snapshot
//! still verifies, every prediction still holds, no correction is visible and the adapted
//! interpolation buffer almost never runs dry; a blackholed link is noticed by both ends.

use crate::support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use snapwire_bots::{BotOptions, Live, run_bots};
use snapwire_netsim::{Netsim, Profile};
use snapwire_server::Config;
use support::TestServer;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bots_play_through_an_average_link_without_a_desync() {
    let (server, netsim, mut opts) = through(Profile::AVERAGE, 8, Duration::from_secs(12)).await;
    opts.ramp = Duration::from_millis(400);
    opts.feel = true;
    // No one fires: nothing but the link could move a predicted player, so any visible
    // correction would be the netcode's fault (with fire on, a respawn is one).
    opts.fire = false;
    let run = run_bots(opts, Arc::new(Live::default())).await;
    let report = &run.report;
    eprintln!(
        "through `average`: {:.1} snapshots/s per bot (slowest {:.1}), input-to-ack p50 {:.0} / p99 {:.0} ms, {:.1} kbps",
        report.snapshots_per_bot_per_s,
        report.snapshots_per_bot_per_s_min,
        report.input_to_ack_ms.p50,
        report.input_to_ack_ms.p99,
        report.kbps_per_bot
    );
    eprintln!(
        "feel: {} corrections ({} over 0.1 units, largest {:.3}), interpolation underruns {:.2}% of frames at a {:.0} ms delay, extrapolating {:.2}% of the time",
        report.corrections,
        report.visible_corrections,
        report.largest_correction_units,
        report.interpolation_underrun_fraction * 100.0,
        report.interpolation_delay_ms,
        report.extrapolating_fraction * 100.0
    );
    assert_eq!(report.bots_connected, 8, "{report:#?}");
    assert_eq!((report.errors, report.desyncs), (0, 0), "{report:#?}");
    assert_eq!(report.mispredictions, 0, "{report:#?}");
    assert_eq!(report.visible_corrections, 0, "{report:#?}");
    // Once the delay has adapted (after five seconds), the buffer almost never runs dry:
    // TCP turns each lost packet into a stall of a round trip or more, so the delay settles
    // near 350 ms on this link.
    assert!(report.interpolation_underrun_fraction < 0.01, "{report:#?}");
    assert!(report.interpolation_delay_ms > 100.0, "{report:#?}");
    assert!(report.prediction_checks > 500, "{report:#?}");
    // Over TCP nothing is lost, only late: snapshots keep coming (stalls come back as bursts,
    // and the server skips snapshots a stalled client has not taken). A liveness floor; the
    // rate through this link is the figure printed above.
    assert!(report.snapshots_per_bot_per_s > 10.0, "{report:#?}");
    // An input is acknowledged a round trip later: at least 150 ms (two one-way delays at their
    // shortest), and far less than a second.
    let ack = &report.input_to_ack_ms;
    assert!(ack.p50 >= 150.0 && ack.p50 < 1000.0, "{report:#?}");
    assert_eq!(netsim.accepted(), 8);
    server.stop().await;
}

/// A link that goes dead without a close (a blackhole): the server removes the players
/// within its idle limit, and the bots notice the silent server on their side.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_blackholed_link_is_noticed_on_both_sides() {
    let (server, netsim, mut opts) = through(Profile::LAN, 4, Duration::from_secs(20)).await;
    opts.ramp = Duration::from_millis(200);
    // Each bot gives up on the silent server (with reconnects on it would try again, through
    // the same dead link).
    opts.reconnect = false;
    let live = Arc::new(Live::default());
    let bots = tokio::spawn(run_bots(opts, Arc::clone(&live)));
    // Wait for everyone to play, then pull the plug without a close.
    let deadline = Instant::now() + Duration::from_secs(5);
    while server.stats.clients.get() < 4 {
        assert!(Instant::now() < deadline, "bots never joined");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let cut = Instant::now();
    netsim.blackhole_all(true);

    // The server: connections gone within the idle limit (6 s) plus one check (1 s) and some
    // slack; the players stay, away, for a resume.
    let server_gone = async {
        while server.stats.clients.get() > 0 {
            assert!(
                cut.elapsed() < Duration::from_secs(10),
                "the server still holds {} blackholed clients",
                server.stats.clients.get()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        cut.elapsed()
    };
    // The bots: each ends with "server went silent" well before its 20 s run is over.
    let bots_done = async {
        let run = tokio::time::timeout(Duration::from_secs(10), bots)
            .await
            .expect("the bots noticed within 10 s")
            .expect("bots ran");
        (run, cut.elapsed())
    };
    let (server_noticed, (run, bots_noticed)) = tokio::join!(server_gone, bots_done);
    eprintln!("blackhole noticed: server {server_noticed:?}, bots {bots_noticed:?}");
    assert!(
        server_noticed >= Duration::from_secs(5),
        "{server_noticed:?}: not by the idle limit"
    );
    assert!(bots_noticed >= Duration::from_secs(4), "{bots_noticed:?}");
    assert_eq!(server.stats.clients_away.get(), 4);
    assert_eq!(run.report.errors, 4, "{:#?}", run.report);
    assert!(
        run.results.iter().all(|r| r
            .error
            .as_deref()
            .is_some_and(|e| e.contains("went silent"))),
        "{:#?}",
        run.results.iter().map(|r| &r.error).collect::<Vec<_>>()
    );
    server.stop().await;
}

/// A server, a link of `profile` in front of it, and options for `bots` bots that connect
/// through the link.
async fn through(
    profile: Profile,
    bots: usize,
    time: Duration,
) -> (TestServer, Netsim, BotOptions) {
    let server = TestServer::start(Config::new(60)).await;
    let netsim = server.behind(profile, 11).await;
    let mut opts = BotOptions::new(format!("ws://{}/ws", netsim.addr()), bots, time);
    opts.server_metrics = false;
    (server, netsim, opts)
}

/// How old the moments are that shooters claim, through a clean link (50 ms each way, no
/// loss) and an average one (100 ms, 2% loss): what `--max-rewind` (200 ms by default) has
/// to cover. Read from the server's `snapwire_claim_age_seconds` histogram, which holds
/// claims before clamping.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn claims_show_how_far_back_shots_reach_on_clean_and_average_links() {
    let clean = Profile {
        latency: Duration::from_millis(50),
        jitter: Duration::from_millis(5),
        loss: 0.0,
        ..Profile::AVERAGE
    };
    // The two links side by side: two servers, each with its own bots.
    let (within, average) = tokio::join!(
        claim_ages("clean 50 ms", clean),
        claim_ages("average", Profile::AVERAGE)
    );
    // On a clean link the default bound covers nearly every claim: compensation works.
    assert!(
        within.at(0.2) > 0.9,
        "clean link: {:.3} within 200 ms",
        within.at(0.2)
    );
    // Through loss the claims reach further back (over TCP the page's delay grows to ride
    // out stalls: 365 ms on this link). Whatever share that is, each claim past the bound is
    // judged at the bound and counted: what a better transport should move is the figure
    // printed, not this test's verdict.
    let within = average;
    assert!(within.total > 0.0);
    if within.at(0.2) < 1.0 {
        assert!(within.clamped > 0, "claims past 200 ms, none clamped");
    }
    assert!(within.clamped <= within.judged);
}

/// How old the claims of one run were, from the server's histogram, and how many shots it
/// judged and clamped.
struct Claims {
    /// (upper bound in seconds, claims at or under it), ascending.
    buckets: Vec<(f64, f64)>,
    total: f64,
    judged: u64,
    clamped: u64,
}

impl Claims {
    /// The fraction of claims within `s` seconds.
    fn at(&self, s: f64) -> f64 {
        self.buckets
            .iter()
            .find(|b| b.0 >= s)
            .map_or(self.total, |b| b.1)
            / self.total
    }
}

/// Runs 8 firing bots through `profile` and reads how far back their claims reached.
async fn claim_ages(label: &str, profile: Profile) -> Claims {
    let (server, netsim, mut opts) = through(profile, 8, Duration::from_secs(9)).await;
    opts.ramp = Duration::from_millis(400);
    // The page's interpolator: each input claims the moment the bot draws.
    opts.feel = true;
    let run = run_bots(opts, Arc::new(Live::default())).await;
    assert_eq!(run.report.bots_connected, 8, "{:#?}", run.report);
    let text = server.get("/metrics").await;
    let buckets: Vec<(f64, f64)> = text
        .lines()
        .filter_map(|l| l.strip_prefix("snapwire_claim_age_seconds_bucket{le=\""))
        .filter_map(|l| {
            let (le, n) = l.split_once("\"} ")?;
            Some((le.parse().unwrap_or(f64::INFINITY), n.trim().parse().ok()?))
        })
        .collect();
    let total = buckets.last().map_or(0.0, |b| b.1);
    assert!(total > 300.0, "{text}");
    let claims = Claims {
        buckets,
        total,
        judged: server.stats.shots_judged.get(),
        clamped: server.stats.rewinds_clamped.get(),
    };
    let within = |s| claims.at(s);
    eprintln!(
        "claims through `{label}`: {total} inputs with a trigger held; within 50 ms {:.1}%, 100 ms {:.1}%, 200 ms {:.1}%, 300 ms {:.1}%, 500 ms {:.1}%, 1 s {:.1}% (shots judged {}, clamped at the 200 ms default {})",
        100.0 * within(0.05),
        100.0 * within(0.1),
        100.0 * within(0.2),
        100.0 * within(0.3),
        100.0 * within(0.5),
        100.0 * within(1.0),
        server.stats.shots_judged.get(),
        server.stats.rewinds_clamped.get(),
    );
    assert!(claims.judged > 0);
    assert_eq!(netsim.accepted(), 8);
    server.stop().await;
    claims
}
