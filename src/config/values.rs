//! The configured values that are more than a number or a string: a source, an organisation filter,
//! an expiry window, a log format. A module of their own, below the rules that parse them
//! (`rules.rs`) and the declarations whose sections hold them (`keys.rs`), so that neither names
//! the whole configuration.

use std::time::Duration;

use crate::types::{ActiveSource, OrgId, Tier};

/// Where invitations are read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Source {
    /// The invitations API, switching an organisation to org users for good when the invitations
    /// API answers 410 `VERSION_GONE`, 404, or 403 for lack of the Organization Owner role.
    #[default]
    Auto,
    /// `GET /orgs/{orgId}/invites` (deprecated; needs Organization Owner).
    Invites,
    /// `GET /orgs/{orgId}/users` filtered to pending and expired invitations (needs Organization Member).
    OrgUsers,
}

impl Source {
    /// The API an organisation configured with this source starts on (`auto` starts on invitations).
    pub fn starts_on(self) -> ActiveSource {
        match self {
            Source::OrgUsers => ActiveSource::OrgUsers,
            Source::Auto | Source::Invites => ActiveSource::Invites,
        }
    }

    /// The value as written in the configuration.
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Auto => "auto",
            Source::Invites => "invites",
            Source::OrgUsers => "org_users",
        }
    }
}

/// Whether legacy project invitations (`GET /groups/{groupId}/invites`) are read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ProjectInvitations {
    /// Read, until the endpoint answers 410 for a project: that project is then no longer asked.
    #[default]
    Auto,
    /// Read every poll; a 410 is a failure like any other.
    On,
    Off,
}

impl ProjectInvitations {
    pub const ALL: [ProjectInvitations; 3] = [
        ProjectInvitations::Auto,
        ProjectInvitations::On,
        ProjectInvitations::Off,
    ];

    /// The value as written in the configuration.
    pub fn as_str(self) -> &'static str {
        match self {
            ProjectInvitations::Auto => "auto",
            ProjectInvitations::On => "on",
            ProjectInvitations::Off => "off",
        }
    }
}

/// `policy.tiers`: the roles configured into each tier, over the default mapping.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TierRoles(pub Vec<(Tier, String)>);

/// An organisation filter entry: a 24-hex-digit id, or a glob over the name (`*` and `?`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OrgPattern {
    Id(OrgId),
    NameGlob(String),
}

impl OrgPattern {
    pub fn matches(&self, id: &OrgId, name: &str) -> bool {
        match self {
            OrgPattern::Id(wanted) => wanted == id,
            OrgPattern::NameGlob(glob) => glob_matches(glob.as_bytes(), name.as_bytes()),
        }
    }
}

/// `*` matches any run of bytes, `?` one byte; everything else matches itself. Case-sensitive.
fn glob_matches(glob: &[u8], text: &[u8]) -> bool {
    // Iterative matching with one backtrack point: linear enough for names of at most 64 characters.
    let (mut g, mut t) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        match glob.get(g) {
            Some(b'*') => {
                star = Some((g, t));
                g += 1;
            }
            Some(&c) if c == b'?' || c == text[t] => {
                g += 1;
                t += 1;
            }
            _ => match star {
                Some((star_g, star_t)) => {
                    g = star_g + 1;
                    t = star_t + 1;
                    star = Some((star_g, star_t + 1));
                }
                None => return false,
            },
        }
    }
    glob[g..].iter().all(|&c| c == b'*')
}

/// An expiry window as written in the config (`"24h"`), which is also its `within` label value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExpiryWindow {
    pub label: String,
    pub duration: Duration,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs() {
        for (glob, name, expected) in [
            ("*", "anything", true),
            ("Acme*", "Acme Production", true),
            ("Acme*", "The Acme", false),
            ("*Prod*", "Acme Production", true),
            ("a?c", "abc", true),
            ("a?c", "abbc", false),
            ("a*b*c", "aXbYbZc", true),
            ("a*b*c", "aXbYbZ", false),
            ("", "", true),
            ("", "x", false),
        ] {
            assert_eq!(
                glob_matches(glob.as_bytes(), name.as_bytes()),
                expected,
                "{glob} ~ {name}"
            );
        }
    }
}
