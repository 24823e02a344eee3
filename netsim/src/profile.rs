//! What a link does to the bytes crossing it, by name.

use std::str::FromStr;
use std::time::Duration;

use thiserror::Error;

/// A link's behaviour, the same in both directions.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Profile {
    /// One-way delay every chunk gets.
    pub latency: Duration,
    /// Each chunk's delay varies uniformly by up to this much either way; order is kept (a
    /// chunk never overtakes the one before it, as over TCP).
    pub jitter: Duration,
    /// Chance that a chunk is "lost": over TCP a loss is a stall until the retransmission,
    /// then everything behind it arrives in a burst.
    pub loss: f64,
    /// Bytes per second each way; `None` is unlimited.
    pub bandwidth: Option<u64>,
    /// Each connection is cut (reset) after a random time in this range; `None` never.
    pub cut_after: Option<(Duration, Duration)>,
}

impl Profile {
    /// A local network: nothing happens.
    pub const LAN: Profile = Profile {
        latency: Duration::ZERO,
        jitter: Duration::ZERO,
        loss: 0.0,
        bandwidth: None,
        cut_after: None,
    };

    /// Home Wi-Fi to a server in another country: 100 ms +-25 ms, 2% loss-equivalent stalls.
    pub const AVERAGE: Profile = Profile {
        latency: Duration::from_millis(100),
        jitter: Duration::from_millis(25),
        loss: 0.02,
        bandwidth: None,
        cut_after: None,
    };

    /// A poor mobile link: 200 ms +-60 ms, 5% loss-equivalent stalls, 1 Mbit/s.
    pub const BAD: Profile = Profile {
        latency: Duration::from_millis(200),
        jitter: Duration::from_millis(60),
        loss: 0.05,
        bandwidth: Some(125_000),
        cut_after: None,
    };

    /// `average`, plus a cut every 5-20 s.
    pub const FLAKY: Profile = Profile {
        cut_after: Some((Duration::from_secs(5), Duration::from_secs(20))),
        ..Profile::AVERAGE
    };

    /// One chunk's or datagram's delay: the latency, give or take up to the jitter (uniform).
    pub fn delay(&self, rng: &mut impl rand::Rng) -> Duration {
        let jitter = self.jitter.as_secs_f64();
        if jitter > 0.0 {
            let offset = rng.random_range(-jitter..=jitter);
            Duration::from_secs_f64((self.latency.as_secs_f64() + offset).max(0.0))
        } else {
            self.latency
        }
    }

    /// How long a lost chunk stalls the stream: a retransmission timeout, which Linux never
    /// sets below 200 ms and which is about a round trip and a half on a slow link.
    pub fn stall(&self) -> Duration {
        (self.latency * 3).max(Duration::from_millis(200))
    }
}

#[derive(Debug, Error, PartialEq)]
#[error("unknown profile `{0}`: lan, average, bad or flaky")]
pub struct UnknownProfile(String);

impl FromStr for Profile {
    type Err = UnknownProfile;

    fn from_str(s: &str) -> Result<Profile, UnknownProfile> {
        match s {
            "lan" => Ok(Profile::LAN),
            "average" => Ok(Profile::AVERAGE),
            "bad" => Ok(Profile::BAD),
            "flaky" => Ok(Profile::FLAKY),
            other => Err(UnknownProfile(other.to_owned())),
        }
    }
}
