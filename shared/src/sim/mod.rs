//! The game rules: a deterministic, I/O-free arena simulation.
//!
//! - [`rules`]: constants and their per-tick form.
//! - [`input`]: wire input parsed into quantized [`PlayerInput`].
//! - [`movement`]: one player step (what clients predict).
//! - [`wall_grid`]: walls by cell, for projectile checks.
//! - [`rewind`]: players' recent positions and the moment a shot is judged at (lag
//!   compensation); [`rail`]: the hitscan weapon's geometry.
//! - [`world`]: the [`World`] value: players, projectiles, drifters, stepped once per tick.
//! - [`game`]: the world as a [`crate::game::Game`] (the `arena` game).

pub mod game;
pub mod input;
pub mod movement;
pub mod rail;
pub mod rewind;
pub mod rules;
pub mod spawn;
pub mod wall_grid;
pub mod world;

pub use input::{InputError, PlayerInput, ViewTime};
pub use rules::Rules;
pub use world::{Entity, EntityId, World};

#[cfg(test)]
mod tests;
