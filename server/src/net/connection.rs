//! One WebSocket connection: handshake, then a reader that parses and range-checks every frame
//! into the client's inbound queue, and a writer that sends what the tick loop leaves in the
//! client's outbox.
//!
//! Every byte from the peer is hostile: any bad frame closes this connection, with a close code
//! and a reason naming the problem, and touches nothing else.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, WebSocket};
use futures_util::{FutureExt, SinkExt, StreamExt};
use snapwire_shared::codec::{self, DecodeError};
use snapwire_shared::protocol::{
    BUTTON_ACK, ClientMsg, InputMsg, RequestError, Resume, RoomRequest, player_name,
};
use snapwire_shared::sim::PlayerInput;
use snapwire_shared::{CloseCode, PROTOCOL_VERSION};
use tokio::sync::OwnedSemaphorePermit;
use tokio::sync::mpsc::{self, error::TrySendError};
use tokio_util::sync::CancellationToken;
use tracing::{debug, info};

use crate::config::Config;
use crate::driver::admission::{ClientId, Entry, Inbound, Join, inbound_queue};
use crate::driver::directory::Spend;
use crate::driver::registry::Registry;
use crate::net::direct::DirectSocket;
use crate::net::outbox::{OutItem, Outbox};
pub use crate::room::CloseReason;
use crate::stats::ServerStats;
use crate::ticket::Ticket;

/// The close code a client sends when it leaves on purpose (RFC 6455's "normal closure"). Any
/// other end of a connection (1001 when a page unloads, none at all) keeps the player for a
/// resume.
const CLOSE_NORMAL: u16 = 1000;

/// The close handshake gets this long (a client that stopped reading may never take it).
const CLOSE_TIMEOUT: Duration = Duration::from_secs(2);

/// What a connection needs from the server.
#[derive(Debug, Clone)]
pub struct ConnectionContext {
    pub config: Arc<Config>,
    pub registry: Arc<Registry>,
    pub stats: Arc<ServerStats>,
    pub shutdown: CancellationToken,
}

/// Serves one upgraded socket until either side closes or the server shuts down.
///
/// After the handshake one loop does both directions: it sends whatever the tick loop leaves in
/// the outbox and handles each frame the client sends. One task, no split socket: each wake
/// costs one poll, which is most of the server's own CPU per client at a thousand clients.
///
/// `pending` is the connection's place under the cap on connections mid-handshake: given back
/// once the `Hello` has come (or not).
///
/// A verified `ticket` decides the player's name and, when it names one, the room.
///
/// With a `direct` socket (plain TCP) the room writes snapshots and scoreboards itself while
/// this task is idle (`net::direct`); the task then writes only the handshake's messages,
/// pings, pongs, closes and what a full socket left over.
pub async fn serve(
    mut ws: WebSocket,
    client: ClientId,
    ctx: ConnectionContext,
    pending: Option<OwnedSemaphorePermit>,
    ticket: Option<Ticket>,
    direct: Option<DirectSocket>,
) {
    let hello = handshake(&mut ws, &ctx.config, &ctx.stats).await;
    drop(pending);
    let hello = hello.and_then(|mut hello| match ticket {
        None => Ok(hello),
        Some(t) => {
            if !t.room.is_empty() {
                hello.room = RoomRequest::Join { id: t.room };
            }
            hello.name = player_name(&t.player).map_err(refused)?;
            Ok(hello)
        }
    });
    let arrival = match hello {
        Ok(hello) => entry_for(hello, &ctx).await,
        Err(reason) => Err(reason),
    };
    let (joins, entry) = match arrival {
        Ok(arrival) => arrival,
        Err(reason) => return close(&mut ws, client, Some(reason), &ctx.stats).await,
    };
    let (inbound_tx, inbound) = inbound_queue();
    let outbox = Arc::new(match &direct {
        Some(socket) => Outbox::with_direct(Arc::new(socket.clone()), ctx.stats.frames_out()),
        None => Outbox::new(),
    });
    let join = Join {
        client,
        inbound,
        link: outbox.clone(),
        entry,
    };
    let joined = tokio::select! {
        sent = joins.send(join) => sent.map_err(|_| {
            CloseReason::new(CloseCode::NoSuchRoom, "the room closed while joining; join another".to_owned())
        }),
        _ = ctx.shutdown.cancelled() => {
            Err(CloseReason::new(CloseCode::GoingAway, "server shutting down".to_owned()))
        }
    };
    if let Err(reason) = joined {
        return close(&mut ws, client, Some(reason), &ctx.stats).await;
    }

    let counted = ctx.stats.frames_out();
    // Shutdown reaches this loop through the outbox: the tick loop closes every outbox when it
    // stops, and a client's record closes its outbox when dropped (even by a panic).
    let reason = loop {
        tokio::select! {
            biased;
            item = outbox.next() => match item {
                OutItem::Tail(rest) => {
                    let limit = ctx.config.send_timeout;
                    let finished = match &direct {
                        Some(socket) => socket.finish(&rest, limit).await.is_ok(),
                        None => false,
                    };
                    if !finished {
                        debug!(client, "the rest of a frame did not go out in time; dropping");
                        ctx.stats.send_failures.inc();
                        break Stopped::Gone;
                    }
                }
                OutItem::Flush => {
                    let flushed = tokio::time::timeout(ctx.config.send_timeout, ws.flush()).await;
                    if !matches!(flushed, Ok(Ok(()))) {
                        break Stopped::Gone;
                    }
                }
                OutItem::Frame(bytes) => {
                    counted.wrote(bytes.len(), false);
                    if send_frame(&mut ws, bytes, ctx.config.send_timeout).await.is_err() {
                        debug!(client, "send failed or timed out; dropping connection");
                        ctx.stats.send_failures.inc();
                        break Stopped::Gone;
                    }
                }
                OutItem::Ping => {
                    if send_message(&mut ws, Message::Ping(axum::body::Bytes::new()), ctx.config.send_timeout).await.is_err() {
                        break Stopped::Gone;
                    }
                }
                OutItem::Close(reason) => break Stopped::Close(reason),
            },
            frame = ws.next() => match on_frame(frame, &inbound_tx, &ctx) {
                Ok(Read::Message) => {}
                // tungstenite queued a pong, and writes it on its next read unless flushed
                // first: only the socket's owner may write, so the outbox says when.
                Ok(Read::Ping) => outbox.flush(),
                Err(reason) => {
                    // Tell the tick loop at once, whatever the socket does next.
                    outbox.close(reason.clone());
                    break Stopped::Close(reason);
                }
            },
        }
    };
    // Dropping the sender tells the tick loop this client left.
    drop(inbound_tx);
    // From here on only tungstenite writes (a close, its close reply), after the rest of any
    // frame the room began.
    if let (Some(rest), Some(socket)) = (outbox.stop_direct(), &direct)
        && socket.finish(&rest, ctx.config.send_timeout).await.is_err()
    {
        outbox.close(None);
        return;
    }
    drop(direct);
    match reason {
        Stopped::Close(reason) => close(&mut ws, client, reason, &ctx.stats).await,
        Stopped::Gone => outbox.close(None),
    }
}

/// Where a `Hello` leads: back to the player its resume token names, or to a seat in the room
/// it asks for (a token the server no longer knows joins as a new player).
async fn entry_for(
    hello: Hello,
    ctx: &ConnectionContext,
) -> Result<(mpsc::Sender<Join>, Entry), CloseReason> {
    if let Some(resume) = hello.resume {
        let token = resume.token;
        match ctx.registry.directory().spend(token) {
            Spend::Live { room, member } => {
                let entry = Entry::Resume {
                    member,
                    token,
                    has_state: resume.has_state,
                };
                return Ok((room.joins.clone(), entry));
            }
            Spend::Spent => {
                ctx.stats.resumes_refused.inc();
                return Err(CloseReason::new(
                    CloseCode::ResumeRefused,
                    "that resume token was already used; join again".into(),
                ));
            }
            Spend::Unknown => {}
        }
    }
    let seat = match &hello.room {
        // Reading a recording and re-simulating it up to where the viewer starts is blocking
        // work: off the connection threads.
        RoomRequest::Replay { .. } => {
            let (registry, room) = (Arc::clone(&ctx.registry), hello.room.clone());
            tokio::task::spawn_blocking(move || registry.seat(&room))
                .await
                .unwrap_or_else(|_| {
                    Err(CloseReason::new(
                        CloseCode::InternalError,
                        "preparing the replay failed".into(),
                    ))
                })?
        }
        _ => ctx.registry.seat(&hello.room)?,
    };
    let joins = seat.room().joins.clone();
    Ok((
        joins,
        Entry::New {
            name: hello.name,
            spectate: hello.spectate,
            seat,
        },
    ))
}

/// A checked `Hello`.
struct Hello {
    name: String,
    spectate: bool,
    room: RoomRequest,
    resume: Option<Resume>,
}

/// Sends one frame; fails when the socket errs or the peer has not taken it within
/// `limit` (`--send-timeout`). A small frame nearly always goes out in the first poll, so the timer is
/// only set up for a send that has to wait.
async fn send_frame(
    ws: &mut WebSocket,
    bytes: axum::body::Bytes,
    limit: Duration,
) -> Result<(), ()> {
    send_message(ws, Message::Binary(bytes), limit).await
}

async fn send_message(ws: &mut WebSocket, msg: Message, limit: Duration) -> Result<(), ()> {
    match ws.send(msg).now_or_never() {
        Some(sent) => sent.map_err(drop),
        // Every frame is flushed before the next is taken, so the sink was ready and the first
        // poll handed the frame to tungstenite: what is left is draining its buffer.
        None => tokio::time::timeout(limit, ws.flush())
            .await
            .map_err(drop)?
            .map_err(drop),
    }
}

/// What a frame from the client asks of the writer.
enum Read {
    Message,
    /// A ping: tungstenite has queued its pong.
    Ping,
}

/// Why the connection loop ended.
enum Stopped {
    /// Send a close frame (when there is a reason) and end the socket.
    Close(Option<CloseReason>),
    /// The socket is unusable; nothing more can be sent.
    Gone,
}

/// Sends a close frame when there is a reason, then ends the socket.
pub async fn close(
    ws: &mut WebSocket,
    client: ClientId,
    reason: Option<CloseReason>,
    stats: &ServerStats,
) {
    if let Some(CloseReason { code, words: text }) = reason {
        stats.count_close(code.code(), is_bad_input(code));
        info!(client, code = code.code(), reason = %text, "closing connection");
        let frame = CloseFrame {
            code: code.code(),
            reason: truncate(&text, 123).into(),
        };
        let sent = tokio::time::timeout(CLOSE_TIMEOUT, ws.send(Message::Close(Some(frame)))).await;
        if matches!(sent, Ok(Ok(()))) {
            // Read (and discard) until the client's close comes back. Closing the socket with
            // its inputs unread makes the kernel reset the connection, and a browser that sees
            // the reset before the close frame reports 1006 without the reason.
            let until = tokio::time::Instant::now() + CLOSE_TIMEOUT;
            while let Ok(Some(Ok(msg))) = tokio::time::timeout_at(until, ws.next()).await {
                if matches!(msg, Message::Close(_)) {
                    break;
                }
            }
        }
    }
    let _ = tokio::time::timeout(CLOSE_TIMEOUT, SinkExt::close(ws)).await;
}

/// Waits for `Hello`, checking version, name and room request.
async fn handshake(
    ws: &mut WebSocket,
    config: &Config,
    stats: &ServerStats,
) -> Result<Hello, CloseReason> {
    let first = tokio::time::timeout(config.hello_timeout, ws.next())
        .await
        .map_err(|_| {
            CloseReason::new(
                CloseCode::Handshake,
                format!("no Hello within {:?}", config.hello_timeout),
            )
        })?;
    let bytes = match first {
        Some(Ok(Message::Binary(bytes))) => {
            stats.frames_in.inc();
            stats.bytes_in.inc_by(bytes.len() as u64);
            bytes
        }
        Some(Ok(Message::Text(_))) => return Err(text_frame()),
        Some(Ok(_)) => {
            return Err(CloseReason::new(
                CloseCode::Handshake,
                "the first message must be a binary Hello".into(),
            ));
        }
        Some(Err(e)) => {
            return Err(classify(&e).unwrap_or(CloseReason::new(
                CloseCode::GoingAway,
                "connection lost before Hello".into(),
            )));
        }
        None => {
            return Err(CloseReason::new(
                CloseCode::Handshake,
                "closed before Hello".into(),
            ));
        }
    };
    match decode(&bytes)? {
        ClientMsg::Hello {
            protocol_version, ..
        } if protocol_version != PROTOCOL_VERSION => Err(CloseReason::new(
            CloseCode::VersionMismatch,
            format!(
                "client protocol {protocol_version}, server {PROTOCOL_VERSION}: a new version is deployed, reload"
            ),
        )),
        ClientMsg::Hello {
            name,
            spectate,
            room,
            resume,
            ..
        } => Ok(Hello {
            name: player_name(&name).map_err(refused)?,
            spectate,
            room: {
                room.check().map_err(refused)?;
                room
            },
            resume,
        }),
        _ => Err(CloseReason::new(
            CloseCode::Handshake,
            "the first message must be Hello".into(),
        )),
    }
}

/// Handles one frame from the client: `Err` ends the connection, with a close reason when the
/// client broke a rule (`None` when it closed or the tick loop already dropped it).
fn on_frame(
    frame: Option<Result<Message, axum::Error>>,
    inbound: &mpsc::Sender<Inbound>,
    ctx: &ConnectionContext,
) -> Result<Read, Option<CloseReason>> {
    let msg = match frame {
        Some(Ok(Message::Binary(bytes))) => {
            ctx.stats.frames_in.inc();
            ctx.stats.bytes_in.inc_by(bytes.len() as u64);
            parse_message(&bytes).map_err(Some)?
        }
        Some(Ok(Message::Text(_))) => return Err(Some(text_frame())),
        Some(Ok(Message::Close(Some(frame)))) if frame.code == CLOSE_NORMAL => {
            // Leaving on purpose: the room removes the player now instead of keeping it for a
            // resume. A full queue loses this; the player is then kept for the grace period.
            let _ = inbound.try_send(Inbound::Leave);
            return Err(None);
        }
        Some(Ok(Message::Close(_))) | None => return Err(None),
        // tungstenite answers pings; a pong (to the server's keep-alive ping) is no message.
        Some(Ok(Message::Ping(_))) => return Ok(Read::Ping),
        Some(Ok(Message::Pong(_))) => return Ok(Read::Message),
        // A reset or broken pipe is the network, not the client's fault: no close, no count.
        Some(Err(e)) => return Err(classify(&e)),
    };
    match inbound.try_send(msg) {
        Ok(()) => Ok(Read::Message),
        Err(TrySendError::Full(_)) => Err(Some(CloseReason::new(
            CloseCode::Flooding,
            "more messages than the server drains per tick".into(),
        ))),
        // The tick loop dropped this client (shutdown or a bad ack).
        Err(TrySendError::Closed(_)) => Err(None),
    }
}

/// A frame after the handshake, decoded and range-checked into what the room takes: the one
/// path every client message goes through (tests drive rooms through it too).
pub fn parse_message(bytes: &[u8]) -> Result<Inbound, CloseReason> {
    match decode(bytes)? {
        ClientMsg::Hello { .. } => Err(CloseReason::new(
            CloseCode::Handshake,
            "Hello sent twice".into(),
        )),
        ClientMsg::Ack { tick } => Ok(Inbound::Ack(tick)),
        ClientMsg::Input(input) => parse_input(&input),
    }
}

fn decode(bytes: &[u8]) -> Result<ClientMsg, CloseReason> {
    codec::decode_client(bytes).map_err(|e| match e {
        DecodeError::TooLarge { len, limit } => CloseReason::new(
            CloseCode::TooLarge,
            format!("message of {len} bytes is over the {limit}-byte limit"),
        ),
        other => CloseReason::new(CloseCode::Malformed, other.to_string()),
    })
}

/// Range-checks an input's values. Its 16-bit sequence number and tick are the room's to
/// extend and judge: only the room knows its tick and the client's last input.
fn parse_input(msg: &InputMsg) -> Result<Inbound, CloseReason> {
    let input = PlayerInput::parse(msg).map_err(|e| {
        CloseReason::new(CloseCode::InvalidValue, format!("input {}: {e}", msg.seq))
    })?;
    Ok(Inbound::Input {
        seq: msg.seq,
        tick: msg.tick,
        input,
        ack: msg.buttons & BUTTON_ACK != 0,
    })
}

/// A name or room request the protocol refuses closes with 4002 and the rule in words.
fn refused(e: RequestError) -> CloseReason {
    CloseReason::new(CloseCode::InvalidValue, e.to_string())
}

/// What a WebSocket error means for the connection: the transport failing (an I/O error: no
/// close, not the client's fault), or the client breaking the WebSocket protocol (a close with
/// the code RFC 6455 gives it).
fn classify(e: &axum::Error) -> Option<CloseReason> {
    let mut source: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(e);
    while let Some(s) = source {
        if s.is::<std::io::Error>() {
            return None;
        }
        if let Some(t) = s.downcast_ref::<tungstenite::Error>() {
            return Some(match t {
                // The peer's TCP connection ended without a close frame: a vanished client
                // (a killed tab, a dead phone), the network's doing, not a broken rule. It
                // stays resumable, and is not counted as bad input.
                tungstenite::Error::Io(_)
                | tungstenite::Error::ConnectionClosed
                | tungstenite::Error::AlreadyClosed
                | tungstenite::Error::Protocol(
                    tungstenite::error::ProtocolError::ResetWithoutClosingHandshake,
                ) => return None,
                tungstenite::Error::Capacity(c) => {
                    CloseReason::new(CloseCode::TooLarge, c.to_string())
                }
                tungstenite::Error::Protocol(p) => {
                    CloseReason::new(CloseCode::ProtocolError, p.to_string())
                }
                other => {
                    CloseReason::new(CloseCode::Malformed, format!("websocket error: {other}"))
                }
            });
        }
        source = s.source();
    }
    Some(CloseReason::new(
        CloseCode::Malformed,
        format!("websocket error: {e}"),
    ))
}

fn text_frame() -> CloseReason {
    CloseReason::new(
        CloseCode::TextFrame,
        "text frames are not part of the protocol; send binary".into(),
    )
}

fn is_bad_input(code: CloseCode) -> bool {
    !matches!(
        code,
        CloseCode::GoingAway | CloseCode::ServerFull | CloseCode::InternalError
    )
}

fn truncate(s: &str, max: usize) -> String {
    let mut end = s.len().min(max);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s[..end].to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn websocket_errors_get_the_close_their_cause_deserves() {
        let reset = std::io::Error::from(std::io::ErrorKind::ConnectionReset);
        assert_eq!(classify(&axum::Error::new(reset)), None);
        let protocol = tungstenite::Error::Protocol(
            tungstenite::error::ProtocolError::UnmaskedFrameFromClient,
        );
        let code = classify(&axum::Error::new(protocol)).map(|r| r.code);
        assert_eq!(code, Some(CloseCode::ProtocolError));
        let size =
            tungstenite::Error::Capacity(tungstenite::error::CapacityError::MessageTooLong {
                size: 9,
                max_size: 1,
            });
        let code = classify(&axum::Error::new(size)).map(|r| r.code);
        assert_eq!(code, Some(CloseCode::TooLarge));
    }
}
