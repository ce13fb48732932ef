//! Authentication for Atlas calls: a service account's bearer token or an API key's Digest response.

use crate::config::Credentials;

/// One per credential, shared by every organisation that uses it, so tokens and Digest challenges are too.
pub struct Authenticator {}

impl Authenticator {
    pub fn new(_credentials: &Credentials) -> Authenticator {
        Authenticator {}
    }
}
