//! `--web.config.file`: the Prometheus exporter-toolkit web configuration (TLS, basic auth, extra
//! response headers), read strictly and validated completely before anything listens.
//!
//! Same keys and semantics as exporter-toolkit's `web/tls_config.go`, except where rustls cannot do
//! what Go does (TLS 1.0/1.1, CBC suites, P-521) or where we do not implement a key
//! (`client_allowed_sans`): those are refused with a message saying so, never ignored.

pub(super) mod auth;
mod file;
pub(super) mod live;
mod rate_limit;
pub(super) mod tls;

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use hyper::header::{HeaderName, HeaderValue};

use auth::BasicAuth;
use file::{FileReader, FileStamp, GoDuration, KeyError, RawRateLimit, UniqueMap, parse};
use rate_limit::RateLimiter;
use tls::TlsListenerConfig;

/// A web configuration file that loaded and validated completely.
pub struct WebConfig {
    pub(crate) file: PathBuf,
    pub(crate) tls: Option<TlsListenerConfig>,
    pub(crate) headers: Vec<(HeaderName, HeaderValue)>,
    pub(crate) auth: Option<Arc<BasicAuth>>,
    pub(crate) rate_limit: Option<Arc<RateLimiter>>,
    /// Every file this configuration was read from, stamped just before it was read.
    pub(crate) stamps: Vec<FileStamp>,
}

impl WebConfig {
    /// The file this configuration came from.
    pub fn file(&self) -> &Path {
        &self.file
    }

    /// True when the listener speaks TLS.
    pub fn tls_enabled(&self) -> bool {
        self.tls.is_some()
    }

    /// The number of `basic_auth_users`; 0 means no basic auth.
    pub fn basic_auth_user_count(&self) -> usize {
        self.auth.as_ref().map_or(0, |auth| auth.user_count())
    }
}

// Hand-written: the bcrypt hashes and an inline private key stay out of `{:?}`.
impl fmt::Debug for WebConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebConfig")
            .field("file", &self.file)
            .field("tls", &self.tls.as_ref().map(|t| &t.summary))
            .field(
                "headers",
                &self.headers.iter().map(|(n, _)| n).collect::<Vec<_>>(),
            )
            .field("basic_auth_users", &self.basic_auth_user_count())
            .field("rate_limit", &self.rate_limit.is_some())
            .finish()
    }
}

/// Why a web configuration file was refused: the file, the key, and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct WebConfigError {
    pub file: PathBuf,
    /// Dotted key path (`tls_server_config.min_version`); empty when the file as a whole is wrong
    /// (unreadable, not YAML). YAML type errors carry the path in `message`.
    pub key: String,
    pub message: String,
}

impl fmt::Display for WebConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "invalid web configuration file {}: ",
            self.file.display()
        )?;
        if !self.key.is_empty() {
            write!(f, "{}: ", self.key)?;
        }
        f.write_str(&self.message)
    }
}

/// Reads, parses and validates a web configuration file, including the certificates and keys it
/// names. Nothing is served from a file this refuses.
pub fn load_web_config(path: &Path) -> Result<WebConfig, WebConfigError> {
    load_recording(path).map_err(|(error, _)| error)
}

/// [`load_web_config`], also returning on failure the files it read, so a watcher can retry when
/// one of them changes.
pub(crate) fn load_recording(path: &Path) -> Result<WebConfig, (WebConfigError, Vec<FileStamp>)> {
    let mut reader = FileReader::default();
    match load_with(path, &mut reader) {
        Ok(Loaded {
            tls,
            headers,
            auth,
            rate_limit,
        }) => Ok(WebConfig {
            file: path.to_owned(),
            tls,
            headers,
            auth,
            rate_limit,
            stamps: reader.stamps,
        }),
        Err(error) => Err((
            WebConfigError {
                file: path.to_owned(),
                key: error.key,
                message: error.message,
            },
            reader.stamps,
        )),
    }
}

struct Loaded {
    tls: Option<TlsListenerConfig>,
    headers: Vec<(HeaderName, HeaderValue)>,
    auth: Option<Arc<BasicAuth>>,
    rate_limit: Option<Arc<RateLimiter>>,
}

fn load_with(path: &Path, reader: &mut FileReader) -> Result<Loaded, KeyError> {
    let bytes = reader.read("", path)?;
    let text =
        String::from_utf8(bytes).map_err(|_| KeyError::new("", "the file is not valid UTF-8"))?;
    let raw = parse(&text)?;
    let rate_limit = rate_limiter(raw.rate_limit.unwrap_or_default())?;
    // exporter-toolkit resolves relative paths against the file's directory.
    let directory = path.parent().unwrap_or(Path::new("."));
    let tls = match &raw.tls_server_config {
        Some(settings) => tls::build(settings, directory, reader)?,
        None => None,
    };
    let http = raw.http_server_config.unwrap_or_default();
    let headers = validate_headers(http.headers.unwrap_or_default())?;
    let auth = match raw.basic_auth_users {
        Some(users) if !users.0.is_empty() => Some(Arc::new(BasicAuth::new(users.0)?)),
        _ => None,
    };
    Ok(Loaded {
        tls,
        headers,
        auth,
        rate_limit,
    })
}

/// exporter-toolkit turns the limiter on when `interval` is not zero.
fn rate_limiter(raw: RawRateLimit) -> Result<Option<Arc<RateLimiter>>, KeyError> {
    let interval = match raw.interval {
        None | Some(GoDuration::Nanos(0)) => return Ok(None),
        Some(GoDuration::Nanos(nanos)) => Duration::from_nanos(nanos),
        Some(GoDuration::Text(text)) => humantime::parse_duration(&text).map_err(|error| {
            KeyError::new(
                "rate_limit.interval",
                format!("not a duration like \"1s\" or \"100ms\": {error}"),
            )
        })?,
    };
    if interval.is_zero() {
        return Ok(None);
    }
    // Go would accept 0 and then refuse every request; that is never what anyone meant.
    let burst = raw.burst.unwrap_or(0);
    let burst = u32::try_from(burst)
        .ok()
        .filter(|b| *b >= 1)
        .ok_or_else(|| {
            KeyError::new(
                "rate_limit.burst",
                format!("must be at least 1 when rate_limit.interval is set, found {burst}"),
            )
        })?;
    Ok(Some(Arc::new(RateLimiter::new(interval, burst))))
}

/// The only headers exporter-toolkit lets a user add, with the values it accepts (`None`: any).
const ALLOWED_HEADERS: [(&str, Option<&[&str]>); 5] = [
    ("Strict-Transport-Security", None),
    ("X-Content-Type-Options", Some(&["nosniff"])),
    ("X-Frame-Options", Some(&["deny", "sameorigin"])),
    ("X-XSS-Protection", None),
    ("Content-Security-Policy", None),
];

fn validate_headers(
    headers: UniqueMap<String>,
) -> Result<Vec<(HeaderName, HeaderValue)>, KeyError> {
    let mut valid = Vec::with_capacity(headers.0.len());
    for (name, value) in headers.0 {
        let key = format!("http_server_config.headers.{name}");
        // Exact spelling, as exporter-toolkit compares names case-sensitively.
        let Some((_, allowed)) = ALLOWED_HEADERS.iter().find(|(n, _)| *n == name) else {
            let names: Vec<&str> = ALLOWED_HEADERS.iter().map(|(n, _)| *n).collect();
            return Err(KeyError::new(
                key,
                format!(
                    "this header cannot be configured; allowed: {}",
                    names.join(", ")
                ),
            ));
        };
        if let Some(allowed) = allowed
            && !allowed.contains(&value.as_str())
        {
            return Err(KeyError::new(
                key,
                format!(
                    "invalid value {value:?}; expected one of: {}",
                    allowed.join(", ")
                ),
            ));
        }
        let header_value = HeaderValue::from_str(&value)
            .map_err(|_| KeyError::new(&key, "not a valid header value (control characters?)"))?;
        let header_name = HeaderName::from_bytes(name.as_bytes())
            .map_err(|_| KeyError::new(&key, "not a valid header name"))?;
        valid.push((header_name, header_value));
    }
    Ok(valid)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load_text(text: &str) -> Result<WebConfig, WebConfigError> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("web.yml");
        std::fs::write(&path, text).unwrap();
        load_web_config(&path)
    }

    fn error_of(text: &str) -> WebConfigError {
        match load_text(text) {
            Ok(config) => panic!("accepted: {config:?}"),
            Err(error) => error,
        }
    }

    const HASH: &str = "$2y$04$PdWhfZvb4UK4FS0jZVfm7uLaanzYY8pqbBZ7DYXA2eJ2mtd3zN5Um";

    #[test]
    fn empty_and_comment_only_files_mean_plain_http_without_auth() {
        for text in ["", "\n", "# nothing here\n", "---\n"] {
            let config = load_text(text).unwrap_or_else(|e| panic!("{text:?}: {e}"));
            assert!(!config.tls_enabled());
            assert_eq!(config.basic_auth_user_count(), 0);
            assert!(config.headers.is_empty());
        }
    }

    #[test]
    fn unknown_keys_are_refused_with_their_path() {
        let error = error_of("tls_server_config:\n  cert_fil: x\n");
        let text = error.to_string();
        assert!(text.contains("cert_fil"), "{text}");
        assert!(text.contains("tls_server_config"), "{text}");
        assert!(text.contains("web.yml"), "{text}");

        let error = error_of("basic_auth_user:\n  alice: x\n");
        assert!(error.to_string().contains("basic_auth_user"), "{error}");
    }

    #[test]
    fn headers_are_restricted_as_in_exporter_toolkit() {
        let config = load_text(
            "http_server_config:\n  headers:\n    X-Frame-Options: deny\n    X-Content-Type-Options: nosniff\n    Content-Security-Policy: \"default-src 'self'\"\n",
        )
        .unwrap();
        assert_eq!(config.headers.len(), 3);

        let error = error_of("http_server_config:\n  headers:\n    X-Powered-By: me\n");
        assert_eq!(error.key, "http_server_config.headers.X-Powered-By");
        let error = error_of("http_server_config:\n  headers:\n    X-Frame-Options: allow\n");
        assert_eq!(error.key, "http_server_config.headers.X-Frame-Options");
        assert!(error.message.contains("sameorigin"), "{error}");
        let error =
            error_of("http_server_config:\n  headers:\n    X-Content-Type-Options: sniff\n");
        assert_eq!(
            error.key,
            "http_server_config.headers.X-Content-Type-Options"
        );
        // Lower-case names are refused, as Go's exact map lookup does.
        let error = error_of("http_server_config:\n  headers:\n    x-frame-options: deny\n");
        assert_eq!(error.key, "http_server_config.headers.x-frame-options");
    }

    #[test]
    fn duplicate_keys_are_refused() {
        let text = format!("basic_auth_users:\n  alice: {HASH}\n  alice: {HASH}\n");
        let error = error_of(&text);
        assert!(error.to_string().contains("given twice"), "{error}");
    }

    #[test]
    fn users_need_bcrypt_hashes() {
        let config = load_text(&format!("basic_auth_users:\n  alice: {HASH}\n")).unwrap();
        assert_eq!(config.basic_auth_user_count(), 1);
        let error = error_of("basic_auth_users:\n  alice: plaintext-password\n");
        assert_eq!(error.key, "basic_auth_users.alice");
        assert!(!error.to_string().contains("plaintext-password"), "{error}");
        let error = error_of(&format!("basic_auth_users:\n  \"a:b\": {HASH}\n"));
        assert_eq!(error.key, "basic_auth_users.a:b");
    }

    #[test]
    fn rate_limit_as_in_exporter_toolkit() {
        assert!(
            load_text("rate_limit:\n  interval: 1s\n  burst: 5\n")
                .unwrap()
                .rate_limit
                .is_some()
        );
        assert!(
            load_text("rate_limit:\n  interval: 1m30s\n  burst: 1\n")
                .unwrap()
                .rate_limit
                .is_some()
        );
        assert!(
            load_text("rate_limit:\n  interval: 0\n")
                .unwrap()
                .rate_limit
                .is_none()
        );
        assert!(
            load_text("rate_limit:\n  burst: 3\n")
                .unwrap()
                .rate_limit
                .is_none()
        );
        assert_eq!(
            error_of("rate_limit:\n  interval: soon\n  burst: 1\n").key,
            "rate_limit.interval"
        );
        assert_eq!(
            error_of("rate_limit:\n  interval: 1s\n").key,
            "rate_limit.burst"
        );
        assert_eq!(
            error_of("rate_limit:\n  interval: 1s\n  burst: -1\n").key,
            "rate_limit.burst"
        );
        // Go's duration syntax, fractions included.
        assert!(
            load_text("rate_limit:\n  interval: 1.5s\n  burst: 1\n")
                .unwrap()
                .rate_limit
                .is_some()
        );
    }

    #[test]
    fn unsupported_toolkit_keys_are_refused_not_ignored() {
        let error = error_of(
            "tls_server_config:\n  cert_file: a\n  key_file: b\n  client_allowed_sans: [x]\n",
        );
        assert_eq!(error.key, "tls_server_config.client_allowed_sans");
    }

    #[test]
    fn debug_output_hides_hashes() {
        let config = load_text(&format!("basic_auth_users:\n  alice: {HASH}\n")).unwrap();
        let debug = format!("{config:?}");
        assert!(!debug.contains(HASH), "{debug}");
    }

    #[test]
    fn misplaced_strings_are_not_echoed() {
        let error = error_of(&format!("basic_auth_users: \"{HASH}\"\n"));
        assert!(!error.to_string().contains(HASH), "{error}");
        assert!(error.to_string().contains("basic_auth_users"), "{error}");
        let error = error_of("tls_server_config: \"-----BEGIN PRIVATE KEY----- c2VjcmV0\"\n");
        assert!(!error.to_string().contains("c2VjcmV0"), "{error}");
        assert!(error.to_string().contains("expected"), "{error}");
    }

    #[test]
    fn syntax_errors_name_the_file() {
        let error = error_of("tls_server_config: [\n");
        assert!(error.to_string().contains("web.yml"), "{error}");
    }
}
