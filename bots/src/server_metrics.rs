//! The server's own figures for a load run: `/metrics` read before and after, so the report
//! holds the tick p99 and overruns of the run itself, not of the server's whole life.

use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;

use crate::http_get::{GetError, GetFailure, get_text};

/// The `/metrics` URL of the server behind a WebSocket URL: `ws://h:p/ws` -> `http://h:p/metrics`.
pub fn metrics_url(ws_url: &str) -> Option<String> {
    let rest = ws_url
        .strip_prefix("ws://")
        .map(|r| ("http://", r))
        .or_else(|| ws_url.strip_prefix("wss://").map(|r| ("https://", r)))?;
    let host = rest.1.split('/').next()?;
    Some(format!("{}{host}/metrics", rest.0))
}

/// What a run reads from `/metrics`: cumulative counts at one moment.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Scrape {
    /// (upper bound in seconds, cumulative count), ascending, ending with +Inf.
    pub tick_buckets: Vec<(f64, f64)>,
    pub overruns: f64,
    pub skipped_ticks: f64,
    pub outbox_skipped: f64,
}

/// The server's figures over the run: the difference of two scrapes.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ServerFigures {
    pub tick_p50_ms: f64,
    pub tick_p99_ms: f64,
    pub overruns: f64,
    pub skipped_ticks: f64,
    pub outbox_skipped: f64,
}

/// Reads `url` once (within 5 s). An `https://` URL is checked against `tls` when given (the
/// `--ca` the bots' `wss://` trusts), else against the public web's roots.
pub async fn scrape(
    url: &str,
    tls: Option<&Arc<rustls::ClientConfig>>,
) -> Result<Scrape, GetError> {
    let limit = Duration::from_secs(5);
    let text = tokio::time::timeout(limit, get_text(url, tls))
        .await
        .map_err(|_| GetError {
            url: url.to_owned(),
            why: GetFailure::Timeout(limit),
        })??;
    Ok(parse(&text))
}

/// Reads the few series a run needs from Prometheus text; other lines are ignored.
pub fn parse(text: &str) -> Scrape {
    let mut s = Scrape::default();
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        let Some((name, value)) = line.rsplit_once(' ') else {
            continue;
        };
        let Ok(value) = value.parse::<f64>() else {
            continue;
        };
        if let Some(le) = name
            .strip_prefix("snapwire_tick_duration_seconds_bucket{le=\"")
            .and_then(|r| r.strip_suffix("\"}"))
        {
            let bound = if le == "+Inf" {
                f64::INFINITY
            } else {
                le.parse().unwrap_or(f64::INFINITY)
            };
            s.tick_buckets.push((bound, value));
        }
        match name {
            "snapwire_tick_overruns_total" => s.overruns = value,
            "snapwire_ticks_skipped_total" => s.skipped_ticks = value,
            "snapwire_outbox_skipped_total" => s.outbox_skipped = value,
            _ => {}
        }
    }
    s.tick_buckets.sort_by(|a, b| a.0.total_cmp(&b.0));
    s
}

impl ServerFigures {
    pub fn between(before: &Scrape, after: &Scrape) -> ServerFigures {
        let buckets: Vec<(f64, f64)> = after
            .tick_buckets
            .iter()
            .map(|&(le, n)| {
                let old = before
                    .tick_buckets
                    .iter()
                    .find(|b| b.0 == le)
                    .map_or(0.0, |b| b.1);
                (le, n - old)
            })
            .collect();
        ServerFigures {
            tick_p50_ms: quantile(&buckets, 0.50) * 1000.0,
            tick_p99_ms: quantile(&buckets, 0.99) * 1000.0,
            overruns: after.overruns - before.overruns,
            skipped_ticks: after.skipped_ticks - before.skipped_ticks,
            outbox_skipped: after.outbox_skipped - before.outbox_skipped,
        }
    }
}

/// The `q` quantile of a cumulative histogram, interpolated linearly inside its bucket (as
/// Prometheus' `histogram_quantile` does). A quantile in the +Inf bucket reports the largest
/// finite bound: the true value is at least that.
fn quantile(buckets: &[(f64, f64)], q: f64) -> f64 {
    let Some(&(_, total)) = buckets.last() else {
        return 0.0;
    };
    if total <= 0.0 {
        return 0.0;
    }
    let rank = q * total;
    let mut lower = (0.0, 0.0);
    for &(le, count) in buckets {
        if count >= rank {
            if le.is_infinite() {
                return lower.0;
            }
            let inside = count - lower.1;
            let frac = if inside > 0.0 {
                (rank - lower.1) / inside
            } else {
                1.0
            };
            return lower.0 + (le - lower.0) * frac;
        }
        lower = (le, count);
    }
    lower.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_and_quantiles() {
        assert_eq!(
            metrics_url("ws://127.0.0.1:8080/ws").as_deref(),
            Some("http://127.0.0.1:8080/metrics")
        );
        let text = "# HELP x\nsnapwire_tick_duration_seconds_bucket{le=\"0.001\"} 50\n\
                    snapwire_tick_duration_seconds_bucket{le=\"0.002\"} 100\n\
                    snapwire_tick_duration_seconds_bucket{le=\"+Inf\"} 100\n\
                    snapwire_tick_overruns_total 3\n";
        let after = parse(text);
        assert_eq!(after.overruns, 3.0);
        let f = ServerFigures::between(&Scrape::default(), &after);
        assert!((f.tick_p50_ms - 1.0).abs() < 1e-9, "{f:?}");
        assert!((f.tick_p99_ms - 1.98).abs() < 1e-9, "{f:?}");
        assert_eq!(f.overruns, 3.0);
    }
}
