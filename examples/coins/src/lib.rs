//! Coins, the example game of `docs/your-game.md`: runners pick up coins on a field.
//!
//! - [`game`]: the rules, the replicated state and the prediction hooks (`Game`); the server
//!   (`cargo run -p snapwire-server --example your_game`), bots and clients all run them.
//! - [`render`]: how the browser draws it (`WebGame`); the shell does everything else.
//! - `join`: the page's entry point when this crate is built for the browser.

pub mod game;
pub mod render;

/// The page's `join` for a coins page: the shell's socket, input, prediction, interpolation
/// and HUD, with this game's rules and drawing.
#[cfg(target_arch = "wasm32")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn join(
    name: &str,
    spectate: bool,
    on_end: js_sys::Function,
) -> Result<(), wasm_bindgen::JsValue> {
    let room = snapwire_shared::protocol::RoomRequest::quick_play();
    snapwire_client_wasm::start::<game::Coins>(name, spectate, room, on_end)
}
