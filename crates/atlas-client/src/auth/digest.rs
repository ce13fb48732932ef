//! The HTTP Digest session of one API key (RFC 7616; Atlas uses MD5 with `qop=auth`).
//!
//! The server's last challenge is cached and answered preemptively with an incrementing nonce count,
//! so a call costs one round trip instead of the two a challenge-per-request client pays.

use std::fmt;
use std::sync::{Mutex, MutexGuard};

use digest_auth::{AuthContext, Qop, WwwAuthenticateHeader};
use reqwest::header::{self, HeaderMap, HeaderValue};
use secrecy::{ExposeSecret, SecretString};

use crate::transport::sensitive_header;

pub(crate) struct DigestSession {
    public_key: String,
    private_key: SecretString,
    /// The challenge being answered; `digest_auth` keeps the nonce count in it and bumps it per answer.
    challenge: Mutex<Option<WwwAuthenticateHeader>>,
}

impl DigestSession {
    pub(crate) fn new(public_key: String, private_key: SecretString) -> DigestSession {
        DigestSession {
            public_key,
            private_key,
            challenge: Mutex::new(None),
        }
    }

    pub(crate) fn private_key(&self) -> &SecretString {
        &self.private_key
    }

    /// An `Authorization` answering the cached challenge for a GET of `uri` (path and query), if any.
    pub(crate) fn authorization(&self, uri: &str) -> Option<HeaderValue> {
        let mut challenge = self.lock();
        let prompt = challenge.as_mut()?;
        let context = AuthContext::new(
            self.public_key.as_str(),
            self.private_key.expose_secret(),
            uri,
        );
        match prompt.respond(&context) {
            Ok(answer) => sensitive_header(&answer.to_header_string()),
            Err(_) => {
                // A challenge we cannot answer is worthless; the next 401 brings a new one.
                *challenge = None;
                None
            }
        }
    }

    /// Adopts the Digest challenge of a 401 response. `false` when it carries none we can use.
    pub(crate) fn adopt_challenge(&self, headers: &HeaderMap) -> bool {
        let Some(mut prompt) = headers
            .get_all(header::WWW_AUTHENTICATE)
            .iter()
            .find_map(parse_challenge)
        else {
            return false;
        };
        // Atlas offers `qop="auth"`; if a server also offers auth-int, still answer with auth
        // (digest_auth would prefer auth-int, which GETs gain nothing from).
        if prompt
            .qop
            .as_ref()
            .is_some_and(|qops| qops.contains(&Qop::AUTH))
        {
            prompt.qop = Some(vec![Qop::AUTH]);
        }
        *self.lock() = Some(prompt);
        true
    }

    fn lock(&self) -> MutexGuard<'_, Option<WwwAuthenticateHeader>> {
        // Nothing panics while the lock is held; if something ever did, the challenge is still usable.
        self.challenge
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// The Digest challenge of a `WWW-Authenticate` value, if it is one we can answer.
/// Public (through `atlas::auth`) only for the fuzz targets and property tests.
#[doc(hidden)]
pub fn parse_challenge(value: &HeaderValue) -> Option<WwwAuthenticateHeader> {
    // to_str() admits visible ASCII only. That matters: digest_auth's parser slices the string with
    // character positions, which are byte positions only for ASCII.
    let value = value.to_str().ok()?.trim_start();
    let scheme = value.get(..6)?;
    if !scheme.eq_ignore_ascii_case("digest") {
        return None;
    }
    WwwAuthenticateHeader::parse(&value[6..]).ok()
}

impl fmt::Debug for DigestSession {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DigestSession")
            .field("public_key", &self.public_key)
            .field("private_key", &"[REDACTED]")
            .field("challenge_cached", &self.lock().is_some())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use digest_auth::AuthorizationHeader;
    use proptest::prelude::*;

    const ATLAS_CHALLENGE: &str = r#"Digest realm="MMS Public API", domain="", nonce="I+xG4xb7bUgq8uMBCuAxZPI+VDDcJ9q1", algorithm=MD5, qop="auth", stale=false"#;

    fn challenge_headers(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.append(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_str(value).unwrap(),
        );
        headers
    }

    #[test]
    fn no_answer_before_a_challenge() {
        let session = DigestSession::new("pub".into(), SecretString::from("priv"));
        assert!(session.authorization("/x").is_none());
    }

    #[test]
    fn answers_the_atlas_challenge_with_md5_auth_and_incrementing_nc() {
        let session = DigestSession::new("pubkey".into(), SecretString::from("private-key"));
        assert!(session.adopt_challenge(&challenge_headers(ATLAS_CHALLENGE)));
        let uri = "/api/atlas/v2/orgs/32b6e34b3d91647abb20e7b8/invites?pretty=false";
        let first = session.authorization(uri).unwrap();
        let second = session.authorization(uri).unwrap();
        assert!(first.is_sensitive());
        let first = AuthorizationHeader::parse(first.to_str().unwrap()).unwrap();
        let second = AuthorizationHeader::parse(second.to_str().unwrap()).unwrap();
        assert_eq!((first.nc, second.nc), (1, 2));
        assert_eq!(first.username, "pubkey");
        assert_eq!(first.uri, uri);
        assert_eq!(first.qop, Some(Qop::AUTH));
        assert_eq!(first.algorithm.to_string(), "MD5");

        // The server side of the check: recompute with the password and the client's cnonce.
        let mut expected = first.clone();
        let mut context = AuthContext::new("pubkey", "private-key", uri);
        context.set_custom_cnonce(first.cnonce.clone().unwrap());
        expected.digest(&context);
        assert_eq!(expected.response, first.response);
    }

    #[test]
    fn auth_is_chosen_over_auth_int() {
        let session = DigestSession::new("pub".into(), SecretString::from("priv"));
        assert!(session.adopt_challenge(&challenge_headers(
            r#"Digest realm="r", nonce="n", qop="auth,auth-int""#
        )));
        let answer = session.authorization("/x").unwrap();
        assert_eq!(
            AuthorizationHeader::parse(answer.to_str().unwrap())
                .unwrap()
                .qop,
            Some(Qop::AUTH)
        );
    }

    #[test]
    fn non_digest_and_broken_challenges_are_refused() {
        let session = DigestSession::new("pub".into(), SecretString::from("priv"));
        assert!(!session.adopt_challenge(&HeaderMap::new()));
        assert!(!session.adopt_challenge(&challenge_headers(r#"Bearer realm="atlas""#)));
        assert!(!session.adopt_challenge(&challenge_headers(r#"Digest realm="no nonce""#)));
        assert!(session.authorization("/x").is_none());
        // The Digest one among several schemes is found, whatever its case.
        let mut headers = challenge_headers(r#"Bearer realm="atlas""#);
        headers.append(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static(r#"digest realm="r", nonce="n""#),
        );
        assert!(session.adopt_challenge(&headers));
        assert!(session.authorization("/x").is_some());
    }

    #[test]
    fn debug_shows_no_private_key() {
        let session = DigestSession::new("pub".into(), SecretString::from("very-private-key"));
        session.adopt_challenge(&challenge_headers(ATLAS_CHALLENGE));
        let shown = format!("{session:?}");
        assert!(
            shown.contains("pub") && !shown.contains("very-private-key"),
            "{shown}"
        );
    }

    proptest! {
        #[test]
        fn any_header_bytes_are_parsed_without_panicking(bytes in proptest::collection::vec(any::<u8>(), 0..80)) {
            // Network headers may carry obs-text (bytes >= 0x80), which from_str would never produce.
            if let Ok(value) = HeaderValue::from_bytes(&[b"Digest ".as_slice(), &bytes].concat()) {
                let _ = parse_challenge(&value);
            }
        }

        #[test]
        fn challenge_shaped_soup_never_panics(value in "[a-z =\",\\\\]{0,80}") {
            if let Ok(value) = HeaderValue::from_str(&format!("Digest {value}")) {
                let _ = parse_challenge(&value);
            }
        }
    }
}
