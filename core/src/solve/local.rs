//! Local search on true costs: shift (move one order to a channel with room,
//! or in from the unassigned pool), and ejection (move an order into a full
//! channel, relocating one of its orders to the freed slot, another channel
//! with room, or out). A swap is the ejection whose relocation goes to the
//! freed slot. First improvement, orders in index order: deterministic.

use super::problem::{NONE, Problem};
use super::state::State;

/// Best possible cost of each order anywhere, ignoring capacity (0 = stay out):
/// prunes ejections that cannot pay off.
pub(crate) fn best_any(p: &Problem) -> Vec<f64> {
    (0..p.num_orders())
        .map(|i| p.range(i).map(|k| p.pcost[k]).fold(0.0, f64::min))
        .collect()
}

/// Cheapest place for order `i` other than `avoid`, with `extra` units freed on
/// channel `bonus_ch`: (cost, channel); (0, NONE) when staying out is best.
#[inline]
fn relocate(
    p: &Problem,
    st: &State,
    i: usize,
    avoid: u32,
    bonus_ch: u32,
    extra: i64,
    work: &mut u64,
) -> (f64, u32) {
    let u = i64::from(p.units[i]);
    let mut best = (0.0, NONE);
    let r = p.range(i);
    *work += r.len() as u64;
    for k in r {
        let j = p.pch[k];
        if j == avoid {
            continue;
        }
        let room = st.free[j as usize] + if j == bonus_ch { extra } else { 0 };
        if room >= u && p.pcost[k] < best.0 {
            best = (p.pcost[k], j);
        }
    }
    best
}

/// Improves `st` until no move improves or `max_work` pair visits are spent.
/// Returns the work spent.
pub(crate) fn improve(
    p: &Problem,
    st: &mut State,
    best_any: &[f64],
    max_work: u64,
    deadline: &dyn Fn() -> bool,
) -> u64 {
    let dirty = vec![true; p.num_orders()];
    improve_dirty(p, st, best_any, max_work, deadline, dirty)
}

/// Iterated local search: kick a few orders out of (or into) place with a
/// fixed-seed generator, re-optimise around them, keep the result when it is
/// better. Deterministic for a given budget.
pub(crate) fn perturb_and_improve(
    p: &Problem,
    best: &mut State,
    best_any: &[f64],
    max_work: u64,
    deadline: &dyn Fn() -> bool,
) -> u64 {
    let n = p.num_orders();
    if n < 2 {
        return 0;
    }
    let mut rng = 0x9E37_79B9_7F4A_7C15u64;
    let mut next = move || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng
    };
    let mut work = 0u64;
    let kick = (n / 50).clamp(2, 30);
    while work < max_work && !deadline() {
        // Cloning the state and scanning the dirty flags cost O(n + m).
        work += 2 * (n + p.num_channels()) as u64;
        let mut st = best.clone();
        let mut dirty = vec![false; n];
        for _ in 0..kick {
            let i = (next() % n as u64) as usize;
            let r = p.range(i);
            let from = st.asg[i];
            // Out of its channel if placed; else into a random channel with room.
            if from != NONE {
                st.set(p, i, NONE, 0.0);
                mark_channel(&st, from as usize, &mut dirty);
            } else if !r.is_empty() {
                let k = r.start + (next() % r.len() as u64) as usize;
                let j = p.pch[k];
                if st.free[j as usize] >= i64::from(p.units[i]) {
                    st.set(p, i, j, p.pcost[k]);
                }
            }
            dirty[i] = true;
            work += r.len() as u64;
        }
        // Unassigned orders may take the freed room.
        for (i, d) in dirty.iter_mut().enumerate() {
            if st.asg[i] == NONE {
                *d = true;
            }
        }
        work += improve_dirty(
            p,
            &mut st,
            best_any,
            max_work.saturating_sub(work),
            deadline,
            dirty,
        );
        st.cost = st.exact_cost();
        if st.cost < best.cost - 1e-9 {
            *best = st;
        }
    }
    work
}

fn improve_dirty(
    p: &Problem,
    st: &mut State,
    best_any: &[f64],
    max_work: u64,
    deadline: &dyn Fn() -> bool,
    mut dirty: Vec<bool>,
) -> u64 {
    let n = p.num_orders();
    let eps = 1e-9;
    let mut work = 0u64;
    let mut improved = true;
    // Channels whose members changed in this pass: only orders with a pair
    // on one of them can have a new improving move in the next.
    let mut touched = vec![false; p.num_channels()];
    let mut touched_list: Vec<u32> = Vec::new();
    let touch = |j: u32, touched: &mut [bool], list: &mut Vec<u32>| {
        if j != NONE && !touched[j as usize] {
            touched[j as usize] = true;
            list.push(j);
        }
    };
    while improved && work < max_work {
        improved = false;
        if deadline() {
            break;
        }
        for i in 0..n {
            if !dirty[i] {
                continue;
            }
            dirty[i] = false;
            if work >= max_work || (i % 16 == 0 && deadline()) {
                break;
            }
            let u = i64::from(p.units[i]);
            let cur = st.cur[i];
            let from = st.asg[i];
            // Shift.
            let (c, j) = relocate(p, st, i, from, NONE, 0, &mut work);
            if c < cur - eps {
                st.set(p, i, j, c);
                improved = true;
                dirty[i] = true;
                touch(from, &mut touched, &mut touched_list);
                touch(j, &mut touched, &mut touched_list);
                continue;
            }
            // Ejection chain of length one (includes swaps).
            let mut best: Option<(f64, usize, u32, f64, u32, f64)> = None;
            for k in p.range(i) {
                let target = p.pch[k];
                let gain = cur - p.pcost[k];
                if target == from || gain <= eps {
                    continue;
                }
                let need = u - st.free[target as usize];
                if need <= 0 {
                    continue;
                }
                let members = &st.members[target as usize];
                work += members.len() as u64;
                for &e in members {
                    let e = e as usize;
                    if i64::from(p.units[e]) < need {
                        continue;
                    }
                    let lose = best_any[e] - st.cur[e];
                    if lose - gain >= -eps {
                        continue;
                    }
                    let (rc, rj) = relocate(p, st, e, target, from, u, &mut work);
                    let delta = rc - st.cur[e] - gain;
                    if delta < -eps && best.is_none_or(|b| delta < b.0) {
                        best = Some((delta, e, rj, rc, target, p.pcost[k]));
                    }
                }
            }
            if let Some((_, e, rj, rc, target, ci)) = best {
                st.set(p, e, rj, rc);
                st.set(p, i, target, ci);
                touch(from, &mut touched, &mut touched_list);
                touch(target, &mut touched, &mut touched_list);
                touch(rj, &mut touched, &mut touched_list);
                improved = true;
                dirty[i] = true;
                dirty[e] = true;
                if rj != NONE {
                    // Orders on channels that gained or lost room may now move.
                    mark_channel(st, rj as usize, &mut dirty);
                }
                if from != NONE {
                    mark_channel(st, from as usize, &mut dirty);
                }
            }
        }
        if !improved {
            break;
        }
        // Room moved around: look again at every order that could use it.
        for &j in &touched_list {
            let j = j as usize;
            touched[j] = false;
            let pairs = &p.cpair[p.cstart[j]..p.cstart[j + 1]];
            work += pairs.len() as u64;
            for &k in pairs {
                dirty[p.porder[k as usize] as usize] = true;
            }
        }
        touched_list.clear();
    }
    work
}

fn mark_channel(st: &State, j: usize, dirty: &mut [bool]) {
    for &m in &st.members[j] {
        dirty[m as usize] = true;
    }
}
