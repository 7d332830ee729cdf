//! `solve` off the event loop.

use crate::errors::to_js;
use crate::solve::{Solution, SolveOptions, run};
use napi::bindgen_prelude::*;
use uoom::wire::SolutionFile;

/// One batch solve: owned instance bytes and options.
pub struct SolveTask {
    bytes: Option<uoom::Result<Vec<u8>>>,
    opts: SolveOptions,
}

impl SolveTask {
    /// A task over owned inputs (nothing borrowed from JS).
    pub fn new(bytes: uoom::Result<Vec<u8>>, opts: SolveOptions) -> Self {
        SolveTask {
            bytes: Some(bytes),
            opts,
        }
    }
}

impl Task for SolveTask {
    // The uoom error travels to `resolve`, where an `Env` can build the
    // coded JS error; `compute` itself never fails.
    type Output = uoom::Result<SolutionFile>;
    type JsValue = Solution;

    fn compute(&mut self) -> Result<Self::Output> {
        let bytes = self
            .bytes
            .take()
            .unwrap_or_else(|| Err(uoom::Error::conflict("task ran twice")));
        Ok(run(bytes, self.opts))
    }

    fn resolve(&mut self, env: Env, output: Self::Output) -> Result<Self::JsValue> {
        output.map(Solution::from).map_err(|e| to_js(&env, &e))
    }
}
