//! Thread priorities: the socket threads may run below the tick thread (`--io-nice`).

use thiserror::Error;

#[derive(Debug, Error)]
pub enum PriorityError {
    #[error("no priority maps to nice {0}")]
    Unmapped(u8),
    /// `thread_priority`'s own error, in its words (its Display is terse).
    #[error("{0:?}")]
    Os(thread_priority::Error),
}

/// Sets the calling thread's niceness to `nice` (0-19; lower priority than the default 0).
/// Only Linux threads have a niceness of their own; elsewhere this does nothing.
pub fn lower_current_thread(nice: u8) -> Result<(), PriorityError> {
    if !cfg!(target_os = "linux") || nice == 0 {
        return Ok(());
    }
    let value = crossplatform_for_nice(nice.min(19))?;
    thread_priority::set_current_thread_priority(thread_priority::ThreadPriority::Crossplatform(
        value,
    ))
    .map_err(PriorityError::Os)
}

/// `thread_priority` takes a 0-99 "crossplatform" priority and maps it onto niceness -20..19
/// linearly (higher is more urgent): pick the value that lands on `nice`.
fn crossplatform_for_nice(nice: u8) -> Result<thread_priority::ThreadPriorityValue, PriorityError> {
    let maps_to = |p: u8| (39.0f32 * (1.0 - f32::from(p) / 99.0)) as i8 - 20;
    (0..=99u8)
        .find(|&p| maps_to(p) == nice as i8)
        .and_then(|p| thread_priority::ThreadPriorityValue::try_from(p).ok())
        .ok_or(PriorityError::Unmapped(nice))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The calling thread's niceness, from /proc (field 19 of its stat line).
    fn current_nice() -> Option<i32> {
        let stat = std::fs::read_to_string("/proc/thread-self/stat").ok()?;
        let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
        fields.get(16)?.parse().ok()
    }

    #[test]
    fn a_thread_lowers_its_own_priority_to_the_asked_niceness() {
        if !cfg!(target_os = "linux") {
            return;
        }
        // A test runner may itself run niced: only a niceness above the runner's is a
        // lowering (going below it needs privilege), so the targets start from there.
        let start = current_nice().expect("the thread's niceness from /proc");
        assert!((0..=19).contains(&start), "runner at nice {start}");
        let targets: Vec<u8> = [start + 1, (start + 19) / 2 + 1, 19]
            .into_iter()
            .filter(|n| *n > start && *n <= 19)
            .map(|n| n as u8)
            .collect();
        for nice in targets {
            let got = std::thread::spawn(move || {
                lower_current_thread(nice).expect("lowering needs no privilege");
                current_nice()
            })
            .join()
            .expect("thread");
            assert_eq!(got, Some(i32::from(nice)));
        }
        assert_eq!(current_nice(), Some(start), "other threads keep theirs");
    }
}
