//! The configuration: figment layering of defaults, the TOML file, the environment and the flags,
//! validated all at once into the typed [`Config`], the only configuration type the rest of the
//! exporter sees.
//!
//! Every key is declared once, in `keys.rs`; the rest is wired one way:
//! `load` (layers) → `validate` (sections and cross-key rules) → `orgs`, `credentials`, `sharding`
//! → `check` (values against their declared kind) → `keys`, `rules` → `settings` (the typed result).

mod check;
mod credentials;
mod environment;
mod error;
mod keys;
mod load;
mod orgs;
mod rules;
mod settings;
mod sharding;
mod validate;

#[cfg(test)]
mod tests;

pub use error::{ConfigError, ConfigErrors};
pub use load::{Overrides, load, load_from};
pub use settings::{
    AtlasSettings, Config, Credentials, DiscoverySettings, ExpiryWindow, LogFormat, LogSettings,
    MetricsSettings, OrgConfig, OrgPattern, PollSettings, Sharding, Source, WebSettings,
};
