//! `Router.submitManyAsync`: a batch of orders routed off the event loop.

use crate::router::{SubmitResult, route_one};
use napi::bindgen_prelude::*;
use parking_lot::Mutex;
use std::sync::Arc;
use uoom::CreateOrderRequest;
use uoom::engine::{Outcome, Router};

/// Parsed requests and the router they go to.
pub struct RouteManyTask {
    router: Arc<Mutex<Router>>,
    requests: Vec<(uoom::Result<CreateOrderRequest>, Option<String>)>,
}

impl RouteManyTask {
    /// A task over owned, already parsed requests.
    pub fn new(
        router: Arc<Mutex<Router>>,
        requests: Vec<(uoom::Result<CreateOrderRequest>, Option<String>)>,
    ) -> Self {
        RouteManyTask { router, requests }
    }
}

impl Task for RouteManyTask {
    type Output = Vec<uoom::Result<Outcome>>;
    type JsValue = Vec<SubmitResult>;

    fn compute(&mut self) -> Result<Self::Output> {
        let mut router = self.router.lock();
        Ok(std::mem::take(&mut self.requests)
            .into_iter()
            .map(|(r, k)| route_one(&mut router, r, k.as_deref()))
            .collect())
    }

    fn resolve(&mut self, _env: Env, output: Self::Output) -> Result<Self::JsValue> {
        Ok(output.iter().map(SubmitResult::of).collect())
    }
}
