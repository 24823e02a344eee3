//! snapwire's browser client: a thin `wasm-bindgen` shell over `snapwire_shared::client`, the
//! same logic the headless bots run and the tests exercise natively.
//!
//! - [`app`]: the client's state and decisions, no browser APIs (tested natively).
//! - [`camera`]: which part of the world the screen shows; [`touch`]: the virtual stick;
//!   [`controls`]: what the player is pressing.
//! - [`draw`]: the drawing interface ([`draw::Canvas`]) and the shapes games share.
//! - [`games`]: per game, its words and how its entities are drawn (arena, tag).
//! - [`render`]: draws a frame (the HUD; each game draws its entities).
//! - [`replay`]: watching a recorded match: pause, speed, seek.
//! - `web`: WebSocket, keyboard, mouse, touch, the animation-frame loop and the 2D canvas
//!   behind [`draw::Canvas`]: the only module that touches the DOM.
//!
//! Imports run one way: `web` -> `render` -> `app` -> `games` -> `draw`, `camera`,
//! `controls`; nothing below `web` names a browser type.
//!
//! JavaScript calls [`join`] from the join screen in `assets/index.html`; when the game ends,
//! the page gets the reason and shows the join screen again.

pub mod app;
pub mod camera;
pub mod controls;
pub mod draw;
pub mod games;
pub mod render;
pub mod replay;
pub mod touch;
mod web;

use wasm_bindgen::prelude::*;

/// Connects and starts playing `game` (`"arena"` or `"tag"`; `spectate`: watch the whole
/// world without a player) in a room: `mode` is `"quick"` (the fullest open room of the game,
/// or a new one), `"join"` (the room `room`, which must play `game`) or `"private"` (a new
/// private room, joined by link only). Once welcomed, the page's URL carries `#room=ID` (and
/// `&game=tag` for tag), a link to the same match. When the connection ends, `on_end` is
/// called with the reason in words.
#[wasm_bindgen]
pub fn join(
    name: &str,
    spectate: bool,
    mode: &str,
    room: &str,
    game: &str,
    on_end: js_sys::Function,
) -> Result<(), JsValue> {
    use snapwire_shared::protocol::RoomRequest;
    // The server's built-in kinds: the default kind plays the arena, `tag` plays tag.
    let kind = if game == "tag" { "tag" } else { "" };
    let request = match mode {
        "join" => RoomRequest::Join { id: room.into() },
        "private" => RoomRequest::Create {
            kind: kind.into(),
            private: true,
        },
        _ => RoomRequest::JoinOrCreate { kind: kind.into() },
    };
    if game == "tag" {
        web::start::<snapwire_shared::tag::Tag>(name, spectate, request, on_end)
    } else {
        web::start::<snapwire_shared::sim::World>(name, spectate, request, on_end)
    }
}

/// Watches recorded match `id` (from `GET /replays`, with its `tick_rate` and last tick
/// `first_tick + ticks - 1`) from `from_tick` at `speed_percent`; `game` says how to draw it.
/// Space pauses, the arrows seek by 5 s, `[` and `]` change speed. Once welcomed, the URL
/// carries `#replay=ID`.
#[wasm_bindgen]
pub fn watch(
    id: &str,
    from_tick: u32,
    speed_percent: u16,
    tick_rate: u16,
    last_tick: u32,
    game: &str,
    on_end: js_sys::Function,
) -> Result<(), JsValue> {
    let replay = replay::Replay {
        id: id.to_owned(),
        speed: speed_percent,
        tick_rate,
        last_tick,
        paused_at: None,
    };
    if game == "tag" {
        web::watch::<snapwire_shared::tag::Tag>(replay, from_tick, on_end)
    } else {
        web::watch::<snapwire_shared::sim::World>(replay, from_tick, on_end)
    }
}

/// Where a replay being watched is, as JSON: `{"tick":N,"paused":bool,"speed":P,"entities":[[id,x,y],...]}`
/// (`null` when not watching; for tests).
#[wasm_bindgen(js_name = replayStatus)]
pub fn replay_status() -> String {
    web::replay_status()
}

/// Plays game `G` in `room` on the page's `#game` canvas until the connection ends, then
/// calls `on_end(reason)`: what a page for a game of one's own calls from its `join` (see
/// `examples/coins`).
pub fn start<G: games::WebGame>(
    name: &str,
    spectate: bool,
    room: snapwire_shared::protocol::RoomRequest,
    on_end: js_sys::Function,
) -> Result<(), JsValue> {
    web::start::<G>(name, spectate, room, on_end)
}

/// Whether this tab kept a resume token for room `room`: a page reloaded mid-game joins it
/// again at once and continues the same player.
#[wasm_bindgen(js_name = hasSavedResume)]
pub fn has_saved_resume(room: &str) -> bool {
    web::has_saved_resume(room)
}

/// The id of the room the page is in, once welcomed (empty before).
#[wasm_bindgen(js_name = currentRoom)]
pub fn current_room() -> String {
    web::current_room()
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

/// The net graph's figures as JSON: ping, snapshots/s, kbps in and out (WebSocket frames).
#[wasm_bindgen(js_name = netGraph)]
pub fn net_graph() -> String {
    web::net_graph()
}
