//! The browser side: WebSocket, keyboard, mouse and touch, window size, the animation-frame
//! loop, and the 2D canvas that [`crate::draw::Canvas`] draws on ([`canvas`]). Everything here
//! only moves events into [`App`] and bytes out of it. This is the one module that touches the
//! DOM.
//!
//! A game owns every listener it adds and removes them all when it ends, so the join screen
//! that comes back gets its keys (typing "w" into the name box must not move anyone) and a
//! second game starts from a clean page.

mod canvas;

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use js_sys::{ArrayBuffer, Function, Uint8Array};
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use web_sys::{
    BinaryType, CanvasRenderingContext2d, CloseEvent, EventTarget, HtmlCanvasElement,
    KeyboardEvent, MessageEvent, MouseEvent, TouchEvent, WebSocket, Window,
};

use snapwire_shared::protocol::{ResumeToken, RoomRequest};

use crate::app::{App, SocketAction, Status};
use crate::draw::Screen;
use crate::games::WebGame;
use crate::render;
use crate::replay::{Control, Replay};

/// Where a tab keeps its resume token: "ROOM GAME TOKEN".
const RESUME_KEY: &str = "snapwire.resume";

/// A resume token this tab kept, and the room and game it belongs to.
struct SavedResume {
    room: String,
    game: String,
    token: ResumeToken,
}

fn saved_resume(window: &Window) -> Option<SavedResume> {
    let text = window
        .session_storage()
        .ok()??
        .get_item(RESUME_KEY)
        .ok()??;
    let mut parts = text.split(' ');
    let (room, game, token) = (parts.next()?, parts.next()?, parts.next()?);
    Some(SavedResume {
        room: room.to_owned(),
        game: game.to_owned(),
        token: ResumeToken::from_hex(token)?,
    })
}

/// Whether this tab holds a resume token for `room` (the page rejoins it after a reload).
pub fn has_saved_resume(room: &str) -> bool {
    web_sys::window()
        .and_then(|w| saved_resume(&w))
        .is_some_and(|s| s.room == room)
}

/// An event callback, kept so it can be removed.
type Callback = Closure<dyn FnMut(web_sys::Event)>;

thread_local! {
    /// The running game, for the exported debug helpers and to end it when another starts.
    static GAME: RefCell<Option<Rc<dyn Running>>> = const { RefCell::new(None) };
}

/// A running game, whatever game it is: what the page's helpers ask of it.
trait Running {
    fn end(&self);
    fn replay_status(&self) -> String;
    fn visible_players(&self) -> Vec<String>;
    fn room(&self) -> Option<String>;
    fn net_graph_json(&self, now_ms: f64) -> String;
}

impl<G: WebGame> Running for Game<G> {
    fn end(&self) {
        Game::end(self);
    }

    fn replay_status(&self) -> String {
        let app = self.app.borrow();
        let Some(r) = &app.replay else {
            return "null".to_owned();
        };
        let entities: Vec<String> = app
            .session
            .replica()
            .latest()
            .map(|(_, v)| {
                v.entities()
                    .iter()
                    .take(64)
                    .map(|(id, s)| {
                        let p = G::position_of(s);
                        format!("[{},{},{}]", id.0, p.x, p.y)
                    })
                    .collect()
            })
            .unwrap_or_default();
        format!(
            "{{\"tick\":{},\"paused\":{},\"speed\":{},\"entities\":[{}]}}",
            app.session.latest_tick().0,
            r.paused_at.is_some(),
            r.speed,
            entities.join(",")
        )
    }

    fn visible_players(&self) -> Vec<String> {
        let app = self.app.borrow();
        app.visible_players()
            .into_iter()
            .map(|(_, n, _)| n)
            .collect()
    }

    fn room(&self) -> Option<String> {
        self.app.borrow().room_id().map(str::to_owned)
    }

    fn net_graph_json(&self, now_ms: f64) -> String {
        self.app.borrow_mut().net_graph_json(now_ms)
    }
}

/// One game, from `join` until the connection closes for good (a dropped one is reconnected).
struct Game<G: WebGame> {
    app: RefCell<App<G>>,
    /// The current socket; replaced on each reconnect.
    ws: RefCell<WebSocket>,
    url: String,
    /// The current socket's listeners, removed when it is replaced.
    socket_listeners: RefCell<Vec<(EventTarget, &'static str, Callback)>>,
    /// The resume token last saved for a reload.
    saved_token: RefCell<Option<String>>,
    window: Window,
    canvas: HtmlCanvasElement,
    ctx: CanvasRenderingContext2d,
    /// Told the reason when the game ends (the page shows the join screen again).
    on_end: Function,
    listeners: RefCell<Vec<(EventTarget, &'static str, Callback)>>,
    frame: RefCell<Option<Closure<dyn FnMut()>>>,
    ended: Cell<bool>,
}

/// Connects to `/ws` on the page's host and plays game `G` on the canvas `#game` until the
/// connection closes; then calls `on_end(reason)`.
pub fn start<G: WebGame>(
    name: &str,
    spectate: bool,
    room: RoomRequest,
    on_end: Function,
) -> Result<(), JsValue> {
    launch::<G>(name, spectate, room, None, on_end)
}

/// Watches a recorded match from tick `from`.
pub fn watch<G: WebGame>(replay: Replay, from: u32, on_end: Function) -> Result<(), JsValue> {
    let request = replay.request(from);
    launch::<G>("viewer", true, request, Some((replay, from)), on_end)
}

fn launch<G: WebGame>(
    name: &str,
    spectate: bool,
    room: RoomRequest,
    replay: Option<(Replay, u32)>,
    on_end: Function,
) -> Result<(), JsValue> {
    if let Some(old) = GAME.with(|g| g.borrow_mut().take()) {
        old.end();
    }
    let window = web_sys::window().ok_or("no window")?;
    let document = window.document().ok_or("no document")?;
    let canvas: HtmlCanvasElement = document
        .get_element_by_id("game")
        .ok_or("no #game canvas")?
        .dyn_into()?;
    let ctx: CanvasRenderingContext2d = canvas
        .get_context("2d")?
        .ok_or("no 2d context")?
        .dyn_into()?;
    let location = window.location();
    let scheme = if location.protocol()? == "https:" {
        "wss"
    } else {
        "ws"
    };
    // A page opened with `?ticket=...` (a matchmaker's link) hands the ticket to the socket.
    let search = location.search()?;
    let ticket = search
        .trim_start_matches('?')
        .split('&')
        .find(|kv| kv.starts_with("ticket="))
        .map_or(String::new(), |kv| format!("?{kv}"));
    let url = format!("{scheme}://{}/ws{ticket}", location.host()?);
    let ws = open_socket(&url)?;

    // A reload of this page within the grace period continues the same player.
    let saved = saved_resume(&window).filter(|s| {
        matches!(&room, RoomRequest::Join { id } if *id == s.room) && s.game == G::NAME
    });
    let (app, hello) = match (replay, saved) {
        (Some((replay, from)), _) => App::<G>::watching(replay, from),
        (None, Some(s)) => App::<G>::rejoining(name, spectate, room, s.token),
        (None, None) => App::<G>::for_room(name, spectate, room),
    };
    let game = Rc::new(Game {
        app: RefCell::new(app),
        ws: RefCell::new(ws.clone()),
        url,
        socket_listeners: RefCell::new(Vec::new()),
        saved_token: RefCell::new(None),
        window: window.clone(),
        canvas: canvas.clone(),
        ctx,
        on_end,
        listeners: RefCell::new(Vec::new()),
        frame: RefCell::new(None),
        ended: Cell::new(false),
    });
    GAME.with(|g| *g.borrow_mut() = Some(Rc::clone(&game) as Rc<dyn Running>));
    game.fit_canvas();
    game.attach(&ws, hello)?;

    game.on(&window, "keydown", |g, e: KeyboardEvent| g.key(&e, true));
    game.on(&window, "keyup", |g, e: KeyboardEvent| g.key(&e, false));
    // A key released while the page is not focused never reaches it: let go of everything
    // when it loses focus or is hidden.
    game.on(&window, "blur", |g, _: web_sys::Event| {
        g.app.borrow_mut().release_controls()
    });
    game.on(&document, "visibilitychange", |g, _: web_sys::Event| {
        g.app.borrow_mut().release_controls()
    });
    game.on(&window, "resize", |g, _: web_sys::Event| g.fit_canvas());
    game.on(&canvas, "mousemove", |g, e: MouseEvent| {
        g.aim(f64::from(e.offset_x()), f64::from(e.offset_y()))
    });
    // The right button fires the rail: no context menu over the game.
    game.on(&canvas, "contextmenu", |_, e: MouseEvent| {
        e.prevent_default()
    });
    game.on(&canvas, "mousedown", |g, e: MouseEvent| {
        let c = &mut g.app.borrow_mut().controls;
        match e.button() {
            2 => c.alt_fire = true,
            _ => c.fire = true,
        }
    });
    game.on(&window, "mouseup", |g, e: MouseEvent| {
        let c = &mut g.app.borrow_mut().controls;
        match e.button() {
            2 => c.alt_fire = false,
            _ => c.fire = false,
        }
    });
    for event in ["touchstart", "touchmove", "touchend", "touchcancel"] {
        game.on(&canvas, event, move |g, e: TouchEvent| g.touch(event, &e));
    }

    game.animation_loop(window.performance().ok_or("no performance")?)
}

/// Names of the players the client currently sees, as JSON (used by the end-to-end test).
pub fn visible_players() -> String {
    GAME.with(|g| {
        let names: Vec<String> = g.borrow().as_ref().map_or_else(Vec::new, |game| {
            game.visible_players()
                .into_iter()
                .map(|n| format!("{n:?}"))
                .collect()
        });
        format!("[{}]", names.join(","))
    })
}

/// The replay being watched, as JSON (`null` when none).
pub fn replay_status() -> String {
    GAME.with(|g| {
        g.borrow()
            .as_ref()
            .map_or("null".to_owned(), |game| game.replay_status())
    })
}

/// The running game's room id ("" before a Welcome).
pub fn current_room() -> String {
    GAME.with(|g| {
        g.borrow()
            .as_ref()
            .and_then(|game| game.room())
            .unwrap_or_default()
    })
}

/// The running game's net graph, as JSON (`null` before a game).
pub fn net_graph() -> String {
    let now = web_sys::window()
        .and_then(|w| w.performance())
        .map_or(0.0, |p| p.now());
    GAME.with(|g| {
        g.borrow()
            .as_ref()
            .map_or("null".to_owned(), |game| game.net_graph_json(now))
    })
}

impl<G: WebGame> Game<G> {
    /// Adds an event listener that lives until the game ends. It gets the game; holding it
    /// here (not in the closure) keeps the listener from owning what owns the listener.
    fn on<E: JsCast + 'static>(
        self: &Rc<Game<G>>,
        target: &EventTarget,
        event: &'static str,
        mut f: impl FnMut(&Game<G>, E) + 'static,
    ) {
        let game = Rc::downgrade(self);
        let cb = Callback::new(move |e: web_sys::Event| {
            if let (Some(g), Ok(e)) = (game.upgrade(), e.dyn_into::<E>()) {
                f(&g, e);
            }
        });
        let _ = target.add_event_listener_with_callback(event, cb.as_ref().unchecked_ref());
        self.listeners
            .borrow_mut()
            .push((target.clone(), event, cb));
    }

    /// Wires a socket: `hello` goes out when it opens, frames go to the app, and a close goes
    /// to the app, which either reconnects later or ends the game.
    fn attach(self: &Rc<Game<G>>, ws: &WebSocket, hello: Vec<u8>) -> Result<(), JsValue> {
        let perf = self.window.performance().ok_or("no performance")?;
        let socket = ws.clone();
        self.on_socket(ws, "open", move |g, _: web_sys::Event| {
            // Which transport carries it (assets/transport.js says; a bare WebSocket does not).
            let transport = js_sys::Reflect::get(&socket, &"transport".into())
                .ok()
                .and_then(|t| t.as_string())
                .unwrap_or_else(|| "websocket".to_owned());
            g.app.borrow_mut().transport = transport;
            let _ = socket.send_with_u8_array(&hello);
        });
        let now = perf.clone();
        self.on_socket(ws, "message", move |g, e: MessageEvent| {
            let Ok(buf) = e.data().dyn_into::<ArrayBuffer>() else {
                return;
            };
            let was_welcomed = g.app.borrow().room_id().is_some();
            let replies = g
                .app
                .borrow_mut()
                .on_frame(&Uint8Array::new(&buf).to_vec(), now.now());
            g.send_all(replies);
            g.save_resume();
            if !was_welcomed && let Some(room) = g.app.borrow().room_id() {
                // The address bar now links to this match (and says its game, when not the
                // arena).
                let hash = match (&g.app.borrow().replay, G::NAME) {
                    (Some(r), "arena") => format!("replay={}", r.id),
                    (Some(r), game) => format!("replay={}&game={game}", r.id),
                    (None, "arena") => format!("room={room}"),
                    (None, game) => format!("room={room}&game={game}"),
                };
                let _ = g.window.location().set_hash(&hash);
            }
        });
        self.on_socket(ws, "close", move |g, e: CloseEvent| {
            g.app
                .borrow_mut()
                .on_close(e.code(), &e.reason(), perf.now());
            if matches!(g.app.borrow().status, Status::Closed(_)) {
                g.end();
            }
        });
        Ok(())
    }

    /// Like [`Game::on`], for a listener on the current socket (removed when it is replaced).
    fn on_socket<E: JsCast + 'static>(
        self: &Rc<Game<G>>,
        target: &EventTarget,
        event: &'static str,
        f: impl FnMut(&Game<G>, E) + 'static,
    ) {
        self.on(target, event, f);
        if let Some(l) = self.listeners.borrow_mut().pop() {
            self.socket_listeners.borrow_mut().push(l);
        }
    }

    /// Drops the current socket (silently: its close no longer reaches the app) and opens a
    /// new one that sends `hello`.
    fn reconnect(self: &Rc<Game<G>>, hello: Vec<u8>) {
        self.drop_socket();
        let Ok(ws) = open_socket(&self.url) else {
            // A malformed URL cannot be here (it opened once); end rather than spin.
            self.app.borrow_mut().status = Status::Closed("cannot reconnect".into());
            return;
        };
        *self.ws.borrow_mut() = ws.clone();
        let _ = self.attach(&ws, hello);
    }

    fn drop_socket(&self) {
        for (target, event, cb) in self.socket_listeners.borrow_mut().drain(..) {
            let _ = target.remove_event_listener_with_callback(event, cb.as_ref().unchecked_ref());
        }
        // 4000-4999 are the application's: not 1000, so the server keeps the player.
        let _ = self.ws.borrow().close_with_code(4000);
    }

    /// Keeps the resume token in `sessionStorage` (this tab only) whenever it changes, so a
    /// reload continues the player.
    fn save_resume(&self) {
        let app = self.app.borrow();
        let (Some(token), Some(room)) = (app.resume_token_hex(), app.room_id()) else {
            return;
        };
        if self.saved_token.borrow().as_deref() == Some(token.as_str()) {
            return;
        }
        if let Ok(Some(store)) = self.window.session_storage() {
            let _ = store.set_item(RESUME_KEY, &format!("{room} {} {token}", G::NAME));
        }
        *self.saved_token.borrow_mut() = Some(token);
    }

    /// Ends the game once: removes every listener, stops the frame loop, closes the socket
    /// and hands the reason to the page.
    fn end(&self) {
        if self.ended.replace(true) {
            return;
        }
        for (target, event, cb) in self.listeners.borrow_mut().drain(..) {
            let _ = target.remove_event_listener_with_callback(event, cb.as_ref().unchecked_ref());
        }
        for (target, event, cb) in self.socket_listeners.borrow_mut().drain(..) {
            let _ = target.remove_event_listener_with_callback(event, cb.as_ref().unchecked_ref());
        }
        // Leaving on purpose (1000): the server removes the player at once. A page that is
        // unloaded never gets here; the browser closes with 1001 and the player is kept
        // for a reload.
        let _ = self.ws.borrow().close_with_code(1000);
        if let Ok(Some(store)) = self.window.session_storage() {
            let _ = store.remove_item(RESUME_KEY);
        }
        let reason = self
            .app
            .borrow()
            .closed_reason()
            .unwrap_or("Disconnected.")
            .to_owned();
        // The game stays in `GAME` (for the debug helpers) until the next one replaces it.
        let _ = self
            .on_end
            .call1(&JsValue::NULL, &JsValue::from_str(&reason));
    }

    /// Sizes the canvas backing store to its CSS size times the device pixel ratio.
    fn fit_canvas(&self) {
        let dpr = self.window.device_pixel_ratio().max(1.0);
        let (w, h) = self.css_size();
        let (bw, bh) = ((w * dpr).round() as u32, (h * dpr).round() as u32);
        if self.canvas.width() != bw || self.canvas.height() != bh {
            self.canvas.set_width(bw.max(1));
            self.canvas.set_height(bh.max(1));
        }
    }

    fn css_size(&self) -> (f64, f64) {
        let rect = self.canvas.get_bounding_client_rect();
        (rect.width().max(1.0), rect.height().max(1.0))
    }

    fn screen(&self) -> Screen {
        let (width, height) = self.css_size();
        Screen {
            width,
            height,
            dpr: f64::from(self.canvas.width()) / width,
        }
    }

    fn key(&self, e: &KeyboardEvent, down: bool) {
        // Keys typed into a form field are text, not movement.
        let typing = e
            .target()
            .and_then(|t| t.dyn_into::<web_sys::Element>().ok())
            .is_some_and(|el| matches!(el.tag_name().as_str(), "INPUT" | "TEXTAREA"));
        if typing {
            return;
        }
        let mut app = self.app.borrow_mut();
        if app.replay.is_some() {
            let control = match e.key().to_lowercase().as_str() {
                " " | "p" => Control::TogglePause,
                "arrowleft" => Control::Seek(-1),
                "arrowright" => Control::Seek(1),
                "[" | "-" => Control::Slower,
                "]" | "+" | "=" => Control::Faster,
                "n" if down => {
                    app.show_net_graph = !app.show_net_graph;
                    return;
                }
                _ => return,
            };
            e.prevent_default();
            if down {
                let now = self.window.performance().map_or(0.0, |p| p.now());
                app.replay_control(control, now);
            }
            return;
        }
        let c = &mut app.controls;
        match e.key().to_lowercase().as_str() {
            "w" | "arrowup" => c.up = down,
            "s" | "arrowdown" => c.down = down,
            "a" | "arrowleft" => c.left = down,
            "d" | "arrowright" => c.right = down,
            " " => c.fire = down,
            "e" => c.alt_fire = down,
            "n" if down => app.show_net_graph = !app.show_net_graph,
            _ => return,
        }
        e.prevent_default();
    }

    fn aim(&self, x: f64, y: f64) {
        let (w, h) = self.css_size();
        self.app.borrow_mut().aim_at(x, y, w, h);
    }

    fn touch(&self, event: &str, e: &TouchEvent) {
        // No scrolling, zooming or synthesized mouse events while playing.
        e.prevent_default();
        let rect = self.canvas.get_bounding_client_rect();
        let (w, h) = self.css_size();
        let changed = e.changed_touches();
        for i in 0..changed.length() {
            let Some(t) = changed.get(i) else { continue };
            let (x, y) = (
                f64::from(t.client_x()) - rect.left(),
                f64::from(t.client_y()) - rect.top(),
            );
            let mut app = self.app.borrow_mut();
            match event {
                "touchstart" => app.touches.start(t.identifier(), x, y, w),
                "touchmove" => app.touches.moved(t.identifier(), x, y),
                _ => app.touches.end(t.identifier()),
            }
            if let Some((ax, ay)) = app.touches.aim_point() {
                app.aim_at(ax, ay, w, h);
            }
        }
    }

    fn send_all(&self, frames: Vec<Vec<u8>>) {
        let ws = self.ws.borrow();
        if ws.ready_state() != WebSocket::OPEN {
            return;
        }
        for f in frames {
            let _ = ws.send_with_u8_array(&f);
        }
    }

    fn animation_loop(self: &Rc<Game<G>>, perf: web_sys::Performance) -> Result<(), JsValue> {
        let game = Rc::downgrade(self);
        let document = self.window.document().ok_or("no document")?;
        *self.frame.borrow_mut() = Some(Closure::new(move || {
            let Some(g) = game.upgrade() else { return };
            let now = perf.now();
            let inputs = g.app.borrow_mut().on_animation_frame(now);
            g.send_all(inputs);
            let due = g.app.borrow_mut().reconnect_due(now);
            if let Some(hello) = due {
                g.reconnect(hello);
            }
            let action = g.app.borrow_mut().take_socket_action();
            match action {
                Some(SocketAction::Open(hello)) => g.reconnect(hello),
                Some(SocketAction::Close) => g.drop_socket(),
                None => {}
            }
            g.fit_canvas();
            render::draw(&g.ctx, g.screen(), &mut g.app.borrow_mut(), now);
            let title = g.app.borrow().title();
            if document.title() != title {
                document.set_title(&title);
            }
            // A game that failed on bad data ends here; a closed socket ended it already.
            if matches!(g.app.borrow().status, Status::Closed(_)) {
                g.end();
            }
            if !g.ended.get()
                && let Some(cb) = g.frame.borrow().as_ref()
            {
                let _ = g
                    .window
                    .request_animation_frame(cb.as_ref().unchecked_ref());
            }
        }));
        if let Some(cb) = self.frame.borrow().as_ref() {
            self.window
                .request_animation_frame(cb.as_ref().unchecked_ref())?;
        }
        Ok(())
    }
}

/// The game's connection: the page's `window.snapwireSocket(url)` when it has one
/// (`assets/transport.js`: WebTransport when the server offers it, else WebSocket, behind the
/// WebSocket interface this module uses), else a plain WebSocket.
fn open_socket(url: &str) -> Result<WebSocket, JsValue> {
    let window = web_sys::window().ok_or("no window")?;
    let open = js_sys::Reflect::get(&window, &"snapwireSocket".into())?;
    let socket = match open.dyn_ref::<Function>() {
        Some(f) => f.call1(&window, &url.into())?.unchecked_into::<WebSocket>(),
        None => WebSocket::new(url)?,
    };
    socket.set_binary_type(BinaryType::Arraybuffer);
    Ok(socket)
}
