//! `POST /api/oauth/token`: the service account's token fetch (made in `auth/oauth.rs`, inside
//! another endpoint's call), declared here like every endpoint.

crate::call::endpoint! {
    /// `POST /api/oauth/token`: a service account's token fetch, made inside another endpoint's
    /// call; not a versioned resource, so it accepts plain JSON.
    OAUTH_TOKEN = "oauth_token", accept "application/json";
}
