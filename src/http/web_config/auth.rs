//! HTTP basic auth against `basic_auth_users` bcrypt hashes, as exporter-toolkit does it: bcrypt runs
//! on the blocking pool one at a time, successful checks are cached, failures never are, and an
//! unknown user costs the same bcrypt verify as a known one.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use base64::Engine as _;
use hyper::header::HeaderValue;
use secrecy::{ExposeSecret, SecretSlice, SecretString};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use tokio::sync::Semaphore;

use super::file::KeyError;

/// bcrypt is deliberately CPU-heavy: one verification at a time keeps a flood of bad passwords from
/// taking every core away from the scrapes (exporter-toolkit serialises them with a mutex).
static BCRYPT_SLOTS: Semaphore = Semaphore::const_new(1);

/// A cache key: SHA-256 over user, hash and password, so the password itself is never stored.
type Digest32 = [u8; 32];

pub(crate) struct BasicAuth {
    /// User name to bcrypt hash.
    users: HashMap<String, SecretString>,
    /// A hash of a random-free fixed password at the highest configured cost, verified for unknown
    /// users so that their answer takes as long as a known user's.
    dummy_hash: String,
    /// The last successful check per user. Bounded by the number of users.
    verified: Mutex<HashMap<String, Digest32>>,
    /// bcrypt verifications run so far (tests count them to see the cache work).
    bcrypt_runs: AtomicU64,
}

impl BasicAuth {
    pub(crate) fn new(users: Vec<(String, SecretString)>) -> Result<BasicAuth, KeyError> {
        let mut max_cost = 4;
        for (user, hash) in &users {
            max_cost = max_cost.max(validate_user(user, hash)?);
        }
        // A fixed salt is fine: this hash only has to cost the same, never to protect anything.
        let dummy_hash = bcrypt::hash_with_salt(b"no such user", max_cost, [7u8; 16])
            .map(|parts| parts.format_for_version(bcrypt::Version::TwoB))
            .map_err(|error| KeyError::new("basic_auth_users", error.to_string()))?;
        Ok(BasicAuth {
            users: users.into_iter().collect(),
            dummy_hash,
            verified: Mutex::new(HashMap::new()),
            bcrypt_runs: AtomicU64::new(0),
        })
    }

    pub(crate) fn user_count(&self) -> usize {
        self.users.len()
    }

    #[cfg(test)]
    pub(crate) fn bcrypt_runs(&self) -> u64 {
        self.bcrypt_runs.load(Ordering::Relaxed)
    }

    /// True when the `Authorization` header carries a configured user and the right password.
    pub(crate) async fn authorize(&self, header: Option<&HeaderValue>) -> bool {
        let Some((user, password)) = header.and_then(decode_basic) else {
            return false;
        };
        let known = self.users.get(&user);
        let hash = known.map_or(self.dummy_hash.as_str(), |h| h.expose_secret());
        let digest = cache_key(&user, hash, password.expose_secret());
        if known.is_some() && self.cached(&user, &digest) {
            return true;
        }
        let Ok(permit) = BCRYPT_SLOTS.acquire().await else {
            return false;
        };
        let hash = hash.to_owned();
        self.bcrypt_runs.fetch_add(1, Ordering::Relaxed);
        // The permit moves into the blocking task: a client that disconnects mid-check cannot make
        // a second bcrypt run next to the first.
        let matches = tokio::task::spawn_blocking(move || {
            let _permit = permit;
            bcrypt::verify(password.expose_secret(), &hash).unwrap_or(false)
        })
        .await
        .unwrap_or(false);
        if matches && known.is_some() {
            if let Ok(mut verified) = self.verified.lock() {
                verified.insert(user, digest);
            }
            return true;
        }
        false
    }

    fn cached(&self, user: &str, digest: &Digest32) -> bool {
        let Ok(verified) = self.verified.lock() else {
            return false;
        };
        verified
            .get(user)
            .is_some_and(|known| bool::from(known.ct_eq(digest)))
    }
}

fn cache_key(user: &str, hash: &str, password: &[u8]) -> Digest32 {
    let mut sha = Sha256::new();
    // Length prefixes keep ("ab", "c") and ("a", "bc") apart.
    for part in [user.as_bytes(), hash.as_bytes()] {
        sha.update((part.len() as u64).to_be_bytes());
        sha.update(part);
    }
    sha.update(password);
    sha.finalize().into()
}

/// `Basic base64(user:password)`; the user must be UTF-8 to match a YAML key, the password is bytes.
fn decode_basic(header: &HeaderValue) -> Option<(String, SecretSlice<u8>)> {
    let value = header.to_str().ok()?;
    let (scheme, encoded) = value.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = SecretSlice::from(
        base64::engine::general_purpose::STANDARD
            .decode(encoded.trim())
            .ok()?,
    );
    let bytes = decoded.expose_secret();
    let colon = bytes.iter().position(|&b| b == b':')?;
    let user = String::from_utf8(bytes[..colon].to_vec()).ok()?;
    let password = SecretSlice::from(bytes[colon + 1..].to_vec());
    Some((user, password))
}

/// Checks one `basic_auth_users` entry; the hash must parse as bcrypt, as exporter-toolkit requires.
pub(crate) fn validate_user(user: &str, hash: &SecretString) -> Result<u32, KeyError> {
    let key = format!("basic_auth_users.{user}");
    if user.contains(':') {
        return Err(KeyError::new(
            key,
            "a user name cannot contain ':' (HTTP basic auth splits user and password there)",
        ));
    }
    let parts: bcrypt::HashParts = hash.expose_secret().parse().map_err(|_| {
        KeyError::new(
            &key,
            "not a bcrypt hash; generate one with: htpasswd -nBC 10 \"\" | tr -d ':\\n'",
        )
    })?;
    let cost = parts.get_cost();
    if !(4..=31).contains(&cost) {
        return Err(KeyError::new(
            key,
            format!("bcrypt cost {cost} is outside 4..=31"),
        ));
    }
    Ok(cost)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(user: &str, password: &str) -> HeaderValue {
        let encoded =
            base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
        HeaderValue::from_str(&format!("Basic {encoded}")).unwrap()
    }

    fn auth() -> BasicAuth {
        let hash = bcrypt::hash("right horse", 4).unwrap();
        BasicAuth::new(vec![("alice".into(), SecretString::from(hash))]).unwrap()
    }

    #[tokio::test]
    async fn good_password_passes_and_is_verified_once() {
        let auth = auth();
        assert!(auth.authorize(Some(&header("alice", "right horse"))).await);
        assert!(auth.authorize(Some(&header("alice", "right horse"))).await);
        assert!(auth.authorize(Some(&header("alice", "right horse"))).await);
        assert_eq!(auth.bcrypt_runs(), 1, "successful checks are cached");
    }

    #[tokio::test]
    async fn failures_are_never_cached() {
        let auth = auth();
        assert!(!auth.authorize(Some(&header("alice", "wrong"))).await);
        assert!(!auth.authorize(Some(&header("alice", "wrong"))).await);
        assert_eq!(auth.bcrypt_runs(), 2);
        // A cached success does not let a different password through.
        assert!(auth.authorize(Some(&header("alice", "right horse"))).await);
        assert!(!auth.authorize(Some(&header("alice", "wrong"))).await);
        assert_eq!(auth.bcrypt_runs(), 4);
    }

    #[tokio::test]
    async fn unknown_users_still_cost_a_verification() {
        let auth = auth();
        assert!(
            !auth
                .authorize(Some(&header("mallory", "right horse")))
                .await
        );
        assert_eq!(auth.bcrypt_runs(), 1);
    }

    #[tokio::test]
    async fn malformed_headers_are_refused() {
        let auth = auth();
        for value in [
            "Bearer abc",
            "Basic",
            "Basic !!!",
            "Basic YWxpY2U=", // "alice", no colon
        ] {
            assert!(
                !auth.authorize(Some(&HeaderValue::from_static(value))).await,
                "{value}"
            );
        }
        assert!(!auth.authorize(None).await);
        assert_eq!(auth.bcrypt_runs(), 0);
    }

    #[test]
    fn dummy_hash_costs_as_much_as_the_dearest_user() {
        let cheap = bcrypt::hash("a", 4).unwrap();
        let dear = bcrypt::hash("b", 6).unwrap();
        let auth = BasicAuth::new(vec![
            ("a".into(), SecretString::from(cheap)),
            ("b".into(), SecretString::from(dear)),
        ])
        .unwrap();
        let parts: bcrypt::HashParts = auth.dummy_hash.parse().unwrap();
        assert_eq!(parts.get_cost(), 6);
    }

    #[test]
    fn cache_keys_separate_the_parts() {
        assert_ne!(cache_key("ab", "c", b"d"), cache_key("a", "bc", b"d"));
        assert_ne!(cache_key("a", "h", b"p1"), cache_key("a", "h", b"p2"));
    }
}
