//! The guide's example game (`examples/coins`) served by the real server as its
//! default game: clients of that game join, rebuild and verify every snapshot and predict
//! their runner with the game's own rules, and a runner that sweeps the field collects coins.

use crate::support;

use std::time::Duration;

use futures_util::StreamExt;
use snapwire_server::Config;
use snapwire_server::{GameMaker, Games};
use snapwire_shared::client::{ClientSession, SessionEvent};
use snapwire_shared::protocol::RoomRequest;
use support::{TestServer, Ws, connect, send};
use tokio_tungstenite::tungstenite::Message;

use snapwire_example_coins::game::{Coins, Kind};

/// A client of the coins game: its session and socket.
struct Player {
    ws: Ws,
    session: ClientSession<Coins>,
}

impl Player {
    async fn join(server: &TestServer, name: &str, spectate: bool) -> Player {
        let mut ws = connect(&server.url()).await;
        let (session, hello) =
            ClientSession::<Coins>::joining(name, spectate, RoomRequest::quick_play());
        send(&mut ws, &hello).await;
        Player { ws, session }
    }

    /// Reads frames for `time`, answering each snapshot with an input steered by `steer`
    /// (which also acknowledges it) or an ack. Returns the verified snapshots.
    async fn play(
        &mut self,
        time: Duration,
        steer: impl Fn(&ClientSession<Coins>) -> (f32, f32),
    ) -> u64 {
        let end = tokio::time::Instant::now() + time;
        let mut snapshots = 0;
        while let Ok(frame) = tokio::time::timeout_at(end, self.ws.next()).await {
            let Some(Ok(Message::Binary(bytes))) = frame else {
                continue;
            };
            let event = self.session.handle(&bytes).expect("every frame verifies");
            if let SessionEvent::Snapshot { .. } = event {
                snapshots += 1;
                let (x, y) = steer(&self.session);
                let msg = self
                    .session
                    .input(x, y, 0.0, false)
                    .or_else(|| self.session.take_ack());
                if let Some(msg) = msg {
                    send(&mut self.ws, &msg).await;
                }
            }
        }
        snapshots
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_guide_game_plays_on_the_real_server() {
    let coins = GameMaker::new(|s| Coins::new(s.map.width, s.map.height));
    let mut config = Config::new(60);
    config.default_game = coins.game().to_owned();
    let server = TestServer::hosting(config, Games::builtin().with(coins)).await;
    let mut runner = Player::join(&server, "ann", false).await;
    let mut watcher = Player::join(&server, "eve", true).await;

    // Ann runs for the nearest coin she sees; the watcher just watches.
    let (played, watched) = tokio::join!(
        runner.play(Duration::from_secs(6), nearest_coin),
        watcher.play(Duration::from_secs(6), |_| (0.0, 0.0)),
    );
    assert!(
        played > 200 && watched > 200,
        "{played} and {watched} snapshots"
    );
    assert_eq!(
        runner.session.welcome().map(|w| w.game.as_str()),
        Some("coins")
    );
    assert_eq!(
        runner.session.stats.desyncs + watcher.session.stats.desyncs,
        0
    );

    let p = runner.session.predictor().expect("a player predicts");
    assert!(p.checked > 200, "{} predictions checked", p.checked);
    assert_eq!(p.mispredictions, 0);

    // The watcher sees the whole field: the 24 coins (however many were taken, new ones
    // dropped) and the runner, with the coins it collected.
    let (_, view) = watcher.session.replica().latest().expect("a snapshot");
    let coins = view
        .entities()
        .iter()
        .filter(|(_, t)| t.kind == Kind::Coin)
        .count();
    assert_eq!(coins, 24);
    let me = runner.session.player_id().expect("a player");
    let collected = view.get(me).map(|t| t.coins).expect("the runner in view");
    assert!(
        collected >= 3,
        "a runner chasing coins for 6 s collects some: {collected}"
    );
    server.stop().await;
}

/// The stick towards the nearest coin in the player's view.
fn nearest_coin(session: &ClientSession<Coins>) -> (f32, f32) {
    let (Some(me), Some((_, view))) = (session.player_id(), session.replica().latest()) else {
        return (0.0, 0.0);
    };
    let Some(at) = view.get(me) else {
        return (0.0, 0.0);
    };
    let nearest = view
        .entities()
        .iter()
        .filter(|(_, t)| t.kind == Kind::Coin)
        .map(|(_, t)| (f64::from(t.x - at.x), f64::from(t.y - at.y)))
        .min_by(|a, b| a.0.hypot(a.1).total_cmp(&b.0.hypot(b.1)));
    match nearest {
        Some((dx, dy)) if dx != 0.0 || dy != 0.0 => {
            let d = dx.hypot(dy);
            ((dx / d) as f32, (dy / d) as f32)
        }
        _ => (0.0, 0.0),
    }
}
