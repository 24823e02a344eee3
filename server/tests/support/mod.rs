//! The real `snapwire-server` binary for the tests in this folder: a command with none of the
//! machine's `SNAPWIRE_*` variables, and a running server on 127.0.0.1:0 that is found by
//! the address it logs and killed when dropped.

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long the server may take to start, or a logged line to appear.
pub const PATIENCE: Duration = Duration::from_secs(20);

/// The binary, with only what a test sets.
pub fn server() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_snapwire-server"));
    for (k, _) in std::env::vars() {
        if k.starts_with("SNAPWIRE_") {
            c.env_remove(k);
        }
    }
    c.env("RUST_BACKTRACE", "0");
    c
}

/// The standard output of a command that must have succeeded (its standard error if not).
pub fn stdout(o: &std::process::Output) -> String {
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
        .to_path_buf()
}

pub struct Running {
    pub child: Child,
    pub addr: String,
    log: Arc<Mutex<Vec<String>>>,
}

impl Running {
    /// Starts `cmd` (a [`server`] with the test's settings) on 127.0.0.1:0 and returns once
    /// it logged the address it serves on.
    pub fn start(mut cmd: Command) -> Running {
        cmd.args(["--bind", "127.0.0.1:0", "--assets", "no-assets-here"])
            .env("RUST_LOG", "info")
            .env("NO_COLOR", "1")
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        let mut child = cmd.spawn().expect("start snapwire-server");
        let out = child.stdout.take().expect("stdout");
        let log = Arc::new(Mutex::new(Vec::new()));
        let (addr_tx, addr_rx) = std::sync::mpsc::channel();
        let lines = Arc::clone(&log);
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines() {
                let Ok(line) = line else { break };
                if line.contains("serving /ws")
                    && let Some(addr) = line
                        .split_whitespace()
                        .find_map(|w| w.strip_prefix("addr="))
                {
                    let _ = addr_tx.send(addr.to_owned());
                }
                lines.lock().expect("log").push(line);
            }
        });
        let addr = addr_rx
            .recv_timeout(PATIENCE)
            .expect("the server logs its address");
        Running { child, addr, log }
    }

    pub fn url(&self) -> String {
        format!("ws://{}/ws", self.addr)
    }

    /// The body of `GET path`.
    pub fn get(&self, path: &str) -> String {
        let mut s = std::net::TcpStream::connect(&self.addr).expect("connect");
        s.write_all(format!("GET {path} HTTP/1.0\r\nHost: x\r\n\r\n").as_bytes())
            .expect("request");
        let mut response = String::new();
        s.read_to_string(&mut response).expect("response");
        response
            .split_once("\r\n\r\n")
            .map(|(_, body)| body.to_owned())
            .unwrap_or_default()
    }

    /// Whether a log line holds `needle`, waiting for the reader thread to catch up.
    pub fn logged(&self, needle: &str) -> bool {
        let started = Instant::now();
        while started.elapsed() < PATIENCE {
            if self
                .log
                .lock()
                .expect("log")
                .iter()
                .any(|l| l.contains(needle))
            {
                return true;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        false
    }

    pub fn terminate(&self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("kill");
        assert!(status.success());
    }

    /// Waits for the process to exit by itself.
    pub fn exit_status(&mut self) -> std::process::ExitStatus {
        let started = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                return status;
            }
            assert!(started.elapsed() < PATIENCE, "the server did not exit");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
