//! The files under `deploy/` against the server they deploy: every YAML file parses; the
//! Agones GameServer and Fleet expose the port the server binds (TCP and UDP), turn `--agones`
//! on with a health interval inside the health period, and declare the counter and list the
//! server keeps with the capacities its limits give (the environment each container gets is
//! run through the real binary's `--print-config`); the autoscaler and allocation name that
//! fleet and counter; compose publishes the bound port and Prometheus scrapes it; and every
//! metric the alert rules, the Grafana dashboard and the operator docs name is one the
//! server exports.

use crate::support;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use snapwire_server::config::{
    AGONES_LIST_CAPACITY_MAX, AGONES_PLAYERS_LIST, AGONES_ROOMS_COUNTER,
};
use support::{Running, root, server};
use yaml_rust2::{Yaml, YamlLoader};

fn deploy(rel: &str) -> PathBuf {
    root().join("deploy").join(rel)
}

fn yaml(rel: &str) -> Yaml {
    let text = std::fs::read_to_string(deploy(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"));
    let mut docs = YamlLoader::load_from_str(&text).unwrap_or_else(|e| panic!("{rel}: {e}"));
    assert_eq!(docs.len(), 1, "{rel}: one document");
    docs.remove(0)
}

fn str_of<'a>(y: &'a Yaml, what: &str) -> &'a str {
    y.as_str()
        .unwrap_or_else(|| panic!("{what} is not a string: {y:?}"))
}

fn int_of(y: &Yaml, what: &str) -> i64 {
    y.as_i64()
        .unwrap_or_else(|| panic!("{what} is not an integer: {y:?}"))
}

/// The effective settings of the real binary given `env`, as `key -> value` text.
fn effective(env: &[(String, String)]) -> Vec<(String, String)> {
    let out = server()
        .envs(env.iter().map(|(k, v)| (k, v)))
        .arg("--print-config")
        .output()
        .expect("run snapwire-server");
    assert!(
        out.status.success(),
        "{env:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split_once(" = "))
        .map(|(k, v)| (k.to_owned(), v.trim_matches('"').to_owned()))
        .collect()
}

fn setting<'a>(settings: &'a [(String, String)], key: &str) -> &'a str {
    settings
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
        .unwrap_or_else(|| panic!("{key} missing from {settings:?}"))
}

fn port_of_bind(bind: &str) -> i64 {
    bind.rsplit_once(':')
        .and_then(|(_, p)| p.parse().ok())
        .unwrap_or_else(|| panic!("bind {bind} has no port"))
}

/// A GameServer spec (standalone or a fleet's template) checked against the server it runs.
fn check_game_server(spec: &Yaml, what: &str) {
    let ports = spec["ports"].as_vec().expect("ports");
    assert_eq!(ports.len(), 1, "{what}: one port");
    let port = &ports[0];
    assert_eq!(
        str_of(&port["protocol"], "protocol"),
        "TCPUDP",
        "{what}: WebSocket needs TCP and WebTransport UDP, on one port number (Agones defaults \
         to UDP alone)"
    );
    let container_port = int_of(&port["containerPort"], "containerPort");
    let health = &spec["health"];
    assert!(
        !health["disabled"].as_bool().unwrap_or(false),
        "{what}: health on"
    );
    let period = int_of(&health["periodSeconds"], "periodSeconds");

    let containers = spec["template"]["spec"]["containers"]
        .as_vec()
        .expect("containers");
    let snapwire = containers
        .iter()
        .find(|c| c["name"].as_str() == Some("snapwire"))
        .unwrap_or_else(|| panic!("{what}: a container named snapwire"));
    let env: Vec<(String, String)> = snapwire["env"]
        .as_vec()
        .expect("env")
        .iter()
        // Secrets (valueFrom) are the cluster's; plain values are settings.
        .filter_map(|e| {
            Some((
                e["name"].as_str()?.to_owned(),
                e["value"].as_str()?.to_owned(),
            ))
        })
        .collect();
    assert!(
        env.iter().all(|(k, _)| k.starts_with("SNAPWIRE_")),
        "{what}: {env:?}"
    );
    let settings = effective(&env);
    assert_eq!(
        port_of_bind(setting(&settings, "bind")),
        container_port,
        "{what}: the server listens on the container port"
    );
    assert!(
        setting(&settings, "bind").starts_with("0.0.0.0:"),
        "{what}: a container must listen beyond loopback"
    );
    assert_eq!(setting(&settings, "agones"), "true", "{what}: --agones on");
    let every: f64 = setting(&settings, "agones_health_interval")
        .parse()
        .expect("interval");
    assert!(
        every < period as f64,
        "{what}: pings every {every} s within a {period} s health period"
    );

    let rooms = &spec["counters"][AGONES_ROOMS_COUNTER];
    assert_eq!(
        int_of(&rooms["capacity"], "rooms capacity"),
        setting(&settings, "max_rooms")
            .parse::<i64>()
            .expect("max_rooms"),
        "{what}: the rooms counter's capacity is the server's room limit"
    );
    let players = &spec["lists"][AGONES_PLAYERS_LIST];
    let max_clients: usize = setting(&settings, "max_clients").parse().expect("max");
    assert_eq!(
        int_of(&players["capacity"], "players capacity"),
        max_clients.min(AGONES_LIST_CAPACITY_MAX) as i64,
        "{what}: the players list's capacity is the server's client limit (at most 1000)"
    );
}

fn yaml_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read deploy/") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            yaml_files(&path, out);
        } else if matches!(
            path.extension().and_then(|e| e.to_str()),
            Some("yml" | "yaml")
        ) {
            out.push(path);
        }
    }
}

#[test]
fn every_yaml_file_parses() {
    let mut files = Vec::new();
    yaml_files(&root().join("deploy"), &mut files);
    assert!(files.len() >= 8, "{files:?}");
    for file in files {
        let text = std::fs::read_to_string(&file).expect("read");
        let docs =
            YamlLoader::load_from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        assert!(!docs.is_empty(), "{}: empty", file.display());
    }
}

#[test]
fn the_agones_files_fit_the_server_and_each_other() {
    let gs = yaml("agones/gameserver.yaml");
    assert_eq!(str_of(&gs["kind"], "kind"), "GameServer");
    check_game_server(&gs["spec"], "gameserver.yaml");

    let fleet = yaml("agones/fleet.yaml");
    assert_eq!(str_of(&fleet["kind"], "kind"), "Fleet");
    let fleet_name = str_of(&fleet["metadata"]["name"], "fleet name");
    check_game_server(&fleet["spec"]["template"]["spec"], "fleet.yaml");
    assert_eq!(
        fleet["spec"]["template"]["spec"], gs["spec"],
        "the fleet's template is gameserver.yaml's spec"
    );

    let scaler = yaml("agones/fleetautoscaler.yaml");
    assert_eq!(str_of(&scaler["kind"], "kind"), "FleetAutoscaler");
    assert_eq!(
        str_of(&scaler["spec"]["fleetName"], "fleetName"),
        fleet_name
    );
    let policy = &scaler["spec"]["policy"];
    assert_eq!(str_of(&policy["type"], "policy"), "Counter");
    assert_eq!(
        str_of(&policy["counter"]["key"], "key"),
        AGONES_ROOMS_COUNTER
    );
    let buffer = int_of(&policy["counter"]["bufferSize"], "bufferSize");
    let min = int_of(&policy["counter"]["minCapacity"], "minCapacity");
    let max = int_of(&policy["counter"]["maxCapacity"], "maxCapacity");
    assert!(0 < buffer && buffer <= min && min < max, "{policy:?}");

    let allocation = yaml("agones/gameserverallocation.yaml");
    assert_eq!(str_of(&allocation["kind"], "kind"), "GameServerAllocation");
    let selectors = allocation["spec"]["selectors"].as_vec().expect("selectors");
    assert!(!selectors.is_empty());
    for s in selectors {
        assert_eq!(
            str_of(&s["matchLabels"]["agones.dev/fleet"], "fleet label"),
            fleet_name
        );
        if let Some(counters) = s["counters"].as_hash() {
            for key in counters.keys() {
                assert_eq!(key.as_str(), Some(AGONES_ROOMS_COUNTER));
            }
        }
        if let Some(lists) = s["lists"].as_hash() {
            for key in lists.keys() {
                assert_eq!(key.as_str(), Some(AGONES_PLAYERS_LIST));
            }
        }
    }
    // The server owns the counter: an allocation-time change would be overwritten.
    assert!(
        allocation["spec"]["counters"].is_badvalue(),
        "allocation must not change the rooms counter the server keeps"
    );
}

#[test]
fn compose_publishes_the_bound_port_and_prometheus_scrapes_it() {
    let compose = yaml("docker-compose.yml");
    let snapwire = &compose["services"]["snapwire"];
    assert_eq!(
        str_of(&snapwire["build"]["dockerfile"], "dockerfile"),
        "deploy/Dockerfile"
    );
    let env: Vec<(String, String)> = snapwire["environment"]
        .as_hash()
        .expect("environment")
        .iter()
        .map(|(k, v)| {
            (
                str_of(k, "env name").to_owned(),
                str_of(v, "env value").to_owned(),
            )
        })
        .collect();
    let settings = effective(&env);
    let port = port_of_bind(setting(&settings, "bind"));
    let published: Vec<&str> = snapwire["ports"]
        .as_vec()
        .expect("ports")
        .iter()
        .map(|p| str_of(p, "port"))
        .collect();
    assert!(
        published.contains(&format!("{port}:{port}").as_str()),
        "{published:?} publishes {port}"
    );

    let prometheus = yaml("prometheus/prometheus.yml");
    let job = &prometheus["scrape_configs"][0];
    assert_eq!(str_of(&job["metrics_path"], "metrics_path"), "/metrics");
    let target = str_of(&job["static_configs"][0]["targets"][0], "target");
    assert_eq!(target, format!("snapwire:{port}"));
    let rules = str_of(&prometheus["rule_files"][0], "rule file");
    let mounts: Vec<&str> = compose["services"]["prometheus"]["volumes"]
        .as_vec()
        .expect("volumes")
        .iter()
        .map(|v| str_of(v, "volume"))
        .collect();
    assert!(
        mounts.iter().any(|m| m.ends_with(&format!(":{rules}:ro"))),
        "the alert rules are mounted where prometheus.yml reads them: {mounts:?}"
    );
}

#[test]
fn the_dockerfile_builds_in_stages_with_agones_and_runs_unprivileged() {
    let text = std::fs::read_to_string(deploy("Dockerfile")).expect("Dockerfile");
    let lines: Vec<&str> = text
        .lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .collect();
    let froms = lines.iter().filter(|l| l.starts_with("FROM ")).count();
    assert!(froms >= 2, "multi-stage: {froms} FROM");
    assert!(text.contains("--features agones"));
    assert!(text.contains("protobuf-compiler"));
    assert!(
        text.contains("cargo xtask web"),
        "the page is built into assets/"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("COPY --from=build /src/assets"))
    );
    let user = lines
        .iter()
        .rev()
        .find_map(|l| l.strip_prefix("USER "))
        .expect("a USER line");
    assert!(
        !user.starts_with("root") && !user.starts_with("0"),
        "runs as {user}"
    );
    let bind = lines
        .iter()
        .find_map(|l| l.strip_prefix("ENV SNAPWIRE_BIND="))
        .expect("ENV SNAPWIRE_BIND");
    let port = port_of_bind(bind);
    assert!(
        lines.contains(&format!("EXPOSE {port}/tcp").as_str()),
        "EXPOSE the bound port"
    );
}

/// The metric names a server that has just started has a sample of (sample names, so
/// counters carry `_total` and histograms `_bucket`, `_sum`, `_count`). Every series an
/// alert, a panel or the docs name must be there from the start, at 0 if nothing happened:
/// one that appears only with its first event reads as "no data" (the closes by code did).
fn exported_metrics() -> BTreeSet<String> {
    let body = Running::start(server()).get("/metrics");
    assert!(
        body.contains("snapwire_closes_total{code=\"4011\"} 0"),
        "a series per close code, at 0: {body}"
    );
    body.lines()
        .filter(|l| l.starts_with("snapwire_"))
        .map(|l| l.split(['{', ' ']).next().unwrap_or_default().to_owned())
        .collect()
}

/// `snapwire_` names in `text`.
fn named_metrics(text: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut rest = text;
    while let Some(at) = rest.find("snapwire_") {
        let tail = &rest[at..];
        let end = tail
            .find(|c: char| !(c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'))
            .unwrap_or(tail.len());
        let name = &tail[..end];
        // The start of a longer word (`my_snapwire_x`) is not a metric.
        let standalone = at == 0
            || !rest[..at]
                .chars()
                .next_back()
                .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_');
        if standalone && name.len() > "snapwire_".len() {
            out.insert(name.to_owned());
        }
        rest = &tail[end.max(1)..];
    }
    out
}

#[test]
fn alerts_dashboard_and_docs_name_only_metrics_the_server_exports_from_the_start() {
    let exported = exported_metrics();
    let known = |name: &str| {
        exported.contains(name)
            // A family's base name (`snapwire_tick_duration_seconds`) stands for its samples.
            || ["_total", "_bucket", "_count", "_sum"]
                .iter()
                .any(|suffix| exported.contains(&format!("{name}{suffix}")))
    };
    let alerts = yaml("prometheus/alerts.yml");
    let mut exprs = Vec::new();
    for group in alerts["groups"].as_vec().expect("groups") {
        for rule in group["rules"].as_vec().expect("rules") {
            assert!(rule["alert"].as_str().is_some(), "{rule:?}");
            exprs.push(str_of(&rule["expr"], "expr").to_owned());
        }
    }
    let dashboard: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(deploy("grafana/dashboards/snapwire.json")).expect("dashboard"),
    )
    .expect("dashboard JSON");
    for panel in dashboard["panels"].as_array().expect("panels") {
        for target in panel["targets"].as_array().expect("targets") {
            exprs.push(target["expr"].as_str().expect("expr").to_owned());
        }
    }
    let docs = std::fs::read_to_string(root().join("docs/operating.md")).expect("docs");
    for (source, text) in exprs
        .iter()
        .map(|e| ("a rule or panel", e.as_str()))
        .chain([("docs/operating.md", docs.as_str())])
    {
        let names = named_metrics(text);
        assert!(!names.is_empty() || source == "docs/operating.md", "{text}");
        for name in names {
            let shown = if source == "docs/operating.md" {
                ""
            } else {
                text
            };
            assert!(
                known(&name),
                "{source} names `{name}`, which the server does not export {shown}"
            );
        }
    }
}
