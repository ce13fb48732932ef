//! The retry policy inside one poll: which failures are retried, and how long to wait.
