//! One WebTransport session, from the browser's CONNECT to its end: the request's path, Origin
//! and ticket, the session stream the client opens (its first frame is the `Hello`), then one
//! loop doing both directions, as the WebSocket connection's does: what the room leaves on the
//! stream side of the link goes out framed ([`snapwire_shared::stream`]); every datagram in is
//! one client message (an input or an ack), parsed and range-checked like a WebSocket frame.
//!
//! Bytes from the peer are hostile: a bad frame or datagram closes this session with a code and
//! a reason on the stream, and touches nothing else.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use snapwire_shared::CloseCode;
use snapwire_shared::protocol::MAX_CLIENT_MSG_BYTES;
use snapwire_shared::stream::{self, Frame};
use tokio::sync::mpsc::error::TrySendError;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;
use tracing::{debug, info};
use wtransport::endpoint::IncomingSession;
use wtransport::error::ConnectionError;
use wtransport::{Connection, RecvStream, SendStream, VarInt};

use super::PATH;
use super::link::DatagramLink;
use crate::driver::admission::{ClientId, Inbound, Join, inbound_queue};
use crate::net::outbox::OutItem;
use crate::net::session::{
    ConnectionContext, Hello, check_ticket, entry_for, hand_in, is_bad_input, origin_allowed,
    parse_datagram, parse_message, read_hello, truncate, with_ticket,
};
use crate::room::CloseReason;
use crate::stats::Transport;

/// The close code a client gives when it leaves on purpose (WebSocket's "normal closure").
const CLOSE_NORMAL: u16 = 1000;

/// A close gets this long to reach the client before the connection is cut.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(2);

/// What every session task shares with the WebSocket side: the server, and the caps.
#[derive(Debug)]
pub(super) struct Gate {
    pub ctx: ConnectionContext,
    /// One permit per connected client, WebSocket and WebTransport together.
    pub slots: Arc<Semaphore>,
    pub next_client: Arc<AtomicU64>,
}

/// Serves one incoming session until either side ends it. `pending` is its place under the cap
/// on connections mid-handshake, given back once the `Hello` has come (or not).
pub(super) async fn serve(
    incoming: IncomingSession,
    gate: Arc<Gate>,
    pending: OwnedSemaphorePermit,
) {
    let ctx = &gate.ctx;
    // The QUIC and HTTP/3 handshakes and the CONNECT request get `--header-timeout`, as an
    // HTTP request's headers do; one that fails or stalls has no one to tell.
    let handshake = Instant::now() + ctx.config.header_timeout;
    let Ok(Ok(request)) = tokio::time::timeout_at(handshake, incoming.into_future()).await else {
        debug!("a WebTransport handshake failed or stalled");
        return;
    };
    let (path, query) = match request.path().split_once('?') {
        Some((path, query)) => (path.to_owned(), Some(query.to_owned())),
        None => (request.path().to_owned(), None),
    };
    if path != PATH {
        request.not_found().await;
        return;
    }
    if let Some(origin) = request.origin()
        && !origin_allowed(origin.as_bytes(), &ctx.config.allowed_origins)
    {
        ctx.stats.refused_origin.inc();
        request.forbidden().await;
        return;
    }
    let ticket = match check_ticket(&ctx.config, query.as_deref()) {
        Ok(ticket) => ticket,
        Err(e) => {
            debug!("WebTransport session refused: {e}");
            ctx.stats.refused_ticket.inc();
            request.forbidden().await;
            return;
        }
    };
    let Ok(Ok(connection)) = tokio::time::timeout_at(handshake, request.accept()).await else {
        return;
    };
    // Then the session stream and its `Hello` get `--hello-timeout`, as on WebSocket.
    let deadline = Instant::now() + ctx.config.hello_timeout;
    let Ok(Ok((mut send, mut recv))) =
        tokio::time::timeout_at(deadline, connection.accept_bi()).await
    else {
        connection.close(VarInt::from_u32(0), b"no session stream");
        return;
    };
    let client = gate.next_client.fetch_add(1, Ordering::Relaxed);
    ctx.stats.webtransport_sessions.inc();
    let Ok(_slot) = Arc::clone(&gate.slots).try_acquire_owned() else {
        let full = CloseReason::new(CloseCode::ServerFull, "server is full".to_owned());
        return close(&mut send, &connection, client, Some(full), ctx).await;
    };
    let mut reader = stream::Reader::new(MAX_CLIENT_MSG_BYTES + 1);
    let hello = first_hello(&mut recv, &mut reader, deadline, ctx).await;
    drop(pending);
    let arrival = match hello.and_then(|hello| with_ticket(hello, ticket)) {
        Ok(hello) => entry_for(hello, ctx).await,
        Err(reason) => Err(reason),
    };
    let (joins, entry) = match arrival {
        Ok(arrival) => arrival,
        Err(reason) => return close(&mut send, &connection, client, Some(reason), ctx).await,
    };
    let (inbound_tx, inbound) = inbound_queue();
    let link = Arc::new(DatagramLink::new(
        connection.clone(),
        ctx.stats.frames_out(Transport::Webtransport),
    ));
    let join = Join {
        client,
        inbound,
        link: link.clone(),
        entry,
    };
    if let Err(reason) = hand_in(joins, join, &ctx.shutdown).await {
        return close(&mut send, &connection, client, Some(reason), ctx).await;
    }

    let counted = ctx.stats.frames_out(Transport::Webtransport);
    let mut buf = vec![0u8; 4096];
    // The newest input passed on to the room: a datagram repeats the last few.
    let mut newest_input = None;
    // Shutdown reaches this loop through the link: the room closes every link when it stops.
    let reason: Option<CloseReason> = loop {
        tokio::select! {
            biased;
            item = link.outbox.next() => match item {
                OutItem::Frame(bytes) => {
                    counted.wrote(bytes.len(), false);
                    let framed = stream::message(&bytes);
                    let sent = tokio::time::timeout(ctx.config.send_timeout, send.write_all(&framed)).await;
                    if !matches!(sent, Ok(Ok(()))) {
                        debug!(client, "the session stream did not take a frame in time; dropping");
                        ctx.stats.send_failures.inc();
                        break None;
                    }
                }
                OutItem::Close(reason) => break reason,
                // No socket of its own to flush, ping or finish: QUIC does those.
                OutItem::Flush | OutItem::Ping | OutItem::Tail(_) => {}
            },
            datagram = connection.receive_datagram() => match datagram {
                Ok(datagram) => {
                    let bytes = datagram.payload();
                    ctx.stats.frame_in(Transport::Webtransport, bytes.len());
                    let mut repeated = 0;
                    let parsed = parse_datagram(&bytes, &mut newest_input, &mut repeated, |inbound| {
                        deliver(Ok(inbound), &inbound_tx)
                    });
                    ctx.stats.inputs_repeated.inc_by(repeated);
                    if let Err(reason) = parsed {
                        link.outbox.close(reason.clone());
                        break reason;
                    }
                }
                Err(e) => break gone(e, &inbound_tx),
            },
            read = recv.read(&mut buf) => match read {
                Ok(Some(n)) => {
                    reader.push(&buf[..n]);
                    match on_stream(&mut reader, &inbound_tx, ctx) {
                        Ok(()) => {}
                        Err(reason) => {
                            link.outbox.close(reason.clone());
                            break reason;
                        }
                    }
                }
                // The client finished its side of the stream: it is leaving.
                Ok(None) | Err(_) => break None,
            },
        }
    };
    // Dropping the sender tells the room this client left (or went away).
    drop(inbound_tx);
    link.outbox.close(reason.clone());
    close(&mut send, &connection, client, reason, ctx).await;
}

/// Reads until the first frame, which must be a `Hello`.
async fn first_hello(
    recv: &mut RecvStream,
    reader: &mut stream::Reader,
    deadline: Instant,
    ctx: &ConnectionContext,
) -> Result<Hello, CloseReason> {
    let mut buf = [0u8; 1024];
    loop {
        match reader.next_frame() {
            Ok(Some(Frame::Message(bytes))) => {
                ctx.stats.frame_in(Transport::Webtransport, bytes.len());
                return read_hello(&bytes);
            }
            Ok(Some(Frame::Close { .. })) => {
                return Err(CloseReason::new(
                    CloseCode::Handshake,
                    "closed before Hello".into(),
                ));
            }
            Ok(None) => {}
            Err(e) => return Err(frame_error(e)),
        }
        match tokio::time::timeout_at(deadline, recv.read(&mut buf)).await {
            Ok(Ok(Some(n))) => reader.push(&buf[..n]),
            Ok(_) => {
                return Err(CloseReason::new(
                    CloseCode::Handshake,
                    "closed before Hello".into(),
                ));
            }
            Err(_) => {
                return Err(CloseReason::new(
                    CloseCode::Handshake,
                    format!("no Hello within {:?}", ctx.config.hello_timeout),
                ));
            }
        }
    }
}

/// The frames the client sent on the session stream after its `Hello`: messages (a client may
/// send its inputs and acks here too) or its close.
fn on_stream(
    reader: &mut stream::Reader,
    inbound: &tokio::sync::mpsc::Sender<Inbound>,
    ctx: &ConnectionContext,
) -> Result<(), Option<CloseReason>> {
    loop {
        match reader.next_frame() {
            Ok(Some(Frame::Message(bytes))) => {
                ctx.stats.frame_in(Transport::Webtransport, bytes.len());
                deliver(parse_message(&bytes), inbound)?;
            }
            Ok(Some(Frame::Close { code, .. })) => {
                if code == CLOSE_NORMAL {
                    // Leaving on purpose: the room removes the player now instead of keeping it
                    // for a resume. A full queue loses this; the player is then kept.
                    let _ = inbound.try_send(Inbound::Leave);
                }
                return Err(None);
            }
            Ok(None) => return Ok(()),
            Err(e) => return Err(Some(frame_error(e))),
        }
    }
}

/// A parsed message into the client's queue, which the room drains every tick.
fn deliver(
    parsed: Result<Inbound, CloseReason>,
    inbound: &tokio::sync::mpsc::Sender<Inbound>,
) -> Result<(), Option<CloseReason>> {
    match inbound.try_send(parsed.map_err(Some)?) {
        Ok(()) => Ok(()),
        Err(TrySendError::Full(_)) => Err(Some(CloseReason::new(
            CloseCode::Flooding,
            "more messages than the server drains per tick".into(),
        ))),
        // The room dropped this client (shutdown or a bad ack).
        Err(TrySendError::Closed(_)) => Err(None),
    }
}

/// How the session ended when the connection did: a client that closed it with 1000 left on
/// purpose; anything else is the network's doing, and the player may resume.
fn gone(e: ConnectionError, inbound: &tokio::sync::mpsc::Sender<Inbound>) -> Option<CloseReason> {
    if let ConnectionError::ApplicationClosed(close) = &e
        && close.code() == VarInt::from_u32(u32::from(CLOSE_NORMAL))
    {
        let _ = inbound.try_send(Inbound::Leave);
    }
    None
}

fn frame_error(e: stream::FrameError) -> CloseReason {
    let code = match e {
        stream::FrameError::TooLarge { .. } => CloseCode::TooLarge,
        _ => CloseCode::Malformed,
    };
    CloseReason::new(code, e.to_string())
}

/// Sends the close on the session stream when there is a reason, waits (briefly) for the client
/// to have it, then ends the connection.
async fn close(
    send: &mut SendStream,
    connection: &Connection,
    client: ClientId,
    reason: Option<CloseReason>,
    ctx: &ConnectionContext,
) {
    let Some(CloseReason { code, words }) = reason else {
        connection.close(VarInt::from_u32(0), b"");
        return;
    };
    ctx.stats.count_close(code.code(), is_bad_input(code));
    info!(client, code = code.code(), reason = %words, "closing WebTransport session");
    let framed = stream::close(code.code(), &words);
    let _ = tokio::time::timeout(CLOSE_TIMEOUT, async {
        // Finishing waits until the client has acknowledged every byte, the close included.
        if send.write_all(&framed).await.is_ok() {
            let _ = send.finish().await;
        }
        // Acknowledged is not read: a browser drops what its page has not read yet when the
        // connection closes (a page then saw 1006 instead of the server's 1001 and tried to
        // resume). The client ends the session once it has read the close; the server ends
        // it after the rest of the timeout.
        connection.closed().await;
    })
    .await;
    let words = truncate(&words, stream::MAX_CLOSE_REASON_BYTES);
    connection.close(VarInt::from_u32(u32::from(code.code())), words.as_bytes());
}
