//! The numbers that define the game, and their per-tick form for a given tick rate.

use crate::quantize::POS_SCALE;

/// Player radius, in position quanta.
pub const PLAYER_RADIUS: i32 = POS_SCALE / 2;
pub const PROJECTILE_RADIUS: i32 = POS_SCALE * 3 / 20;
pub const MAX_HEALTH: u8 = 100;
pub const PROJECTILE_DAMAGE: u8 = 20;
/// The rail (alternate fire, hitscan): three hits kill.
pub const RAIL_DAMAGE: u8 = 35;
/// Default largest rewind of lag compensation, in milliseconds: ARCHITECTURE.md ("Lag
/// compensation") says how it was chosen.
pub const DEFAULT_MAX_REWIND_MS: u32 = 200;

const MAX_SPEED_UNITS_PER_S: f64 = 8.0;
/// How fast velocity approaches the input's target velocity, per second (friction and thrust).
const RESPONSE_PER_S: f64 = 10.0;
const PROJECTILE_SPEED_UNITS_PER_S: f64 = 24.0;
const PROJECTILE_LIFETIME_S: f64 = 1.2;
const FIRE_COOLDOWN_S: f64 = 0.2;
const RESPAWN_S: f64 = 2.0;
const RAIL_RANGE_UNITS: f64 = 16.0;
const RAIL_COOLDOWN_S: f64 = 0.6;
/// How long a kill stays in the world as an obituary entity (what kill feeds read).
const OBITUARY_S: f64 = 1.0;

/// Per-tick constants derived from the tick rate. Server and clients derive them from the same
/// `tick_rate` with the same arithmetic, so they agree to the bit.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rules {
    pub tick_rate: u16,
    /// Largest speed, in position quanta per tick.
    pub max_speed: f64,
    /// Fraction of the gap to the target velocity closed in one step.
    pub response: f64,
    pub projectile_speed: f64,
    pub projectile_lifetime: u16,
    /// In player steps (processed inputs), so the client can predict it.
    pub fire_cooldown: u16,
    pub respawn_ticks: u16,
    /// The rail's reach, in position quanta.
    pub rail_range: f64,
    /// In player steps, like `fire_cooldown`.
    pub rail_cooldown: u16,
    pub obituary_ticks: u16,
    /// How far back a shot may be judged (lag compensation), in ticks; older claims are
    /// clamped to it. 0 judges every shot against the newest snapshot.
    pub max_rewind_ticks: u16,
}

impl Rules {
    /// Tick rates outside 1..=1000 are refused by the server's configuration.
    pub fn for_tick_rate(tick_rate: u16) -> Rules {
        let hz = f64::from(tick_rate.max(1));
        let per_tick = |units_per_s: f64| units_per_s * f64::from(POS_SCALE) / hz;
        let ticks = |seconds: f64| (seconds * hz).round().clamp(1.0, f64::from(u16::MAX)) as u16;
        Rules {
            tick_rate,
            max_speed: per_tick(MAX_SPEED_UNITS_PER_S),
            response: 1.0 - libm::exp(-RESPONSE_PER_S / hz),
            projectile_speed: per_tick(PROJECTILE_SPEED_UNITS_PER_S),
            projectile_lifetime: ticks(PROJECTILE_LIFETIME_S),
            fire_cooldown: ticks(FIRE_COOLDOWN_S),
            respawn_ticks: ticks(RESPAWN_S),
            rail_range: f64::from(POS_SCALE) * RAIL_RANGE_UNITS,
            rail_cooldown: ticks(RAIL_COOLDOWN_S),
            obituary_ticks: ticks(OBITUARY_S),
            max_rewind_ticks: 0,
        }
        .with_max_rewind_ms(DEFAULT_MAX_REWIND_MS)
    }

    /// The same rules with lag compensation reaching back `ms` milliseconds (rounded to whole
    /// ticks; 0 turns it off).
    #[must_use]
    pub fn with_max_rewind_ms(self, ms: u32) -> Rules {
        let ticks = (f64::from(ms) * f64::from(self.tick_rate.max(1)) / 1000.0).round();
        Rules {
            max_rewind_ticks: ticks.clamp(0.0, f64::from(u16::MAX)) as u16,
            ..self
        }
    }
}
