//! Validation of the raw configuration into [`super::Config`].
