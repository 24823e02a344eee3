//! The match scoreboard. A snapshot only carries the players in a client's view, so scores
//! travel on their own: ranked once a second, and sent to each client once a second on a tick
//! picked by its id, so a thousand clients do not all get theirs on the same tick.

use std::collections::HashMap;

use snapwire_shared::game::Game;
use snapwire_shared::protocol::{SCOREBOARD_ROWS, ScoreRow, Scores};
use snapwire_shared::sim::EntityId;

use crate::room::ClientId;

#[derive(Debug, Default)]
pub struct Scoreboard {
    /// Ticks between rankings, and between two boards for one client.
    period: u32,
    /// Every player, best first (ties by name, then id).
    ranked: Vec<ScoreRow>,
    /// Each player's 1-based place in `ranked`.
    rank_of: HashMap<EntityId, u32>,
}

impl Scoreboard {
    pub fn new(tick_rate: u16) -> Scoreboard {
        Scoreboard {
            period: u32::from(tick_rate).max(1),
            ..Scoreboard::default()
        }
    }

    /// Ranks the `players` on the first tick of each period (and before the first board).
    pub fn rank_if_due<G: Game>(&mut self, game: &G, players: impl Iterator<Item = EntityId>) {
        if !game.tick().0.is_multiple_of(self.period) && !self.ranked.is_empty() {
            return;
        }
        self.ranked.clear();
        self.ranked.extend(players.filter_map(|id| {
            Some(ScoreRow {
                id: id.0,
                name: game.player_name(id)?.to_owned(),
                score: game.player_score(id)?,
            })
        }));
        self.ranked.sort_by(|a, b| {
            (b.score.cmp(&a.score))
                .then_with(|| a.name.cmp(&b.name))
                .then_with(|| a.id.cmp(&b.id))
        });
        self.rank_of.clear();
        self.rank_of.extend(
            self.ranked
                .iter()
                .enumerate()
                .map(|(i, row)| (EntityId(row.id), i as u32 + 1)),
        );
    }

    /// Whether `client` gets a board on `tick`: once per period, spread by id.
    pub fn due(&self, client: ClientId, tick: u32) -> bool {
        (u64::from(tick) + client).is_multiple_of(u64::from(self.period))
    }

    /// The board for a client whose player is `entity` (`None`: a spectator, or a player who
    /// joined since the last ranking).
    pub fn message_for(&self, entity: Option<EntityId>) -> Scores {
        Scores {
            players: self.ranked.len() as u32,
            top: self.ranked.iter().take(SCOREBOARD_ROWS).cloned().collect(),
            you: entity.and_then(|e| {
                let rank = *self.rank_of.get(&e)?;
                Some((rank, self.ranked[rank as usize - 1].score))
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use snapwire_shared::Tick;
    use snapwire_shared::map::MapDef;
    use snapwire_shared::sim::{Rules, World};

    use super::*;

    #[test]
    fn ranks_every_player_and_tells_each_their_place() {
        let mut world = World::new(Arc::new(MapDef::arena()), Rules::for_tick_rate(60), Tick(0));
        let ids: Vec<EntityId> = (0..15)
            .map(|i| world.spawn_player(format!("p{i:02}")))
            .collect();
        for (n, id) in ids.iter().enumerate() {
            if let Some(p) = world.player_mut(*id) {
                p.score = (n % 5) as i32;
            }
        }
        let mut board = Scoreboard::new(60);
        board.rank_if_due(&world, ids.iter().copied());
        let last = board.message_for(Some(ids[0]));
        assert_eq!(last.players, 15);
        assert_eq!(last.top.len(), SCOREBOARD_ROWS);
        let top: Vec<(&str, i32)> = last
            .top
            .iter()
            .map(|r| (r.name.as_str(), r.score))
            .collect();
        assert_eq!(&top[..4], [("p04", 4), ("p09", 4), ("p14", 4), ("p03", 3)]);
        // p00 has score 0 and sorts first among the three zeros: 13th of 15.
        assert_eq!(last.you, Some((13, 0)));
        assert_eq!(board.message_for(None).you, None);
    }

    #[test]
    fn each_client_gets_one_board_per_period() {
        let board = Scoreboard::new(60);
        for client in [1u64, 7, 59, 60, 1000] {
            let due = (0..600u32).filter(|t| board.due(client, *t)).count();
            assert_eq!(due, 10, "client {client}");
        }
    }
}
