//! One headless bot: connects, plays with random-walk inputs at the tick rate, rebuilds every
//! snapshot with the shared client logic, acknowledges, and measures.

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use snapwire_shared::client::{ClientSession, SessionError, SessionEvent};
use snapwire_shared::codec;
use snapwire_shared::protocol::{ClientMsg, input_acked};
use snapwire_shared::quantize::pos_to_units;
use snapwire_shared::sim::World;
use snapwire_shared::tag::Tag;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

use crate::pilot::{BotGame, Walker};
use crate::report::BotResult;
use crate::{BotOptions, GameChoice, Live};

/// How long a bot waits for the connection and `Welcome`.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// A server that sends nothing for this long is taken for dead (a dead link looks like this:
/// no close, no reset, nothing). It sends a snapshot a tick, a ping when a client is quiet.
pub const SERVER_SILENT: Duration = Duration::from_secs(5);

/// Runs bot number `index` until `deadline`.
pub async fn run_bot(
    index: usize,
    opts: Arc<BotOptions>,
    live: Arc<Live>,
    deadline: Instant,
) -> BotResult {
    let mut result = BotResult::default();
    let played = match opts.game {
        GameChoice::Arena => play::<World>(index, &opts, &live, deadline, &mut result).await,
        GameChoice::Tag => play::<Tag>(index, &opts, &live, deadline, &mut result).await,
    };
    if let Err(e) = played {
        result.error = Some(e);
    }
    result
}

async fn play<G: BotGame>(
    index: usize,
    opts: &BotOptions,
    live: &Live,
    deadline: Instant,
    result: &mut BotResult,
) -> Result<(), String> {
    // Nagle off: an input must leave the moment it is made.
    let connect =
        tokio_tungstenite::connect_async_with_config(opts.socket_url(), Some(ws_config()), true);
    let (ws, _) = tokio::time::timeout(CONNECT_TIMEOUT, connect)
        .await
        .map_err(|_| "connect timed out".to_owned())?
        .map_err(|e| format!("connect failed: {e}"))?;
    // One stream for both directions (no split): each wake is one poll, no lock.
    let mut ws = ws;
    let (mut session, hello) =
        ClientSession::<G>::joining(&format!("bot{index}"), opts.spectate, opts.room.clone());
    if let Some(k) = opts.spectator_ack_every {
        session.set_spectator_ack_every(k);
    }
    send(&mut ws, &hello, result).await?;

    let welcome = tokio::time::timeout(CONNECT_TIMEOUT, ws.next())
        .await
        .map_err(|_| "no Welcome".to_owned())?;
    match welcome {
        Some(Ok(Message::Binary(b))) => match session.handle(&b) {
            Ok(SessionEvent::Welcome(w)) => result.room = Some(w.room),
            Ok(other) => return Err(format!("expected Welcome, got {other:?}")),
            Err(e) => {
                // A room of another game, or a Welcome the rules cannot run with: leave
                // politely.
                let _ = ws.send(Message::Close(None)).await;
                return Err(e.to_string());
            }
        },
        Some(Ok(Message::Close(frame))) => {
            result.close_code = frame.as_ref().map(|f| u16::from(f.code));
            return Err(format!("closed during handshake: {frame:?}"));
        }
        other => return Err(format!("expected Welcome, got {other:?}")),
    }
    result.connected = true;
    live.connected.fetch_add(1, Ordering::Relaxed);
    let started = Instant::now();
    let tick_rate = session.welcome().map_or(60, |w| w.tick_rate);
    let mut inputs = tokio::time::interval(Duration::from_secs(1) / u32::from(tick_rate.max(1)));
    inputs.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut walker = Walker::new(index as u64 ^ opts.seed, opts.fire);
    let mut sent_at: VecDeque<(u32, Instant)> = VecDeque::new();
    let mut origin = None;
    let end = tokio::time::sleep_until(tokio::time::Instant::from_std(deadline));
    tokio::pin!(end);
    let mut last_heard = Instant::now();
    let mut watchdog = tokio::time::interval(SERVER_SILENT / 5);

    let outcome = loop {
        tokio::select! {
            frame = ws.next() => {
                last_heard = Instant::now();
                let bytes = match frame {
                    Some(Ok(Message::Binary(b))) => b,
                    Some(Ok(Message::Close(frame))) => {
                        result.close_code = frame.as_ref().map(|f| u16::from(f.code));
                        break Err(format!("server closed: {}", frame.map_or(String::new(), |f| f.reason.to_string())));
                    }
                    Some(Ok(_)) => continue,
                    Some(Err(e)) => break Err(format!("websocket error: {e}")),
                    None => break Err("connection ended".to_owned()),
                };
                result.bytes_in += bytes.len() as u64;
                live.bytes_in.fetch_add(bytes.len() as u64, Ordering::Relaxed);
                match session.handle(&bytes) {
                    Ok(SessionEvent::Snapshot { tick, last_input_seq, .. }) => {
                        live.snapshots.fetch_add(1, Ordering::Relaxed);
                        let now = Instant::now();
                        while let Some(&(seq, at)) = sent_at.front() {
                            if input_acked(seq, last_input_seq) {
                                let us = (now - at).as_micros().max(1) as u64;
                                let _ = result.input_to_ack_us.record(us);
                                live.latency.record(us);
                                sent_at.pop_front();
                            } else {
                                break;
                            }
                        }
                        track_travel(&session, &mut origin, result);
                        if !opts.acks.should_ack(tick.0, started.elapsed()) {
                            session.withhold_ack();
                        } else if let Some(ack) = session.take_ack() {
                            send(&mut ws, &ack, result).await?;
                        }
                    }
                    Ok(_) => {}
                    Err(SessionError::Desync(e)) => {
                        live.desyncs.fetch_add(1, Ordering::Relaxed);
                        tracing::warn!(bot = index, "desync: {e}");
                    }
                    Err(e) => break Err(e.to_string()),
                }
            }
            _ = inputs.tick(), if !opts.spectate => {
                let (mx, my, aim, fire) = G::controls(&mut walker, &session);
                if let Some(msg) = session.input(mx, my, aim, fire) {
                    if let ClientMsg::Input(_) = &msg {
                        sent_at.push_back((session.last_sent_seq(), Instant::now()));
                        if sent_at.len() > 1024 {
                            sent_at.pop_front();
                        }
                    }
                    result.inputs_sent += 1;
                    send(&mut ws, &msg, result).await?;
                }
            }
            _ = watchdog.tick() => {
                if last_heard.elapsed() > SERVER_SILENT {
                    break Err(format!("server went silent (nothing for {SERVER_SILENT:?})"));
                }
            }
            _ = &mut end => break Ok(()),
        }
    };
    result.active_s = started.elapsed().as_secs_f64();
    result.snapshots = session.stats.snapshots;
    result.full_snapshots = session.stats.full_snapshots;
    result.desyncs = session.stats.desyncs;
    result.last_acked_input = session.last_input_seq();
    result.last_view_entities = session.replica().latest().map_or(0, |(_, v)| v.len());
    if let Some(p) = session.predictor() {
        result.prediction_checks = p.checked;
        result.mispredictions = p.mispredictions;
    }
    let _ = ws.send(Message::Close(None)).await;
    outcome
}

/// Small socket buffers, for the reasons the server's `http.rs` gives: tungstenite zero-fills
/// its read buffer before every read (128 KiB by default), which at a thousand bots filled a
/// core by itself. Snapshots are a few hundred bytes; a larger one grows the buffer as needed.
fn ws_config() -> WebSocketConfig {
    WebSocketConfig::default()
        .read_buffer_size(READ_BUFFER)
        .write_buffer_size(0)
        .max_write_buffer_size(64 * 1024)
}

/// Bytes a bot reads from its socket at once: a few snapshots of a crowded view.
const READ_BUFFER: usize = 2 * 1024;

async fn send<S>(sink: &mut S, msg: &ClientMsg, result: &mut BotResult) -> Result<(), String>
where
    S: futures_util::Sink<Message> + Unpin,
    S::Error: std::fmt::Display,
{
    let bytes = codec::encode_client(msg);
    result.bytes_out += bytes.len() as u64;
    sink.send(Message::Binary(bytes.into()))
        .await
        .map_err(|e| format!("send failed: {e}"))
}

fn track_travel<G: BotGame>(
    session: &ClientSession<G>,
    origin: &mut Option<(i32, i32)>,
    result: &mut BotResult,
) {
    let (Some(id), Some((_, view))) = (session.player_id(), session.replica().latest()) else {
        return;
    };
    let Some(me) = view.get(id).map(G::position_of) else {
        return;
    };
    let (ox, oy) = *origin.get_or_insert((me.x, me.y));
    let d = pos_to_units(me.x - ox).hypot(pos_to_units(me.y - oy));
    result.max_travel_units = result.max_travel_units.max(d);
}
