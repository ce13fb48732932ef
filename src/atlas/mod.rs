//! The Atlas Administration API v2, as far as this exporter needs it: one typed method per endpoint,
//! authentication (OAuth client credentials or HTTP Digest), retries, and error classification.
//!
//! This module depends on nothing else in the crate but [`crate::invitation`] and [`crate::config`]'s
//! plain types, so it could become a crate of its own.

pub mod auth;
pub mod client;
pub mod error;
pub mod model;
mod retry;

pub use auth::Authenticator;
pub use client::{AtlasClient, CallRecord, ClientSettings, Endpoint, Listing};
pub use error::ApiError;
