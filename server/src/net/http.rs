//! The one listener's routes: `/ws` (the game), `/healthz` (liveness and counters), `/metrics`
//! (Prometheus),
//! `/players` (who is playing where), and the browser client's files for everything else.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::Extension;
use axum::Router;
use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::{Message, WebSocketUpgrade};
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Json, Response};
use axum::routing::get;
use snapwire_shared::CloseCode;
use tokio::sync::Semaphore;
use tokio_util::task::TaskTracker;
use tower_http::services::{ServeDir, ServeFile};

use crate::net::connection;
use crate::net::direct::DirectSocket;
use crate::net::listener::HandshakeSlot;
use crate::net::session::{ConnectionContext, check_ticket, origin_allowed};
use crate::net::webtransport::Offer;
use crate::room::CloseReason;

/// Transport-level cap on a client frame. Frames between the protocol's 1 KiB limit and this
/// are read and refused with a clear close reason; beyond it tungstenite refuses them itself.
const TRANSPORT_MAX_MESSAGE: usize = 64 * 1024;

/// Socket read buffer per connection. Client messages are about 25 bytes, 60 a second, and
/// tungstenite zero-fills the free part of this buffer before every read: at its 128 KiB default
/// that memset was half the server's CPU with 400 clients, and 128 KiB of RSS per client. Two
/// seconds of inputs still fit in one read.
pub const READ_BUFFER: usize = 2 * 1024;

/// Messages are written to the socket as soon as they are sent (one system call per frame):
/// the writer sends one snapshot per tick and nothing would ever fill a batching buffer.
pub const WRITE_BUFFER: usize = 0;

/// What may pile up inside tungstenite when the socket is full. The writer awaits each send,
/// so at most one snapshot waits here; the bound is for safety, not for flow control.
pub const MAX_WRITE_BUFFER: usize = 128 * 1024;

#[derive(Debug, Clone)]
pub struct AppState {
    pub ctx: ConnectionContext,
    /// One permit per connected client, `--max-clients` in all.
    pub slots: Arc<Semaphore>,
    pub tasks: TaskTracker,
    pub next_client: Arc<AtomicU64>,
    /// What `GET /webtransport` offers pages; `None` when it is off.
    pub webtransport: Option<Offer>,
}

pub fn router(state: AppState) -> Router {
    let assets = state.ctx.config.assets.clone();
    let echo = state.ctx.config.echo_endpoint;
    let router = Router::new()
        .route("/ws", get(websocket))
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .route("/players", get(players))
        .route("/rooms", get(rooms))
        .route("/replays", get(replays))
        .route("/webtransport", get(webtransport));
    let router = if echo {
        router.route("/echo", get(echo_socket))
    } else {
        router
    };
    let router = router.with_state(state);
    match assets {
        Some(dir) => {
            // A missing page gets a small page that points at the game, with status 404.
            let not_found = ServeFile::new(dir.join("404.html"));
            router.fallback_service(ServeDir::new(dir).not_found_service(not_found))
        }
        None => router,
    }
}

async fn websocket(
    ws: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
    slot: Option<Extension<HandshakeSlot>>,
    direct: Option<Extension<DirectSocket>>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
    State(state): State<AppState>,
) -> Response {
    if let Some(refusal) = refuse_origin(&headers, &state.ctx.config.allowed_origins) {
        state.ctx.stats.refused_origin.inc();
        return refusal;
    }
    let ticket = match check_ticket(&state.ctx.config, query.as_deref()) {
        Ok(ticket) => ticket,
        Err(e) => {
            state.ctx.stats.refused_ticket.inc();
            return (StatusCode::UNAUTHORIZED, format!("{e}\n")).into_response();
        }
    };
    // The connection's place among those mid-handshake, held until its `Hello` (dropped at
    // once for a request that is not an upgrade).
    let pending = slot.and_then(|Extension(s)| s.take());
    let ws = match ws {
        Ok(ws) => ws,
        // Someone opened the game socket's address in a browser tab: say what it is.
        Err(rejection) => {
            return (
                StatusCode::UPGRADE_REQUIRED,
                [(axum::http::header::UPGRADE, "websocket")],
                format!(
                    "This is snapwire's game socket: it speaks WebSocket (PROTOCOL.md), not \
                     plain HTTP ({rejection}). Open / on this server to play in the browser.\n"
                ),
            )
                .into_response();
        }
    };
    let client = state.next_client.fetch_add(1, Ordering::Relaxed);
    let ws = configure(ws);
    ws.on_upgrade(move |socket| {
        state.tasks.track_future(async move {
            let Ok(_permit) = Arc::clone(&state.slots).try_acquire_owned() else {
                let mut socket = socket;
                let reason = CloseReason::new(CloseCode::ServerFull, "server is full".to_owned());
                return connection::close(&mut socket, client, Some(reason), &state.ctx.stats)
                    .await;
            };
            let direct = direct.map(|Extension(d)| d);
            connection::serve(socket, client, state.ctx, pending, ticket, direct).await;
        })
    })
}

/// The conformance echo (`Config::echo_endpoint`): the game socket's WebSocket settings and
/// limits, and every data message sent straight back. Control frames, UTF-8 checks, framing
/// limits and the close handshake are tungstenite's, as on `/ws`.
async fn echo_socket(ws: WebSocketUpgrade, State(state): State<AppState>) -> Response {
    configure(ws).on_upgrade(move |mut socket| {
        state.tasks.track_future(async move {
            while let Some(Ok(msg)) = socket.recv().await {
                let reply = match msg {
                    Message::Text(_) | Message::Binary(_) => msg,
                    // tungstenite has queued the close reply; closing sends it (as `/ws` does).
                    Message::Close(_) => break,
                    Message::Ping(_) | Message::Pong(_) => continue,
                };
                if socket.send(reply).await.is_err() {
                    break;
                }
            }
            let _ = futures_util::SinkExt::close(&mut socket).await;
        })
    })
}

/// The WebSocket settings of every socket this server serves.
fn configure(ws: WebSocketUpgrade) -> WebSocketUpgrade {
    ws.read_buffer_size(READ_BUFFER)
        .write_buffer_size(WRITE_BUFFER)
        .max_write_buffer_size(MAX_WRITE_BUFFER)
        .max_message_size(TRANSPORT_MAX_MESSAGE)
        .max_frame_size(TRANSPORT_MAX_MESSAGE)
}

/// The `ticket` parameter of a query string (tickets are URL-safe: no decoding needed).
/// A browser page from an origin not on the allowlist gets 403 and no socket. Only browsers send
/// `Origin`, and anything else could forge one, so a request without it is not refused here.
fn refuse_origin(headers: &HeaderMap, allowed: &[String]) -> Option<Response> {
    let origin = headers.get(axum::http::header::ORIGIN)?;
    if origin_allowed(origin.as_bytes(), allowed) {
        return None;
    }
    Some(
        (
            StatusCode::FORBIDDEN,
            format!(
                "pages from origin {:?} may not open this game socket\n",
                String::from_utf8_lossy(origin.as_bytes())
            ),
        )
            .into_response(),
    )
}

/// Whether WebTransport is on, and what a page opens a session with: the UDP port (the same
/// number as this one), the path and the certificate's SHA-256 for `serverCertificateHashes`.
async fn webtransport(State(state): State<AppState>) -> Json<serde_json::Value> {
    Json(match &state.webtransport {
        Some(offer) => offer.json(),
        None => serde_json::json!({ "enabled": false }),
    })
}

/// Public rooms: id, kind, map, clients, cap, tick rate and tick p99, the fullest first.
async fn rooms(State(state): State<AppState>) -> Json<serde_json::Value> {
    let rooms: Vec<_> = state
        .ctx
        .registry
        .public_rooms()
        .into_iter()
        .map(|r| {
            serde_json::json!({
                "id": r.id, "kind": r.kind, "game": r.game, "map": r.map, "clients": r.clients, "cap": r.cap,
                "tick_rate": r.tick_rate, "tick_p99_ms": r.tick_p99_ms,
            })
        })
        .collect();
    Json(serde_json::Value::Array(rooms))
}

/// Recorded matches that can be watched (`RoomRequest::Replay`), the newest first: at most
/// [`crate::recording::listing::LISTED`]. Empty when the server records nothing.
async fn replays(State(state): State<AppState>) -> Json<serde_json::Value> {
    let registry = Arc::clone(&state.ctx.registry);
    // Reading the files that changed is blocking work.
    let list = tokio::task::spawn_blocking(move || registry.replays())
        .await
        .unwrap_or_default();
    let replays = list
        .iter()
        .map(|r| {
            serde_json::json!({
                "id": r.id, "room": r.header.room, "kind": r.header.kind, "game": r.header.game,
                "map": r.header.map.name, "tick_rate": r.header.tick_rate,
                "started_unix_ms": r.header.started_unix_ms, "first_tick": r.first_tick,
                "ticks": r.ticks, "players": r.players, "bytes": r.bytes,
            })
        })
        .collect();
    Json(serde_json::Value::Array(replays))
}

async fn players(State(state): State<AppState>) -> Json<serde_json::Value> {
    Json(state.ctx.stats.players_json())
}

async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        state.ctx.stats.to_prometheus(),
    )
}

async fn healthz(State(state): State<AppState>) -> Json<serde_json::Value> {
    Json(state.ctx.stats.to_json())
}
