//! Latency summaries and the machine state printed with every figure.

use serde::Serialize;

/// Percentiles of a latency sample, in microseconds.
#[derive(Debug, Serialize)]
pub struct Latency {
    pub samples: usize,
    pub mean_us: f64,
    pub p50_us: f64,
    pub p90_us: f64,
    pub p99_us: f64,
    pub p999_us: f64,
    pub max_us: f64,
}

/// Nearest-rank percentiles of `ns` (nanoseconds), reported in µs.
pub fn latency(mut ns: Vec<u64>) -> Latency {
    ns.sort_unstable();
    let n = ns.len().max(1);
    let at = |p: f64| {
        let rank = ((p * n as f64).ceil() as usize).clamp(1, n);
        ns.get(rank - 1).copied().unwrap_or(0) as f64 / 1000.0
    };
    Latency {
        samples: ns.len(),
        mean_us: ns.iter().sum::<u64>() as f64 / n as f64 / 1000.0,
        p50_us: at(0.50),
        p90_us: at(0.90),
        p99_us: at(0.99),
        p999_us: at(0.999),
        max_us: ns.last().copied().unwrap_or(0) as f64 / 1000.0,
    }
}

/// CPU time consumed by the calling thread, in ns. On a shared machine wall
/// time includes time the thread was preempted; CPU time does not.
pub fn thread_cpu_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime only writes into the timespec we own; the clock id is valid on Linux.
    #[allow(unsafe_code, reason = "clock_gettime has no safe wrapper in std")]
    unsafe {
        libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &raw mut ts)
    };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

/// What the machine was doing: core count and load average at the start.
#[derive(Debug, Serialize)]
pub struct Machine {
    pub cpus: usize,
    pub loadavg_1m: Option<f64>,
}

pub fn machine() -> Machine {
    let loadavg_1m = std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|s| s.split_whitespace().next().and_then(|v| v.parse().ok()));
    Machine {
        cpus: std::thread::available_parallelism().map_or(1, std::num::NonZero::get),
        loadavg_1m,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let l = latency((1..=1000).map(|v| v * 1000).collect());
        assert_eq!((l.p50_us, l.p99_us, l.max_us), (500.0, 990.0, 1000.0));
        assert_eq!(l.samples, 1000);
    }
}
