//! What a configuration key is: its [`Kind`] (how a value is read and checked) and the [`Key`] that
//! carries it with its path, default, flag and documented rule. The keys themselves are in `keys.rs`.

use std::time::Duration;

use figment::value::Value;

use super::environment::ENV_PREFIX;

/// `sharding.index` read from the StatefulSet ordinal at the end of `HOSTNAME`.
pub(crate) const FROM_HOSTNAME: &str = "from_hostname";

/// The minimum of durations that only need to be positive.
pub(crate) const NONZERO: Duration = Duration::from_nanos(1);

/// How a value is read and checked.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Kind {
    Text,
    /// A string with a rule of its own, which returns the value to keep (a base URL loses its `/`).
    Checked(fn(&str) -> Result<String, String>),
    /// A string that must never be echoed back in a message.
    Secret,
    /// A file path, relative to the TOML file it was written in.
    Path,
    Duration {
        min: Duration,
    },
    Integer {
        min: u64,
        max: u64,
    },
    /// A size in bytes, above 0.
    Bytes,
    /// A number from 0.0 to `max`, a fraction `of` something.
    Fraction {
        max: f64,
        of: &'static str,
    },
    Boolean,
    /// One of these words, exactly.
    Word(&'static [&'static str]),
    /// At least one duration above 0, no two equal: `metrics.expiry_windows`.
    Windows,
    /// Organisation ids or name globs: the discovery filters.
    OrgPatterns,
    /// A number below `sharding.total`, or [`FROM_HOSTNAME`]; checked with the total (`sharding.rs`).
    ShardIndex,
    /// A list of strings, each checked and normalised by the rule: `policy.internal_domains`.
    List(fn(&str) -> Result<String, String>),
    /// `policy.tiers`: a table from a tier (`owner`, `admin`, `write`, `read`) to role names.
    Tiers,
}

/// One configuration key.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Key {
    /// `section.name`: `poll.interval`.
    pub path: &'static str,
    pub kind: Kind,
    /// Written as in an environment variable (`"5m"`, `"4"`, `"24h, 72h"`, `"[]"`); `None`: unset.
    pub default: Option<&'static str>,
    /// The command-line flag that also sets it.
    pub flag: Option<&'static str>,
    /// The rule column of the key's row in docs/configuration.md.
    // Read only by the test that holds the documentation to the declarations.
    #[cfg_attr(not(test), allow(dead_code))]
    pub doc: &'static str,
}

impl Key {
    /// A key without its path: `section!` in `keys.rs` gives it the path of the field it declares.
    pub(crate) const fn new(kind: Kind, default: Option<&'static str>) -> Key {
        Key {
            path: "",
            kind,
            default,
            flag: None,
            doc: "",
        }
    }

    pub(crate) const fn at(self, path: &'static str) -> Key {
        Key { path, ..self }
    }

    pub(crate) const fn doc(self, doc: &'static str) -> Key {
        Key { doc, ..self }
    }

    pub(crate) const fn flag(self, flag: &'static str) -> Key {
        Key {
            flag: Some(flag),
            ..self
        }
    }

    pub(crate) fn section(&self) -> &'static str {
        self.path
            .split_once('.')
            .map_or(self.path, |(section, _)| section)
    }

    pub(crate) fn name(&self) -> &'static str {
        self.path
            .split_once('.')
            .map_or(self.path, |(_, name)| name)
    }

    /// `ATLAS_EXPORTER_POLL__INTERVAL` for `poll.interval`.
    #[cfg_attr(not(test), allow(dead_code))]
    pub(crate) fn env_var(&self) -> String {
        format!(
            "{ENV_PREFIX}{}",
            self.path.to_ascii_uppercase().replace('.', "__")
        )
    }

    /// The default as a figment value, typed like an environment variable would be.
    pub(crate) fn default_value(&self) -> Option<Value> {
        self.default.map(|raw| self.kind.value_of(raw))
    }
}

impl Kind {
    /// Types an environment variable or flag, which are all strings, so that `4` is an integer for
    /// `poll.concurrency` but stays the string `"4"` for `auth.client_id`. A value that does not
    /// convert stays a string and fails validation with a type error naming the variable or flag.
    pub(crate) fn value_of(&self, raw: &str) -> Value {
        let trimmed = raw.trim();
        match self {
            Kind::Integer { .. } | Kind::Bytes | Kind::ShardIndex => {
                trimmed.parse::<u64>().map_or(Value::from(raw), Value::from)
            }
            Kind::Fraction { .. } => trimmed.parse::<f64>().map_or(Value::from(raw), Value::from),
            Kind::Boolean => match trimmed.to_ascii_lowercase().as_str() {
                "true" => Value::from(true),
                "false" => Value::from(false),
                _ => Value::from(raw),
            },
            Kind::Tiers => {
                // `owner=ORG_OWNER GROUP_OWNER,admin=GROUP_DATA_ACCESS_ADMIN`
                let mut tiers = figment::value::Dict::new();
                let inner = trimmed
                    .strip_prefix('{')
                    .and_then(|rest| rest.strip_suffix('}'))
                    .unwrap_or(trimmed);
                for entry in inner.split(',').filter(|entry| !entry.trim().is_empty()) {
                    let (tier, roles) = entry.split_once('=').unwrap_or((entry, ""));
                    let roles: Vec<Value> = roles.split_whitespace().map(Value::from).collect();
                    tiers.insert(tier.trim().to_owned(), Value::from(roles));
                }
                Value::from(tiers)
            }
            Kind::Windows | Kind::OrgPatterns | Kind::List(_) => {
                // Both `24h,72h` and figment's `[24h, 72h]`, quotes optional.
                let inner = trimmed
                    .strip_prefix('[')
                    .and_then(|rest| rest.strip_suffix(']'))
                    .unwrap_or(trimmed);
                let items: Vec<Value> = inner
                    .split(',')
                    .map(|item| item.trim().trim_matches('"').to_owned())
                    .filter(|item| !item.is_empty())
                    .map(Value::from)
                    .collect();
                Value::from(items)
            }
            Kind::Text
            | Kind::Checked(_)
            | Kind::Secret
            | Kind::Path
            | Kind::Duration { .. }
            | Kind::Word(_) => Value::from(raw),
        }
    }

    /// Whether a value of this kind may be shown in a message.
    pub(crate) fn shows_value(&self) -> bool {
        !matches!(self, Kind::Secret)
    }
}
