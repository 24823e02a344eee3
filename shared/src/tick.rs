//! The server's tick counter, which wraps.

use std::cmp::Ordering;
use std::fmt;

use serde::{Deserialize, Serialize};

/// A simulation tick number.
///
/// It wraps at `u32::MAX` (about 2.2 years at 60 Hz, but a server may start anywhere), so ordering
/// is wrap-aware: `a < b` when `b` is less than half the range ahead of `a`. Two ticks exactly half
/// the range apart compare by their raw value, which keeps `Ord` total; callers never hold ticks
/// that far apart.
///
/// On the wire a tick is 4 bytes, little-endian: a varint would grow from 3 to 5 bytes after
/// 18 minutes at 60 Hz, and every snapshot carries one.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(from = "[u8; 4]", into = "[u8; 4]")]
pub struct Tick(pub u32);

impl From<[u8; 4]> for Tick {
    fn from(bytes: [u8; 4]) -> Tick {
        Tick(u32::from_le_bytes(bytes))
    }
}

impl From<Tick> for [u8; 4] {
    fn from(tick: Tick) -> [u8; 4] {
        tick.0.to_le_bytes()
    }
}

impl Tick {
    /// The next tick.
    #[must_use]
    pub fn next(self) -> Tick {
        Tick(self.0.wrapping_add(1))
    }

    /// `self + n`, wrapping.
    #[must_use]
    pub fn plus(self, n: u32) -> Tick {
        Tick(self.0.wrapping_add(n))
    }

    /// Signed distance from `earlier` to `self`: positive when `self` is ahead.
    pub fn since(self, earlier: Tick) -> i32 {
        // Reinterpreting the wrapped difference as signed is the wrap-aware comparison.
        self.0.wrapping_sub(earlier.0) as i32
    }
}

impl Ord for Tick {
    fn cmp(&self, other: &Self) -> Ordering {
        match self.since(*other) {
            0 => Ordering::Equal,
            i32::MIN => self.0.cmp(&other.0),
            d if d > 0 => Ordering::Greater,
            _ => Ordering::Less,
        }
    }
}

impl PartialOrd for Tick {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl fmt::Debug for Tick {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Tick({})", self.0)
    }
}

impl fmt::Display for Tick {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn ordering_survives_the_wrap() {
        let before = Tick(u32::MAX - 1);
        let after = before.plus(3);
        assert_eq!(after, Tick(1));
        assert!(before < after);
        assert_eq!(after.since(before), 3);
        assert_eq!(before.since(after), -3);
    }

    proptest! {
        #[test]
        fn since_inverts_plus(start: u32, n in 0u32..(1 << 30)) {
            let a = Tick(start);
            prop_assert_eq!(a.plus(n).since(a), n as i32);
            prop_assert!(a.plus(n) >= a);
        }
    }
}
