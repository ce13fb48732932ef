//! The `[[orgs]]` entries (id, name and per-organisation overrides and credentials), and who then
//! lacks credentials when there is no global `[auth]`.

use std::collections::HashMap;

use figment::value::{Dict, Tag, Value};

use super::check::{Checker, FromTyped, describe};
use super::credentials::CredentialCheck;
use super::keys::{self, ORG_KEYS};
use super::settings::OrgConfig;
use crate::types::OrgId;

/// The `[[orgs]]` entries, and what deciding whether global credentials are needed takes.
pub(crate) struct Orgs {
    pub valid: Vec<OrgConfig>,
    /// Index and tag of every entry without an `auth` key, valid or not.
    pub without_own_auth: Vec<(usize, Tag)>,
    /// Whether any entry has an `auth` key, even an invalid one.
    pub any_own_auth: bool,
}

impl Checker<'_> {
    /// No `[auth]` at all: reports whatever then lacks a credential.
    pub(crate) fn without_global_credentials(
        &mut self,
        discovery_table: &Dict,
        discovery_enabled: bool,
        orgs: &Orgs,
    ) {
        if discovery_enabled {
            let tag = discovery_table
                .get("enabled")
                .map_or(Tag::Default, Value::tag);
            self.push(
                "discovery.enabled",
                tag,
                "discovery lists organisations with the global credentials, and there are none: set [auth] (an [orgs.auth] serves its own organisation only)",
            );
        } else if !orgs.any_own_auth {
            self.push(
                "auth",
                Tag::Default,
                "no credentials: set auth.client_id and auth.client_secret (service account, recommended) or auth.public_key and auth.private_key (API key), or give every [[orgs]] entry its own [orgs.auth]",
            );
        } else {
            for (index, tag) in &orgs.without_own_auth {
                self.push(
                    format!("orgs[{index}].auth"),
                    *tag,
                    "missing: there is no global [auth], so this organisation needs its own [orgs.auth]",
                );
            }
        }
    }

    /// The `[[orgs]]` entries; none is an error unless the demo or discovery supplies them.
    pub(crate) fn orgs(&mut self, value: Option<&Value>, demo: bool, discovery: bool) -> Orgs {
        let missing = "no organisations configured: add at least one [[orgs]] table with an id, or set discovery.enabled = true";
        let none_needed = demo || discovery;
        let mut orgs = Orgs {
            valid: Vec::new(),
            without_own_auth: Vec::new(),
            any_own_auth: false,
        };
        let items = match value {
            None => {
                if !none_needed {
                    self.push("orgs", Tag::Default, missing);
                }
                return orgs;
            }
            Some(Value::Array(tag, items)) => {
                if items.is_empty() && !none_needed {
                    self.push("orgs", *tag, missing);
                }
                items
            }
            Some(other) => {
                self.push(
                    "orgs",
                    other.tag(),
                    format!(
                        "expected an array of [[orgs]] tables, found {}",
                        describe(other, true)
                    ),
                );
                return orgs;
            }
        };
        let auth_keys: Vec<&str> = keys::section_keys("auth").map(|key| key.name()).collect();
        let mut first_index_of: HashMap<OrgId, usize> = HashMap::new();
        for (index, item) in items.iter().enumerate() {
            let prefix = format!("orgs[{index}]");
            let Some(table) = self.table(&prefix, item, ORG_KEYS) else {
                continue;
            };
            let id_key = format!("{prefix}.id");
            let id = match table.get("id") {
                None => {
                    self.push(&id_key, item.tag(), "missing: every org needs an id");
                    None
                }
                Some(value) => self.text(&id_key, value).and_then(|raw| {
                    let Some(id) = OrgId::parse(&raw) else {
                        self.push(
                            &id_key,
                            value.tag(),
                            format!("{raw:?} is not an Atlas organisation id: expected 24 lowercase hexadecimal digits"),
                        );
                        return None;
                    };
                    if let Some(first) = first_index_of.get(&id) {
                        self.push(
                            &id_key,
                            value.tag(),
                            format!("{raw:?} duplicates orgs[{first}].id"),
                        );
                        return None;
                    }
                    first_index_of.insert(id.clone(), index);
                    Some(id)
                }),
            };
            let name_key = format!("{prefix}.name");
            let name = table.get("name").and_then(|value| {
                let name = self.text(&name_key, value)?;
                if name.trim().is_empty() {
                    self.push(
                        &name_key,
                        value.tag(),
                        "must not be empty; omit it to use the name from Atlas",
                    );
                    return None;
                }
                Some(name)
            });
            let interval = table.get("interval").and_then(|value| {
                self.override_of(&format!("{prefix}.interval"), "poll.interval", value)
            });
            let source = table.get("source").and_then(|value| {
                self.override_of(&format!("{prefix}.source"), "atlas.source", value)
            });
            let project_invitations = table.get("project_invitations").and_then(|value| {
                self.override_of(
                    &format!("{prefix}.project_invitations"),
                    "atlas.project_invitations",
                    value,
                )
            });
            let auth_key = format!("{prefix}.auth");
            let auth = match table.get("auth") {
                None => {
                    orgs.without_own_auth.push((index, item.tag()));
                    None
                }
                Some(value) => {
                    orgs.any_own_auth = true;
                    self.table_showing(&auth_key, value, &auth_keys, false)
                        .and_then(|auth_table| match self.credentials(&auth_key, auth_table) {
                            CredentialCheck::Valid(credentials) => Some(credentials),
                            CredentialCheck::Invalid => None,
                            CredentialCheck::Absent => {
                                self.push(
                                    &auth_key,
                                    value.tag(),
                                    "empty: set client_id with client_secret, client_secret_file or client_secret_env (or public_key with private_key, private_key_file or private_key_env), or remove it to use [auth]",
                                );
                                None
                            }
                        })
                }
            };
            if let Some(id) = id {
                orgs.valid.push(OrgConfig {
                    name,
                    interval,
                    source,
                    project_invitations,
                    auth,
                    ..OrgConfig::new(id)
                });
            }
        }
        orgs
    }

    /// An organisation's override of the global key at `path`, checked as that key is.
    fn override_of<T: FromTyped>(&mut self, key: &str, path: &str, value: &Value) -> Option<T> {
        let kind = keys::key(path)?.kind;
        T::from_typed(self.check(key, &kind, value)?)
    }
}
