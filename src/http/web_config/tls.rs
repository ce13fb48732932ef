//! `tls_server_config` to a rustls `ServerConfig`: certificates and keys from PEM, protocol versions,
//! cipher suites and curves by their Go names, and client authentication per `client_auth_type`.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::client::danger::HandshakeSignatureValid;
use rustls::crypto::{CryptoProvider, SupportedKxGroup, ring};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, UnixTime};
use rustls::server::WebPkiClientVerifier;
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::{
    DigitallySignedStruct, DistinguishedName, RootCertStore, ServerConfig, SignatureScheme,
    SupportedCipherSuite, SupportedProtocolVersion,
};
use secrecy::ExposeSecret;

use super::file::{FileReader, KeyError, RawTls};

/// A validated TLS listener configuration.
pub(crate) struct TlsListenerConfig {
    pub server: Arc<ServerConfig>,
    /// For the start-up log: versions and client authentication, nothing secret.
    pub summary: String,
}

/// `client_auth_type`, with Go's `crypto/tls` meaning.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ClientAuth {
    NoClientCert,
    RequestClientCert,
    RequireAnyClientCert,
    VerifyClientCertIfGiven,
    RequireAndVerifyClientCert,
}

impl ClientAuth {
    fn parse(text: &str) -> Option<ClientAuth> {
        Some(match text {
            "" | "NoClientCert" => ClientAuth::NoClientCert,
            "RequestClientCert" => ClientAuth::RequestClientCert,
            // "RequireClientCert" is exporter-toolkit's backwards-compatible spelling.
            "RequireAnyClientCert" | "RequireClientCert" => ClientAuth::RequireAnyClientCert,
            "VerifyClientCertIfGiven" => ClientAuth::VerifyClientCertIfGiven,
            "RequireAndVerifyClientCert" => ClientAuth::RequireAndVerifyClientCert,
            _ => return None,
        })
    }

    fn verifies(self) -> bool {
        matches!(
            self,
            ClientAuth::VerifyClientCertIfGiven | ClientAuth::RequireAndVerifyClientCert
        )
    }
}

/// Builds the listener's TLS configuration, or `None` when `tls_server_config` sets none of the keys
/// that turn TLS on (exporter-toolkit's `IsEnabled`): then the listener stays plain HTTP.
pub(crate) fn build(
    raw: &RawTls,
    directory: &Path,
    reader: &mut FileReader,
) -> Result<Option<TlsListenerConfig>, KeyError> {
    const KEY: &str = "tls_server_config";
    if raw.client_allowed_sans.is_some() {
        return Err(KeyError::new(
            format!("{KEY}.client_allowed_sans"),
            "not supported by this exporter; use client_ca_file with a CA that issues only the allowed clients",
        ));
    }
    let set = |value: &Option<String>| value.as_deref().is_some_and(|v| !v.is_empty());
    let key_inline = raw
        .key
        .as_ref()
        .is_some_and(|k| !k.expose_secret().is_empty());
    let enabled = set(&raw.cert)
        || set(&raw.cert_file)
        || key_inline
        || set(&raw.key_file)
        || set(&raw.client_ca)
        || set(&raw.client_ca_file)
        || set(&raw.client_auth_type);
    // Names are checked even when TLS stays off: Go refuses them while parsing the file.
    let versions = protocol_versions(raw)?;
    let provider = Arc::new(provider(raw)?);
    let client_auth_text = raw.client_auth_type.as_deref().unwrap_or("");
    let client_auth = ClientAuth::parse(client_auth_text).ok_or_else(|| {
        KeyError::new(
            format!("{KEY}.client_auth_type"),
            format!(
                "unknown value {client_auth_text:?}; expected one of NoClientCert, RequestClientCert, \
                 RequireAnyClientCert, VerifyClientCertIfGiven, RequireAndVerifyClientCert"
            ),
        )
    })?;
    if !enabled {
        return Ok(None);
    }

    let chain_pem = match (set(&raw.cert), set(&raw.cert_file)) {
        (true, true) => {
            return Err(KeyError::new(
                format!("{KEY}.cert"),
                "cert and cert_file are mutually exclusive",
            ));
        }
        (false, false) => {
            return Err(KeyError::new(
                format!("{KEY}.cert_file"),
                "missing one of cert or cert_file",
            ));
        }
        (true, false) => raw.cert.clone().unwrap_or_default().into_bytes(),
        (false, true) => reader.read(
            &format!("{KEY}.cert_file"),
            &resolve(directory, raw.cert_file.as_deref()),
        )?,
    };
    let chain_key = if set(&raw.cert_file) {
        "cert_file"
    } else {
        "cert"
    };
    let chain = certificates(&chain_pem)
        .map_err(|message| KeyError::new(format!("{KEY}.{chain_key}"), message))?;

    let (key_name, key_pem) = match (key_inline, set(&raw.key_file)) {
        (true, true) => {
            return Err(KeyError::new(
                format!("{KEY}.key"),
                "key and key_file are mutually exclusive",
            ));
        }
        (false, false) => {
            return Err(KeyError::new(
                format!("{KEY}.key_file"),
                "missing one of key or key_file",
            ));
        }
        (true, false) => (
            "key",
            raw.key
                .as_ref()
                .map(|k| k.expose_secret().as_bytes().to_vec())
                .unwrap_or_default(),
        ),
        (false, true) => (
            "key_file",
            reader.read(
                &format!("{KEY}.key_file"),
                &resolve(directory, raw.key_file.as_deref()),
            )?,
        ),
    };
    // The parser's own error could quote a line of the key: say what is wrong without it.
    let private_key = PrivateKeyDer::from_pem_slice(&key_pem).map_err(|_| {
        KeyError::new(
            format!("{KEY}.{key_name}"),
            "no PEM private key (PKCS#8, PKCS#1 or SEC1) found",
        )
    })?;

    let client_ca_pem = match (set(&raw.client_ca), set(&raw.client_ca_file)) {
        (true, true) => {
            return Err(KeyError::new(
                format!("{KEY}.client_ca"),
                "client_ca and client_ca_file are mutually exclusive",
            ));
        }
        (true, false) => Some((
            "client_ca",
            raw.client_ca.clone().unwrap_or_default().into_bytes(),
        )),
        (false, true) => Some((
            "client_ca_file",
            reader.read(
                &format!("{KEY}.client_ca_file"),
                &resolve(directory, raw.client_ca_file.as_deref()),
            )?,
        )),
        (false, false) => None,
    };
    let verifier = client_verifier(client_auth, client_ca_pem, &provider)?;

    let mut server = ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&versions)
        .map_err(|error| {
            KeyError::new(
                format!("{KEY}.cipher_suites"),
                format!("no cipher suite left for the allowed TLS versions: {error}"),
            )
        })?
        .with_client_cert_verifier(verifier)
        .with_single_cert(chain, private_key)
        .map_err(|error| match error {
            rustls::Error::InconsistentKeys(_) => KeyError::new(
                format!("{KEY}.{key_name}"),
                format!("the private key does not match the certificate in {chain_key}"),
            ),
            other => KeyError::new(
                format!("{KEY}.{key_name}"),
                format!("cannot use this certificate and key: {other}"),
            ),
        })?;
    // Go's prefer_server_cipher_suites, default true.
    server.ignore_client_order = raw.prefer_server_cipher_suites.unwrap_or(true);
    // HTTP/1.1 only: a client that insists on h2 fails the handshake instead of speaking h2 to us.
    server.alpn_protocols = vec![b"http/1.1".to_vec()];

    let version_names: Vec<&str> = versions
        .iter()
        .map(|v| match v.version {
            rustls::ProtocolVersion::TLSv1_2 => "TLS1.2",
            _ => "TLS1.3",
        })
        .collect();
    Ok(Some(TlsListenerConfig {
        server: Arc::new(server),
        summary: format!(
            "versions {}, client_auth_type {:?}",
            version_names.join("+"),
            client_auth
        ),
    }))
}

/// exporter-toolkit joins relative paths to the configuration file's directory.
fn resolve(directory: &Path, path: Option<&str>) -> PathBuf {
    let path = Path::new(path.unwrap_or(""));
    if path.is_absolute() {
        path.to_owned()
    } else {
        directory.join(path)
    }
}

fn certificates(pem: &[u8]) -> Result<Vec<CertificateDer<'static>>, String> {
    let certs = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|error| format!("not valid PEM: {error}"))?;
    if certs.is_empty() {
        return Err("no PEM certificate found".to_owned());
    }
    Ok(certs)
}

fn tls_version(key: &str, text: &str) -> Result<&'static SupportedProtocolVersion, KeyError> {
    match text {
        "TLS12" => Ok(&rustls::version::TLS12),
        "TLS13" => Ok(&rustls::version::TLS13),
        "TLS10" | "TLS11" => Err(KeyError::new(
            key,
            format!(
                "{text} is not supported: this exporter uses rustls, which implements only TLS 1.2 \
                 and 1.3 (TLS 1.0 and 1.1 are deprecated by RFC 8996); use TLS12 or TLS13"
            ),
        )),
        other => Err(KeyError::new(
            key,
            format!("unknown TLS version {other:?}; expected TLS12 or TLS13"),
        )),
    }
}

fn protocol_versions(raw: &RawTls) -> Result<Vec<&'static SupportedProtocolVersion>, KeyError> {
    let min = tls_version(
        "tls_server_config.min_version",
        raw.min_version.as_deref().unwrap_or("TLS12"),
    )?;
    let max = tls_version(
        "tls_server_config.max_version",
        raw.max_version.as_deref().unwrap_or("TLS13"),
    )?;
    let rank = |v: &SupportedProtocolVersion| u16::from(v.version);
    if rank(min) > rank(max) {
        return Err(KeyError::new(
            "tls_server_config.min_version",
            "is above max_version",
        ));
    }
    Ok([&rustls::version::TLS12, &rustls::version::TLS13]
        .into_iter()
        .filter(|v| rank(v) >= rank(min) && rank(v) <= rank(max))
        .collect())
}

/// Go's names for the suites rustls (ring) implements. Go names TLS 1.3 suites without "13".
const CIPHER_SUITES: [(&str, SupportedCipherSuite); 9] = [
    (
        "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
        ring::cipher_suite::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
    ),
    (
        "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
        ring::cipher_suite::TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
    ),
    (
        "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
        ring::cipher_suite::TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
    ),
    (
        "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
        ring::cipher_suite::TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
    ),
    (
        "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
        ring::cipher_suite::TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
    ),
    (
        "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
        ring::cipher_suite::TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
    ),
    (
        "TLS_AES_128_GCM_SHA256",
        ring::cipher_suite::TLS13_AES_128_GCM_SHA256,
    ),
    (
        "TLS_AES_256_GCM_SHA384",
        ring::cipher_suite::TLS13_AES_256_GCM_SHA384,
    ),
    (
        "TLS_CHACHA20_POLY1305_SHA256",
        ring::cipher_suite::TLS13_CHACHA20_POLY1305_SHA256,
    ),
];

/// Suites Go knows that rustls deliberately does not implement: named so the error can say so.
const GO_ONLY_CIPHER_SUITES: [&str; 12] = [
    "TLS_RSA_WITH_RC4_128_SHA",
    "TLS_RSA_WITH_3DES_EDE_CBC_SHA",
    "TLS_RSA_WITH_AES_128_CBC_SHA",
    "TLS_RSA_WITH_AES_256_CBC_SHA",
    "TLS_RSA_WITH_AES_128_CBC_SHA256",
    "TLS_RSA_WITH_AES_128_GCM_SHA256",
    "TLS_RSA_WITH_AES_256_GCM_SHA384",
    "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA",
    "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA",
    "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA",
    "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA",
    "TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA",
];

const CURVES: [(&str, &dyn SupportedKxGroup); 3] = [
    ("X25519", ring::kx_group::X25519),
    ("CurveP256", ring::kx_group::SECP256R1),
    ("CurveP384", ring::kx_group::SECP384R1),
];

/// The ring provider cut to the configured cipher suites and curves, in the configured order.
fn provider(raw: &RawTls) -> Result<CryptoProvider, KeyError> {
    let mut provider = ring::default_provider();
    if let Some(names) = &raw.cipher_suites
        && !names.is_empty()
    {
        let key = "tls_server_config.cipher_suites";
        let mut tls12 = Vec::new();
        for name in names {
            match CIPHER_SUITES.iter().find(|(n, _)| n == name) {
                Some((_, suite)) => tls12.push(*suite),
                None if GO_ONLY_CIPHER_SUITES.contains(&name.as_str()) => {
                    return Err(KeyError::new(
                        key,
                        format!(
                            "{name} is not supported by rustls (no CBC, RC4, 3DES or RSA key exchange)"
                        ),
                    ));
                }
                None => {
                    return Err(KeyError::new(key, format!("unknown cipher suite {name:?}")));
                }
            }
        }
        // As in Go, the list governs TLS 1.2 only; every TLS 1.3 suite stays available.
        tls12.retain(|suite| matches!(suite, SupportedCipherSuite::Tls12(_)));
        let tls13 = ring::DEFAULT_CIPHER_SUITES
            .iter()
            .copied()
            .filter(|suite| matches!(suite, SupportedCipherSuite::Tls13(_)));
        provider.cipher_suites = tls13.chain(tls12).collect();
    }
    if let Some(names) = &raw.curve_preferences
        && !names.is_empty()
    {
        let key = "tls_server_config.curve_preferences";
        let mut groups = Vec::new();
        for name in names {
            match CURVES.iter().find(|(n, _)| n == name) {
                Some((_, group)) => groups.push(*group),
                None if name == "CurveP521" => {
                    return Err(KeyError::new(
                        key,
                        "CurveP521 is not supported by rustls's ring provider; use X25519, CurveP256 or CurveP384",
                    ));
                }
                None => {
                    return Err(KeyError::new(
                        key,
                        format!("unknown curve {name:?}; expected X25519, CurveP256 or CurveP384"),
                    ));
                }
            }
        }
        provider.kx_groups = groups;
    }
    Ok(provider)
}

fn client_verifier(
    mode: ClientAuth,
    ca_pem: Option<(&'static str, Vec<u8>)>,
    provider: &Arc<CryptoProvider>,
) -> Result<Arc<dyn ClientCertVerifier>, KeyError> {
    let mut roots = RootCertStore::empty();
    if let Some((name, pem)) = &ca_pem {
        let key = format!("tls_server_config.{name}");
        if mode == ClientAuth::NoClientCert {
            return Err(KeyError::new(
                key,
                "client CAs are configured but client_auth_type is NoClientCert; set client_auth_type",
            ));
        }
        for cert in certificates(pem).map_err(|message| KeyError::new(&key, message))? {
            roots.add(cert).map_err(|error| {
                KeyError::new(&key, format!("not a usable CA certificate: {error}"))
            })?;
        }
    }
    if mode.verifies() && roots.is_empty() {
        // Go would fall back to the system roots; anyone with a public certificate could then pass.
        return Err(KeyError::new(
            "tls_server_config.client_ca_file",
            format!(
                "{mode:?} needs client_ca_file (or client_ca) to verify client certificates against"
            ),
        ));
    }
    let hints = roots.subjects();
    let roots = Arc::new(roots);
    let verifier: Arc<dyn ClientCertVerifier> = match mode {
        ClientAuth::NoClientCert => Arc::new(rustls::server::NoClientAuth),
        ClientAuth::RequestClientCert | ClientAuth::RequireAnyClientCert => {
            Arc::new(UnverifiedClientCert {
                mandatory: mode == ClientAuth::RequireAnyClientCert,
                hints,
                provider: provider.clone(),
            })
        }
        ClientAuth::VerifyClientCertIfGiven => {
            WebPkiClientVerifier::builder_with_provider(roots, provider.clone())
                .allow_unauthenticated()
                .build()
                .map_err(|error| {
                    KeyError::new("tls_server_config.client_ca_file", error.to_string())
                })?
        }
        ClientAuth::RequireAndVerifyClientCert => {
            WebPkiClientVerifier::builder_with_provider(roots, provider.clone())
                .build()
                .map_err(|error| {
                    KeyError::new("tls_server_config.client_ca_file", error.to_string())
                })?
        }
    };
    Ok(verifier)
}

/// Go's `RequestClientCert` and `RequireAnyClientCert`: ask for a certificate and check that the
/// client holds its key (the handshake signature), but do not check who issued it.
#[derive(Debug)]
struct UnverifiedClientCert {
    mandatory: bool,
    hints: Vec<DistinguishedName>,
    provider: Arc<CryptoProvider>,
}

impl ClientCertVerifier for UnverifiedClientCert {
    fn client_auth_mandatory(&self) -> bool {
        self.mandatory
    }

    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        &self.hints
    }

    fn verify_client_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        Ok(ClientCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use rcgen::{
        BasicConstraints, CertificateParams, CertifiedIssuer, ExtendedKeyUsagePurpose, IsCa,
        KeyPair,
    };

    use crate::http::web_config::{WebConfig, WebConfigError, load_web_config};

    /// A directory with a CA, a server certificate and key signed by it, and a second key.
    fn pki() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().unwrap()).unwrap();
        let mut params = CertificateParams::new(vec!["localhost".to_owned()]).unwrap();
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        let key = KeyPair::generate().unwrap();
        let cert = params.signed_by(&key, &ca).unwrap();
        let write = |name: &str, text: String| std::fs::write(dir.path().join(name), text).unwrap();
        write("ca.pem", ca.pem());
        write("server.pem", cert.pem());
        write("server.key", key.serialize_pem());
        write("other.key", KeyPair::generate().unwrap().serialize_pem());
        dir
    }

    fn load(dir: &Path, yaml: &str) -> Result<WebConfig, WebConfigError> {
        let path = dir.join("web.yml");
        std::fs::write(&path, yaml).unwrap();
        load_web_config(&path)
    }

    /// The key named by the error, and the whole message, for a file that must be refused.
    fn refused(dir: &Path, tls: &str) -> (String, String) {
        match load(dir, &format!("tls_server_config:\n{tls}")) {
            Ok(_) => panic!("accepted:\n{tls}"),
            Err(error) => (error.key.clone(), error.to_string()),
        }
    }

    const PAIR: &str = "  cert_file: server.pem\n  key_file: server.key\n";

    #[test]
    fn relative_paths_resolve_against_the_file_and_tls_turns_on() {
        let dir = pki();
        let config = load(dir.path(), &format!("tls_server_config:\n{PAIR}")).unwrap();
        assert!(config.tls_enabled());
        // The watcher needs every file read: the configuration, the certificate and the key.
        assert_eq!(config.stamps.len(), 3);
    }

    #[test]
    fn inline_certificate_and_key_work() {
        let dir = pki();
        let indent = |text: String| {
            text.lines()
                .map(|l| format!("    {l}\n"))
                .collect::<String>()
        };
        let cert = std::fs::read_to_string(dir.path().join("server.pem")).unwrap();
        let key = std::fs::read_to_string(dir.path().join("server.key")).unwrap();
        let yaml = format!(
            "tls_server_config:\n  cert: |\n{}  key: |\n{}",
            indent(cert),
            indent(key)
        );
        assert!(load(dir.path(), &yaml).unwrap().tls_enabled());
    }

    #[test]
    fn an_empty_tls_section_leaves_plain_http() {
        let dir = pki();
        let config = load(dir.path(), "tls_server_config:\n  cert_file: \"\"\n").unwrap();
        assert!(!config.tls_enabled());
        let config = load(dir.path(), "tls_server_config:\n  min_version: TLS13\n").unwrap();
        assert!(!config.tls_enabled());
    }

    #[test]
    fn names_are_checked_even_without_tls() {
        let dir = pki();
        for (yaml, key) in [
            ("  min_version: 1.2\n", "tls_server_config.min_version"),
            (
                "  cipher_suites: [RC4]\n",
                "tls_server_config.cipher_suites",
            ),
            (
                "  curve_preferences: [P-256]\n",
                "tls_server_config.curve_preferences",
            ),
        ] {
            assert_eq!(refused(dir.path(), yaml).0, key, "{yaml}");
        }
    }

    #[test]
    fn certificate_and_key_problems_name_the_key() {
        let dir = pki();
        let (key, message) = refused(
            dir.path(),
            "  cert_file: server.pem\n  key_file: other.key\n",
        );
        assert_eq!(key, "tls_server_config.key_file");
        assert!(message.contains("does not match"), "{message}");

        let (key, message) = refused(
            dir.path(),
            "  cert_file: missing.pem\n  key_file: server.key\n",
        );
        assert_eq!(key, "tls_server_config.cert_file");
        assert!(message.contains("missing.pem"), "{message}");

        let (key, _) = refused(
            dir.path(),
            "  cert_file: server.key\n  key_file: server.key\n",
        );
        assert_eq!(key, "tls_server_config.cert_file");
        let (key, _) = refused(
            dir.path(),
            "  cert_file: server.pem\n  key_file: server.pem\n",
        );
        assert_eq!(key, "tls_server_config.key_file");
        let (key, message) = refused(dir.path(), "  cert_file: server.pem\n");
        assert_eq!(key, "tls_server_config.key_file");
        assert!(
            message.contains("missing one of key or key_file"),
            "{message}"
        );
        let (key, _) = refused(dir.path(), "  client_auth_type: RequireAnyClientCert\n");
        assert_eq!(key, "tls_server_config.cert_file");
        let (key, _) = refused(
            dir.path(),
            &format!("{PAIR}  cert: \"-----BEGIN CERTIFICATE-----\"\n"),
        );
        assert_eq!(key, "tls_server_config.cert");
    }

    #[test]
    fn only_tls_12_and_13_are_accepted() {
        let dir = pki();
        for old in ["TLS10", "TLS11"] {
            let (key, message) = refused(dir.path(), &format!("{PAIR}  min_version: {old}\n"));
            assert_eq!(key, "tls_server_config.min_version");
            assert!(message.contains("rustls"), "{message}");
            let (key, _) = refused(dir.path(), &format!("{PAIR}  max_version: {old}\n"));
            assert_eq!(key, "tls_server_config.max_version");
        }
        let (key, _) = refused(dir.path(), &format!("{PAIR}  min_version: SSL3\n"));
        assert_eq!(key, "tls_server_config.min_version");
        let (key, message) = refused(
            dir.path(),
            &format!("{PAIR}  min_version: TLS13\n  max_version: TLS12\n"),
        );
        assert_eq!(key, "tls_server_config.min_version");
        assert!(message.contains("max_version"), "{message}");
        for good in ["TLS12", "TLS13"] {
            let yaml = format!("tls_server_config:\n{PAIR}  min_version: {good}\n");
            assert!(load(dir.path(), &yaml).is_ok(), "{good}");
        }
    }

    #[test]
    fn cipher_suites_and_curves_by_go_name() {
        let dir = pki();
        let yaml = format!(
            "tls_server_config:\n{PAIR}  cipher_suites: [TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, TLS_AES_128_GCM_SHA256]\n  curve_preferences: [X25519, CurveP256]\n  prefer_server_cipher_suites: false\n"
        );
        assert!(load(dir.path(), &yaml).is_ok());

        let (key, message) = refused(
            dir.path(),
            &format!("{PAIR}  cipher_suites: [TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA]\n"),
        );
        assert_eq!(key, "tls_server_config.cipher_suites");
        assert!(message.contains("not supported by rustls"), "{message}");
        let (key, message) = refused(dir.path(), &format!("{PAIR}  cipher_suites: [TLS_FANCY]\n"));
        assert_eq!(key, "tls_server_config.cipher_suites");
        assert!(message.contains("unknown cipher suite"), "{message}");
        let (key, message) = refused(
            dir.path(),
            &format!("{PAIR}  curve_preferences: [CurveP521]\n"),
        );
        assert_eq!(key, "tls_server_config.curve_preferences");
        assert!(message.contains("not supported"), "{message}");
        let (key, _) = refused(dir.path(), &format!("{PAIR}  curve_preferences: [P256]\n"));
        assert_eq!(key, "tls_server_config.curve_preferences");
        // Only TLS 1.3 suites listed and TLS 1.3 switched off: nothing left to negotiate.
        let (key, _) = refused(
            dir.path(),
            &format!("{PAIR}  max_version: TLS12\n  cipher_suites: [TLS_AES_128_GCM_SHA256]\n"),
        );
        assert_eq!(key, "tls_server_config.cipher_suites");
    }

    #[test]
    fn client_authentication_settings_are_checked() {
        let dir = pki();
        for mode in [
            "NoClientCert",
            "RequestClientCert",
            "RequireAnyClientCert",
            "RequireClientCert",
        ] {
            let yaml = format!("tls_server_config:\n{PAIR}  client_auth_type: {mode}\n");
            assert!(load(dir.path(), &yaml).is_ok(), "{mode}");
        }
        for mode in ["VerifyClientCertIfGiven", "RequireAndVerifyClientCert"] {
            let yaml = format!(
                "tls_server_config:\n{PAIR}  client_auth_type: {mode}\n  client_ca_file: ca.pem\n"
            );
            assert!(load(dir.path(), &yaml).is_ok(), "{mode}");
            // Without a CA, Go would trust the system roots; we refuse.
            let (key, _) = refused(dir.path(), &format!("{PAIR}  client_auth_type: {mode}\n"));
            assert_eq!(key, "tls_server_config.client_ca_file", "{mode}");
        }
        let (key, message) = refused(dir.path(), &format!("{PAIR}  client_ca_file: ca.pem\n"));
        assert_eq!(key, "tls_server_config.client_ca_file");
        assert!(message.contains("NoClientCert"), "{message}");
        let (key, _) = refused(
            dir.path(),
            &format!(
                "{PAIR}  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: server.key\n"
            ),
        );
        assert_eq!(key, "tls_server_config.client_ca_file");
        let (key, _) = refused(
            dir.path(),
            &format!("{PAIR}  client_auth_type: Sometimes\n"),
        );
        assert_eq!(key, "tls_server_config.client_auth_type");
    }
}
