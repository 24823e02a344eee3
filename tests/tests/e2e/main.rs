//! The black-box tests in one binary (one link instead of sixteen), a module per feature:
//! each starts a real server on `127.0.0.1:0` and talks to it with real clients. Two keep a
//! binary of their own: `../tls.rs` signals its own process (SIGHUP reloads the
//! certificate), and `../attack.rs` measures its process's memory, which tests running beside
//! it would grow.

#[path = "../support/mod.rs"]
mod support;

mod bad_input;
mod browser;
mod capacity_smoke;
mod conformance;
mod delta;
mod limits;
mod netsim;
mod pages;
mod play;
mod recording;
mod resume;
mod rooms;
mod slow_readers;
mod tag;
mod webtransport;
mod your_game;
