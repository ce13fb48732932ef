//! `rate_limit`: one token bucket for the whole listener, as exporter-toolkit's `rate.Limiter`
//! (`burst` tokens, one more every `interval`, full at start); a request without a token gets 429.

use std::sync::Mutex;
use std::time::{Duration, Instant};

pub(crate) struct RateLimiter {
    interval: Duration,
    burst: f64,
    /// Tokens available at `since`.
    bucket: Mutex<(f64, Instant)>,
}

impl RateLimiter {
    /// `interval` must be non-zero and `burst` at least 1 (the caller validates both).
    pub(crate) fn new(interval: Duration, burst: u32) -> RateLimiter {
        RateLimiter {
            interval,
            burst: f64::from(burst),
            bucket: Mutex::new((f64::from(burst), Instant::now())),
        }
    }

    pub(crate) fn allow(&self) -> bool {
        self.allow_at(Instant::now())
    }

    fn allow_at(&self, now: Instant) -> bool {
        let mut bucket = match self.bucket.lock() {
            Ok(bucket) => bucket,
            Err(poisoned) => poisoned.into_inner(),
        };
        let (tokens, since) = *bucket;
        let earned =
            now.saturating_duration_since(since).as_secs_f64() / self.interval.as_secs_f64();
        let tokens = (tokens + earned).min(self.burst);
        if tokens >= 1.0 {
            *bucket = (tokens - 1.0, now);
            true
        } else {
            *bucket = (tokens, now);
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn burst_then_one_per_interval() {
        let limiter = RateLimiter::new(Duration::from_secs(1), 3);
        let start = Instant::now();
        for _ in 0..3 {
            assert!(limiter.allow_at(start));
        }
        assert!(!limiter.allow_at(start));
        assert!(!limiter.allow_at(start + Duration::from_millis(900)));
        assert!(limiter.allow_at(start + Duration::from_millis(1000)));
        assert!(!limiter.allow_at(start + Duration::from_millis(1500)));
        // A long pause refills to the burst, not beyond.
        let later = start + Duration::from_secs(60);
        for _ in 0..3 {
            assert!(limiter.allow_at(later));
        }
        assert!(!limiter.allow_at(later));
    }
}
