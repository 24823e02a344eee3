//! The browser side: WebSocket, keyboard and mouse, the animation-frame loop. Everything here
//! only moves events into [`App`] and bytes out of it. This is the one module that touches the
//! DOM (with `render.rs`, which only draws).

use std::cell::RefCell;
use std::rc::Rc;

use js_sys::{ArrayBuffer, Uint8Array};
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use web_sys::{
    BinaryType, CanvasRenderingContext2d, CloseEvent, HtmlCanvasElement, KeyboardEvent,
    MessageEvent, MouseEvent, WebSocket, Window,
};

use crate::app::{App, Status};
use crate::render;

/// The animation-frame callback, which schedules itself again.
type FrameCallback = Closure<dyn FnMut()>;

thread_local! {
    /// The running game, for the exported debug helpers.
    static APP: RefCell<Option<Rc<RefCell<App>>>> = const { RefCell::new(None) };
}

/// Connects to `/ws` on the page's host and starts playing on the canvas `#game`.
pub fn start(name: &str, spectate: bool) -> Result<(), JsValue> {
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
    let ws = WebSocket::new(&format!("{scheme}://{}/ws", location.host()?))?;
    ws.set_binary_type(BinaryType::Arraybuffer);

    let (app, hello) = App::new(name, spectate);
    let app = Rc::new(RefCell::new(app));
    APP.with(|a| *a.borrow_mut() = Some(Rc::clone(&app)));

    let socket = ws.clone();
    on(&ws, "open", move |_: web_sys::Event| {
        let _ = socket.send_with_u8_array(&hello);
    });
    let (a, socket, perf) = (
        Rc::clone(&app),
        ws.clone(),
        window.performance().ok_or("no performance")?,
    );
    on(&ws, "message", move |e: MessageEvent| {
        let Ok(buf) = e.data().dyn_into::<ArrayBuffer>() else {
            return;
        };
        let replies = a
            .borrow_mut()
            .on_frame(&Uint8Array::new(&buf).to_vec(), perf.now());
        send_all(&socket, replies);
    });
    let a = Rc::clone(&app);
    on(&ws, "close", move |e: CloseEvent| {
        a.borrow_mut().on_close(e.code(), &e.reason())
    });

    let a = Rc::clone(&app);
    on(&window, "keydown", move |e: KeyboardEvent| {
        key(&a, &e, true)
    });
    let a = Rc::clone(&app);
    on(&window, "keyup", move |e: KeyboardEvent| key(&a, &e, false));
    // A key released while the page is not focused never reaches it: let go of everything
    // when it loses focus or is hidden.
    let a = Rc::clone(&app);
    on(&window, "blur", move |_: web_sys::Event| {
        a.borrow_mut().release_controls()
    });
    let a = Rc::clone(&app);
    on(&document, "visibilitychange", move |_: web_sys::Event| {
        a.borrow_mut().release_controls()
    });
    let (a, c) = (Rc::clone(&app), canvas.clone());
    on(&canvas, "mousemove", move |e: MouseEvent| aim(&a, &c, &e));
    let a = Rc::clone(&app);
    on(&canvas, "mousedown", move |_: MouseEvent| {
        a.borrow_mut().controls.fire = true
    });
    let a = Rc::clone(&app);
    on(&window, "mouseup", move |_: MouseEvent| {
        a.borrow_mut().controls.fire = false
    });

    animation_loop(window, app, ws, canvas, ctx)
}

/// Names of the players the client currently sees, as JSON (used by the end-to-end test).
pub fn visible_players() -> String {
    APP.with(|a| {
        let names: Vec<String> = a.borrow().as_ref().map_or_else(Vec::new, |app| {
            app.borrow()
                .scoreboard()
                .into_iter()
                .map(|(n, _)| n)
                .collect()
        });
        let quoted: Vec<String> = names.iter().map(|n| format!("{n:?}")).collect();
        format!("[{}]", quoted.join(","))
    })
}

fn animation_loop(
    window: Window,
    app: Rc<RefCell<App>>,
    ws: WebSocket,
    canvas: HtmlCanvasElement,
    ctx: CanvasRenderingContext2d,
) -> Result<(), JsValue> {
    let perf = window.performance().ok_or("no performance")?;
    let frame: Rc<RefCell<Option<FrameCallback>>> = Rc::new(RefCell::new(None));
    let next = Rc::clone(&frame);
    let w = window.clone();
    let document = window.document().ok_or("no document")?;
    *frame.borrow_mut() = Some(Closure::new(move || {
        let now = perf.now();
        let inputs = app.borrow_mut().on_animation_frame(now);
        if ws.ready_state() == WebSocket::OPEN {
            send_all(&ws, inputs);
        }
        render::draw(&ctx, &canvas, &mut app.borrow_mut(), now);
        let title = app.borrow().title();
        if document.title() != title {
            document.set_title(&title);
        }
        let stop = matches!(app.borrow().status, Status::Closed(_));
        if let Some(cb) = next.borrow().as_ref().filter(|_| !stop) {
            let _ = w.request_animation_frame(cb.as_ref().unchecked_ref());
        }
    }));
    if let Some(cb) = frame.borrow().as_ref() {
        window.request_animation_frame(cb.as_ref().unchecked_ref())?;
    }
    // The closure re-schedules itself through `frame`: it must live as long as the page.
    std::mem::forget(frame);
    Ok(())
}

fn key(app: &Rc<RefCell<App>>, e: &KeyboardEvent, down: bool) {
    let mut app = app.borrow_mut();
    let c = &mut app.controls;
    match e.key().to_lowercase().as_str() {
        "w" | "arrowup" => c.up = down,
        "s" | "arrowdown" => c.down = down,
        "a" | "arrowleft" => c.left = down,
        "d" | "arrowright" => c.right = down,
        " " => c.fire = down,
        "n" if down => app.show_net_graph = !app.show_net_graph,
        _ => return,
    }
    e.prevent_default();
}

fn aim(app: &Rc<RefCell<App>>, canvas: &HtmlCanvasElement, e: &MouseEvent) {
    let rect = canvas.get_bounding_client_rect();
    let (mx, my) = (
        (f64::from(e.client_x()) - rect.left()) * f64::from(canvas.width()) / rect.width().max(1.0),
        (f64::from(e.client_y()) - rect.top()) * f64::from(canvas.height())
            / rect.height().max(1.0),
    );
    let mut app = app.borrow_mut();
    if let Some((px, py)) = render::own_screen_position(&mut app, canvas) {
        app.controls.aim = (my - py).atan2(mx - px) as f32;
    }
}

fn send_all(ws: &WebSocket, frames: Vec<Vec<u8>>) {
    for f in frames {
        let _ = ws.send_with_u8_array(&f);
    }
}

/// Adds an event listener that lives as long as the page.
fn on<E: JsCast + 'static>(
    target: &web_sys::EventTarget,
    event: &str,
    mut f: impl FnMut(E) + 'static,
) {
    let cb = Closure::<dyn FnMut(web_sys::Event)>::new(move |e: web_sys::Event| {
        if let Ok(e) = e.dyn_into::<E>() {
            f(e);
        }
    });
    let _ = target.add_event_listener_with_callback(event, cb.as_ref().unchecked_ref());
    cb.forget();
}
