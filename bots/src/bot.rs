//! One headless bot: connects, plays with random-walk inputs at the tick rate, rebuilds every
//! snapshot with the shared client logic, acknowledges, and measures.

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use rand::{Rng, SeedableRng};
use snapwire_shared::CloseCode;
use snapwire_shared::client::{ClientSession, Interpolator, SessionError, SessionEvent};
use snapwire_shared::protocol::{ClientMsg, input_acked};
use snapwire_shared::quantize::pos_to_units;
use snapwire_shared::sim::World;
use snapwire_shared::tag::Tag;
use thiserror::Error;
use tokio_tungstenite::tungstenite::{self, protocol::WebSocketConfig};

use crate::link::{Incoming, Link, LinkError, WtDialer, WtError};
use crate::pilot::{BotGame, Walker};
use crate::report::BotResult;
use crate::{BotOptions, GameChoice, Live};

/// How long a bot waits for the connection and `Welcome`.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// A server that sends nothing for this long is taken for dead (a dead link looks like this:
/// no close, no reset, nothing). It sends a snapshot a tick, a ping when a client is quiet.
pub const SERVER_SILENT: Duration = Duration::from_secs(5);

/// Runs bot number `index` until `deadline`.
/// Over WebTransport, `dialer` is what every session starts from (or why there is none).
pub async fn run_bot(
    index: usize,
    opts: Arc<BotOptions>,
    dialer: Option<Arc<Result<WtDialer, WtError>>>,
    live: Arc<Live>,
    deadline: Instant,
) -> BotResult {
    let mut result = BotResult {
        index,
        ..BotResult::default()
    };
    let dialer = dialer.as_deref();
    let played = match opts.game {
        GameChoice::Arena => {
            play::<World>(index, &opts, dialer, &live, deadline, &mut result).await
        }
        GameChoice::Tag => play::<Tag>(index, &opts, dialer, &live, deadline, &mut result).await,
    };
    if let Err(e) = played {
        result.error = Some(e.to_string());
    }
    result
}

/// First wait before reconnecting; doubled per failed attempt up to [`RECONNECT_MAX`], with
/// jitter (half to all of it), so a thousand bots dropped at once do not come back in one
/// burst.
const RECONNECT_FIRST: Duration = Duration::from_millis(100);
const RECONNECT_MAX: Duration = Duration::from_secs(2);

/// A bot dropped just before the run ends keeps reconnecting this much longer, so "connected
/// at the end" counts a link that failed, not one caught mid-reconnect by the clock.
const FINISH_GRACE: Duration = Duration::from_secs(5);

/// Attempts at a first WebTransport session before the bot gives up.
const FIRST_WT_ATTEMPTS: u32 = 3;

/// How one connection ended.
enum Ended {
    /// The run's time is up.
    Done,
    /// The link failed (reset, end of stream, silence, or the server's idle close): worth a
    /// reconnect.
    Dropped(BotError),
}

/// Why a bot's connection ended before its time, or never began. The report keeps its words
/// (`BotResult::error`) and counts them (`error_kinds`).
#[derive(Debug, Error)]
pub enum BotError {
    #[error("connect timed out")]
    ConnectTimeout,
    #[error("connect failed: {0}")]
    Connect(tungstenite::Error),
    #[error("no Welcome")]
    NoWelcome,
    /// The first answer was something else (its debug form).
    #[error("expected Welcome, got {0}")]
    NotWelcome(String),
    #[error("closed during handshake: {0:?}")]
    ClosedInHandshake(Option<(u16, String)>),
    #[error("webtransport: {0}")]
    WebTransport(WtError),
    #[error("no webtransport: {0}")]
    NoWebTransport(String),
    #[error(transparent)]
    Session(#[from] SessionError),
    #[error("server closed: {0}")]
    ServerClosed(String),
    #[error("{0}")]
    Failed(String),
    #[error("server went silent (nothing for {0:?})")]
    Silent(Duration),
    #[error("send failed: {0}")]
    Send(LinkError),
}

async fn play<G: BotGame>(
    index: usize,
    opts: &BotOptions,
    dialer: Option<&Result<WtDialer, WtError>>,
    live: &Live,
    deadline: Instant,
    result: &mut BotResult,
) -> Result<(), BotError> {
    let (mut session, hello) =
        ClientSession::<G>::joining(&format!("bot{index}"), opts.spectate, opts.room.clone());
    if let Some(k) = opts.spectator_ack_every {
        session.set_spectator_ack_every(k);
    }
    let mut state = PlayState {
        interpolator: None,
        clock: Instant::now(),
        walker: Walker::new(index as u64 ^ opts.seed, opts.fire),
        sent_at: VecDeque::new(),
        origin: None,
        before_drop: None,
        first_snapshot: None,
        last_snapshot: None,
    };
    let mut hello = hello;
    let mut failures = 0u32;
    let mut rng = rand::rngs::SmallRng::seed_from_u64(index as u64 ^ opts.seed ^ 0xbac0ff);
    let started = Instant::now();
    let outcome = loop {
        let connected = connect(opts, dialer, &mut session, &hello, result).await;
        let ended = match connected {
            Ok(ws) => {
                failures = 0;
                if !result.connected {
                    result.connected = true;
                    live.connected.fetch_add(1, Ordering::Relaxed);
                }
                connection(ws, opts, live, deadline, &mut session, &mut state, result).await
            }
            // A WebTransport handshake through a lossy link sometimes fails (the server's HTTP/3
            // layer refuses streams that arrive out of order with 0x105): tried again, as a
            // page would, a few times.
            Err(e @ BotError::WebTransport(_))
                if !result.connected && failures + 1 < FIRST_WT_ATTEMPTS =>
            {
                failures += 1;
                Ok(Ended::Dropped(e))
            }
            // A first connection that fails is the run's error; later ones are retried.
            Err(e) if !result.connected || !opts.reconnect => break Err(e),
            Err(e) => {
                failures += 1;
                Ok(Ended::Dropped(e))
            }
        };
        match ended {
            Ok(Ended::Done) => {
                result.connected_at_end = true;
                break Ok(());
            }
            Err(e) => break Err(e),
            // A drop near the end is still reconnected (within a short grace), so a bot ends
            // connected unless the server really is gone.
            Ok(Ended::Dropped(why))
                if opts.reconnect && Instant::now() < deadline + FINISH_GRACE =>
            {
                tracing::debug!(bot = index, "connection dropped ({why}); reconnecting");
                result.drops += 1;
                live.drops.fetch_add(1, Ordering::Relaxed);
                // Before the next snapshot: what the player was, to check it comes back whole.
                if state.before_drop.is_none() {
                    state.before_drop = own_state(&session);
                }
                let backoff = RECONNECT_FIRST
                    .saturating_mul(1 << failures.min(5))
                    .min(RECONNECT_MAX);
                let wait = backoff.mul_f64(rng.random_range(0.5..=1.0));
                tokio::time::sleep(wait).await;
                hello = session.reconnect();
            }
            Ok(Ended::Dropped(why)) => break Err(why),
        }
    };
    // A bot that never got a snapshot is measured over its whole life, so its rate is zero
    // over a real duration rather than undefined.
    let ended = Instant::now();
    let from = state.first_snapshot.unwrap_or(started);
    result.active_s = (ended - from).as_secs_f64();
    result.join_ms = state
        .first_snapshot
        .map(|at| (at - started).as_secs_f64() * 1000.0);
    result.view_ms = state
        .first_snapshot
        .zip(result.welcomed_at)
        .map(|(at, welcomed)| at.saturating_duration_since(welcomed).as_secs_f64() * 1000.0);
    result.snapshots = session.stats.snapshots;
    result.full_snapshots = session.stats.full_snapshots;
    result.full_after_delta = session.stats.full_after_delta;
    result.desyncs = session.stats.desyncs;
    result.resumes = session.stats.resumes;
    result.restarts = session.stats.restarts;
    result.resume_bytes = session.stats.resume_bytes;
    result.resume_full_bytes = session.stats.resume_full_bytes;
    result.resumes_full = session.stats.resumes_full;
    result.last_acked_input = session.last_input_seq();
    result.last_view_entities = session.replica().latest().map_or(0, |(_, v)| v.len());
    result.player_id = session.player_id().map(|id| id.0);
    if let Some(p) = session.predictor() {
        result.prediction_checks = p.checked;
        result.mispredictions = p.mispredictions;
    }
    outcome
}

/// What a bot keeps across its connections.
struct PlayState<G: BotGame> {
    /// With `--feel`: the browser's interpolator, sampled once a tick.
    interpolator: Option<Interpolator<G>>,
    /// The bot's clock for the interpolator (ms since it started).
    clock: Instant,
    walker: Walker,
    sent_at: VecDeque<(u32, Instant)>,
    origin: Option<(i32, i32)>,
    /// The own player's (id, score, health) before the last drop, until the first snapshot
    /// after it.
    before_drop: Option<(u32, i32, Option<u8>)>,
    /// When the first snapshot arrived: the bot's rates are measured from here, and the time
    /// before it is the join time, reported apart.
    first_snapshot: Option<Instant>,
    /// When the last verified snapshot arrived.
    last_snapshot: Option<Instant>,
}

/// Connects, sends `hello` and waits for its answer (`Welcome`, or `Resumed` after a drop).
async fn connect<G: BotGame>(
    opts: &BotOptions,
    dialer: Option<&Result<WtDialer, WtError>>,
    session: &mut ClientSession<G>,
    hello: &ClientMsg,
    result: &mut BotResult,
) -> Result<Link, BotError> {
    let mut link = match dialer {
        None => {
            // Nagle off: an input must leave the moment it is made.
            let connector = opts
                .tls
                .as_ref()
                .map(|c| tokio_tungstenite::Connector::Rustls(Arc::clone(c)));
            let connect = tokio_tungstenite::connect_async_tls_with_config(
                opts.socket_url(),
                Some(ws_config()),
                true,
                connector,
            );
            let (ws, _) = tokio::time::timeout(CONNECT_TIMEOUT, connect)
                .await
                .map_err(|_| BotError::ConnectTimeout)?
                .map_err(BotError::Connect)?;
            Link::Ws(Box::new(ws))
        }
        Some(Err(e)) => return Err(BotError::NoWebTransport(e.to_string())),
        Some(Ok(dialer)) => tokio::time::timeout(CONNECT_TIMEOUT, Link::open_wt(dialer))
            .await
            .map_err(|_| BotError::ConnectTimeout)?
            .map_err(BotError::WebTransport)?,
    };
    send(&mut link, hello, result).await?;
    let reply = loop {
        let reply = tokio::time::timeout(CONNECT_TIMEOUT, link.recv())
            .await
            .map_err(|_| BotError::NoWelcome)?;
        if !matches!(reply, Incoming::Nothing) {
            break reply;
        }
    };
    match reply {
        Incoming::Message(b) => match session.handle(&b) {
            Ok(SessionEvent::Welcome(w)) => {
                result.room = Some(w.room);
                result.welcomed_at.get_or_insert_with(Instant::now);
                Ok(link)
            }
            Ok(SessionEvent::Resumed(_)) => {
                // What the dead connection may have swallowed goes again.
                for msg in session.resend_after_resume() {
                    send(&mut link, &msg, result).await?;
                }
                Ok(link)
            }
            Ok(other) => Err(BotError::NotWelcome(format!("{other:?}"))),
            Err(e) => {
                // A room of another game, or a Welcome the rules cannot run with: leave
                // politely.
                link.leave().await;
                Err(e.into())
            }
        },
        Incoming::Closed(close) => {
            result.close_code = close.as_ref().map(|c| c.0);
            Err(BotError::ClosedInHandshake(close))
        }
        Incoming::Failed(why) => Err(BotError::NotWelcome(why)),
        Incoming::Nothing => Err(BotError::NoWelcome),
    }
}

/// The own player's id and what of it must survive a drop ([`BotGame::durable`]).
fn own_state<G: BotGame>(session: &ClientSession<G>) -> Option<(u32, i32, Option<u8>)> {
    let id = session.player_id()?;
    let (_, view) = session.replica().latest()?;
    let (score, health) = G::durable(view.get(id)?);
    Some((id.0, score, health))
}

/// Plays on one connection until the run ends or the connection does.
async fn connection<G: BotGame>(
    mut link: Link,
    opts: &BotOptions,
    live: &Live,
    deadline: Instant,
    session: &mut ClientSession<G>,
    state: &mut PlayState<G>,
    result: &mut BotResult,
) -> Result<Ended, BotError> {
    let started = Instant::now();
    let tick_rate = session.welcome().map_or(60, |w| w.tick_rate);
    // A new buffer per connection: what was buffered is from before the drop (as the page).
    state.interpolator = opts.feel.then(|| Interpolator::new(tick_rate));
    let mut frames = tokio::time::interval(Duration::from_secs(1) / u32::from(tick_rate.max(1)));
    frames.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut inputs = tokio::time::interval(Duration::from_secs(1) / u32::from(tick_rate.max(1)));
    inputs.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let end = tokio::time::sleep_until(tokio::time::Instant::from_std(deadline));
    tokio::pin!(end);
    let mut last_heard = Instant::now();
    let mut watchdog = tokio::time::interval(SERVER_SILENT / 5);

    let outcome = loop {
        tokio::select! {
            incoming = link.recv() => {
                last_heard = Instant::now();
                let bytes = match incoming {
                    Incoming::Message(b) => b,
                    Incoming::Closed(close) => {
                        let code = close.as_ref().map(|c| c.0);
                        result.close_code = code;
                        let why = BotError::ServerClosed(close.map_or(String::new(), |c| c.1));
                        // The server's idle close means it heard nothing from us: the link,
                        // not the bot, so worth a reconnect. Every other close is final.
                        break if code == Some(CloseCode::Idle.code()) {
                            Ok(Ended::Dropped(why))
                        } else {
                            Err(why)
                        };
                    }
                    Incoming::Nothing => continue,
                    Incoming::Failed(why) => break Ok(Ended::Dropped(BotError::Failed(why))),
                };
                result.bytes_in += bytes.len() as u64;
                live.bytes_in.fetch_add(bytes.len() as u64, Ordering::Relaxed);
                match session.handle(&bytes) {
                    Ok(SessionEvent::Snapshot { tick, last_input_seq, correction }) => {
                        live.snapshots.fetch_add(1, Ordering::Relaxed);
                        let now = Instant::now();
                        state.first_snapshot.get_or_insert(now);
                        if let Some(last) = state.last_snapshot.replace(now) {
                            let gap = (now - last).as_secs_f64() * 1000.0;
                            result.max_snapshot_gap_ms = result.max_snapshot_gap_ms.max(gap);
                        }
                        let units = result.feel.on_correction(correction);
                        if units > 0.0 {
                            let _ = result.correction_quanta.record((units * 1000.0).round().max(1.0) as u64);
                        }
                        if let (Some(i), Some((_, view))) = (state.interpolator.as_mut(), session.replica().latest()) {
                            i.push(tick, view, (now - state.clock).as_secs_f64() * 1000.0);
                        }
                        while let Some(&(seq, at)) = state.sent_at.front() {
                            if input_acked(seq, last_input_seq) {
                                let us = (now - at).as_micros().max(1) as u64;
                                let _ = result.input_to_ack_us.record(us);
                                live.latency.record(us);
                                state.sent_at.pop_front();
                            } else {
                                break;
                            }
                        }
                        if let Some(before) = state.before_drop.take()
                            && own_state(session) != Some(before)
                        {
                            result.resume_state_changes += 1;
                        }
                        track_travel(session, &mut state.origin, result);
                        if !opts.acks.should_ack(tick.0, started.elapsed()) {
                            session.withhold_ack();
                        } else if let Some(ack) = session.take_ack()
                            && let Err(e) = send(&mut link, &ack, result).await
                        {
                            break Ok(Ended::Dropped(e));
                        }
                    }
                    Ok(_) => {}
                    Err(SessionError::Desync(e)) => {
                        live.desyncs.fetch_add(1, Ordering::Relaxed);
                        tracing::warn!("desync: {e}");
                    }
                    Err(e) => break Err(e.into()),
                }
            }
            _ = inputs.tick(), if !opts.spectate => {
                let (mx, my, aim, fire, alt) = G::controls(&mut state.walker, session);
                // With an interpolator the bot claims the moment it draws, as the page does.
                if let Some(view) = state.interpolator.as_ref().and_then(|i| {
                    i.view_time(state.clock.elapsed().as_secs_f64() * 1000.0)
                }) {
                    session.set_view(view);
                }
                if let Some(msg) = session.input_with_alt(mx, my, aim, fire, alt) {
                    if let ClientMsg::Input(_) = &msg {
                        state.sent_at.push_back((session.last_sent_seq(), Instant::now()));
                        if state.sent_at.len() > 1024 {
                            state.sent_at.pop_front();
                        }
                    }
                    result.inputs_sent += 1;
                    // A datagram carries the last few unacknowledged inputs too.
                    let msg = match link {
                        Link::Wt(_) => session.with_recent_inputs(msg),
                        Link::Ws(_) => msg,
                    };
                    if let Err(e) = send(&mut link, &msg, result).await {
                        break Ok(Ended::Dropped(e));
                    }
                }
            }
            _ = frames.tick(), if state.interpolator.is_some() => {
                // Counted once the delay has adapted to the link (five seconds of arrivals).
                if let Some(i) = state.interpolator.as_ref().filter(|i| i.adapted()) {
                    let now_ms = state.clock.elapsed().as_secs_f64() * 1000.0;
                    result.feel.on_frame(i.ahead_ms(now_ms), i.tick_ms());
                    result.interpolation_delay_ms = i.delay_ms();
                    result.interpolation_tick_ms = i.tick_ms();
                }
            }
            _ = watchdog.tick() => {
                if last_heard.elapsed() > SERVER_SILENT {
                    break Ok(Ended::Dropped(BotError::Silent(SERVER_SILENT)));
                }
            }
            _ = &mut end => break Ok(Ended::Done),
        }
    };
    match outcome {
        // Leaving on purpose (1000): the server removes the player now instead of keeping it
        // for a resume.
        Ok(Ended::Done) | Err(_) => {
            let _ = tokio::time::timeout(Duration::from_secs(1), link.leave()).await;
        }
        // A dead link: the socket goes without a word (a close could hang on it).
        Ok(Ended::Dropped(_)) => link.drop_silently(),
    }
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

async fn send(link: &mut Link, msg: &ClientMsg, result: &mut BotResult) -> Result<(), BotError> {
    let sent = link.send(msg).await.map_err(BotError::Send)?;
    result.bytes_out += sent as u64;
    Ok(())
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
