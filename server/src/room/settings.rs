//! A room's settings: what a room kind gives each of its rooms, and the defaults an operator's
//! flags start from.

use snapwire_shared::map::MapDef;
use snapwire_shared::quantize::pos_from_units;
use snapwire_shared::sim::rules::DEFAULT_MAX_REWIND_MS;

use crate::room::arena::Scene;

/// Snapshots kept as delta baselines unless said otherwise.
pub const DEFAULT_HISTORY: usize = 64;

/// What a player sees unless said otherwise, in world units: wide, for a landscape screen.
pub const DEFAULT_VIEW: (f64, f64) = (40.0, 24.0);

/// What a room is: its map and rules and how it replicates.
#[derive(Debug, Clone)]
pub struct RoomSettings {
    pub map: MapDef,
    /// Simulation steps per second.
    pub tick_rate: u16,
    /// Size of the rectangle around a player that it sees, in position quanta.
    pub view_width: i32,
    pub view_height: i32,
    /// Snapshots kept as possible delta baselines.
    pub history: usize,
    /// Always send full snapshots (for measuring what delta compression saves).
    pub full_snapshots: bool,
    /// Hold snapshots from a client whose oldest unacknowledged one is older than its window
    /// ([`flow`]).
    pub flow_control: bool,
    /// Send each client a snapshot one tick in this many (staggered across clients).
    pub snapshot_every: u32,
    pub scene: Scene,
    /// How many inputs a player may send.
    pub input_rate: InputRate,
    /// Lag compensation's bound (`Rules::with_max_rewind_ms`), in milliseconds.
    pub max_rewind_ms: u32,
    /// Each client's byte budget for snapshots, in kilobits a second
    /// ([`crate::room::budget`]); `None`: no budget.
    pub max_kbps_per_client: Option<u32>,
}

/// A player's input allowance, a token bucket: it refills `per_second` tokens a second up to
/// `burst`; an input finding it empty is dropped and counted, and a client that keeps finding it
/// empty for `flood_after` is closed (1008). The rules never step a player faster than one
/// input per tick anyway (the input budget); this bounds the work a flooder costs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct InputRate {
    pub per_second: f64,
    pub burst: f64,
    pub flood_after: std::time::Duration,
}

impl InputRate {
    /// Twice the tick rate, two seconds' worth in a burst (a client catching up after a
    /// stall sends faster for a while), closed after two seconds over it.
    pub fn for_tick_rate(tick_rate: u16) -> InputRate {
        InputRate {
            per_second: 2.0 * f64::from(tick_rate),
            burst: 2.0 * f64::from(tick_rate),
            flood_after: std::time::Duration::from_secs(2),
        }
    }
}

impl RoomSettings {
    /// An input whose tick is further than this from the room's is refused: five seconds, so
    /// a client that stalled for a few seconds is not thrown out when its queued inputs
    /// (stamped with the last tick it saw) finally arrive.
    pub fn max_tick_skew(&self) -> u32 {
        5 * u32::from(self.tick_rate)
    }
}

impl RoomSettings {
    /// The defaults at `tick_rate`: the built-in arena map with no extra entities, a
    /// [`DEFAULT_VIEW`], [`DEFAULT_HISTORY`] baselines, deltas, flow control, a snapshot every
    /// tick, the default input rate and rewind bound.
    pub fn new(tick_rate: u16) -> RoomSettings {
        RoomSettings {
            map: MapDef::arena(),
            tick_rate,
            view_width: pos_from_units(DEFAULT_VIEW.0),
            view_height: pos_from_units(DEFAULT_VIEW.1),
            history: DEFAULT_HISTORY,
            full_snapshots: false,
            flow_control: true,
            snapshot_every: 1,
            scene: Scene::Empty,
            input_rate: InputRate::for_tick_rate(tick_rate),
            max_rewind_ms: DEFAULT_MAX_REWIND_MS,
            max_kbps_per_client: None,
        }
    }
}
