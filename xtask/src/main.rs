//! `cargo xtask`: the project's build tasks, so a fresh machine needs only cargo.
//!
//! - `cargo xtask serve [SERVER ARGS]`: build the browser client, then run the server on
//!   http://127.0.0.1:8080 (extra arguments go to `snapwire-server`).
//! - `cargo xtask test [CARGO TEST ARGS]`: build the browser client (and check that the
//!   guide's example game builds for the browser), then run every test in one cargo run
//!   (with the server's `agones` feature, and so its Agones test, when `protoc` is
//!   installed), then the loom model checks.
//! - `cargo xtask web`: only build the browser client into `assets/pkg/`.
//!
//! The client is compiled for `wasm32-unknown-unknown` (the target is added with rustup when
//! missing) and its JS glue generated with the `wasm-bindgen-cli-support` library pinned to the
//! same version as `wasm-bindgen`: no separately installed CLI, trunk or wasm-pack.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, bail};

const TARGET: &str = "wasm32-unknown-unknown";

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let task = args.next().unwrap_or_default();
    let rest: Vec<String> = args.collect();
    let root = workspace_root();
    match task.as_str() {
        "serve" => {
            build_web(&root, &[])?;
            let mut cmd = cargo();
            // `cargo xtask serve -- --flag` and `cargo xtask serve --flag` mean the same.
            let server_args = rest.iter().skip_while(|a| *a == "--");
            cmd.current_dir(&root)
                .args(["run", "--release", "-p", "snapwire-server", "--"])
                .args(server_args);
            run(&mut cmd)
        }
        "test" => {
            // The guide's example game must build for the browser too (its `join` and
            // renderer only compile for wasm32): in the same cargo run as the client, which
            // shares its dependencies.
            build_web(&root, &["snapwire-example-coins"])?;
            let agones = agones_available()?;
            let mut cmd = cargo();
            cmd.current_dir(&root).args(["test", "--workspace"]);
            // Most black-box tests wait on sockets and timers more than they compute: four
            // at a time on two cores halves their wall time (75 s against 144 s here), and
            // their bounds hold with room to spare. Six starved the 200-bot smoke test.
            if std::env::var_os("RUST_TEST_THREADS").is_none() {
                cmd.env("RUST_TEST_THREADS", "4");
            }
            if agones {
                // One build for every test, the Agones lifecycle's included.
                cmd.args(["--features", "snapwire-server/agones"]);
            }
            cmd.args(&rest);
            run(&mut cmd)?;
            loom_models(&root, agones)
        }
        "web" => build_web(&root, &[]),
        _ => bail!("usage: cargo xtask <serve|test|web> [args]"),
    }
}

/// Whether the server's `agones` feature can be built here (it needs `protoc`). Without
/// protoc the Agones test is skipped with a note, so the README's test command works on a
/// fresh machine; `.ci/run` installs protoc and sets `SNAPWIRE_REQUIRE_AGONES=1`, which turns
/// the skip into a failure.
fn agones_available() -> anyhow::Result<bool> {
    let protoc = std::env::var_os("PROTOC").unwrap_or_else(|| "protoc".into());
    let found = Command::new(&protoc)
        .arg("--version")
        .stdout(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !found {
        if std::env::var_os("SNAPWIRE_REQUIRE_AGONES").is_some() {
            bail!("SNAPWIRE_REQUIRE_AGONES is set but protoc was not found");
        }
        eprintln!(
            "xtask: skipping the Agones test (`--features agones` needs protoc: \
             apt-get install protobuf-compiler)"
        );
    }
    Ok(found)
}

/// The loom model checks (the outbox, the seat count): the unit tests again with the
/// server's `loom` feature, which swaps their std primitives for loom's. Only the server and
/// the few crates built on it are rebuilt: loom is an ordinary dev-dependency, and the
/// package selection is the test run's (`--workspace`), so no dependency's features change
/// (with `-p snapwire-server` cargo unified them anew and rebuilt tokio, serde and the rest:
/// 40 s). Two preemptions per run is loom's usual bound and takes about a second.
fn loom_models(root: &Path, agones: bool) -> anyhow::Result<()> {
    let features = if agones {
        "snapwire-server/agones,snapwire-server/loom"
    } else {
        "snapwire-server/loom"
    };
    let mut cmd = cargo();
    cmd.current_dir(root)
        .env("LOOM_MAX_PREEMPTIONS", "2")
        .args([
            "test",
            "--workspace",
            "--features",
            features,
            "--lib",
            "--",
            "loom",
        ]);
    run(&mut cmd)
}

/// Builds `client-wasm` (and `also`, other crates that must build for the browser, in the
/// same cargo run) and writes `assets/pkg/snapwire_client.js` and `_bg.wasm`.
fn build_web(root: &Path, also: &[&str]) -> anyhow::Result<()> {
    ensure_wasm_target()?;
    let mut build = cargo();
    build.current_dir(root).args([
        "build",
        "--release",
        "-p",
        "snapwire-client-wasm",
        "--target",
        TARGET,
    ]);
    for package in also {
        build.args(["-p", package]);
    }
    run(&mut build)?;
    let target_dir =
        std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| root.join("target"), PathBuf::from);
    let wasm = target_dir
        .join(TARGET)
        .join("release")
        .join("snapwire_client_wasm.wasm");
    let out = root.join("assets").join("pkg");
    std::fs::create_dir_all(&out).with_context(|| format!("creating {}", out.display()))?;
    wasm_bindgen_cli_support::Bindgen::new()
        .input_path(&wasm)
        .out_name("snapwire_client")
        .web(true)?
        .typescript(false)
        // The library's default differs from the CLI's: without this, `init()` loads nothing.
        .omit_default_module_path(false)
        .generate(&out)
        .with_context(|| format!("generating JS glue for {}", wasm.display()))?;
    let size = std::fs::metadata(out.join("snapwire_client_bg.wasm"))
        .map(|m| m.len())
        .unwrap_or(0);
    eprintln!(
        "xtask: browser client in {} ({} KiB of wasm)",
        out.display(),
        size / 1024
    );
    Ok(())
}

/// `rustc --print target-libdir` prints a path even for a target that is not installed, so
/// check that the directory exists.
fn ensure_wasm_target() -> anyhow::Result<()> {
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let out = Command::new(&rustc)
        .args(["--print", "target-libdir", "--target", TARGET])
        .output()
        .context("running rustc")?;
    let libdir = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    if out.status.success() && Path::new(&libdir).is_dir() {
        return Ok(());
    }
    eprintln!("xtask: adding the {TARGET} target with rustup");
    run(Command::new("rustup").args(["target", "add", TARGET]))
}

fn cargo() -> Command {
    Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
}

fn run(cmd: &mut Command) -> anyhow::Result<()> {
    let status = cmd.status().with_context(|| format!("starting {cmd:?}"))?;
    if !status.success() {
        bail!("{cmd:?} failed: {status}");
    }
    Ok(())
}

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
}
