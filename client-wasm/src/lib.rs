//! snapwire's browser client: a thin `wasm-bindgen` shell over `snapwire_shared::client`, the
//! same logic the headless bots run and the tests exercise natively.
//!
//! - [`app`]: the client's state and decisions, no browser APIs (tested natively).
//! - `web`: WebSocket, keyboard, mouse and the animation-frame loop (the only DOM wiring).
//! - `render`: draws a frame on a 2D canvas.
//!
//! JavaScript calls [`join`] from the join screen in `assets/index.html`.

pub mod app;
mod render;
mod web;

use wasm_bindgen::prelude::*;

/// Connects and starts playing (`spectate`: watch the whole world without a player).
#[wasm_bindgen]
pub fn join(name: &str, spectate: bool) -> Result<(), JsValue> {
    web::start(name, spectate)
}

/// The longest name the server accepts, in characters: the join form's limit.
#[wasm_bindgen(js_name = maxNameChars)]
pub fn max_name_chars() -> usize {
    snapwire_shared::protocol::MAX_NAME_CHARS
}

/// JSON array of the names of players this client sees (for tests and debugging).
#[wasm_bindgen(js_name = visiblePlayers)]
pub fn visible_players() -> String {
    web::visible_players()
}
