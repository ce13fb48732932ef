//! Credential tables, `[auth]` and `[orgs.auth]`: one kind of credential, complete, its secret given
//! exactly one way (inline, from a file, from a named environment variable) and readable.

use std::path::{Path, PathBuf};

use figment::value::{Dict, Tag, Value};
use secrecy::SecretString;

use super::check::Checker;
use super::environment::ENV_PREFIX;
use super::settings::Credentials;

/// A warning when a secret file can be read by its group or by everyone.
fn secret_file_permission_warning(path: &Path) -> Option<String> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(path).ok()?.permissions().mode();
        if mode & 0o044 != 0 {
            let who = if mode & 0o004 != 0 {
                "everyone"
            } else {
                "its group"
            };
            return Some(format!(
                "secret file {} is readable by {who} (mode {:o}); make it readable by the exporter's user only (chmod 600)",
                path.display(),
                mode & 0o777
            ));
        }
    }
    #[cfg(not(unix))]
    let _ = path;
    None
}

/// Reads a secret file: its content with surrounding whitespace trimmed.
fn read_secret_file(path: &Path) -> Result<SecretString, String> {
    let content = std::fs::read_to_string(path)
        .map_err(|error| format!("cannot read secret file {}: {error}", path.display()))?;
    let trimmed = content.trim();
    if trimmed.is_empty() {
        return Err(format!("secret file {} is empty", path.display()));
    }
    Ok(SecretString::from(trimmed.to_owned()))
}

/// The keys of one credential kind, to share the checks between service accounts and API keys.
struct CredentialKeys {
    kind: &'static str,
    id: &'static str,
    secret: &'static str,
    secret_file: &'static str,
    /// Names the environment variable holding the secret.
    secret_env: &'static str,
}

impl CredentialKeys {
    fn all(&self) -> [&'static str; 4] {
        [self.id, self.secret, self.secret_file, self.secret_env]
    }
}

const SERVICE_ACCOUNT_KEYS: CredentialKeys = CredentialKeys {
    kind: "service account",
    id: "client_id",
    secret: "client_secret",
    secret_file: "client_secret_file",
    secret_env: "client_secret_env",
};

const API_KEY_KEYS: CredentialKeys = CredentialKeys {
    kind: "API key",
    id: "public_key",
    secret: "private_key",
    secret_file: "private_key_file",
    secret_env: "private_key_env",
};

/// What one credential table (`[auth]` or `[orgs.auth]`) held.
pub(crate) enum CredentialCheck {
    /// No credential key at all.
    Absent,
    /// Something was configured and every problem with it has been reported.
    Invalid,
    Valid(Credentials),
}

/// The three ways of giving a secret; exactly one may be used.
#[derive(Clone, Copy)]
enum SecretFrom {
    Inline,
    File,
    Environment,
}

impl Checker<'_> {
    /// The first key of `keys` present in the table, with its tag, to name a credential kind's source.
    fn first_present(table: &Dict, keys: &CredentialKeys) -> Option<(&'static str, Tag)> {
        keys.all()
            .into_iter()
            .find_map(|key| table.get(key).map(|value| (key, value.tag())))
    }

    /// One credential table, `[auth]` or `[orgs.auth]` (`prefix` is its key), complete on its own.
    pub(crate) fn credentials(&mut self, prefix: &str, table: &Dict) -> CredentialCheck {
        let service_account = Self::first_present(table, &SERVICE_ACCOUNT_KEYS);
        let api_key = Self::first_present(table, &API_KEY_KEYS);
        if let (Some((sa_key, sa_tag)), Some((key_key, key_tag))) = (service_account, api_key) {
            let sa_source = self.source(sa_tag);
            self.push(
                prefix,
                key_tag,
                format!(
                    "both a service account ({prefix}.{sa_key} from {sa_source}) and an API key ({prefix}.{key_key}) are configured; keep one"
                ),
            );
            // Each kind's own problems are still worth reporting in the same run.
            self.credential_pair(prefix, table, &SERVICE_ACCOUNT_KEYS);
            self.credential_pair(prefix, table, &API_KEY_KEYS);
            return CredentialCheck::Invalid;
        }
        if service_account.is_some() {
            return match self.credential_pair(prefix, table, &SERVICE_ACCOUNT_KEYS) {
                Some((client_id, client_secret)) => {
                    CredentialCheck::Valid(Credentials::ServiceAccount {
                        client_id,
                        client_secret,
                    })
                }
                None => CredentialCheck::Invalid,
            };
        }
        if api_key.is_some() {
            return match self.credential_pair(prefix, table, &API_KEY_KEYS) {
                Some((public_key, private_key)) => CredentialCheck::Valid(Credentials::ApiKey {
                    public_key,
                    private_key,
                }),
                None => CredentialCheck::Invalid,
            };
        }
        CredentialCheck::Absent
    }

    /// The id and secret of one credential kind, reporting what is missing, doubled or unreadable.
    fn credential_pair(
        &mut self,
        prefix: &str,
        table: &Dict,
        keys: &CredentialKeys,
    ) -> Option<(String, SecretString)> {
        let id_key = format!("{prefix}.{}", keys.id);
        let secret_key = format!("{prefix}.{}", keys.secret);
        let file_key = format!("{prefix}.{}", keys.secret_file);
        let env_key = format!("{prefix}.{}", keys.secret_env);
        let id_value = table.get(keys.id);
        let given: Vec<(SecretFrom, &String, &Value)> = [
            (SecretFrom::Inline, &secret_key, table.get(keys.secret)),
            (SecretFrom::File, &file_key, table.get(keys.secret_file)),
            (
                SecretFrom::Environment,
                &env_key,
                table.get(keys.secret_env),
            ),
        ]
        .into_iter()
        .filter_map(|(from, key, value)| value.map(|value| (from, key, value)))
        .collect();

        let id = match id_value {
            Some(value) => self.text(&id_key, value).and_then(|id| {
                let id = id.trim().to_owned();
                if id.is_empty() {
                    self.push(&id_key, value.tag(), "must not be empty");
                    None
                } else {
                    Some(id)
                }
            }),
            None => {
                let (present, tag) = given
                    .first()
                    .map_or((&secret_key, Tag::Default), |(_, key, value)| {
                        (*key, value.tag())
                    });
                self.push(
                    &id_key,
                    tag,
                    format!(
                        "missing: {present} is set, so the {} also needs {id_key}",
                        keys.kind
                    ),
                );
                None
            }
        };

        let secret = match given.as_slice() {
            [] => {
                let tag = id_value.map_or(Tag::Default, Value::tag);
                self.push(
                    &secret_key,
                    tag,
                    format!(
                        "missing: {id_key} is set, so the {} also needs {secret_key}, {file_key} or {env_key}",
                        keys.kind
                    ),
                );
                None
            }
            [(from, key, value)] => self.secret_from(*from, key, value),
            [(_, first_key, first_value), rest @ ..] => {
                let first_source = self.source(first_value.tag());
                for (_, key, value) in rest {
                    self.push(
                        *key,
                        value.tag(),
                        format!(
                            "{first_key} (from {first_source}) and {key} are both set; keep one"
                        ),
                    );
                }
                None
            }
        };
        Some((id?, secret?))
    }

    /// The secret given one way, checked: not empty, readable, set.
    fn secret_from(&mut self, from: SecretFrom, key: &str, value: &Value) -> Option<SecretString> {
        use secrecy::ExposeSecret;
        match from {
            SecretFrom::Inline => self.secret(key, value).and_then(|secret| {
                if secret.expose_secret().is_empty() {
                    self.push(key, value.tag(), "must not be empty");
                    None
                } else {
                    Some(secret)
                }
            }),
            SecretFrom::File => self.text(key, value).and_then(|raw| {
                let path = self.resolve_path(&raw, value.tag());
                if let Some(warning) = secret_file_permission_warning(&path) {
                    self.warnings.push(format!("{key}: {warning}"));
                }
                read_secret_file(&path)
                    .map_err(|message| self.push(key, value.tag(), message))
                    .ok()
            }),
            SecretFrom::Environment => {
                let name = self.text(key, value)?;
                let name = name.trim();
                let problem = if name.is_empty() {
                    Some(
                        "must name an environment variable, like \"ATLAS_CLIENT_SECRET\""
                            .to_owned(),
                    )
                } else if name.starts_with(ENV_PREFIX) {
                    Some(format!(
                        "{name:?} is under {ENV_PREFIX}, whose variables are configuration keys; choose a name outside it, like \"ATLAS_CLIENT_SECRET\""
                    ))
                } else {
                    None
                };
                if let Some(problem) = problem {
                    self.push(key, value.tag(), problem);
                    return None;
                }
                match self.env.var(name) {
                    Ok(secret) => Some(SecretString::from(secret.trim().to_owned())),
                    Err(problem) => {
                        self.push(key, value.tag(), problem);
                        None
                    }
                }
            }
        }
    }

    /// Relative paths written in the config file are relative to that file, as in Prometheus;
    /// relative paths from the environment or flags are relative to the working directory.
    fn resolve_path(&self, raw: &str, tag: Tag) -> PathBuf {
        let path = PathBuf::from(raw);
        if path.is_absolute() {
            return path;
        }
        let file_dir = self
            .figment
            .get_metadata(tag)
            .and_then(|metadata| metadata.source.as_ref())
            .and_then(|source| source.file_path())
            .and_then(Path::parent);
        match file_dir {
            Some(dir) => dir.join(path),
            None => path,
        }
    }
}
