//! The Atlas Administration API v2, as far as this exporter needs it: one typed method per endpoint,
//! authentication (OAuth client credentials or HTTP Digest), retries, and error classification.
//!
//! This module depends on nothing else in the crate but [`crate::invitation`] and [`crate::config`]'s
//! plain types, so it could become a crate of its own.
//!
//! - `client`: [`AtlasClient`], one method per endpoint over a shared GET-with-retries and page walk.
//! - `auth`: [`Authenticator`], the bearer token cache and the Digest session of one credential.
//! - `retry`: which failures are retried, and the backoff.
//! - `transport`: the reqwest client, timeouts, bounded body reads, error classification.
//! - `model`: the wire types and their mapping to [`crate::invitation::Invitation`] (the reference decoders).
//! - `scanner`: the poll path's one-pass reading of listing bodies into an aggregate; it declines
//!   anything unusual, which the reference decoders then decide.

pub mod auth;
pub mod client;
pub mod error;
pub mod model;
mod retry;
mod scanner;
mod transport;

#[cfg(test)]
mod tests;

pub use auth::Authenticator;
pub use client::{AtlasClient, CallRecord, ClientSettings, Endpoint, Listing};
pub use error::ApiError;
pub use model::Organization;
