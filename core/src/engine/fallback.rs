//! Fallback routing: round-robin over healthy, feasible channels.
//!
//! When the solver fails or overruns its budget, orders still have to go
//! somewhere; spreading them evenly over every channel that can take them is
//! cheap, needs no model, and cannot pile every order onto one channel.

/// A rotating cursor over a channel list.
///
/// ```
/// use uoom::engine::RoundRobin;
/// let mut rr = RoundRobin::default();
/// let mut out = Vec::new();
/// rr.candidates(4, |c| c != 2, &mut out);
/// assert_eq!(out, vec![0, 1, 3]);
/// rr.candidates(4, |c| c != 2, &mut out);
/// assert_eq!(out, vec![1, 3, 0]);
/// ```
#[derive(Debug, Clone, Default)]
pub struct RoundRobin {
    cursor: usize,
}

impl RoundRobin {
    /// Fills `out` with the channels `0..n` that pass `eligible`, starting
    /// at the cursor and wrapping; then moves the cursor one step on.
    pub fn candidates(
        &mut self,
        n: usize,
        mut eligible: impl FnMut(usize) -> bool,
        out: &mut Vec<usize>,
    ) {
        out.clear();
        if n == 0 {
            return;
        }
        let start = self.cursor % n;
        out.extend((start..n).chain(0..start).filter(|&c| eligible(c)));
        self.cursor = (start + 1) % n;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spreads_first_choices_evenly_over_eligible_channels() {
        let mut rr = RoundRobin::default();
        let mut out = Vec::new();
        let mut first = [0u32; 5];
        for _ in 0..50 {
            rr.candidates(5, |c| c % 2 == 0, &mut out);
            first[out[0]] += 1;
            assert_eq!(out.len(), 3);
        }
        assert_eq!(first[1] + first[3], 0);
        assert!(first.iter().step_by(2).all(|&n| n >= 10), "{first:?}");
    }

    #[test]
    fn empty_and_all_ineligible_give_nothing() {
        let mut rr = RoundRobin::default();
        let mut out = vec![9];
        rr.candidates(0, |_| true, &mut out);
        assert!(out.is_empty());
        rr.candidates(3, |_| false, &mut out);
        assert!(out.is_empty());
    }
}
