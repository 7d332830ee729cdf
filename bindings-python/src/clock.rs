//! Time for the stateful classes: the system clock by default, or a manual
//! clock (`now_ms=...`) that tests and simulations move by hand, so TTL
//! expiry and signal ageing are deterministic from Python too.

use std::sync::Arc;
use uoom::{Clock, ManualClock, Millis, SystemClock};

/// The clock of a `Ledger`, `Ranker` or `Router`.
#[derive(Clone)]
pub enum PyClock {
    /// Wall-clock time.
    System,
    /// Moved only by `advance_ms` / `set_time_ms`.
    Manual(Arc<ManualClock>),
}

impl PyClock {
    /// System clock when `now_ms` is `None`, else a manual clock starting there.
    pub fn new(now_ms: Option<u64>) -> Self {
        match now_ms {
            None => PyClock::System,
            Some(t) => PyClock::Manual(Arc::new(ManualClock::new(Millis(t)))),
        }
    }

    /// The clock as the core's trait object.
    pub fn arc(&self) -> Arc<dyn Clock> {
        match self {
            PyClock::System => Arc::new(SystemClock),
            PyClock::Manual(m) => m.clone(),
        }
    }

    /// Current time in ms.
    pub fn now_ms(&self) -> u64 {
        match self {
            PyClock::System => SystemClock.now().0,
            PyClock::Manual(m) => m.now().0,
        }
    }

    /// Moves a manual clock forward; `false` for the system clock.
    pub fn advance_ms(&self, ms: u64) -> bool {
        match self {
            PyClock::System => false,
            PyClock::Manual(m) => {
                m.advance_ms(ms);
                true
            }
        }
    }
}
