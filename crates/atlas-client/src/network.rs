//! The corporate network between the client and Atlas: an outbound proxy and the certificate
//! authorities a TLS-inspecting proxy or a private CA needs.
//!
//! Without settings the client behaves as curl does: `HTTPS_PROXY`, `HTTP_PROXY`, `ALL_PROXY` and
//! `NO_PROXY` (or their lower-case forms) are read when the client is built (unlike curl, upper-case
//! `HTTP_PROXY` counts too: reqwest reads it outside CGI), and the system's roots
//! verify Atlas. A configured proxy URL replaces those variables' proxies, and `NO_PROXY` still
//! names the hosts reached directly, as with curl's `--proxy`. A CA file is added to the system's
//! roots, or with `ca_only` replaces them; verification itself is never turned off.
//!
//! A proxy URL may carry `user:password`: it is held as a secret, and no error built here quotes it.

use std::fmt;
use std::path::PathBuf;

use reqwest::{Certificate, ClientBuilder, NoProxy, Proxy, Url};
use secrecy::{ExposeSecret, SecretString};

use crate::ApiError;

/// How the client reaches Atlas through a corporate network. The default is the environment's
/// proxies and the system's certificate authorities.
#[derive(Clone, Default)]
pub struct NetworkSettings {
    /// `http://[user:password@]host:port` (or `https://`): every request goes through this proxy,
    /// whatever `HTTPS_PROXY`/`HTTP_PROXY` say, except to the hosts `NO_PROXY` names. `None`: the
    /// environment's proxies, if any. Secret, since it may hold the proxy's password.
    pub proxy_url: Option<SecretString>,
    /// A PEM file of certificate authorities trusted in addition to the system's: a TLS-inspecting
    /// proxy's, or the private CA in front of Atlas. Read once, when the client is built.
    pub ca_file: Option<PathBuf>,
    /// Trust only the authorities of [`NetworkSettings::ca_file`], not the system's. Needs a CA file.
    pub ca_only: bool,
}

// By hand, so that the proxy URL (and the password it may hold) is never printed.
impl fmt::Debug for NetworkSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NetworkSettings")
            .field("proxy_url", &self.proxy_url.as_ref().map(|_| "[REDACTED]"))
            .field("ca_file", &self.ca_file)
            .field("ca_only", &self.ca_only)
            .finish()
    }
}

impl NetworkSettings {
    /// What building a client on these settings would refuse, found without building one: a proxy
    /// URL that is not one, a CA file that cannot be read or holds no certificate, `ca_only` without
    /// a CA file. For a configuration check at start and on reload. The reason never holds the
    /// proxy URL.
    pub fn check(&self) -> Result<(), String> {
        let reason = |error: ApiError| match error {
            ApiError::ClientSetup(reason) => reason,
            other => other.to_string(),
        };
        if let Some(url) = &self.proxy_url {
            proxy(url).map_err(reason)?;
        }
        match &self.ca_file {
            Some(path) => read_ca_file(path).map(drop).map_err(reason),
            None if self.ca_only => Err(CA_ONLY_WITHOUT_FILE.to_owned()),
            None => Ok(()),
        }
    }
}

const CA_ONLY_WITHOUT_FILE: &str =
    "ca_only is set without a CA file: no certificate authority would be trusted";

/// `builder` with the proxy and certificate authorities of `settings`. Fails with
/// [`ApiError::ClientSetup`], whose message never holds the proxy URL, when the proxy URL is not one,
/// or the CA file cannot be read or holds no certificate.
pub(crate) fn configure(
    builder: ClientBuilder,
    settings: &NetworkSettings,
) -> Result<ClientBuilder, ApiError> {
    let mut builder = builder;
    if let Some(url) = &settings.proxy_url {
        builder = builder.proxy(proxy(url)?);
    }
    match (&settings.ca_file, settings.ca_only) {
        (Some(path), only) => {
            let certificates = read_ca_file(path)?;
            builder = if only {
                builder.tls_certs_only(certificates)
            } else {
                builder.tls_certs_merge(certificates)
            };
        }
        (None, true) => return Err(ApiError::ClientSetup(CA_ONLY_WITHOUT_FILE.into())),
        (None, false) => {}
    }
    Ok(builder)
}

/// The configured proxy, for every scheme, with the environment's `NO_PROXY` exceptions.
fn proxy(url: &SecretString) -> Result<Proxy, ApiError> {
    // The reasons never quote the URL: whatever part of it is wrong, the password may be next to it.
    let invalid = |why: &str| {
        ApiError::ClientSetup(format!(
            "the proxy URL {why} (the URL is not shown: it may hold a password)"
        ))
    };
    let parsed = Url::parse(url.expose_secret().trim()).map_err(|_| invalid("is not a URL"))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(invalid("must start with http:// or https://"));
    }
    if parsed.host_str().is_none_or(str::is_empty) {
        return Err(invalid("has no host"));
    }
    let proxy = Proxy::all(parsed).map_err(|_| invalid("is not accepted as a proxy"))?;
    Ok(proxy.no_proxy(NoProxy::from_env()))
}

/// Every certificate of a PEM bundle; other PEM sections (a key) are skipped.
fn read_ca_file(path: &PathBuf) -> Result<Vec<Certificate>, ApiError> {
    let shown = path.display();
    let pem = std::fs::read(path).map_err(|error| {
        ApiError::ClientSetup(format!("cannot read the CA file {shown}: {error}"))
    })?;
    let certificates = Certificate::from_pem_bundle(&pem).map_err(|_| {
        ApiError::ClientSetup(format!(
            "the CA file {shown} holds an invalid PEM certificate"
        ))
    })?;
    if certificates.is_empty() {
        return Err(ApiError::ClientSetup(format!(
            "the CA file {shown} holds no PEM certificate (-----BEGIN CERTIFICATE-----)"
        )));
    }
    Ok(certificates)
}

#[cfg(test)]
mod tests {
    use super::*;

    const PASSWORD: &str = "pr0xy-Secret-do-not-leak";

    fn with_proxy(url: &str) -> NetworkSettings {
        NetworkSettings {
            proxy_url: Some(SecretString::from(url.to_owned())),
            ..NetworkSettings::default()
        }
    }

    fn setup_error(settings: &NetworkSettings) -> String {
        let _ = rustls::crypto::ring::default_provider().install_default();
        match configure(reqwest::Client::builder(), settings) {
            Ok(_) => panic!("expected a setup error"),
            Err(error) => {
                assert_eq!(error.error_code(), "CLIENT_SETUP");
                format!("{error} {error:?}")
            }
        }
    }

    #[test]
    fn a_proxy_url_with_credentials_is_accepted_and_never_printed() {
        let settings = with_proxy(&format!("http://user:{PASSWORD}@127.0.0.1:3128"));
        let shown = format!("{settings:?}");
        assert!(
            !shown.contains(PASSWORD) && shown.contains("[REDACTED]"),
            "{shown}"
        );
        let _ = rustls::crypto::ring::default_provider().install_default();
        let client = configure(reqwest::Client::builder(), &settings)
            .unwrap()
            .build()
            .unwrap();
        assert!(!format!("{client:?}").contains(PASSWORD));
    }

    #[test]
    fn an_invalid_proxy_url_is_refused_without_quoting_it() {
        for url in [
            format!("user:{PASSWORD}@proxy:3128"),
            format!("socks5://user:{PASSWORD}@proxy:1080"),
            format!("ftp://user:{PASSWORD}@proxy"),
            format!("http://user:{PASSWORD}@"),
            format!("http://user:{PASSWORD}@[::1:3128"),
        ] {
            let message = setup_error(&with_proxy(&url));
            assert!(!message.contains(PASSWORD), "{message}");
            assert!(message.contains("the proxy URL"), "{message}");
        }
    }

    #[test]
    fn a_ca_file_must_hold_a_certificate() {
        let missing = NetworkSettings {
            ca_file: Some("/nonexistent/ca.pem".into()),
            ..NetworkSettings::default()
        };
        assert!(setup_error(&missing).contains("cannot read the CA file /nonexistent/ca.pem"));

        let dir = std::env::temp_dir().join(format!("atlas-client-ca-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let empty = dir.join("empty.pem");
        std::fs::write(&empty, "not a certificate\n").unwrap();
        let message = setup_error(&NetworkSettings {
            ca_file: Some(empty),
            ..NetworkSettings::default()
        });
        assert!(message.contains("holds no PEM certificate"), "{message}");
        let _ = std::fs::remove_dir_all(&dir);

        let only_without_file = NetworkSettings {
            ca_only: true,
            ..NetworkSettings::default()
        };
        assert!(setup_error(&only_without_file).contains("ca_only is set without a CA file"));
    }
}
