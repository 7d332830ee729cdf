//! The clock a JS-side object reads: the system clock in production, or a
//! manual one that tests and simulations advance by hand (deterministic).

use std::sync::Arc;
use uoom::{Clock, ManualClock, Millis, SystemClock};

/// Which clock an object was built with.
#[derive(Clone)]
pub enum ClockChoice {
    /// Wall time.
    System(Arc<SystemClock>),
    /// Advanced only by `advanceMs`.
    Manual(Arc<ManualClock>),
}

impl ClockChoice {
    /// A manual clock starting at `start_ms` when `manual`, else the system clock.
    pub fn new(manual: bool, start_ms: Option<f64>) -> Self {
        if manual {
            let start = start_ms.unwrap_or(0.0).max(0.0) as u64;
            ClockChoice::Manual(Arc::new(ManualClock::new(Millis(start))))
        } else {
            ClockChoice::System(Arc::new(SystemClock))
        }
    }

    /// The clock as the core wants it.
    pub fn shared(&self) -> Arc<dyn Clock> {
        match self {
            ClockChoice::System(c) => c.clone(),
            ClockChoice::Manual(c) => c.clone(),
        }
    }

    /// Milliseconds since the epoch (or since the manual clock's start).
    pub fn now_ms(&self) -> f64 {
        self.shared().now().0 as f64
    }

    /// Moves a manual clock forward; a system clock cannot be moved.
    pub fn advance_ms(&self, ms: f64) -> uoom::Result<f64> {
        match self {
            ClockChoice::Manual(c) => {
                if !ms.is_finite() || ms < 0.0 {
                    return Err(uoom::Error::invalid(
                        "ms",
                        "out_of_range",
                        format!("advance must be a finite number >= 0, got {ms}"),
                    ));
                }
                c.advance_ms(ms as u64);
                Ok(c.now().0 as f64)
            }
            ClockChoice::System(_) => Err(uoom::Error::conflict(
                "this object reads the system clock; build it with {manualClock: true} to advance time",
            )),
        }
    }
}

/// Options shared by the classes that read a clock.
#[napi(object)]
#[derive(Clone, Copy, Default)]
pub struct ClockOptions {
    /// Use a manual clock (advanced with `advanceMs`) instead of wall time.
    pub manual_clock: Option<bool>,
    /// Start of the manual clock, ms since the epoch (default 0).
    pub start_ms: Option<f64>,
}

impl ClockOptions {
    /// The clock these options ask for.
    pub fn build(self) -> ClockChoice {
        ClockChoice::new(self.manual_clock.unwrap_or(false), self.start_ms)
    }
}

/// Milliseconds as a JS number (exact up to 2^53).
pub fn ms(m: Millis) -> f64 {
    m.0 as f64
}

/// A non-negative JS number of milliseconds, checked.
pub fn to_ms(field: &str, v: f64) -> uoom::Result<u64> {
    if v.is_finite() && v >= 0.0 {
        Ok(v as u64)
    } else {
        Err(uoom::Error::invalid(
            field,
            "out_of_range",
            format!("{field} must be a finite number >= 0, got {v}"),
        ))
    }
}
