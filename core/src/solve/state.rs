//! A mutable assignment with per-channel loads and members, kept consistent by
//! its move operations so that local search evaluates moves in O(1).

use super::problem::{NONE, Problem};

/// Assignment state shared by the constructive and improvement phases.
#[derive(Debug, Clone)]
pub(crate) struct State {
    /// Channel of each order, or [`NONE`].
    pub asg: Vec<u32>,
    /// Cost (score − penalty) of each order's current pair, 0 when unassigned.
    pub cur: Vec<f64>,
    /// Units each channel still has free.
    pub free: Vec<i64>,
    /// Orders on each channel.
    pub members: Vec<Vec<u32>>,
    /// Position of each order in its channel's member list.
    pub mpos: Vec<u32>,
    /// Σ cur: the objective minus the constant Σ penalties.
    pub cost: f64,
}

impl State {
    /// Everyone unassigned.
    pub fn empty(p: &Problem) -> Self {
        State {
            asg: vec![NONE; p.num_orders()],
            cur: vec![0.0; p.num_orders()],
            free: p.capacity.iter().map(|&c| i64::from(c)).collect(),
            members: vec![Vec::new(); p.num_channels()],
            mpos: vec![0; p.num_orders()],
            cost: 0.0,
        }
    }

    /// Moves order `i` to channel `j` (or [`NONE`]) at cost `c` (0 for NONE).
    #[inline]
    pub fn set(&mut self, p: &Problem, i: usize, j: u32, c: f64) {
        let old = self.asg[i];
        let u = i64::from(p.units[i]);
        if old != NONE {
            let pos = self.mpos[i] as usize;
            let list = &mut self.members[old as usize];
            list.swap_remove(pos);
            if pos < list.len() {
                let moved = list[pos] as usize;
                self.mpos[moved] = pos as u32;
            }
            self.free[old as usize] += u;
        }
        if j != NONE {
            let list = &mut self.members[j as usize];
            self.mpos[i] = list.len() as u32;
            list.push(i as u32);
            self.free[j as usize] -= u;
        }
        self.cost += c - self.cur[i];
        self.cur[i] = c;
        self.asg[i] = j;
    }

    /// The assignment as channel indices.
    pub fn to_assignment(&self) -> Vec<Option<usize>> {
        self.asg
            .iter()
            .map(|&j| (j != NONE).then_some(j as usize))
            .collect()
    }

    /// Recomputes the cost exactly (the running sum drifts by rounding).
    pub fn exact_cost(&self) -> f64 {
        self.cur.iter().sum()
    }
}
