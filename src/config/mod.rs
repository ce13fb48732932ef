//! The configuration: figment layering of defaults, the TOML file, the environment and the flags,
//! validated all at once into the typed [`Config`], the only configuration type the rest of the
//! exporter sees.
//!
//! Every key is declared once, in `keys.rs`. The modules depend one way, never back:
//! `load` (figment layers) → `validate` (sections, cross-key rules, warnings) → `orgs`, `sharding`,
//! `credentials` → `check` (values against their declared kind) → `error`, `keys` (the
//! declarations) → `kind` (what a key is) → `environment`, `rules` (single-value rules) →
//! `settings` (the typed result) → `values` (the typed values).

mod check;
mod credentials;
mod environment;
mod error;
mod keys;
mod kind;
mod load;
mod orgs;
mod rules;
mod settings;
mod sharding;
mod validate;
mod values;

#[cfg(test)]
mod tests;

pub use error::{ConfigError, ConfigErrors};
pub use load::{Overrides, load, load_from};
pub use settings::{
    AtlasSettings, Config, Credentials, DiscoverySettings, ExpiryWindow, LogFormat, LogSettings,
    MetricsSettings, OrgConfig, OrgPattern, PollSettings, Sharding, Source, WebSettings,
};
