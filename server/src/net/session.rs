//! What every transport does the same way between a client's first message and its last: the
//! `Hello`'s checks (version, name, room request), a ticket's say over name and room, where a
//! `Hello` leads (a resume or a seat), handing the client to its room, and the parse and range
//! checks of every later message. WebSocket ([`crate::net::connection`]) and WebTransport
//! ([`crate::net::webtransport`]) read and write bytes their own way and call these.

use std::sync::Arc;

use snapwire_shared::codec::{self, DecodeError};
use snapwire_shared::protocol::{
    BUTTON_ACK, ClientMsg, InputMsg, MAX_INPUTS_PER_MESSAGE, RequestError, Resume, RoomRequest,
    player_name,
};
use snapwire_shared::sim::PlayerInput;
use snapwire_shared::{CloseCode, PROTOCOL_VERSION};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::config::Config;
use crate::driver::admission::{Entry, Inbound, Join};
use crate::driver::directory::Spend;
use crate::driver::registry::Registry;
use crate::room::CloseReason;
use crate::stats::ServerStats;
use crate::ticket::{Ticket, TicketError, unix_now};

/// What a connection needs from the server.
#[derive(Debug, Clone)]
pub struct ConnectionContext {
    pub config: Arc<Config>,
    pub registry: Arc<Registry>,
    pub stats: Arc<ServerStats>,
    pub shutdown: CancellationToken,
}

/// A checked `Hello`.
#[derive(Debug)]
pub struct Hello {
    pub name: String,
    pub spectate: bool,
    pub room: RoomRequest,
    pub resume: Option<Resume>,
}

/// The first message's checks: a `Hello` of this protocol version, with a name and room
/// request the protocol allows.
pub fn read_hello(bytes: &[u8]) -> Result<Hello, CloseReason> {
    match decode(bytes)? {
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

/// A verified ticket decides the player's name and, when it names one, the room.
pub fn with_ticket(mut hello: Hello, ticket: Option<Ticket>) -> Result<Hello, CloseReason> {
    if let Some(t) = ticket {
        if !t.room.is_empty() {
            hello.room = RoomRequest::Join { id: t.room };
        }
        hello.name = player_name(&t.player).map_err(refused)?;
    }
    Ok(hello)
}

/// Where a `Hello` leads: back to the player its resume token names, or to a seat in the room
/// it asks for (a token the server no longer knows joins as a new player).
pub async fn entry_for(
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

/// Hands `join` to its room's queue (waiting for space: the driver drains it every tick),
/// unless the room closed meanwhile or the server is stopping.
pub async fn hand_in(
    joins: mpsc::Sender<Join>,
    join: Join,
    shutdown: &CancellationToken,
) -> Result<(), CloseReason> {
    tokio::select! {
        sent = joins.send(join) => sent.map_err(|_| {
            CloseReason::new(CloseCode::NoSuchRoom, "the room closed while joining; join another".to_owned())
        }),
        _ = shutdown.cancelled() => {
            Err(CloseReason::new(CloseCode::GoingAway, "server shutting down".to_owned()))
        }
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
        ClientMsg::Inputs(_) => Err(CloseReason::new(
            CloseCode::InvalidValue,
            "Inputs travel only in WebTransport datagrams".into(),
        )),
    }
}

/// A WebTransport datagram: one message, which may carry several inputs
/// ([`ClientMsg::Inputs`]). Each input newer than `newest` (the newest this connection passed
/// on, in the 16 bits the wire has) goes to `deliver`, oldest first; a copy already passed on
/// is skipped and counted in `repeated`. The room then sees each input once, as it would over
/// WebSocket.
pub fn parse_datagram(
    bytes: &[u8],
    newest: &mut Option<u16>,
    repeated: &mut u64,
    mut deliver: impl FnMut(Inbound) -> Result<(), Option<CloseReason>>,
) -> Result<(), Option<CloseReason>> {
    let inputs = match decode(bytes).map_err(Some)? {
        ClientMsg::Inputs(inputs) => inputs,
        ClientMsg::Input(input) => vec![input],
        ClientMsg::Ack { tick } => return deliver(Inbound::Ack(tick)),
        ClientMsg::Hello { .. } => {
            return Err(Some(CloseReason::new(
                CloseCode::Handshake,
                "Hello sent twice".into(),
            )));
        }
    };
    if inputs.is_empty() || inputs.len() > MAX_INPUTS_PER_MESSAGE {
        return Err(Some(CloseReason::new(
            CloseCode::InvalidValue,
            format!(
                "Inputs carries 1 to {MAX_INPUTS_PER_MESSAGE} inputs, not {}",
                inputs.len()
            ),
        )));
    }
    for input in &inputs {
        let new = newest.is_none_or(|n| (input.seq.wrapping_sub(n) as i16) > 0);
        if !new {
            *repeated += 1;
            continue;
        }
        *newest = Some(input.seq);
        deliver(parse_input(input).map_err(Some)?)?;
    }
    Ok(())
}

pub fn decode(bytes: &[u8]) -> Result<ClientMsg, CloseReason> {
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

/// Whether a close counts as bad input in the metrics (the server's own closes do not).
pub fn is_bad_input(code: CloseCode) -> bool {
    !matches!(
        code,
        CloseCode::GoingAway | CloseCode::ServerFull | CloseCode::InternalError
    )
}

/// `s` cut to at most `max` bytes at a character boundary (a close frame's reason is short).
pub fn truncate(s: &str, max: usize) -> String {
    let mut end = s.len().min(max);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s[..end].to_owned()
}

/// The ticket in a request's query (`ticket=...`).
pub fn ticket_of(query: Option<&str>) -> Result<&str, TicketError> {
    query
        .unwrap_or_default()
        .split('&')
        .find_map(|kv| kv.strip_prefix("ticket="))
        .filter(|t| !t.is_empty())
        .ok_or(TicketError::Missing)
}

/// With `--ticket-secret-file`, the request's verified ticket (or why it has none); without,
/// none is needed.
pub fn check_ticket(config: &Config, query: Option<&str>) -> Result<Option<Ticket>, TicketError> {
    match &config.ticket_key {
        None => Ok(None),
        Some(key) => ticket_of(query)
            .and_then(|t| key.verify(t, unix_now()))
            .map(Some),
    }
}

/// Whether a page from `origin` may open a game connection: any, without `--allowed-origin`.
/// Only browsers send an origin, and anything else could forge one, so a request without it is
/// let through by the caller.
pub fn origin_allowed(origin: &[u8], allowed: &[String]) -> bool {
    allowed.is_empty() || allowed.iter().any(|a| origin == a.as_bytes())
}

#[cfg(test)]
mod tests {
    use snapwire_shared::protocol::InputMsg;

    use super::*;

    fn input(seq: u16) -> InputMsg {
        InputMsg {
            seq,
            tick: 10,
            move_x: 0,
            move_y: 0,
            aim: 0,
            buttons: 0,
            view_tick: 10,
            view_frac: 0,
        }
    }

    fn seqs_passed_on(datagrams: &[Vec<u16>]) -> (Vec<u16>, u64) {
        let (mut newest, mut repeated, mut passed) = (None, 0, Vec::new());
        for seqs in datagrams {
            let msg = ClientMsg::Inputs(seqs.iter().map(|s| input(*s)).collect());
            parse_datagram(
                &codec::encode_client(&msg),
                &mut newest,
                &mut repeated,
                |i| {
                    if let Inbound::Input { seq, .. } = i {
                        passed.push(seq);
                    }
                    Ok(())
                },
            )
            .expect("valid");
        }
        (passed, repeated)
    }

    #[test]
    fn each_input_a_datagram_repeats_is_passed_on_once_and_a_lost_one_arrives_with_the_next() {
        // Datagram [1 2 3] is lost: 1, 2 and 3 come with the next one.
        let (passed, repeated) = seqs_passed_on(&[vec![1], vec![1, 2, 3, 4], vec![3, 4, 5]]);
        assert_eq!((passed, repeated), (vec![1, 2, 3, 4, 5], 3));
        // Across the 16-bit wrap, and a late datagram with only old copies.
        let (passed, repeated) =
            seqs_passed_on(&[vec![65_534, 65_535], vec![65_535, 0, 1], vec![65_535]]);
        assert_eq!((passed, repeated), (vec![65_534, 65_535, 0, 1], 2));
    }

    #[test]
    fn too_many_inputs_and_inputs_on_a_stream_are_refused() {
        let five = ClientMsg::Inputs((1..=5).map(input).collect());
        let refused = parse_datagram(&codec::encode_client(&five), &mut None, &mut 0, |_| Ok(()));
        assert!(matches!(refused, Err(Some(r)) if r.code == CloseCode::InvalidValue));
        let none = ClientMsg::Inputs(Vec::new());
        let refused = parse_datagram(&codec::encode_client(&none), &mut None, &mut 0, |_| Ok(()));
        assert!(matches!(refused, Err(Some(r)) if r.code == CloseCode::InvalidValue));
        let two = ClientMsg::Inputs(vec![input(1), input(2)]);
        assert_eq!(
            parse_message(&codec::encode_client(&two)).map_err(|r| r.code),
            Err(CloseCode::InvalidValue)
        );
    }
}
