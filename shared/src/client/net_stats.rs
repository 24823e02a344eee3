//! The numbers of the net graph overlay, over a sliding one-second window. Times are
//! milliseconds on any monotonic clock the caller chooses.

use std::collections::VecDeque;

use crate::protocol::input_acked;

const WINDOW_MS: f64 = 1000.0;

#[derive(Debug, Default)]
pub struct NetStats {
    snapshots_in: VecDeque<(f64, usize)>,
    /// Frames in that are not snapshots (the scoreboard).
    other_in: VecDeque<(f64, usize)>,
    bytes_out: VecDeque<(f64, usize)>,
    corrections: VecDeque<f64>,
    /// Frames drawn in the last second, and whether each ran past the newest snapshot.
    frames: VecDeque<(f64, bool)>,
    /// The largest correction in the last second, in world units, with its time.
    largest_correction: VecDeque<(f64, f64)>,
    /// Send time of inputs not yet acknowledged: (seq, ms).
    inputs: VecDeque<(u32, f64)>,
    /// Exponential average of input send to acknowledgement, in ms.
    ping_ms: Option<f64>,
    pub last_snapshot_bytes: usize,
    pub checksum_failures: u64,
}

/// Bytes a message of `payload` bytes takes as a WebSocket frame: the kbps figures count what
/// crosses the wire above TCP. A client's frames are masked (4 more bytes).
pub fn ws_frame_len(payload: usize, masked: bool) -> usize {
    let header = match payload {
        0..=125 => 2,
        126..=65_535 => 4,
        _ => 10,
    };
    payload + header + if masked { 4 } else { 0 }
}

/// What the overlay shows; `kbps_in` and `kbps_out` count WebSocket frames.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct NetGraph {
    pub ping_ms: Option<f64>,
    pub snapshots_per_s: usize,
    pub kbps_in: f64,
    pub kbps_out: f64,
    pub last_snapshot_bytes: usize,
    pub corrections_per_s: usize,
    /// The largest prediction correction in the last second, in world units.
    pub largest_correction_units: f64,
    /// Frames in the last second drawn past the newest snapshot (the interpolation buffer
    /// ran dry), in percent.
    pub underrun_pct: f64,
    pub checksum_failures: u64,
}

impl NetStats {
    /// A snapshot of `bytes` (the message, without WebSocket framing) arrived.
    pub fn on_snapshot(&mut self, now: f64, bytes: usize, last_input_seq: u32, corrected: bool) {
        self.snapshots_in
            .push_back((now, ws_frame_len(bytes, false)));
        self.last_snapshot_bytes = bytes;
        if corrected {
            self.corrections.push_back(now);
        }
        while let Some(&(seq, sent)) = self.inputs.front() {
            if !input_acked(seq, last_input_seq) {
                break;
            }
            self.inputs.pop_front();
            if seq == last_input_seq {
                let rtt = now - sent;
                self.ping_ms = Some(self.ping_ms.map_or(rtt, |p| p + (rtt - p) * 0.1));
            }
        }
        self.expire(now);
    }

    /// A prediction correction of `units` (world units; 0 for none) came with a snapshot.
    pub fn on_correction(&mut self, now: f64, units: f64) {
        if units > 0.0 {
            self.largest_correction.push_back((now, units));
        }
    }

    /// A frame was drawn `ahead_ms` past the newest snapshot (0: within the buffer).
    pub fn on_frame(&mut self, now: f64, ahead_ms: f64) {
        self.frames.push_back((now, ahead_ms > 0.0));
        self.expire(now);
    }

    /// Any other message of `bytes` arrived.
    pub fn on_other_frame(&mut self, now: f64, bytes: usize) {
        self.other_in.push_back((now, ws_frame_len(bytes, false)));
        self.expire(now);
    }

    /// A message of `bytes` was sent (an input, when `input_seq` is given).
    pub fn on_send(&mut self, now: f64, bytes: usize, input_seq: Option<u32>) {
        self.bytes_out.push_back((now, ws_frame_len(bytes, true)));
        if let Some(seq) = input_seq {
            self.inputs.push_back((seq, now));
            if self.inputs.len() > 256 {
                self.inputs.pop_front();
            }
        }
        self.expire(now);
    }

    pub fn graph(&mut self, now: f64) -> NetGraph {
        self.expire(now);
        let kbps = |q: &VecDeque<(f64, usize)>| {
            q.iter().map(|(_, b)| *b as f64).sum::<f64>() * 8.0 / 1000.0
        };
        NetGraph {
            ping_ms: self.ping_ms,
            snapshots_per_s: self.snapshots_in.len(),
            kbps_in: kbps(&self.snapshots_in) + kbps(&self.other_in),
            kbps_out: kbps(&self.bytes_out),
            last_snapshot_bytes: self.last_snapshot_bytes,
            corrections_per_s: self.corrections.len(),
            largest_correction_units: self
                .largest_correction
                .iter()
                .map(|(_, u)| *u)
                .fold(0.0, f64::max),
            underrun_pct: if self.frames.is_empty() {
                0.0
            } else {
                100.0 * self.frames.iter().filter(|(_, dry)| *dry).count() as f64
                    / self.frames.len() as f64
            },
            checksum_failures: self.checksum_failures,
        }
    }

    fn expire(&mut self, now: f64) {
        let cutoff = now - WINDOW_MS;
        while self.snapshots_in.front().is_some_and(|(t, _)| *t < cutoff) {
            self.snapshots_in.pop_front();
        }
        while self.other_in.front().is_some_and(|(t, _)| *t < cutoff) {
            self.other_in.pop_front();
        }
        while self.bytes_out.front().is_some_and(|(t, _)| *t < cutoff) {
            self.bytes_out.pop_front();
        }
        while self.corrections.front().is_some_and(|t| *t < cutoff) {
            self.corrections.pop_front();
        }
        while self.frames.front().is_some_and(|(t, _)| *t < cutoff) {
            self.frames.pop_front();
        }
        while self
            .largest_correction
            .front()
            .is_some_and(|(t, _)| *t < cutoff)
        {
            self.largest_correction.pop_front();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_cover_the_last_second() {
        let mut s = NetStats::default();
        for i in 0..120 {
            let now = f64::from(i) * 1000.0 / 60.0;
            s.on_send(now, 18, Some(i + 1));
            s.on_snapshot(now + 20.0, 100, i + 1, i % 30 == 0);
        }
        let g = s.graph(119.0 * 1000.0 / 60.0 + 20.0);
        assert!((59..=61).contains(&g.snapshots_per_s), "{g:?}");
        // 100-byte snapshots in 102-byte frames; 18-byte inputs in 24-byte masked frames.
        assert!(
            (g.kbps_in - 60.0 * 102.0 * 8.0 / 1000.0).abs() < 1.0,
            "{g:?}"
        );
        assert!(
            (g.kbps_out - 60.0 * 24.0 * 8.0 / 1000.0).abs() < 0.3,
            "{g:?}"
        );
        assert_eq!(g.corrections_per_s, 2);
        for k in 0..100 {
            s.on_frame(2000.0 + f64::from(k), if k < 5 { 3.0 } else { 0.0 });
        }
        s.on_correction(2050.0, 0.25);
        let g = s.graph(2100.0);
        assert!((g.underrun_pct - 5.0).abs() < 1e-9, "{g:?}");
        assert!((g.largest_correction_units - 0.25).abs() < 1e-9);
        assert!((g.ping_ms.unwrap_or_default() - 20.0).abs() < 1e-6);
    }
}
