//! The browser client's state and decisions, free of any browser API so it is tested natively:
//! frames in, messages out, what to draw. `web` feeds it events; `render` draws it.
//!
//! By job: this file holds the session, the inputs and what a frame draws; [`link`] the
//! connection's life (closes, reconnecting with backoff, resume, replay controls' sockets);
//! [`words`] what the page shows in words and figures (status line, title, scoreboard, net
//! graph).

use snapwire_shared::client::{
    ClientSession, Drawn, Feel, Interpolator, NetStats, SessionError, SessionEvent, Smoother,
};
use snapwire_shared::codec;
use snapwire_shared::protocol::{ClientMsg, RoomRequest};
use snapwire_shared::sim::World;

use crate::camera::Camera;
pub use crate::controls::Controls;
use crate::games::{Me, WebGame};
use crate::replay::{Control, Reconnect, Replay};
use crate::touch::Touches;

mod link;
#[cfg(test)]
pub(crate) mod tests;
mod words;

pub use link::{RECONNECT_GIVE_UP_MS, SERVER_SILENT_MS, SocketAction};

/// Inputs generated per frame at most: after a stall (a hidden tab) the client does not burst.
const MAX_INPUTS_PER_FRAME: u32 = 4;

#[derive(Debug, Clone, PartialEq)]
pub enum Status {
    Connecting,
    Playing,
    /// The connection dropped; a new one resumes the player once `at_ms` comes.
    Reconnecting {
        attempt: u32,
        at_ms: f64,
        /// When the first connection of this run of attempts dropped.
        since_ms: f64,
    },
    Closed(String),
}

/// What a frame draws: every other entity where interpolation puts it, and the own player.
pub type Scene<S> = (Vec<Drawn<S>>, Option<Me<S>>);

/// The client of a room of game `G` (the arena unless the page asked for another).
#[derive(Debug)]
pub struct App<G: WebGame = World> {
    pub name: String,
    pub session: ClientSession<G>,
    pub status: Status,
    pub controls: Controls,
    pub touches: Touches,
    pub show_net_graph: bool,
    /// What carries the connection: `websocket` or `webtransport` (the net graph shows it).
    pub transport: String,
    interpolator: Option<Interpolator<G>>,
    smoother: Smoother,
    stats: NetStats,
    input_clock_ms: Option<f64>,
    last_frame_ms: Option<f64>,
    /// When the server was last heard from (a frame arrived).
    last_heard_ms: Option<f64>,
    /// Where the camera looked last (the own player's drawn position), kept while the player is
    /// dead so the view does not jump.
    focus: Option<(f64, f64)>,
    /// Jitter for reconnect backoff (a small xorshift: no randomness crate in the page).
    jitter: u64,
    /// How the game felt over the whole session (the net graph shows the last second).
    pub feel: Feel,
    /// The game's own HUD state (hit marker, kill feed).
    pub hud: G::Hud,
    /// Where the mouse was last, in CSS pixels (where a hit marker shows).
    pub pointer: Option<(f64, f64)>,
    /// Watching a recorded match instead of playing.
    pub replay: Option<Replay>,
    /// What the shell must do with the socket next (a replay control changed it).
    socket_action: Option<SocketAction>,
}

impl App {
    /// A new arena app and the encoded `Hello` to send once the socket opens.
    pub fn new(name: &str, spectate: bool) -> (App, Vec<u8>) {
        App::for_room(name, spectate, RoomRequest::quick_play())
    }
}

impl<G: WebGame> App<G> {
    /// A new app joining `room`, and the encoded `Hello`.
    pub fn for_room(name: &str, spectate: bool, room: RoomRequest) -> (App<G>, Vec<u8>) {
        let (session, hello) = ClientSession::<G>::joining(name, spectate, room);
        App::with_session(name, session, &hello)
    }

    /// A new app watching a recorded match from tick `from`, and the encoded `Hello`.
    pub fn watching(replay: Replay, from: u32) -> (App<G>, Vec<u8>) {
        let (session, hello) = ClientSession::<G>::joining("viewer", true, replay.request(from));
        let (mut app, hello) = App::with_session("viewer", session, &hello);
        app.replay = Some(replay);
        (app, hello)
    }

    /// A replay control (a key): a new connection at the new place, or none while paused.
    pub fn replay_control(&mut self, control: Control, now_ms: f64) {
        let now = self
            .interpolator
            .as_ref()
            .and_then(|i| i.view_time(now_ms))
            .map_or(self.session.latest_tick().0, |v| v.tick.0);
        let Some(replay) = &mut self.replay else {
            return;
        };
        match replay.control(control, now) {
            Reconnect::Pause => self.socket_action = Some(SocketAction::Close),
            Reconnect::From(tick) => {
                let (session, hello) =
                    ClientSession::<G>::joining("viewer", true, replay.request(tick));
                self.session = session;
                self.interpolator = None;
                self.status = Status::Connecting;
                self.socket_action = Some(SocketAction::Open(codec::encode_client(&hello)));
            }
        }
    }

    fn with_session(name: &str, session: ClientSession<G>, hello: &ClientMsg) -> (App<G>, Vec<u8>) {
        let jitter = name.bytes().fold(0x9e37_79b9_7f4a_7c15u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
        });
        let app = App {
            name: name.to_owned(),
            session,
            status: Status::Connecting,
            controls: Controls::default(),
            touches: Touches::default(),
            show_net_graph: true,
            transport: "websocket".to_owned(),
            interpolator: None,
            smoother: Smoother::default(),
            stats: NetStats::default(),
            input_clock_ms: None,
            last_frame_ms: None,
            last_heard_ms: None,
            focus: None,
            jitter: jitter | 1,
            feel: Feel::default(),
            hud: G::Hud::default(),
            pointer: None,
            replay: None,
            socket_action: None,
        };
        (app, codec::encode_client(hello))
    }

    /// Handles one frame from the server; returns frames to send back.
    pub fn on_frame(&mut self, bytes: &[u8], now_ms: f64) -> Vec<Vec<u8>> {
        self.last_heard_ms = Some(now_ms);
        match self.session.handle(bytes) {
            Ok(SessionEvent::Welcome(w)) => {
                self.status = Status::Playing;
                self.interpolator = Some(Interpolator::new(w.tick_rate));
                self.input_clock_ms = None;
                Vec::new()
            }
            Ok(SessionEvent::Resumed(_)) => {
                self.status = Status::Playing;
                // What was buffered is from before the drop: start the buffer again.
                let rate = self.tick_rate();
                self.interpolator = Some(Interpolator::new(rate));
                self.input_clock_ms = None;
                // Inputs the dead connection may have swallowed go again.
                let mut out = Vec::new();
                for m in self.session.resend_after_resume() {
                    out.push(self.sent(now_ms, &m));
                }
                out
            }
            Ok(SessionEvent::Snapshot {
                tick,
                last_input_seq,
                correction,
            }) => {
                self.smoother.correct(correction);
                self.stats
                    .on_snapshot(now_ms, bytes.len(), last_input_seq, correction != (0, 0));
                let units = self.feel.on_correction(correction);
                self.stats.on_correction(now_ms, units);
                if let (Some(i), Some((_, view))) =
                    (self.interpolator.as_mut(), self.session.replica().latest())
                {
                    i.push(tick, view, now_ms);
                }
                G::on_snapshot(&mut self.hud, &self.session, now_ms);
                // A playing client's next input carries the acknowledgement.
                match self.session.take_ack() {
                    Some(ack) => vec![self.sent(now_ms, &ack)],
                    None => Vec::new(),
                }
            }
            Ok(SessionEvent::Stale) => Vec::new(),
            // A part of a split snapshot counts as bytes; the last one makes the snapshot.
            Ok(SessionEvent::Scores | SessionEvent::Part) => {
                self.stats.on_other_frame(now_ms, bytes.len());
                Vec::new()
            }
            Err(SessionError::Desync(_)) => {
                self.stats.checksum_failures += 1;
                Vec::new()
            }
            // A room of a game this page does not draw (a shared link to a tag room).
            Err(SessionError::BadWelcome(why)) => {
                self.status = Status::Closed(format!("cannot play this room: {why}"));
                Vec::new()
            }
            Err(e) => {
                self.status = Status::Closed(format!("bad data from server: {e}"));
                Vec::new()
            }
        }
    }

    /// The page lost focus or was hidden: its keys and button may be released elsewhere, and
    /// the page would never hear it (a player kept running into a wall after a tab switch).
    /// Every held control is let go; the aim stays.
    pub fn release_controls(&mut self) {
        self.controls = Controls {
            aim: self.controls.aim,
            ..Controls::default()
        };
        self.touches.clear();
    }

    /// Aims from the own player (always at the centre of a player's screen) towards a point on
    /// a `width` x `height` screen.
    pub fn aim_at(&mut self, x: f64, y: f64, width: f64, height: f64) {
        self.pointer = Some((x, y));
        if self.session.player_id().is_some() {
            self.controls.aim = (y - height / 2.0).atan2(x - width / 2.0) as f32;
        }
    }

    /// The time of the frame being drawn (the clock of `on_animation_frame`).
    pub fn now_ms(&self) -> f64 {
        self.last_frame_ms.unwrap_or(0.0)
    }

    /// The id of the room joined, once welcomed: what a link to the same match carries.
    pub fn room_id(&self) -> Option<&str> {
        self.session.welcome().map(|w| w.room.as_str())
    }

    /// Called every animation frame: makes the inputs due since the last frame (one per tick)
    /// and returns them encoded.
    pub fn on_animation_frame(&mut self, now_ms: f64) -> Vec<Vec<u8>> {
        let Some(tick_rate) = self.session.welcome().map(|w| w.tick_rate) else {
            return Vec::new();
        };
        if self.status == Status::Playing
            && self
                .last_heard_ms
                .is_some_and(|t| now_ms - t > SERVER_SILENT_MS)
        {
            // A dead link: no close will come. The shell drops the socket and reconnects.
            self.reconnect_later(0, now_ms, now_ms);
            return Vec::new();
        }
        if self.status != Status::Playing || self.session.player_id().is_none() {
            return Vec::new();
        }
        let tick_ms = 1000.0 / f64::from(tick_rate.max(1));
        let mut clock = self.input_clock_ms.unwrap_or(now_ms - tick_ms);
        clock = clock.max(now_ms - tick_ms * f64::from(MAX_INPUTS_PER_FRAME));
        let mut out = Vec::new();
        // Shots are judged where remote players are drawn now (lag compensation).
        if let Some(view) = self.interpolator.as_ref().and_then(|i| i.view_time(now_ms)) {
            self.session.set_view(view);
        }
        while now_ms - clock >= tick_ms {
            clock += tick_ms;
            let c = self.controls;
            let keys = (
                f32::from(i8::from(c.right) - i8::from(c.left)),
                f32::from(i8::from(c.down) - i8::from(c.up)),
            );
            // Keys win over the stick: a player with both is using the keyboard.
            let (mx, my) = match self.touches.axes() {
                Some(stick) if keys == (0.0, 0.0) => stick,
                _ => keys,
            };
            let fire = c.fire || self.touches.aim_point().is_some();
            if let Some(msg) = self.session.input_with_alt(mx, my, c.aim, fire, c.alt_fire) {
                G::on_input(&mut self.hud, &c, now_ms);
                // A datagram may be lost: it carries the inputs before it that no snapshot
                // has acknowledged yet too (PROTOCOL.md, "WebTransport").
                let msg = if self.transport == "webtransport" {
                    self.session.with_recent_inputs(msg)
                } else {
                    msg
                };
                out.push(self.sent(now_ms, &msg));
            }
        }
        self.input_clock_ms = Some(clock);
        out
    }

    /// Remote entities interpolated, the local player predicted and smoothed.
    pub fn drawn(&mut self, now_ms: f64) -> Scene<G::State> {
        let dt = self.last_frame_ms.map_or(0.0, |t| now_ms - t);
        self.last_frame_ms = Some(now_ms);
        let mut drawn = self
            .interpolator
            .as_ref()
            .map_or_else(Vec::new, |i| i.sample(now_ms));
        if let Some(i) = &self.interpolator
            && self.status == Status::Playing
        {
            let ahead = i.ahead_ms(now_ms);
            self.stats.on_frame(now_ms, ahead);
            if i.adapted() {
                self.feel.on_frame(ahead, dt);
            }
        }
        let me_id = self.session.player_id();
        let me = me_id.and_then(|id| {
            self.session.replica().latest()?.1.get(id)?;
            // Reconciled on every snapshot, so what the server alone decides (health, score)
            // is as fresh as the latest snapshot; movement and aim are predicted.
            let predicted = self.session.predictor()?.predicted()?;
            let at = G::position_of(&predicted);
            let (x, y) = self.smoother.draw(f64::from(at.x), f64::from(at.y), dt);
            Some(Me {
                state: predicted,
                x,
                y,
            })
        });
        drawn.retain(|d| Some(d.id) != me_id);
        if let Some(m) = &me {
            self.focus = Some((m.x, m.y));
        }
        (drawn, me)
    }

    /// The camera for a `width` x `height` (CSS pixels) screen: a player's follows the own
    /// player and shows the view the server sends; a spectator's shows the whole map.
    pub fn camera(&self, width: f64, height: f64) -> Option<Camera> {
        let w = self.session.welcome()?;
        let (mw, mh) = (f64::from(w.map.width), f64::from(w.map.height));
        match (self.session.player_id(), self.focus) {
            (Some(_), Some((x, y))) => Some(Camera::follow(
                x,
                y,
                f64::from(w.view_width),
                f64::from(w.view_height),
                width,
                height,
            )),
            _ => Some(Camera::whole(mw, mh, width, height)),
        }
    }

    /// The room's tick rate (60 before `Welcome`).
    pub fn tick_rate(&self) -> u16 {
        self.session.welcome().map_or(60, |w| w.tick_rate)
    }

    fn sent(&mut self, now_ms: f64, msg: &ClientMsg) -> Vec<u8> {
        let bytes = codec::encode_client(msg);
        let seq = match msg {
            ClientMsg::Input(_) | ClientMsg::Inputs(_) => Some(self.session.last_sent_seq()),
            _ => None,
        };
        self.stats.on_send(now_ms, bytes.len(), seq);
        bytes
    }
}
