//! A team's own game on snapwire: `cargo run -p snapwire-server --example your_game` serves
//! "coins" (`examples/coins`) on ws://127.0.0.1:8081/ws with the same server as the arena:
//! rooms, matchmaking, delta snapshots, limits, `/metrics`. docs/your-game.md walks through it.

use snapwire_example_coins::game;
use std::sync::Arc;

use snapwire_server::{Config, GameMaker, Games, ServerStats};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    // Coins, set up on each room's map; the server hosts it beside the built-in games.
    let coins = GameMaker::new(|s| game::Coins::new(s.map.width, s.map.height));
    let mut config = Config::new(60);
    // Rooms of the default kind play coins.
    config.default_game = coins.game().to_owned();
    config.room_size = Some(16);
    let listener = TcpListener::bind("127.0.0.1:8081").await?;
    println!("coins on ws://127.0.0.1:8081/ws (Ctrl-C stops)");
    let shutdown = CancellationToken::new();
    let stop = shutdown.clone();
    tokio::spawn(async move {
        let _ = tokio::signal::ctrl_c().await;
        stop.cancel();
    });
    let games = Games::builtin().with(coins);
    let stats = Arc::new(ServerStats::default());
    snapwire_server::serve(listener, config, games, shutdown, stats).await?;
    Ok(())
}
