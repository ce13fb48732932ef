//! Fuzzes the Digest challenge parser on any `WWW-Authenticate` value, then answers what it accepts
//! the way `DigestSession` does (qop `auth` preferred), so `digest_auth`'s responder is fuzzed too.

#![no_main]

use atlas_client::parse_challenge;
use digest_auth::{AuthContext, Qop};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|bytes: &[u8]| {
    let Ok(value) = http::HeaderValue::from_bytes(bytes) else {
        return;
    };
    let Some(mut prompt) = parse_challenge(&value) else {
        return;
    };
    if prompt
        .qop
        .as_ref()
        .is_some_and(|qops| qops.contains(&Qop::AUTH))
    {
        prompt.qop = Some(vec![Qop::AUTH]);
    }
    let context = AuthContext::new(
        "publickey",
        "private-key",
        "/api/atlas/v2/orgs/32b6e34b3d91647abb20e7b8/invites",
    );
    for _ in 0..2 {
        if let Ok(answer) = prompt.respond(&context) {
            let _ = answer.to_header_string();
        }
    }
});
