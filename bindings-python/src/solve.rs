//! `uoom.solve`: the batch assignment solver on a benchmark-shaped instance
//! dict, answered in the benchmark's solution shape plus how it was found
//! (`method`, `lower_bound`, `gap`) and, when asked, explanations.

use std::time::Instant;

use pyo3::prelude::*;
use uoom::solve::SolveOptions;
use uoom::wire::{Instance, SolutionFile};

use crate::convert::{serialize_to_py, to_value};
use crate::errors::{IntoPyResult, invalid};
use crate::gil::run_interruptible;

/// Solves an assignment instance (docs/bench-format.md; its channels are the channel spec of `uoom::wire`). The GIL is
/// released while Rust works; an `exact=True` solve stays responsive to Ctrl-C.
/// `solve_ms` counts from the call, so it includes reading the dict.
#[pyfunction]
#[pyo3(signature = (instance, time_limit_ms=100, exact=false, *, explain=false))]
pub fn solve<'py>(
    py: Python<'py>,
    instance: &Bound<'py, PyAny>,
    time_limit_ms: u64,
    exact: bool,
    explain: bool,
) -> PyResult<Bound<'py, PyAny>> {
    let started = Instant::now();
    let value = to_value(instance, "")?;
    if !value.is_object() {
        return Err(invalid("", "invalid_type", "the instance must be a dict"));
    }
    let opts = SolveOptions::default()
        .with_time_limit_ms(time_limit_ms)
        .with_exact(exact)
        .with_explain(explain)
        .with_started_at(started);
    let work = move || -> uoom::Result<SolutionFile> {
        let inst = Instance::from_value(&value)?;
        let problem = inst.to_problem()?;
        let sol = uoom::solve::solve(&problem, &opts)?;
        Ok(SolutionFile::new(&inst, &sol))
    };
    let file = if exact {
        run_interruptible(py, work)?
    } else {
        py.detach(work)
    }
    .py()?;
    serialize_to_py(py, &file)
}
