//! Tests of the configuration as a user meets it: files, variables and flags in, a configuration or
//! every error out. Helpers shared by the test files live here.

mod declarations;
mod layers;
mod validation;

use std::path::PathBuf;

use super::error::{ConfigError, ConfigErrors};
use super::load::{Overrides, load_from, load_layers};
use super::settings::Config;

pub(super) const SECRET: &str = "s3cr3t-Value-never-shown";
pub(super) const ORG: &str = "32b6e34b3d91647abb20e7b8";

/// A config file in its own temporary directory, kept alive as long as the value.
pub(super) struct ConfigFile {
    pub dir: tempfile::TempDir,
    pub path: PathBuf,
}

impl ConfigFile {
    pub fn new(toml: &str) -> ConfigFile {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("atlas.toml");
        std::fs::write(&path, toml).expect("write config");
        ConfigFile { dir, path }
    }

    pub fn source(&self) -> String {
        format!("TOML file {}", self.path.display())
    }

    pub fn overrides(&self) -> Overrides {
        Overrides {
            config_file: Some(self.path.clone()),
            ..Overrides::default()
        }
    }
}

/// A minimal valid file: a service account and one org, with `extra` appended.
pub(super) fn valid_toml(extra: &str) -> String {
    format!(
        "[auth]\nclient_id = \"mdb_sa_id_1\"\nclient_secret = \"{SECRET}\"\n\n[[orgs]]\nid = \"{ORG}\"\n\n{extra}"
    )
}

pub(super) fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

pub(super) fn errors(
    overrides: &Overrides,
    demo: bool,
    env: Vec<(String, String)>,
) -> Vec<ConfigError> {
    match load_layers(overrides, demo, env, Vec::new()) {
        Ok(validated) => panic!("expected errors, got {:?}", validated.config),
        Err(ConfigErrors(errors)) => errors,
    }
}

pub(super) fn ok(overrides: &Overrides, env: Vec<(String, String)>) -> Config {
    match load_from(overrides, false, env) {
        Ok(config) => config,
        Err(errors) => panic!("{errors}"),
    }
}

pub(super) fn single_error(overrides: &Overrides, env: Vec<(String, String)>) -> ConfigError {
    let mut all = errors(overrides, false, env);
    assert_eq!(all.len(), 1, "{all:#?}");
    all.remove(0)
}

/// The configuration of the declared defaults alone (the demo needs no credentials or orgs).
pub(super) fn defaults() -> Config {
    match load_from(&Overrides::default(), true, vec![]) {
        Ok(config) => config,
        Err(errors) => panic!("{errors}"),
    }
}
