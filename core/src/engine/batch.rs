//! The batch path: orders that arrived within one window are assigned
//! together by the solver, then each assignment runs the saga.
//!
//! The solver sees ledger availability (not the channels' nominal capacity)
//! and no channel whose breaker is open. If it errors or overruns its budget,
//! every order of the batch goes to round-robin fallback instead; an order
//! whose assigned channel then fails to book falls back the same way.

use super::decision::{DecisionKind, Outcome};
use super::router::Router;
use crate::Result;
use crate::solve::{self, Demand, Method, Problem, SolveOptions};

/// Slack over the solver's budget before a batch counts as overrun.
const OVERRUN_SLACK_MS: f64 = 5.0;

impl Router {
    /// Routes the batch if its window is over (or it is full); returns the
    /// outcomes of the orders it routed, empty otherwise. Call it on a timer
    /// or before each submit.
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use uoom::engine::{Router, SimGateway};
    /// # use uoom::{Channel, ChannelKind, GeoPoint, ManualClock, Millis, OrderStatus};
    /// # let clock = Arc::new(ManualClock::new(Millis(0)));
    /// # let kitchen = Channel::builder("k1", ChannelKind::InternalKitchen, GeoPoint::new(40.71, -74.0))
    /// #     .with_capacity(10).build().unwrap();
    /// # let gateway = Arc::new(SimGateway::new(clock.clone(), 1));
    /// # let mut router = Router::builder(vec![kitchen], gateway).with_clock(clock.clone())
    /// #     .with_batch_window_ms(Some(100)).build().unwrap();
    /// # let body = br#"{"customerId": "123e4567-e89b-12d3-a456-426614174000",
    /// #   "items": [{"itemId": "i1", "name": "Pizza", "quantity": 1, "unitPrice": 15.99}],
    /// #   "deliveryAddress": {"street": "1 Main St", "city": "New York", "postalCode": "10001",
    /// #                       "latitude": 40.712, "longitude": -74.006}}"#;
    /// let queued = router.submit_json(body, None).unwrap();
    /// assert_eq!(queued.status, OrderStatus::Validated);
    /// assert!(router.poll().unwrap().is_empty());
    /// clock.advance_ms(100);
    /// let done = router.poll().unwrap();
    /// assert_eq!(done[0].order_id, queued.order_id);
    /// assert_eq!(done[0].status, OrderStatus::Confirmed);
    /// ```
    pub fn poll(&mut self) -> Result<Vec<Outcome>> {
        let Some(window) = self.config.batch_window_ms else {
            return Ok(Vec::new());
        };
        let due = self.clock.now().since(self.batch_started) >= window;
        if !self.batch.is_empty() && (due || self.batch.len() >= self.config.batch_max) {
            self.flush()
        } else {
            Ok(Vec::new())
        }
    }

    /// Routes every queued order now, as one batch.
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use uoom::engine::{Router, SimGateway};
    /// # use uoom::{Channel, ChannelKind, GeoPoint, ManualClock, Millis, OrderStatus};
    /// # let clock = Arc::new(ManualClock::new(Millis(0)));
    /// # let kitchen = Channel::builder("k1", ChannelKind::InternalKitchen, GeoPoint::new(40.71, -74.0))
    /// #     .with_capacity(10).build().unwrap();
    /// # let gateway = Arc::new(SimGateway::new(clock.clone(), 1));
    /// # let mut router = Router::builder(vec![kitchen], gateway).with_clock(clock.clone())
    /// #     .with_batch_window_ms(Some(100)).build().unwrap();
    /// # let body = br#"{"customerId": "123e4567-e89b-12d3-a456-426614174000",
    /// #   "items": [{"itemId": "i1", "name": "Pizza", "quantity": 1, "unitPrice": 15.99}],
    /// #   "deliveryAddress": {"street": "1 Main St", "city": "New York", "postalCode": "10001",
    /// #                       "latitude": 40.712, "longitude": -74.006}}"#;
    /// router.submit_json(body, None).unwrap();
    /// assert_eq!(router.flush().unwrap().len(), 1);
    /// assert_eq!(router.queued(), 0);
    /// ```
    pub fn flush(&mut self) -> Result<Vec<Outcome>> {
        let mut batch = std::mem::take(&mut self.batch);
        if batch.is_empty() {
            return Ok(Vec::new());
        }
        let now = self.clock.now();
        self.ensure_slot(now)?;
        self.refresh_open_breakers();
        let plan = self.solve_batch(&batch);
        let mut outcomes = Vec::with_capacity(batch.len());
        let mut events = Vec::with_capacity(16);
        for (i, q) in batch.drain(..).enumerate() {
            let (first, kind) = match &plan {
                Some((assignment, kind)) => (assignment[i].into_iter().collect(), *kind),
                None => (Vec::new(), DecisionKind::Fallback),
            };
            let (order, needs, started) = (q.order, q.needs, q.started);
            let mut s = self.saga(order, needs, q.key, started, events, first, kind);
            let outcome = self.run_saga(&mut s);
            self.finish(&s.order, &mut s.events, s.key.as_deref(), &outcome, started)?;
            events = std::mem::take(&mut s.events);
            outcomes.push(outcome);
        }
        Ok(outcomes)
    }

    /// The solver's assignment and its tag, or `None` when the solver failed
    /// or overran (the caller then falls back to round-robin).
    fn solve_batch(
        &self,
        batch: &[super::router::Queued],
    ) -> Option<(Vec<Option<usize>>, DecisionKind)> {
        let capacity: Vec<u32> = (0..self.channels.len())
            .map(|c| match (&self.accounts[c], self.eligible(c)) {
                (Some(h), true) => self.ledger.balance_of(h).available(),
                _ => 0,
            })
            .collect();
        let demands: Vec<Demand> = batch.iter().map(|q| q.needs).collect();
        let budget = self.config.solver_budget_ms;
        // Timed on the engine's clock: wall time in production, virtual time
        // in a simulation on a manual clock (where a batch costs none, so a
        // seeded run routes the same way however loaded the machine is).
        let started = self.clock.now();
        let w = self.config.weights;
        let solved = Problem::new(
            demands,
            &self.channels,
            &capacity,
            w,
            self.config.unassigned_penalty,
        )
        .and_then(|p| solve::solve(&p, &SolveOptions::default().with_time_limit_ms(budget)));
        let elapsed_ms = self.clock.now().0.saturating_sub(started.0) as f64;
        match solved {
            Ok(s) if elapsed_ms <= budget as f64 + OVERRUN_SLACK_MS => {
                let kind = match s.method {
                    Method::Optimal => DecisionKind::BatchOptimal,
                    Method::Improved => DecisionKind::BatchImproved,
                    Method::Greedy => DecisionKind::BatchGreedy,
                    Method::Fallback => DecisionKind::Fallback,
                };
                Some((s.assignment, kind))
            }
            Ok(_) => {
                tracing::warn!(
                    elapsed_ms,
                    budget,
                    "batch solver overran its budget; falling back"
                );
                None
            }
            Err(e) => {
                tracing::warn!(error = %e, "batch solver failed; falling back");
                None
            }
        }
    }
}
