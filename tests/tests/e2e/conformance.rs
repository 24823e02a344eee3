//! The Autobahn WebSocket conformance cases, run by `kosoku` (PyPI; `.ci/run` installs it)
//! against `/echo`: the same listener, limits and WebSocket settings as the game socket, with
//! every data message echoed.
//!
//! Excluded, with the reason:
//! - 9.*: performance cases with messages up to 16 MiB, over the server's 64 KiB transport
//!   limit (game messages are at most 1 KiB); the limit itself is what 1.1.6-1.1.8 and
//!   friends touch at 64 KiB, which are run.
//! - 12.*, 13.*: permessage-deflate, which the server does not offer.

use crate::support;

use std::path::{Path, PathBuf};
use std::process::Command;

use snapwire_server::Config;
use support::TestServer;

const EXCLUDED: [&str; 3] = ["9.*", "12.*", "13.*"];

/// The cases kosoku 0.1.0 (the version `.ci/run` installs) runs with those excluded. A run
/// that found fewer (none, or a report directory left empty) proves nothing and fails.
const CASES: usize = 247;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_autobahn_cases_pass_against_the_echo_endpoint() {
    let Some(kosoku) = find_kosoku() else {
        if std::env::var_os("CI").is_some() {
            panic!(
                "kosoku is not installed (pip install kosoku): the conformance cases cannot run"
            );
        }
        eprintln!("SKIPPED conformance test: kosoku is not installed (pip install kosoku)");
        return;
    };
    let mut config = Config::new(60);
    config.echo_endpoint = true;
    let server = TestServer::start(config).await;
    let out = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
        .join("target/autobahn");
    // Only this run's reports.
    let _ = std::fs::remove_dir_all(&out);
    let mut cmd = Command::new(kosoku);
    cmd.arg(format!("ws://{}/echo", server.addr))
        .args(["-p", "4", "-o"])
        .arg(&out);
    for x in EXCLUDED {
        cmd.args(["-x", x]);
    }
    let output = tokio::task::spawn_blocking(move || cmd.output())
        .await
        .expect("join")
        .expect("kosoku runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    let summary = stdout.lines().last().unwrap_or_default().to_owned();
    eprintln!("autobahn (kosoku): {summary}; reports in {}", out.display());
    assert!(
        output.status.success(),
        "conformance cases failed:\n{stderr}\n{stdout}"
    );
    // Each case's verdicts, from its JSON report: none may be failed, errored or unclean.
    let mut verdicts = std::collections::BTreeMap::<String, usize>::new();
    let mut reports = 0;
    for entry in std::fs::read_dir(&out).expect("reports") {
        let path = entry.expect("entry").path();
        if !path.to_string_lossy().contains("_case_")
            || path.extension().is_none_or(|e| e != "json")
        {
            continue;
        }
        let report: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&path).expect("read")).expect("JSON");
        reports += 1;
        for key in ["behavior", "behaviorClose"] {
            let v = report[key].as_str().unwrap_or("?");
            *verdicts.entry(format!("{key} {v}")).or_default() += 1;
        }
    }
    eprintln!("autobahn verdicts: {verdicts:?}");
    assert_eq!(reports, CASES, "case reports in {}", out.display());
    assert_eq!(
        summary,
        format!("{CASES} cases passed"),
        "kosoku's own count"
    );
    for key in ["behavior", "behaviorClose"] {
        let passed: usize = verdicts
            .iter()
            .filter(|(k, _)| k.starts_with(&format!("{key} ")))
            .filter(|(k, _)| {
                k.ends_with(" OK") || k.ends_with(" NON-STRICT") || k.ends_with(" INFORMATIONAL")
            })
            .map(|(_, n)| n)
            .sum();
        assert_eq!(passed, CASES, "{key}: {verdicts:?}");
    }
    for bad in [
        "FAILED",
        "ERROR",
        "UNCLEAN",
        "WRONG CODE",
        "FAILED BY CLIENT",
    ] {
        assert!(
            !verdicts.keys().any(|k| k.ends_with(&format!(" {bad}"))),
            "{verdicts:?}"
        );
    }
    server.stop().await;
}

fn find_kosoku() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join("kosoku"))
        .find(|p| p.is_file())
}
