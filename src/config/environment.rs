//! The process environment as the loader saw it, and which of its variables are configuration keys.
//!
//! The `ATLAS_EXPORTER_*` layers come from it, and so do the variables the configuration names
//! (`client_secret_env`, `HOSTNAME` for `from_hostname`).

use std::collections::{HashMap, HashSet};

/// Environment variables under this prefix are configuration keys, `__` separating the levels:
/// `ATLAS_EXPORTER_POLL__INTERVAL` is `poll.interval`.
pub(crate) const ENV_PREFIX: &str = "ATLAS_EXPORTER_";

/// Variables under [`ENV_PREFIX`] that are not configuration keys: `ATLAS_EXPORTER_REVISION` is read
/// at build time (see `REVISION` in `lib.rs`) and may still be set when the binary runs.
pub(crate) const IGNORED_ENV_VARS: &[&str] = &["ATLAS_EXPORTER_REVISION"];

/// The variables MongoDB's own tools read, and the keys they set. `ATLAS_EXPORTER_*` wins over them.
pub(crate) const MONGODB_ENV_VARS: [(&str, &str); 4] = [
    ("MONGODB_ATLAS_CLIENT_ID", "auth.client_id"),
    ("MONGODB_ATLAS_CLIENT_SECRET", "auth.client_secret"),
    ("MONGODB_ATLAS_PUBLIC_KEY", "auth.public_key"),
    ("MONGODB_ATLAS_PRIVATE_KEY", "auth.private_key"),
];

#[derive(Default)]
pub(crate) struct Environment {
    values: HashMap<String, String>,
    /// Variables whose value is not UTF-8: named in an error only if the configuration asks for one.
    not_unicode: HashSet<String>,
}

impl Environment {
    pub(crate) fn from_pairs(pairs: impl IntoIterator<Item = (String, String)>) -> Environment {
        Environment {
            values: pairs.into_iter().collect(),
            not_unicode: HashSet::new(),
        }
    }

    pub(crate) fn insert(&mut self, name: String, value: String) {
        self.values.insert(name, value);
    }

    pub(crate) fn insert_not_unicode(&mut self, name: String) {
        self.not_unicode.insert(name);
    }

    pub(crate) fn values(&self) -> &HashMap<String, String> {
        &self.values
    }

    /// The value of `name`, or why there is none, as the end of a sentence naming the variable.
    pub(crate) fn var(&self, name: &str) -> Result<&str, String> {
        if self.not_unicode.contains(name) {
            return Err(format!("environment variable {name} is not valid UTF-8"));
        }
        match self.values.get(name) {
            None => Err(format!("environment variable {name} is not set")),
            Some(value) if value.trim().is_empty() => {
                Err(format!("environment variable {name} is empty"))
            }
            Some(value) => Ok(value),
        }
    }
}

// Hand-written so that a secret held in an unrelated variable can never reach a log through `{:?}`.
impl std::fmt::Debug for Environment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Environment")
            .field("variables", &self.values.len())
            .finish_non_exhaustive()
    }
}

pub(crate) fn is_config_variable(name: &str) -> bool {
    (name.starts_with(ENV_PREFIX) && !IGNORED_ENV_VARS.contains(&name))
        || MONGODB_ENV_VARS.iter().any(|(var, _)| *var == name)
}

/// `ATLAS_EXPORTER_AUTH__CLIENT_SECRET` → `auth.client_secret`.
pub(crate) fn env_key_path(name: &str) -> Option<String> {
    if let Some((_, key)) = MONGODB_ENV_VARS.iter().find(|(var, _)| *var == name) {
        return Some((*key).to_owned());
    }
    let dotted = name
        .strip_prefix(ENV_PREFIX)?
        .to_ascii_lowercase()
        .replace("__", ".");
    // `ATLAS_EXPORTER_` alone, or `ATLAS_EXPORTER___X`, would name an empty key.
    (!dotted.split('.').any(str::is_empty)).then_some(dotted)
}
