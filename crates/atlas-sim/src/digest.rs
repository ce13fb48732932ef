//! Server side of HTTP Digest (MD5, qop=auth) as Atlas does it for API keys: nonces, challenges, verification.

use std::collections::{HashMap, VecDeque};

use base64::Engine as _;
use digest_auth::{AlgorithmType, AuthContext, AuthorizationHeader, HttpMethod, Qop};

/// The realm Atlas announces (reference §6).
pub const REALM: &str = "MMS Public API";

/// Nonces kept at once; beyond this the oldest are forgotten (their next use is answered as unknown).
const MAX_NONCES: usize = 10_000;

/// How far below the highest nc seen a request may arrive. Concurrent polls share one challenge, so
/// their nc values can reach the server out of order; only a value seen before is a replay.
const NC_WINDOW: u32 = 64;

/// What to answer to a Digest `Authorization` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum DigestVerdict {
    /// The response is right, the nonce fresh and the nc not replayed.
    Authorised { public_key: String },
    /// 401 with a fresh challenge; `stale` says the credentials were right but the nonce has expired.
    Challenge { stale: bool },
    /// 400: the header names another request target than the one it came with.
    UriMismatch,
}

#[derive(Debug, Default)]
struct NonceState {
    stale: bool,
    uses: u32,
    highest_nc: u32,
    /// Bit i set: nc `highest_nc - i` has been used.
    seen_below_highest: u64,
}

impl NonceState {
    /// Records `nc`, or says it is a replay (or too old to tell).
    fn accept_nc(&mut self, nc: u32) -> bool {
        if nc == 0 {
            return false;
        }
        if nc > self.highest_nc {
            let shift = nc - self.highest_nc;
            self.seen_below_highest = if shift >= 64 {
                0
            } else {
                self.seen_below_highest << shift
            };
            self.seen_below_highest |= 1;
            self.highest_nc = nc;
            return true;
        }
        let distance = self.highest_nc - nc;
        if distance >= NC_WINDOW {
            return false;
        }
        let bit = 1u64 << distance;
        if self.seen_below_highest & bit != 0 {
            return false;
        }
        self.seen_below_highest |= bit;
        true
    }
}

/// The nonces this simulator has issued.
#[derive(Debug, Default)]
pub(crate) struct NonceStore {
    nonces: HashMap<String, NonceState>,
    issue_order: VecDeque<String>,
}

impl NonceStore {
    /// Issues a fresh nonce (32 base64 characters, like Atlas's).
    pub(crate) fn issue(&mut self) -> String {
        let mut bytes = [0u8; 24];
        rand::fill(&mut bytes);
        let nonce = base64::engine::general_purpose::STANDARD.encode(bytes);
        while self.issue_order.len() >= MAX_NONCES {
            if let Some(oldest) = self.issue_order.pop_front() {
                self.nonces.remove(&oldest);
            }
        }
        self.nonces.insert(nonce.clone(), NonceState::default());
        self.issue_order.push_back(nonce.clone());
        nonce
    }

    /// Every nonce issued so far becomes stale.
    pub(crate) fn expire_all(&mut self) {
        for state in self.nonces.values_mut() {
            state.stale = true;
        }
    }

    /// Checks a Digest `Authorization` header (the whole value, scheme included) for a request.
    pub(crate) fn verify(
        &mut self,
        authorization: &str,
        method: &str,
        request_target: &str,
        api_keys: &[(String, String)],
        nonce_max_uses: Option<u32>,
    ) -> DigestVerdict {
        let fresh_challenge = DigestVerdict::Challenge { stale: false };
        let Some(header) = parse_authorization(authorization) else {
            return fresh_challenge;
        };
        if header.realm != REALM
            || header.algorithm.algo != AlgorithmType::MD5
            || header.algorithm.sess
            || header.qop != Some(Qop::AUTH)
            || header.userhash
        {
            return fresh_challenge;
        }
        if header.uri != request_target {
            return DigestVerdict::UriMismatch;
        }
        let Some((public_key, private_key)) =
            api_keys.iter().find(|(key, _)| *key == header.username)
        else {
            return fresh_challenge;
        };
        if !response_matches(&header, public_key, private_key, method) {
            return fresh_challenge;
        }
        let Some(state) = self.nonces.get_mut(&header.nonce) else {
            return fresh_challenge;
        };
        if state.stale || nonce_max_uses.is_some_and(|max| state.uses >= max) {
            state.stale = true;
            return DigestVerdict::Challenge { stale: true };
        }
        if !state.accept_nc(header.nc) {
            return fresh_challenge;
        }
        state.uses = state.uses.saturating_add(1);
        DigestVerdict::Authorised {
            public_key: public_key.clone(),
        }
    }
}

/// The `WWW-Authenticate` value of a challenge, in Atlas's exact format.
pub(crate) fn challenge_header(nonce: &str, stale: bool) -> String {
    format!(
        "Digest realm=\"{REALM}\", domain=\"\", nonce=\"{nonce}\", algorithm=MD5, qop=\"auth\", stale={stale}"
    )
}

fn parse_authorization(authorization: &str) -> Option<AuthorizationHeader> {
    // digest_auth slices its input by char count, which panics on multi-byte characters.
    if !authorization.is_ascii() {
        return None;
    }
    let (scheme, params) = authorization.trim_start().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("digest") {
        return None;
    }
    AuthorizationHeader::parse(params).ok()
}

fn response_matches(
    header: &AuthorizationHeader,
    public_key: &str,
    private_key: &str,
    method: &str,
) -> bool {
    let Some(cnonce) = header.cnonce.as_deref() else {
        return false;
    };
    let mut context = AuthContext::new_with_method(
        public_key,
        private_key,
        header.uri.as_str(),
        Option::<&[u8]>::None,
        HttpMethod::from(method),
    );
    context.set_custom_cnonce(cnonce);
    let mut expected = header.clone();
    expected.digest(&context);
    expected.response.eq_ignore_ascii_case(&header.response)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const TARGET: &str = "/api/atlas/v2/orgs/6523f1a0c8e4b2d9f0a1b001/invites";

    fn keys() -> Vec<(String, String)> {
        vec![("pubkeyab".to_owned(), "private-key-1".to_owned())]
    }

    fn client_header(nonce: &str, password: &str, nc: u32) -> String {
        let mut prompt = digest_auth::parse(&challenge_header(nonce, false)).unwrap();
        prompt.nc = nc - 1;
        let context = AuthContext::new("pubkeyab", password, TARGET);
        prompt.respond(&context).unwrap().to_string()
    }

    #[test]
    fn challenge_matches_atlas_format_and_parses_with_a_client() {
        let header = challenge_header("abc+/=", true);
        assert_eq!(
            header,
            r#"Digest realm="MMS Public API", domain="", nonce="abc+/=", algorithm=MD5, qop="auth", stale=true"#
        );
        let parsed = digest_auth::parse(&header).unwrap();
        assert_eq!(parsed.nonce, "abc+/=");
        assert!(parsed.stale);
        assert_eq!(parsed.qop, Some(vec![Qop::AUTH]));
    }

    #[test]
    fn accepts_right_password_and_reused_nonce_with_growing_nc() {
        let mut store = NonceStore::default();
        let nonce = store.issue();
        for nc in 1..=3 {
            let verdict = store.verify(
                &client_header(&nonce, "private-key-1", nc),
                "GET",
                TARGET,
                &keys(),
                None,
            );
            assert_eq!(
                verdict,
                DigestVerdict::Authorised {
                    public_key: "pubkeyab".to_owned()
                }
            );
        }
    }

    #[test]
    fn refuses_wrong_password_unknown_nonce_and_method_mismatch() {
        let mut store = NonceStore::default();
        let nonce = store.issue();
        let fresh = DigestVerdict::Challenge { stale: false };
        assert_eq!(
            store.verify(
                &client_header(&nonce, "wrong", 1),
                "GET",
                TARGET,
                &keys(),
                None
            ),
            fresh
        );
        assert_eq!(
            store.verify(
                &client_header("never-issued", "private-key-1", 1),
                "GET",
                TARGET,
                &keys(),
                None
            ),
            fresh
        );
        assert_eq!(
            store.verify(
                &client_header(&nonce, "private-key-1", 1),
                "POST",
                TARGET,
                &keys(),
                None
            ),
            fresh
        );
        assert_eq!(
            store.verify(
                &client_header(&nonce, "private-key-1", 1),
                "GET",
                "/other",
                &keys(),
                None
            ),
            DigestVerdict::UriMismatch
        );
    }

    #[test]
    fn replayed_nc_is_refused_but_out_of_order_within_the_window_is_not() {
        let mut store = NonceStore::default();
        let nonce = store.issue();
        let ok = |v: DigestVerdict| matches!(v, DigestVerdict::Authorised { .. });
        assert!(ok(store.verify(
            &client_header(&nonce, "private-key-1", 2),
            "GET",
            TARGET,
            &keys(),
            None
        )));
        assert!(ok(store.verify(
            &client_header(&nonce, "private-key-1", 1),
            "GET",
            TARGET,
            &keys(),
            None
        )));
        assert!(!ok(store.verify(
            &client_header(&nonce, "private-key-1", 2),
            "GET",
            TARGET,
            &keys(),
            None
        )));
        assert!(!ok(store.verify(
            &client_header(&nonce, "private-key-1", 1),
            "GET",
            TARGET,
            &keys(),
            None
        )));
        assert!(ok(store.verify(
            &client_header(&nonce, "private-key-1", 200),
            "GET",
            TARGET,
            &keys(),
            None
        )));
        assert!(!ok(store.verify(
            &client_header(&nonce, "private-key-1", 100),
            "GET",
            TARGET,
            &keys(),
            None
        )));
    }

    #[test]
    fn expired_or_used_up_nonce_is_stale_only_for_right_credentials() {
        let mut store = NonceStore::default();
        let nonce = store.issue();
        store.expire_all();
        assert_eq!(
            store.verify(
                &client_header(&nonce, "wrong", 1),
                "GET",
                TARGET,
                &keys(),
                None
            ),
            DigestVerdict::Challenge { stale: false }
        );
        assert_eq!(
            store.verify(
                &client_header(&nonce, "private-key-1", 1),
                "GET",
                TARGET,
                &keys(),
                None
            ),
            DigestVerdict::Challenge { stale: true }
        );

        let nonce = store.issue();
        let max = Some(2);
        assert!(matches!(
            store.verify(
                &client_header(&nonce, "private-key-1", 1),
                "GET",
                TARGET,
                &keys(),
                max
            ),
            DigestVerdict::Authorised { .. }
        ));
        assert!(matches!(
            store.verify(
                &client_header(&nonce, "private-key-1", 2),
                "GET",
                TARGET,
                &keys(),
                max
            ),
            DigestVerdict::Authorised { .. }
        ));
        assert_eq!(
            store.verify(
                &client_header(&nonce, "private-key-1", 3),
                "GET",
                TARGET,
                &keys(),
                max
            ),
            DigestVerdict::Challenge { stale: true }
        );
    }

    #[test]
    fn store_stays_bounded() {
        let mut store = NonceStore::default();
        let first = store.issue();
        for _ in 0..MAX_NONCES {
            store.issue();
        }
        assert_eq!(store.nonces.len(), MAX_NONCES);
        assert!(!store.nonces.contains_key(&first));
    }

    proptest! {
        #[test]
        fn verify_never_panics(header in "\\PC{0,200}", prefix in "(Digest |digest |Basic |)") {
            let mut store = NonceStore::default();
            let nonce = store.issue();
            let _ = store.verify(&format!("{prefix}{header}"), "GET", TARGET, &keys(), Some(1));
            let _ = store.verify(&format!("Digest username=\"pubkeyab\", nonce=\"{nonce}\", {header}"), "GET", TARGET, &keys(), None);
        }
    }
}
