//! The retry policy inside one poll: which failures are retried, and how long to wait.
//!
//! Retried: 429 (waiting at least `Retry-After`), 5xx, timeouts and connection failures, with
//! exponential backoff and equal jitter. Everything else (other 4xx, token refusals, bodies we cannot
//! read as JSON or that are too large) fails at once: asking again would get the same answer.
//! A wait that would end past the poll's deadline is not taken; the last error is returned instead.

use std::time::Duration;

use jiff::Timestamp;

use crate::ApiError;

#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct RetryPolicy {
    /// Attempts in total, the first one included.
    pub max_attempts: u32,
    /// The backoff ceiling after the first failure; it doubles (`factor`) after each further one.
    pub base_delay: Duration,
    pub factor: u32,
}

impl RetryPolicy {
    pub(crate) const DEFAULT: RetryPolicy = RetryPolicy {
        max_attempts: 3,
        base_delay: Duration::from_secs(1),
        factor: 2,
    };

    /// The policy of a client whose callers poll every `shortest_interval` or more: the default,
    /// with the backoff scaled down to a tenth of the interval when that is under 1 s. Any interval of
    /// 10 s or more (production polls every few minutes) keeps the default exactly; a 1 s poll, as in
    /// tests and demos, backs off 50–100 ms then 100–200 ms instead of seconds it does not have.
    pub(crate) fn for_interval(shortest_interval: Duration) -> RetryPolicy {
        RetryPolicy {
            base_delay: RetryPolicy::DEFAULT.base_delay.min(shortest_interval / 10),
            ..RetryPolicy::DEFAULT
        }
    }

    /// How long to wait before the next attempt, or `None` to give up and return `error`.
    /// `jitter` is uniform in `[0, 1)`; `time_left` is what remains until the poll's deadline.
    pub(crate) fn wait_before_retry(
        &self,
        failed_attempts: u32,
        error: &ApiError,
        time_left: Duration,
        jitter: f64,
    ) -> Option<Duration> {
        if failed_attempts >= self.max_attempts || !is_retryable(error) {
            return None;
        }
        let backoff = self.backoff(failed_attempts, jitter);
        let wait = match error {
            // MongoDB asks for at least Retry-After; the backoff still spreads out synchronised clients.
            ApiError::Status {
                retry_after: Some(retry_after),
                ..
            } => backoff.max(*retry_after),
            _ => backoff,
        };
        // An attempt started just before the deadline could only time out: leave it room to answer.
        (wait + MIN_ATTEMPT_TIME <= time_left).then_some(wait)
    }

    /// Equal jitter: half the exponential ceiling, plus a random share of the other half. Never zero,
    /// so a flapping server is not hammered, yet clients started together drift apart.
    fn backoff(&self, failed_attempts: u32, jitter: f64) -> Duration {
        let exponent = failed_attempts.saturating_sub(1).min(16);
        let ceiling = self
            .base_delay
            .saturating_mul(self.factor.saturating_pow(exponent));
        let half = ceiling / 2;
        half + half.mul_f64(jitter.clamp(0.0, 1.0))
    }
}

/// The least time an attempt must have before the poll's deadline for a retry to be worth it.
pub(crate) const MIN_ATTEMPT_TIME: Duration = Duration::from_secs(1);

/// Failures that another attempt may cure.
pub(crate) fn is_retryable(error: &ApiError) -> bool {
    match error {
        ApiError::Timeout | ApiError::Connection(_) => true,
        ApiError::Status { status, .. } => *status == 429 || (500..=599).contains(status),
        ApiError::InvalidResponse { .. }
        | ApiError::BodyTooLarge { .. }
        | ApiError::Tls(_)
        | ApiError::Token { .. }
        | ApiError::ClientSetup(_)
        | ApiError::TooManyPages { .. } => false,
    }
}

/// `Retry-After` (RFC 9110 §10.2.3): delay-seconds or an HTTP-date, relative to `now`.
/// A date in the past means "now"; anything unparseable is ignored (the backoff applies).
pub(crate) fn parse_retry_after(value: &str, now: Timestamp) -> Option<Duration> {
    let value = value.trim();
    if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
        // A huge number of seconds saturates rather than failing; the deadline cuts it short anyway.
        return Some(Duration::from_secs(
            value.parse::<u64>().unwrap_or(u64::MAX),
        ));
    }
    let at = crate::http_date::parse(value)?;
    let seconds = at.duration_since(now).as_secs_f64();
    Some(if seconds > 0.0 {
        Duration::from_secs_f64(seconds)
    } else {
        Duration::ZERO
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECOND: Duration = Duration::from_secs(1);
    const PLENTY: Duration = Duration::from_secs(3600);

    fn status(code: u16, retry_after: Option<Duration>) -> ApiError {
        ApiError::Status {
            status: code,
            error_code: None,
            detail: None,
            retry_after,
        }
    }

    #[test]
    fn backoff_doubles_with_equal_jitter() {
        let policy = RetryPolicy::DEFAULT;
        let error = status(503, None);
        assert_eq!(
            policy.wait_before_retry(1, &error, PLENTY, 0.0),
            Some(SECOND / 2)
        );
        assert_eq!(
            policy.wait_before_retry(1, &error, PLENTY, 0.999_999),
            Some(SECOND.mul_f64(0.999_999_5))
        );
        assert_eq!(
            policy.wait_before_retry(2, &error, PLENTY, 0.0),
            Some(SECOND)
        );
        assert_eq!(
            policy.wait_before_retry(2, &error, PLENTY, 0.5),
            Some(SECOND.mul_f64(1.5))
        );
    }

    #[test]
    fn the_backoff_is_a_tenth_of_a_poll_shorter_than_ten_seconds() {
        for interval in [10, 11, 300, 86_400] {
            assert_eq!(
                RetryPolicy::for_interval(Duration::from_secs(interval)),
                RetryPolicy::DEFAULT,
                "{interval} s"
            );
        }
        let one_second = RetryPolicy::for_interval(SECOND);
        assert_eq!(one_second.base_delay, SECOND / 10);
        assert_eq!(one_second.max_attempts, RetryPolicy::DEFAULT.max_attempts);
        assert_eq!(one_second.factor, RetryPolicy::DEFAULT.factor);
        let error = status(503, None);
        assert_eq!(
            one_second.wait_before_retry(1, &error, PLENTY, 0.0),
            Some(SECOND / 20)
        );
        assert_eq!(
            one_second.wait_before_retry(2, &error, PLENTY, 0.0),
            Some(SECOND / 10)
        );
        let longest = one_second
            .wait_before_retry(2, &error, PLENTY, 0.999_999)
            .unwrap();
        assert!(
            (Duration::from_micros(199_999)..SECOND / 5).contains(&longest),
            "{longest:?}"
        );
        assert_eq!(
            RetryPolicy::for_interval(Duration::from_secs(5)).base_delay,
            SECOND / 2
        );
        // Retry-After stays a floor, and a retry still needs MIN_ATTEMPT_TIME left.
        let rate_limited = status(429, Some(SECOND));
        assert_eq!(
            one_second.wait_before_retry(1, &rate_limited, PLENTY, 0.0),
            Some(SECOND)
        );
        assert_eq!(one_second.wait_before_retry(1, &error, SECOND, 0.0), None);
    }

    #[test]
    fn at_most_three_attempts() {
        let policy = RetryPolicy::DEFAULT;
        assert!(
            policy
                .wait_before_retry(2, &ApiError::Timeout, PLENTY, 0.0)
                .is_some()
        );
        assert_eq!(
            policy.wait_before_retry(3, &ApiError::Timeout, PLENTY, 0.0),
            None
        );
    }

    #[test]
    fn only_transient_failures_are_retried() {
        let policy = RetryPolicy::DEFAULT;
        for retried in [
            status(429, None),
            status(500, None),
            status(503, None),
            ApiError::Timeout,
            ApiError::Connection("reset".into()),
        ] {
            assert!(
                policy.wait_before_retry(1, &retried, PLENTY, 0.3).is_some(),
                "{retried:?}"
            );
        }
        for final_error in [
            status(400, None),
            status(401, None),
            status(403, None),
            status(404, None),
            status(406, None),
            status(410, None),
            ApiError::Token {
                status: 401,
                error: "invalid_client".into(),
            },
            ApiError::InvalidResponse {
                reason: "html".into(),
            },
            ApiError::BodyTooLarge { limit: 10 },
            ApiError::TooManyPages { limit: 20 },
        ] {
            assert_eq!(
                policy.wait_before_retry(1, &final_error, PLENTY, 0.3),
                None,
                "{final_error:?}"
            );
        }
    }

    #[test]
    fn retry_after_is_a_floor_over_the_backoff() {
        let policy = RetryPolicy::DEFAULT;
        let long = status(429, Some(Duration::from_secs(20)));
        assert_eq!(
            policy.wait_before_retry(1, &long, PLENTY, 0.9),
            Some(Duration::from_secs(20))
        );
        let zero = status(429, Some(Duration::ZERO));
        assert_eq!(
            policy.wait_before_retry(1, &zero, PLENTY, 0.0),
            Some(SECOND / 2)
        );
    }

    #[test]
    fn a_wait_past_the_deadline_is_not_taken() {
        let policy = RetryPolicy::DEFAULT;
        let long = status(429, Some(Duration::from_secs(20)));
        assert_eq!(
            policy.wait_before_retry(1, &long, Duration::from_secs(19), 0.0),
            None
        );
        assert_eq!(
            policy.wait_before_retry(1, &long, Duration::from_secs(21), 0.0),
            Some(Duration::from_secs(20))
        );
        assert_eq!(
            policy.wait_before_retry(2, &ApiError::Timeout, SECOND, 0.0),
            None,
            "a 1 s wait needs more than 1 s left"
        );
    }

    #[test]
    fn retry_after_seconds_and_http_dates() {
        let now: Timestamp = "2026-05-01T12:00:00Z".parse().unwrap();
        assert_eq!(parse_retry_after("55", now), Some(Duration::from_secs(55)));
        assert_eq!(parse_retry_after(" 0 ", now), Some(Duration::ZERO));
        assert_eq!(
            parse_retry_after("Fri, 01 May 2026 12:00:30 GMT", now),
            Some(Duration::from_secs(30))
        );
        assert_eq!(
            parse_retry_after("Fri, 01 May 2026 11:00:00 GMT", now),
            Some(Duration::ZERO)
        );
        assert_eq!(
            parse_retry_after("99999999999999999999999", now),
            Some(Duration::from_secs(u64::MAX))
        );
        assert_eq!(parse_retry_after("-5", now), None);
        assert_eq!(parse_retry_after("soon", now), None);
        assert_eq!(parse_retry_after("", now), None);
    }
}
