//! What the player is pressing: the shell's input devices (keys, mouse, touch) read into one
//! value, which becomes the game's input and which a game's HUD may react to.

/// Keys held and mouse state, as the shell reports them.
#[derive(Debug, Default, Clone, Copy, PartialEq)]
pub struct Controls {
    pub up: bool,
    pub down: bool,
    pub left: bool,
    pub right: bool,
    pub fire: bool,
    /// The alternate weapon (the arena's rail): right mouse button or E.
    pub alt_fire: bool,
    /// Aim in radians, from the local player towards the mouse.
    pub aim: f32,
}
