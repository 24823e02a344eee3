//! What the browser shell needs from each game beyond its rules: a few words for the page and
//! the HUD, and how to draw its entities. Everything else (socket, input devices, prediction,
//! interpolation, camera, HUD) is the shell's, the same for every game.
//!
//! - [`arena`]: the arena's players, shots and drifters.
//! - [`tag`]: tag's runners, who is "it" and who is immune.

pub mod arena;
pub mod arena_hud;
pub mod tag;

use snapwire_shared::client::{ClientSession, Drawn};
use snapwire_shared::game::Game;

use crate::camera::Camera;
use crate::controls::Controls;
use crate::draw::{Canvas, Screen};

/// The local player, where it is drawn this frame: its predicted state, at its smoothed
/// position.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Me<S> {
    pub state: S,
    pub x: f64,
    pub y: f64,
}

/// What a game's renderer reads besides the entities: the session (names, the own id, the
/// map), its HUD state, the frame's time, the name typed and the pointer.
#[derive(Debug)]
pub struct View<'a, G: WebGame> {
    pub session: &'a ClientSession<G>,
    pub hud: &'a G::Hud,
    /// The time of the frame being drawn (the animation frame's clock).
    pub now_ms: f64,
    /// The name typed on the join screen: the own player's until the server's arrives.
    pub own_name: &'a str,
    /// Where the mouse is, in CSS pixels (none on a touch screen).
    pub pointer: Option<(f64, f64)>,
}

/// A game the page can play.
pub trait WebGame: Game + Sized {
    /// The page title's game name.
    const TITLE: &'static str;
    /// The controls, in words, on the status line.
    const HELP: &'static str;

    /// A player's score as its state shows it (the scoreboard before the server's first).
    fn score_of(state: &Self::State) -> i32;

    /// A score in words, for the page title ("3 kills").
    fn score_words(score: i32, tick_rate: u16) -> String;

    /// A score on the scoreboard.
    fn score_text(score: i32, _tick_rate: u16) -> String {
        score.to_string()
    }

    /// What the game's HUD remembers between frames (the arena: hit marker, kill feed).
    type Hud: Default + std::fmt::Debug;

    /// A verified snapshot arrived: the newest is in the session's replica.
    fn on_snapshot(_hud: &mut Self::Hud, _session: &ClientSession<Self>, _now_ms: f64) {}

    /// An input went out with these controls.
    fn on_input(_hud: &mut Self::Hud, _controls: &Controls, _now_ms: f64) {}

    /// Whether a player shows on the minimap (the arena hides the dead).
    fn on_minimap(_state: &Self::State) -> bool {
        true
    }

    /// Draws the entities over the map: everyone else where interpolation puts them, then
    /// the own player where prediction does.
    fn draw(
        ctx: &dyn Canvas,
        screen: Screen,
        cam: &Camera,
        view: &View<'_, Self>,
        drawn: &[Drawn<Self::State>],
        me: Option<&Me<Self::State>>,
    );
}

/// The name the server gave a player (the own one: the name typed, until the server's).
pub fn name_of<G: WebGame>(view: &View<'_, G>, id: u32) -> String {
    match view.session.replica().name(id) {
        Some(n) => n.to_owned(),
        None if view.session.player_id().map(|p| p.0) == Some(id) => view.own_name.to_owned(),
        None => "?".to_owned(),
    }
}
