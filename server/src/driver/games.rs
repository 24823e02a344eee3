//! The games a server hosts, by name: what room kinds and recordings name ([`Game::NAME`]) is
//! looked up here. The composition root ([`crate::serve`]) is handed a [`Games`] and checks
//! that every configured kind names one of them; `replay --verify` re-simulates a recording
//! with the game it names.
//!
//! [`Game::NAME`]: snapwire_shared::game::Game::NAME

use std::path::Path;

use thiserror::Error;

use crate::driver::hosted::GameMaker;
use crate::recording::{self, Header, RecordingError};
use crate::room::SceneError;
use crate::room::record::{Entry, ReplayError};

/// The games a server can open rooms of.
#[derive(Debug, Clone, Default)]
pub struct Games {
    makers: Vec<GameMaker>,
}

/// A name that is none of the server's games.
#[derive(Debug, Error, PartialEq)]
#[error("no game {name:?} on this server (it hosts {})", hosted.join(", "))]
pub struct UnknownGame {
    pub name: String,
    pub hosted: Vec<&'static str>,
}

impl Games {
    /// The built-in games: the arena and tag.
    pub fn builtin() -> Games {
        Games::default()
            .with(GameMaker::arena())
            .with(GameMaker::tag())
    }

    /// These games and `game` (replacing one of the same name).
    pub fn with(mut self, game: GameMaker) -> Games {
        self.makers.retain(|m| m.game() != game.game());
        self.makers.push(game);
        self
    }

    pub fn get(&self, name: &str) -> Result<&GameMaker, UnknownGame> {
        self.makers
            .iter()
            .find(|m| m.game() == name)
            .ok_or_else(|| UnknownGame {
                name: name.to_owned(),
                hosted: self.names(),
            })
    }

    pub fn names(&self) -> Vec<&'static str> {
        self.makers.iter().map(GameMaker::game).collect()
    }

    /// Re-simulates the recording at `path` with the game it names and checks every tick's
    /// checksum (keyframes are checked where viewers start from them).
    pub fn verify(&self, path: &Path) -> Result<Verified, VerifyError> {
        let recording::Recording {
            header,
            ticks,
            checksum,
            ..
        } = recording::read(path)?;
        let game = self.get(&header.game)?;
        game.replay(&recording::settings_of(&header)?, &ticks, checksum)?;
        let inputs = ticks
            .iter()
            .flat_map(|t| &t.entries)
            .filter(|e| matches!(e, Entry::Input { .. }))
            .count();
        Ok(Verified {
            header,
            ticks: ticks.len(),
            inputs,
        })
    }
}

/// What a verified recording held.
#[derive(Debug)]
pub struct Verified {
    pub header: Header,
    /// Ticks re-simulated, every one matching.
    pub ticks: usize,
    /// Inputs applied over the recording.
    pub inputs: usize,
}

#[derive(Debug, Error)]
pub enum VerifyError {
    #[error(transparent)]
    Read(#[from] RecordingError),
    #[error("a recording of another game: {0} (a game of your own: `Games::with`)")]
    UnknownGame(#[from] UnknownGame),
    #[error("the room's scene: {0}")]
    Scene(#[from] SceneError),
    #[error(transparent)]
    Differs(#[from] ReplayError),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_game_is_found_by_name_and_a_missing_one_is_named_with_the_rest() {
        let games = Games::builtin();
        assert_eq!(games.names(), ["arena", "tag"]);
        assert_eq!(games.get("tag").map(GameMaker::game), Ok("tag"));
        let missing = games.get("chess").expect_err("no chess");
        assert_eq!(
            missing.to_string(),
            "no game \"chess\" on this server (it hosts arena, tag)"
        );
        assert_eq!(games.with(GameMaker::arena()).names(), ["tag", "arena"]);
    }
}
