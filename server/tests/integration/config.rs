//! The real binary's settings from a file, the environment and flags: precedence, errors that
//! name the key and where it came from, the example config, and the operator docs' table
//! against the server's own flags, and room kinds from a file opening rooms of their settings.

use crate::support;

use std::path::PathBuf;
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use snapwire_bots::{BotOptions, GameChoice, Live, run_bots};
use snapwire_shared::protocol::RoomRequest;
use support::{Running, root, server, stdout};

fn file(name: &str, text: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("snapwire-config-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write config");
    path
}

fn value<'a>(printed: &'a str, key: &str) -> &'a str {
    printed
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{key} = ")))
        .unwrap_or_else(|| panic!("{key} missing from:\n{printed}"))
}

#[test]
fn flags_override_the_environment_which_overrides_the_file() {
    let config = file(
        "precedence.toml",
        "tick_rate = 30\nmax_clients = 50\nhistory = 20\nscene = \"drift:10\"\n\
         allowed_origins = [\"https://a.example\", \"https://b.example\"]\nfull_snapshots = true\n",
    );
    let out = server()
        .arg("--config")
        .arg(&config)
        .args(["--history", "16", "--print-config"])
        .env("SNAPWIRE_MAX_CLIENTS", "70")
        .env("SNAPWIRE_HISTORY", "32")
        .env("SNAPWIRE_ROOM_SIZE", "8")
        .output()
        .expect("runs");
    let printed = stdout(&out);
    assert_eq!(value(&printed, "tick_rate"), "30", "file");
    assert_eq!(
        value(&printed, "max_clients"),
        "70",
        "environment over file"
    );
    assert_eq!(
        value(&printed, "history"),
        "16",
        "flag over environment and file"
    );
    assert_eq!(value(&printed, "room_size"), "8", "environment alone");
    assert_eq!(value(&printed, "scene"), "\"drift:10\"");
    assert_eq!(value(&printed, "full_snapshots"), "true");
    assert_eq!(
        value(&printed, "allowed_origins"),
        "[\"https://a.example\", \"https://b.example\"]"
    );
    assert_eq!(value(&printed, "bind"), "\"127.0.0.1:8080\"", "a default");
    // The file can come from the environment too, and print what it printed.
    let again = server()
        .arg("--print-config")
        .env("SNAPWIRE_CONFIG", &config)
        .output()
        .expect("runs");
    assert_eq!(value(&stdout(&again), "tick_rate"), "30");
}

#[test]
fn unknown_keys_and_bad_values_name_the_key_and_where_it_came_from() {
    let fail = |c: &mut Command| {
        let out = c.arg("--print-config").output().expect("runs");
        assert!(!out.status.success());
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    let typo = file("typo.toml", "tick_rat = 30\n");
    let err = fail(server().arg("--config").arg(&typo));
    assert!(
        err.contains("unknown key `tick_rat`") && err.contains("typo.toml"),
        "{err}"
    );

    let bad = file("bad.toml", "tick_rate = \"fast\"\n");
    let err = fail(server().arg("--config").arg(&bad));
    assert!(
        err.contains("bad.toml: `tick_rate`") && err.contains("fast"),
        "{err}"
    );

    let err = fail(server().env("SNAPWIRE_IO_NICE", "40"));
    assert!(err.contains("SNAPWIRE_IO_NICE: `io_nice`"), "{err}");

    let broken = file("broken.toml", "tick_rate = [\n");
    let err = fail(server().arg("--config").arg(&broken));
    assert!(
        err.contains("broken.toml") && err.contains("line 1"),
        "{err}"
    );

    let missing = fail(server().args(["--config", "/nonexistent/snapwire.toml"]));
    assert!(missing.contains("/nonexistent/snapwire.toml"), "{missing}");

    // Parses, but makes no sense: refused when the server starts, saying which setting.
    let absurd = file("absurd.toml", "tick_rate = 999\nbind = \"127.0.0.1:0\"\n");
    let out = server()
        .arg("--config")
        .arg(&absurd)
        .output()
        .expect("runs");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("tick rate 999"), "{err}");
}

#[test]
fn the_example_config_loads_and_is_the_defaults() {
    let example = root().join("snapwire.example.toml");
    let with = stdout(
        &server()
            .arg("--config")
            .arg(&example)
            .arg("--print-config")
            .output()
            .expect("runs"),
    );
    let defaults = stdout(&server().arg("--print-config").output().expect("runs"));
    assert_eq!(with, defaults);
}

#[test]
fn every_setting_is_in_the_operator_docs_and_the_example() {
    let printed = stdout(&server().arg("--print-config").output().expect("runs"));
    let docs = std::fs::read_to_string(root().join("docs/operating.md")).expect("docs");
    let example = std::fs::read_to_string(root().join("snapwire.example.toml")).expect("example");
    let keys: Vec<&str> = printed
        .lines()
        .filter(|l| !l.starts_with("# snapwire"))
        .filter_map(|l| l.trim_start_matches("# ").split(" = ").next())
        .collect();
    assert!(keys.len() > 20, "{keys:?}");
    for key in keys {
        let env = format!("SNAPWIRE_{}", key.to_uppercase());
        assert!(
            docs.contains(&format!("| `{key}` |")) && docs.contains(&env),
            "docs/operating.md has no row for `{key}`"
        );
        assert!(
            example.contains(&format!("{key} = ")),
            "snapwire.example.toml lacks `{key}`"
        );
    }
}

#[test]
fn room_kinds_from_the_file_open_rooms_of_their_settings() {
    let config = file(
        "kinds.toml",
        "[room_kinds.duel]\ngame = \"tag\"\nroom_size = 2\ntick_rate = 30\n",
    );
    let printed = stdout(
        &server()
            .arg("--config")
            .arg(&config)
            .arg("--print-config")
            .output()
            .expect("run"),
    );
    assert_eq!(
        value(&printed, "room_kinds"),
        "[\"duel game=tag room_size=2 tick_rate=30\"]"
    );

    let mut cmd = server();
    cmd.arg("--config").arg(&config);
    let running = Running::start(cmd);
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    // Three tag bots asking for a duel: two rooms of two open (the second with one player),
    // each stepping at 30 Hz with the tag rules (a bot's prediction would see a mismatch).
    let mut opts = BotOptions::new(running.url(), 3, Duration::from_secs(3));
    opts.server_metrics = false;
    opts.game = GameChoice::Tag;
    opts.room = RoomRequest::JoinOrCreate {
        kind: "duel".into(),
    };
    let bots = runtime.spawn(run_bots(opts, Arc::new(Live::default())));
    let mut duels = Vec::new();
    for _ in 0..100 {
        std::thread::sleep(Duration::from_millis(50));
        let rooms: serde_json::Value =
            serde_json::from_str(&running.get("/rooms")).expect("/rooms is JSON");
        duels = rooms
            .as_array()
            .expect("a list")
            .iter()
            .filter(|r| r["kind"] == "duel")
            .cloned()
            .collect();
        let clients: u64 = duels.iter().filter_map(|r| r["clients"].as_u64()).sum();
        if clients == 3 {
            break;
        }
    }
    assert_eq!(duels.len(), 2, "{duels:?}");
    for room in &duels {
        assert_eq!(room["cap"], 2, "{room}");
        assert_eq!(room["tick_rate"], 30, "{room}");
        assert_eq!(room["game"], "tag", "{room}");
    }
    let run = runtime.block_on(bots).expect("bots");
    assert_eq!(run.report.bots_connected, 3, "{:?}", run.report);
    assert_eq!(run.report.rooms, 2);
    assert_eq!(run.report.desyncs, 0);
}

#[test]
fn a_bad_room_kind_names_itself() {
    let err = |cmd: &mut Command| {
        let out = cmd.output().expect("run");
        assert!(!out.status.success());
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    let text = err(server().args([
        "--room-kind",
        "duel room_size=2 colour=red",
        "--print-config",
    ]));
    assert!(text.contains("unknown key `colour`"), "{text}");
    let text = err(server()
        .env("SNAPWIRE_ROOM_KINDS", "duel tick_rate=fast")
        .arg("--print-config"));
    assert!(
        text.contains("SNAPWIRE_ROOM_KINDS") && text.contains("tick_rate=fast"),
        "{text}"
    );
    // Parses, but makes no sense: refused when the server starts, naming the kind.
    let text = err(server().args(["--room-kind", "slow tick_rate=500", "--bind", "127.0.0.1:0"]));
    assert!(
        text.contains("room kind slow") && text.contains("tick rate 500"),
        "{text}"
    );
    let text = err(server().args(["--room-kind", "tag", "--bind", "127.0.0.1:0"]));
    assert!(text.contains("room kind tag"), "{text}");
}

/// Every setting, each to a value that is not its default, from a file and from the
/// environment: `--print-config` must show each one as set. The table must name every key
/// the binary prints, so a new flag fails here until it is walked too. (Found by an operator:
/// `tls_cert` from the file or the environment failed at start, because each key was checked
/// alone and `tls_cert` needs `tls_key`.)
#[test]
fn every_setting_works_from_the_file_and_from_the_environment() {
    // key, the file's TOML value, the environment's value, what --print-config then shows.
    let walk: &[(&str, &str, &str, &str)] = &[
        (
            "bind",
            "\"127.0.0.2:9000\"",
            "127.0.0.2:9000",
            "\"127.0.0.2:9000\"",
        ),
        ("tick_rate", "30", "30", "30"),
        ("map", "\"maps/x.json\"", "maps/x.json", "\"maps/x.json\""),
        ("max_clients", "77", "77", "77"),
        ("scene", "\"drift:5\"", "drift:5", "\"drift:5\""),
        ("view", "\"50x30\"", "50x30", "\"50x30\""),
        ("history", "32", "32", "32"),
        ("full_snapshots", "true", "true", "true"),
        ("no_flow_control", "true", "true", "true"),
        ("snapshot_every", "2", "2", "2"),
        ("max_kbps_per_client", "500", "500", "500"),
        ("assets", "\"web\"", "web", "\"web\""),
        ("io_nice", "5", "5", "5"),
        ("io_threads", "3", "3", "3"),
        ("room_size", "8", "8", "8"),
        ("max_rooms", "9", "9", "9"),
        ("room_grace", "11", "11", "11"),
        ("room_threads", "2", "2", "2"),
        ("max_pending", "12", "12", "12"),
        ("header_timeout", "2.5", "2.5", "2.5"),
        ("idle_timeout", "3.5", "3.5", "3.5"),
        ("resume_grace", "4.5", "4.5", "4.5"),
        ("max_rewind", "150", "150", "150"),
        ("record", "\"recs\"", "recs", "\"recs\""),
        ("send_timeout", "5.5", "5.5", "5.5"),
        ("input_rate", "90.5", "90.5", "90.5"),
        (
            "allowed_origins",
            "[\"https://a.example\", \"https://b.example\"]",
            "https://a.example,https://b.example",
            "[\"https://a.example\", \"https://b.example\"]",
        ),
        ("ticket_secret_file", "\"s.key\"", "s.key", "\"s.key\""),
        ("tls_cert", "\"c.pem\"", "c.pem", "\"c.pem\""),
        ("tls_key", "\"k.pem\"", "k.pem", "\"k.pem\""),
        ("no_webtransport", "true", "true", "true"),
        (
            "room_kinds",
            "[\"duel room_size=2\"]",
            "duel room_size=2",
            "[\"duel room_size=2\"]",
        ),
        ("agones", "true", "true", "true"),
        ("agones_health_interval", "1.5", "1.5", "1.5"),
        ("agones_idle_ready", "7.5", "7.5", "7.5"),
    ];
    let defaults = stdout(&server().arg("--print-config").output().expect("runs"));
    let printed_keys: Vec<&str> = defaults
        .lines()
        .filter(|l| !l.starts_with("# snapwire"))
        .filter_map(|l| l.trim_start_matches("# ").split(" = ").next())
        .collect();
    let walked: Vec<&str> = walk.iter().map(|w| w.0).collect();
    assert_eq!(walked, printed_keys, "walk every key the binary prints");

    let toml: String = walk
        .iter()
        .map(|(k, v, _, _)| format!("{k} = {v}\n"))
        .collect();
    let from_file = stdout(
        &server()
            .arg("--config")
            .arg(file("every.toml", &toml))
            .arg("--print-config")
            .output()
            .expect("runs"),
    );
    let mut env = server();
    for (key, _, value, _) in walk {
        env.env(format!("SNAPWIRE_{}", key.to_uppercase()), value);
    }
    let from_env = stdout(&env.arg("--print-config").output().expect("runs"));
    for (key, _, _, shown) in walk {
        assert_ne!(
            defaults
                .lines()
                .find(|l| l.starts_with(&format!("{key} = "))),
            Some(format!("{key} = {shown}").as_str()),
            "`{key}`: pick a value that is not the default"
        );
        assert_eq!(value(&from_file, key), *shown, "`{key}` from the file");
        assert_eq!(
            value(&from_env, key),
            *shown,
            "`{key}` from the environment"
        );
    }
}

/// A misspelt `SNAPWIRE_*` variable is warned about, naming the one it probably meant, and
/// the server still starts.
#[test]
fn an_unknown_snapwire_variable_is_warned_about() {
    let mut cmd = server();
    cmd.env("SNAPWIRE_TICKRATE", "30")
        .env("SNAPWIRE_COLOUR", "red");
    let running = Running::start(cmd);
    assert!(
        running.logged("SNAPWIRE_TICKRATE sets nothing (did you mean SNAPWIRE_TICK_RATE?)"),
        "a warning with the nearest name"
    );
    assert!(running.logged("SNAPWIRE_COLOUR sets nothing"));
}

/// The documented route to `wss://` on Kubernetes: the certificate and key named in the file
/// (and, in a second server, in the environment). Bots trusting the CA join over TLS.
#[test]
fn tls_cert_and_key_from_the_file_or_the_environment_serve_wss() {
    let dir = std::env::temp_dir().join(format!("snapwire-config-tls-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let issued = snapwire_tests::issue_certificate(&dir, "server");
    let (ca, cert, key) = (issued.ca, issued.cert, issued.key);
    let config = file(
        "tls.toml",
        &format!(
            "tls_cert = {:?}\ntls_key = {:?}\n",
            cert.display(),
            key.display()
        ),
    );
    let mut from_file = server();
    from_file.arg("--config").arg(&config);
    let mut from_env = server();
    from_env
        .env("SNAPWIRE_TLS_CERT", &cert)
        .env("SNAPWIRE_TLS_KEY", &key);
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    for cmd in [from_file, from_env] {
        let running = Running::start(cmd);
        let url = format!("wss://{}/ws", running.addr);
        let mut opts = BotOptions::new(url, 2, Duration::from_secs(1));
        opts.server_metrics = false;
        opts.reconnect = false;
        opts.trust_ca(&ca).expect("the CA");
        let run = runtime.block_on(run_bots(opts, Arc::new(Live::default())));
        assert_eq!(run.report.bots_connected, 2, "{:?}", run.report);
        assert_eq!(run.report.errors, 0, "{:?}", run.report);
    }
    let _ = std::fs::remove_dir_all(&dir);
}
