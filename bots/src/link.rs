//! A bot's connection to the server, over WebSocket or WebTransport: the same messages either
//! way. Over WebTransport the `Hello` and the session's messages (`Welcome`, `Resumed`,
//! scores, closes) travel on the session stream (`snapwire_shared::stream`), snapshots arrive
//! as datagrams, and the bot's inputs and acks leave as datagrams (PROTOCOL.md, "WebTransport").

use std::sync::Arc;

use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use snapwire_shared::codec;
use snapwire_shared::protocol::ClientMsg;
use snapwire_shared::stream::{self, Frame, FrameError};
use thiserror::Error;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode as CloseCodeWs;
use tokio_tungstenite::tungstenite::{self, Message};
use wtransport::error::{
    ConnectingError, ConnectionError, SendDatagramError, StreamOpeningError, StreamReadError,
    StreamWriteError,
};
use wtransport::tls::Sha256Digest;
use wtransport::{ClientConfig, Connection, Endpoint, RecvStream, SendStream};

use crate::http_get::{GetError, get_text};

/// Which transport the bots use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Transport {
    #[default]
    Websocket,
    Webtransport,
}

impl Transport {
    pub fn name(self) -> &'static str {
        match self {
            Transport::Websocket => "websocket",
            Transport::Webtransport => "webtransport",
        }
    }
}

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// Why WebTransport could not carry a bot.
#[derive(Debug, Error)]
pub enum WtError {
    #[error("reading the server's WebTransport offer: {0}")]
    Offer(#[from] GetError),
    #[error("the server's /webtransport answer: {0}")]
    BadOffer(&'static str),
    #[error("the server does not offer WebTransport (started with --no-webtransport?)")]
    Off,
    #[error("a UDP socket for WebTransport: {0}")]
    Endpoint(std::io::Error),
    #[error("connecting: {0}")]
    Connect(#[from] ConnectingError),
    #[error("the session: {0}")]
    Connection(#[from] ConnectionError),
    #[error("opening the session stream: {0}")]
    Open(#[from] StreamOpeningError),
    #[error("writing the session stream: {0}")]
    Write(#[from] StreamWriteError),
    #[error("reading the session stream: {0}")]
    Read(#[from] StreamReadError),
    #[error("the session stream: {0}")]
    Frame(#[from] FrameError),
    #[error("a datagram: {0}")]
    Datagram(#[from] SendDatagramError),
}

/// What every bot's WebTransport session starts from: one client endpoint (one UDP socket for
/// all the bots) and the server's session URL.
pub struct WtDialer {
    endpoint: Endpoint<wtransport::endpoint::endpoint_side::Client>,
    url: String,
}

impl std::fmt::Debug for WtDialer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WtDialer").field("url", &self.url).finish()
    }
}

impl WtDialer {
    /// Reads `GET /webtransport` beside the WebSocket URL `ws_url` (over https for `wss://`),
    /// and trusts the certificate hash it gives. Sessions go to `ws_url`'s host and port. `query` (a ticket) rides on the session URL.
    pub async fn prepare(
        ws_url: &str,
        query: Option<&str>,
        tls: Option<&Arc<rustls::ClientConfig>>,
    ) -> Result<WtDialer, WtError> {
        let (scheme, rest) = ws_url
            .strip_prefix("ws://")
            .map(|r| ("http", r))
            .or_else(|| ws_url.strip_prefix("wss://").map(|r| ("https", r)))
            .ok_or(WtError::BadOffer("the URL is not ws:// or wss://"))?;
        let authority = rest.split(['/', '?']).next().unwrap_or_default();
        let body = get_text(&format!("{scheme}://{authority}/webtransport"), tls).await?;
        let offer: serde_json::Value =
            serde_json::from_str(&body).map_err(|_| WtError::BadOffer("not JSON"))?;
        if offer["enabled"] != true {
            return Err(WtError::Off);
        }
        let path = offer["path"].as_str().unwrap_or("/wt");
        let hashes: Vec<Sha256Digest> = offer["certificate_hashes"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|h| h["value"].as_str())
            .filter_map(hex32)
            .map(Sha256Digest::new)
            .collect();
        let socket = udp_socket().map_err(WtError::Endpoint)?;
        let builder = ClientConfig::builder().with_bind_socket(socket);
        // As a page does: the hash for a certificate the server made itself; for the
        // operator's, the roots the bots trust for `wss://` (`--ca`), else the system's.
        let mut config = match (offer["self_signed"] == true && !hashes.is_empty(), tls) {
            (true, _) => builder.with_server_certificate_hashes(hashes).build(),
            (false, Some(tls)) => {
                let mut tls = (**tls).clone();
                tls.alpn_protocols = vec![b"h3".to_vec()];
                builder.with_custom_tls(tls).build()
            }
            (false, None) => builder.with_native_certs().build(),
        };
        config
            .quic_config_mut()
            .transport_config(Arc::new(transport()));
        // The same host and port number as the WebSocket URL (the offer's `port` is the
        // server's own): a proxy in front, on one port number for TCP and UDP, carries both.
        let url = match query {
            Some(q) => format!("https://{authority}{path}?{q}"),
            None => format!("https://{authority}{path}"),
        };
        let endpoint = Endpoint::client(config).map_err(WtError::Endpoint)?;
        Ok(WtDialer { endpoint, url })
    }
}

/// One UDP socket for every bot's session, dual-stack, with receive and send buffers as
/// large as the kernel allows up to 4 MiB: at its default a thousand bots' snapshots overflow
/// it and the kernel drops datagrams the server sent (the server does the same for its side).
fn udp_socket() -> std::io::Result<std::net::UdpSocket> {
    use socket2::{Domain, Protocol, Socket, Type};
    let socket = Socket::new(Domain::IPV6, Type::DGRAM, Some(Protocol::UDP))?;
    socket.set_only_v6(false)?;
    let _ = socket.set_recv_buffer_size(4 << 20);
    let _ = socket.set_send_buffer_size(4 << 20);
    socket.set_nonblocking(true)?;
    let any: std::net::SocketAddr = (std::net::Ipv6Addr::UNSPECIFIED, 0).into();
    socket.bind(&any.into())?;
    Ok(socket.into())
}

/// The server's choices (`snapwire_server::net::webtransport::transport`): BBR, whose window
/// random loss does not shrink, keep-alives, and little queued behind a closed window.
fn transport() -> wtransport::quinn::TransportConfig {
    use wtransport::quinn::congestion::BbrConfig;
    let mut t = wtransport::quinn::TransportConfig::default();
    t.keep_alive_interval(Some(std::time::Duration::from_secs(3)));
    t.congestion_controller_factory(Arc::new(BbrConfig::default()));
    t.datagram_send_buffer_size(16 * 1024);
    t
}

fn hex32(s: &str) -> Option<[u8; 32]> {
    if s.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(s.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(out)
}

/// One connection.
pub enum Link {
    Ws(Box<Socket>),
    Wt(Box<WtLink>),
}

impl std::fmt::Debug for Link {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Link::Ws(_) => "Link::Ws",
            Link::Wt(_) => "Link::Wt",
        })
    }
}

/// A WebTransport session and its session stream.
pub struct WtLink {
    connection: Connection,
    send: SendStream,
    recv: RecvStream,
    reader: stream::Reader,
    buf: Vec<u8>,
    /// The session stream brought its first message (the `Welcome` or `Resumed`): datagrams
    /// before it are dropped, a snapshot being of no use before it (PROTOCOL.md).
    streamed: bool,
}

impl std::fmt::Debug for WtLink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WtLink")
            .field("session", &self.connection.session_id())
            .finish()
    }
}

/// What came from the server.
#[derive(Debug)]
pub enum Incoming {
    /// One message (a WebSocket frame's, a datagram's or a stream frame's bytes).
    Message(Bytes),
    /// The server closed, with its code and reason when it gave them.
    Closed(Option<(u16, String)>),
    /// Nothing for the bot (a ping, a pong).
    Nothing,
    /// The link failed (reset, end of stream): worth a reconnect.
    Failed(String),
}

/// The longest session stream frame a bot reads: a full snapshot of a crowded view.
const MAX_STREAM_FRAME: usize = 1 << 22;

impl Link {
    /// A WebTransport session opened from `dialer`, its session stream open.
    pub async fn open_wt(dialer: &WtDialer) -> Result<Link, WtError> {
        let connection = dialer.endpoint.connect(&dialer.url).await?;
        let (send, recv) = connection.open_bi().await?.await?;
        Ok(Link::Wt(Box::new(WtLink {
            connection,
            send,
            recv,
            reader: stream::Reader::new(MAX_STREAM_FRAME),
            buf: vec![0; 16 * 1024],
            streamed: false,
        })))
    }

    /// Sends `msg`: over WebTransport a `Hello` on the session stream, inputs and acks as
    /// datagrams. Returns the bytes sent.
    pub async fn send(&mut self, msg: &ClientMsg) -> Result<usize, LinkError> {
        let bytes = codec::encode_client(msg);
        let len = bytes.len();
        match self {
            Link::Ws(ws) => ws
                .send(Message::Binary(bytes.into()))
                .await
                .map_err(LinkError::WebSocket)?,
            Link::Wt(wt) => match msg {
                ClientMsg::Hello { .. } => wt
                    .send
                    .write_all(&stream::message(&bytes))
                    .await
                    .map_err(|e| LinkError::WebTransport(e.into()))?,
                _ => wt
                    .connection
                    .send_datagram(&bytes)
                    .map_err(|e| LinkError::WebTransport(e.into()))?,
            },
        }
        Ok(len)
    }

    /// The next thing from the server. Cancel-safe: a `select!` may drop it and call again.
    pub async fn recv(&mut self) -> Incoming {
        match self {
            Link::Ws(ws) => match ws.next().await {
                Some(Ok(Message::Binary(b))) => Incoming::Message(b),
                Some(Ok(Message::Close(frame))) => {
                    Incoming::Closed(frame.map(|f| (u16::from(f.code), f.reason.to_string())))
                }
                Some(Ok(_)) => Incoming::Nothing,
                Some(Err(e)) => Incoming::Failed(format!("websocket error: {e}")),
                None => Incoming::Failed("connection ended".into()),
            },
            Link::Wt(wt) => loop {
                match wt.reader.next_frame() {
                    Ok(Some(Frame::Message(m))) => {
                        wt.streamed = true;
                        return Incoming::Message(Bytes::from(m));
                    }
                    Ok(Some(Frame::Close { code, reason })) => {
                        // Read: the server may end the session now (PROTOCOL.md).
                        wt.connection
                            .close(wtransport::VarInt::from_u32(u32::from(code)), b"");
                        return Incoming::Closed(Some((code, reason)));
                    }
                    Ok(None) => {}
                    Err(e) => return Incoming::Failed(format!("session stream: {e}")),
                }
                // Both are cancel-safe, and the read's bytes go into the reader in the poll
                // that completes it.
                tokio::select! {
                    datagram = wt.connection.receive_datagram() => match datagram {
                        Ok(d) if wt.streamed => return Incoming::Message(d.payload()),
                        Ok(_) => {}
                        Err(e) => return Incoming::Failed(format!("session: {e}")),
                    },
                    read = wt.recv.read(&mut wt.buf) => match read {
                        Ok(Some(n)) => wt.reader.push(&wt.buf[..n]),
                        Ok(None) => return Incoming::Failed("session stream ended".into()),
                        Err(e) => return Incoming::Failed(format!("session stream: {e}")),
                    },
                }
            },
        }
    }

    /// Leaves on purpose (close code 1000): the server removes the player at once.
    pub async fn leave(&mut self) {
        match self {
            Link::Ws(ws) => {
                let sent = ws
                    .send(Message::Close(Some(CloseFrame {
                        code: CloseCodeWs::Normal,
                        reason: "".into(),
                    })))
                    .await;
                // Wait for the server's close reply (briefly): a socket closed with snapshots
                // unread is reset by the kernel, and a reset can discard the close frame the
                // server had not read yet; the player was then kept as away instead of leaving.
                if sent.is_ok() {
                    let until = tokio::time::Instant::now() + std::time::Duration::from_secs(1);
                    while let Ok(Some(Ok(msg))) = tokio::time::timeout_at(until, ws.next()).await {
                        if matches!(msg, Message::Close(_)) {
                            break;
                        }
                    }
                }
            }
            Link::Wt(wt) => {
                if wt.send.write_all(&stream::close(1000, "")).await.is_ok() {
                    let _ = wt.send.finish().await;
                }
                wt.connection.close(wtransport::VarInt::from_u32(1000), b"");
            }
        }
    }

    /// Ends the connection without a word (a dead link).
    pub fn drop_silently(self) {
        if let Link::Wt(wt) = &self {
            wt.connection.close(wtransport::VarInt::from_u32(0), b"");
        }
    }
}

/// A send that failed.
#[derive(Debug, Error)]
pub enum LinkError {
    #[error("websocket: {0}")]
    WebSocket(tungstenite::Error),
    #[error("webtransport: {0}")]
    WebTransport(WtError),
}
