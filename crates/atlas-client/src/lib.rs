//! A read-only client for the MongoDB Atlas Administration API v2, as far as watching organisation
//! invitations needs it: one typed method per endpoint, authentication (OAuth 2.0 client credentials
//! for service accounts, HTTP Digest for legacy API keys), retries within a deadline, pagination,
//! bounded body reads, and the classification of every failure by Atlas' `errorCode`.
//!
//! Listing bodies are read in one pass by a scanner that hands each invitation to an
//! [`InvitationSink`] as borrowed bytes, so a counting sink keeps nothing per invitation; whatever the
//! scanner does not fully understand is decoded by the serde reference decoders in [`model`] instead,
//! so the two cannot disagree on what is valid. The client only reads: GET requests, plus the token
//! POST of a service account.
//!
//! # Example
//!
//! ```no_run
//! use atlas_client::{AtlasClient, Authenticator, ClientSettings, Invitation, NetworkSettings};
//! use secrecy::SecretString;
//! use std::time::Duration;
//!
//! # async fn run() -> Result<(), atlas_client::ApiError> {
//! let client = AtlasClient::new(ClientSettings {
//!     base_url: "https://cloud.mongodb.com".to_owned(),
//!     timeout: Duration::from_secs(30),
//!     max_response_bytes: 32 * 1024 * 1024,
//!     user_agent: "my-tool/1.0".to_owned(),
//!     // The environment's proxies and the system's roots; see `NetworkSettings` for the rest.
//!     network: NetworkSettings::default(),
//! })?;
//! let auth = Authenticator::service_account(
//!     "mdb_sa_id_…".to_owned(),
//!     SecretString::from("mdb_sa_sk_…"),
//! );
//! let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
//! let mut calls = Vec::new();
//! // `Vec<Invitation>` keeps every invitation; a sink of your own can count them instead.
//! let listing = client
//!     .list_org_users("32b6e34b3d91647abb20e7b8", &auth, deadline, &mut calls, Vec::<Invitation>::new())
//!     .await?;
//! println!("{} pending or expired invitations", listing.items.len());
//! # Ok(())
//! # }
//! ```
//!
//! # Modules
//!
//! - `call`: [`Endpoint`] (label, resource version, media type), declared by each endpoint where
//!   its call is with one `endpoint!` statement, and [`CallRecord`]; its documentation says how to
//!   add an endpoint: one new file in `endpoints/`, and no other file touched.
//! - [`endpoints`]: one file per endpoint (its declaration, wire types, item type, method and
//!   tests), each a module without a `mod` line; their types are `endpoints::<file>::<Type>`.
//! - `client`: [`AtlasClient`], the shared GET-with-retries, page walk and `list_paged`, and the two
//!   invitation listings with their sinks.
//! - `auth`: [`Authenticator`], the bearer token cache and the Digest session of one credential.
//! - `retry`: which failures are retried, and the backoff.
//! - `transport`: the reqwest client, timeouts, bounded body reads, error classification.
//! - `network`: [`NetworkSettings`], the proxy (configured or from the environment) and the CA file.
//! - [`model`]: the wire types and the reference decoders.
//! - `decode`: the [`InvitationSink`] trait and the scanner-or-reference rule.
//! - `scanner`: the one-pass reading of listing bodies.
#![deny(missing_docs)]

mod auth;
mod call;
mod client;
mod decode;
pub mod endpoints;
mod error;
mod http_date;
pub mod model;
mod network;
mod retry;
mod scanner;
mod transport;

#[cfg(test)]
mod tests;

pub use auth::Authenticator;
#[doc(hidden)]
pub use auth::parse_challenge;
pub use call::{CallRecord, Endpoint, INVITES_API_VERSION, ORG_USERS_API_VERSION};
pub use client::{AtlasClient, ClientSettings, Listing, MAX_ITEMS_PER_PAGE, MAX_PAGES};
pub use decode::{InvitationSink, replay};
pub use endpoints::get_org_service_account::{ServiceAccount, ServiceAccountSecret};
pub use endpoints::list_orgs::Organization;
pub use error::{ApiError, is_access_list_refusal};
pub use model::{Invitation, InvitationView, PageCounts, ProjectRole};
pub use network::NetworkSettings;
