//! The configuration: figment layering of defaults, the TOML file, the environment and the flags,
//! validated all at once into the typed [`Config`], the only configuration type the rest of the
//! exporter sees.
//!
//! Every key is declared once, in `keys.rs`, which also says how to add one. The modules depend one
//! way, never back: `load` (figment layers) → `validate` (sections, cross-key rules, warnings) →
//! `orgs`, `sharding`, `credentials` → `settings` (the typed result) → `keys` (the declarations, and
//! the plain sections they type) → `check` (values against their declared kind) → `kind` (what a key
//! is) → `environment`, `error`, `rules` (single-value rules) → `values` (the typed values).

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
pub use load::{Overrides, load, load_from, nothing_configured};
pub use settings::{
    AtlasSettings, AuditSettings, Config, Credentials, DiscoverySettings, ExpiryWindow, LogFormat,
    LogSettings, MetricsSettings, OrgConfig, OrgPattern, PolicySettings, PollSettings,
    ProjectInvitations, Sharding, Source, TierRoles, WebSettings,
};
