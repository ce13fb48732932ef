//! The file as written: exporter-toolkit's YAML keys read strictly, the reader that stamps every
//! file a load reads (so a watcher sees a rewrite), and errors that name a key.

use std::collections::BTreeSet;
use std::fmt;
use std::marker::PhantomData;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use secrecy::SecretString;
use serde::Deserialize;
use serde::de::{self, Deserializer, IgnoredAny, MapAccess, Visitor};

/// A problem with one key, before the file name is attached.
#[derive(Debug)]
pub(crate) struct KeyError {
    pub key: String,
    pub message: String,
}

impl KeyError {
    pub(crate) fn new(key: impl Into<String>, message: impl Into<String>) -> KeyError {
        KeyError {
            key: key.into(),
            message: message.into(),
        }
    }
}

/// A file's identity and modification state: a change to any part means the file was rewritten.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FileStamp {
    pub path: PathBuf,
    /// `None` when the file could not be stat'ed (missing, no permission).
    pub state: Option<(SystemTime, u64, u64)>,
}

impl FileStamp {
    pub(crate) fn take(path: &Path) -> FileStamp {
        let state = std::fs::metadata(path).ok().map(|metadata| {
            #[cfg(unix)]
            let inode = std::os::unix::fs::MetadataExt::ino(&metadata);
            #[cfg(not(unix))]
            let inode = 0;
            (
                metadata.modified().unwrap_or(SystemTime::UNIX_EPOCH),
                metadata.len(),
                inode,
            )
        });
        FileStamp {
            path: path.to_owned(),
            state,
        }
    }

    pub(crate) fn changed(&self) -> bool {
        FileStamp::take(&self.path) != *self
    }
}

/// Records every file a load reads, stamped before reading, so a write that lands during the load
/// still shows up as a change on the next check.
#[derive(Default)]
pub(crate) struct FileReader {
    pub stamps: Vec<FileStamp>,
}

impl FileReader {
    pub(crate) fn read(&mut self, key: &str, path: &Path) -> Result<Vec<u8>, KeyError> {
        if !self.stamps.iter().any(|s| s.path == path) {
            self.stamps.push(FileStamp::take(path));
        }
        std::fs::read(path)
            .map_err(|error| KeyError::new(key, format!("cannot read {}: {error}", path.display())))
    }
}

/// The file's text as exporter-toolkit reads it: strictly, an empty file meaning all defaults.
pub(crate) fn parse(text: &str) -> Result<RawWebConfig, KeyError> {
    // An empty file (or one with only comments) means "all defaults", as in exporter-toolkit.
    let only_comments = text
        .lines()
        .all(|line| line.trim().is_empty() || line.trim_start().starts_with('#'));
    if only_comments {
        return Ok(RawWebConfig::default());
    }
    let raw: Option<RawWebConfig> = yaml_serde::from_str(text)
        .map_err(|error| KeyError::new("", hide_string_values(&error.to_string())))?;
    Ok(raw.unwrap_or_default())
}

/// serde quotes a string that has the wrong type (`invalid type: string "…", expected …`). In this
/// file that string may be an inline private key or a hash put in the wrong place: keep it out.
fn hide_string_values(message: &str) -> String {
    const MARKER: &str = "string \"";
    let mut out = String::with_capacity(message.len());
    let mut rest = message;
    while let Some(start) = rest.find(MARKER) {
        out.push_str(&rest[..start]);
        out.push_str("string (value not shown)");
        let after = &rest[start + MARKER.len()..];
        // The quoted value ends at the last quote before serde's own ", expected" or the end.
        let end = after
            .find("\", expected")
            .or_else(|| after.rfind('"'))
            .unwrap_or(after.len());
        rest = after.get(end + 1..).unwrap_or("");
    }
    out.push_str(rest);
    out
}

/// The top level of the file, exactly exporter-toolkit's keys.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawWebConfig {
    #[serde(default)]
    pub tls_server_config: Option<RawTls>,
    #[serde(default)]
    pub http_server_config: Option<RawHttp>,
    #[serde(default)]
    pub basic_auth_users: Option<UniqueMap<SecretString>>,
    #[serde(default)]
    pub rate_limit: Option<RawRateLimit>,
}

/// `rate_limit`.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawRateLimit {
    #[serde(default)]
    pub interval: Option<GoDuration>,
    #[serde(default)]
    pub burst: Option<i64>,
}

/// A Go `time.Duration` in YAML: a string such as `"1s"`, or an integer count of nanoseconds.
#[derive(Deserialize)]
#[serde(untagged)]
pub(crate) enum GoDuration {
    Nanos(u64),
    Text(String),
}

/// `tls_server_config`.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawTls {
    #[serde(default)]
    pub cert: Option<String>,
    #[serde(default)]
    pub key: Option<SecretString>,
    #[serde(default)]
    pub client_ca: Option<String>,
    #[serde(default)]
    pub cert_file: Option<String>,
    #[serde(default)]
    pub key_file: Option<String>,
    #[serde(default)]
    pub client_auth_type: Option<String>,
    #[serde(default)]
    pub client_ca_file: Option<String>,
    #[serde(default)]
    pub client_allowed_sans: Option<IgnoredAny>,
    #[serde(default)]
    pub min_version: Option<String>,
    #[serde(default)]
    pub max_version: Option<String>,
    #[serde(default)]
    pub cipher_suites: Option<Vec<String>>,
    #[serde(default)]
    pub prefer_server_cipher_suites: Option<bool>,
    #[serde(default)]
    pub curve_preferences: Option<Vec<String>>,
}

/// `http_server_config`.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawHttp {
    /// Accepted for compatibility; the listener speaks HTTP/1.1 only, so `true` changes nothing.
    #[serde(default)]
    #[allow(dead_code)]
    http2: Option<bool>,
    #[serde(default)]
    pub headers: Option<UniqueMap<String>>,
}

/// A YAML mapping with string keys that refuses a key given twice, as Go's `yaml.UnmarshalStrict`
/// does; serde's own maps keep the last value silently.
pub(crate) struct UniqueMap<V>(pub Vec<(String, V)>);

impl<V> Default for UniqueMap<V> {
    fn default() -> Self {
        UniqueMap(Vec::new())
    }
}

impl<'de, V: Deserialize<'de>> Deserialize<'de> for UniqueMap<V> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct UniqueMapVisitor<V>(PhantomData<V>);
        impl<'de, V: Deserialize<'de>> Visitor<'de> for UniqueMapVisitor<V> {
            type Value = UniqueMap<V>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a mapping")
            }
            fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(UniqueMap::default())
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut seen = BTreeSet::new();
                let mut entries = Vec::new();
                while let Some(key) = map.next_key::<String>()? {
                    if !seen.insert(key.clone()) {
                        return Err(de::Error::custom(format!("`{key}` is given twice")));
                    }
                    entries.push((key, map.next_value()?));
                }
                Ok(UniqueMap(entries))
            }
        }
        deserializer.deserialize_map(UniqueMapVisitor(PhantomData))
    }
}
