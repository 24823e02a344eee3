//! The server's integration tests in one binary (one link instead of five), a module per
//! feature: the real `snapwire-server` binary's settings, deploy files and Agones lifecycle,
//! and rooms stepped through the public API.

#[cfg(feature = "agones")]
#[path = "../agones_mock/mod.rs"]
mod agones_mock;
#[path = "../support/mod.rs"]
mod support;

// Built with the `agones` feature only (its mock sidecar's protos need `protoc`).
#[cfg(feature = "agones")]
mod agones;
mod budget;
mod commands;
mod config;
mod custom_game;
mod deploy;
mod library_rules;
mod room_client;
