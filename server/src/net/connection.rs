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
use snapwire_shared::CloseCode;
use tokio::sync::OwnedSemaphorePermit;
use tokio::sync::mpsc::{self, error::TrySendError};
use tracing::{debug, info};

use crate::config::Config;
use crate::driver::admission::{ClientId, Inbound, Join, inbound_queue};
use crate::net::direct::DirectSocket;
use crate::net::outbox::{OutItem, Outbox};
use crate::net::session::{
    ConnectionContext, Hello, entry_for, hand_in, is_bad_input, parse_message, read_hello,
    truncate, with_ticket,
};
pub use crate::room::CloseReason;
use crate::stats::{ServerStats, Transport};
use crate::ticket::Ticket;

/// The close code a client sends when it leaves on purpose (RFC 6455's "normal closure"). Any
/// other end of a connection (1001 when a page unloads, none at all) keeps the player for a
/// resume.
const CLOSE_NORMAL: u16 = 1000;

/// The close handshake gets this long (a client that stopped reading may never take it).
const CLOSE_TIMEOUT: Duration = Duration::from_secs(2);

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
    let hello = hello.and_then(|hello| with_ticket(hello, ticket));
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
        Some(socket) => Outbox::with_direct(
            Arc::new(socket.clone()),
            ctx.stats.frames_out(Transport::Websocket),
        ),
        None => Outbox::new(),
    });
    let join = Join {
        client,
        inbound,
        link: outbox.clone(),
        entry,
    };
    if let Err(reason) = hand_in(joins, join, &ctx.shutdown).await {
        return close(&mut ws, client, Some(reason), &ctx.stats).await;
    }

    let counted = ctx.stats.frames_out(Transport::Websocket);
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
            stats.frame_in(Transport::Websocket, bytes.len());
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
    read_hello(&bytes)
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
            ctx.stats.frame_in(Transport::Websocket, bytes.len());
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
