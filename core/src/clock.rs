//! Injected time. Everything that expires, trips or retries reads a [`Clock`],
//! so tests and simulations drive time by hand and replay exactly.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// A point in time: milliseconds since the Unix epoch (UTC).
///
/// ```
/// let t = uoom::Millis(1_000);
/// assert_eq!(t.plus_ms(500), uoom::Millis(1_500));
/// ```
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Default,
    serde::Serialize,
    serde::Deserialize,
)]
#[serde(transparent)]
pub struct Millis(pub u64);

impl Millis {
    /// This instant plus `ms` milliseconds (saturating).
    ///
    /// ```
    /// assert_eq!(uoom::Millis(u64::MAX).plus_ms(1), uoom::Millis(u64::MAX));
    /// ```
    pub fn plus_ms(self, ms: u64) -> Millis {
        Millis(self.0.saturating_add(ms))
    }

    /// Milliseconds from `earlier` to `self`, zero if `earlier` is later.
    ///
    /// ```
    /// assert_eq!(uoom::Millis(50).since(uoom::Millis(20)), 30);
    /// assert_eq!(uoom::Millis(20).since(uoom::Millis(50)), 0);
    /// ```
    pub fn since(self, earlier: Millis) -> u64 {
        self.0.saturating_sub(earlier.0)
    }

    /// RFC 3339 rendering in UTC with millisecond precision.
    ///
    /// ```
    /// assert_eq!(uoom::Millis(0).to_rfc3339(), "1970-01-01T00:00:00.000Z");
    /// assert_eq!(uoom::Millis(1_700_000_000_123).to_rfc3339(), "2023-11-14T22:13:20.123Z");
    /// ```
    pub fn to_rfc3339(self) -> String {
        let ms = self.0 % 1000;
        let secs = self.0 / 1000;
        let (h, mi, s) = ((secs / 3600) % 24, (secs / 60) % 60, secs % 60);
        let (y, mo, d) = civil_from_days((secs / 86_400) as i64);
        format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}.{ms:03}Z")
    }
}

/// Days since 1970-01-01 to (year, month, day), Howard Hinnant's algorithm.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// Source of the current time.
///
/// ```
/// use uoom::{Clock, ManualClock, Millis};
/// let clock = ManualClock::new(Millis(10));
/// clock.advance_ms(5);
/// assert_eq!(clock.now(), Millis(15));
/// ```
pub trait Clock: Send + Sync {
    /// The current time.
    fn now(&self) -> Millis;
}

impl<C: Clock + ?Sized> Clock for Arc<C> {
    fn now(&self) -> Millis {
        (**self).now()
    }
}

impl<C: Clock + ?Sized> Clock for &C {
    fn now(&self) -> Millis {
        (**self).now()
    }
}

/// The wall clock.
///
/// ```
/// use uoom::Clock;
/// assert!(uoom::SystemClock.now().0 > 1_600_000_000_000);
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Millis {
        let d = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        Millis(d.as_millis() as u64)
    }
}

/// A clock that moves only when told; cheap to share (`Arc<ManualClock>`).
///
/// ```
/// use uoom::{Clock, ManualClock, Millis};
/// let c = ManualClock::new(Millis(0));
/// c.set(Millis(42));
/// assert_eq!(c.now(), Millis(42));
/// ```
#[derive(Debug, Default)]
pub struct ManualClock {
    now: AtomicU64,
}

impl ManualClock {
    /// A manual clock starting at `start`.
    ///
    /// ```
    /// use uoom::Clock;
    /// assert_eq!(uoom::ManualClock::new(uoom::Millis(7)).now(), uoom::Millis(7));
    /// ```
    pub fn new(start: Millis) -> Self {
        Self {
            now: AtomicU64::new(start.0),
        }
    }

    /// Moves the clock forward by `ms`.
    ///
    /// ```
    /// use uoom::Clock;
    /// let c = uoom::ManualClock::new(uoom::Millis(0));
    /// c.advance_ms(1_000);
    /// assert_eq!(c.now().0, 1_000);
    /// ```
    pub fn advance_ms(&self, ms: u64) {
        self.now.fetch_add(ms, Ordering::SeqCst);
    }

    /// Sets the clock (it may move backwards; callers that care must not).
    ///
    /// ```
    /// use uoom::Clock;
    /// let c = uoom::ManualClock::new(uoom::Millis(5));
    /// c.set(uoom::Millis(1));
    /// assert_eq!(c.now().0, 1);
    /// ```
    pub fn set(&self, t: Millis) {
        self.now.store(t.0, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Millis {
        Millis(self.now.load(Ordering::SeqCst))
    }
}
