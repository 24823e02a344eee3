//! `shared`'s integration tests in one binary, a module per property: delta sequences
//! rebuilt exactly under loss, derived replication through the real codec, and lag
//! compensation judged without sockets.

mod delta_sequences;
mod derived_replication;
mod lag_compensation;
