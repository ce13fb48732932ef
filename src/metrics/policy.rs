//! Which pending invitations matter to a security team, as `[policy]` says: the invitee's mail
//! domain class, the privilege tier of a role, and whether an inviter was expected. Pure: no I/O,
//! no clock; the only state is the set of unknown roles already logged.
//!
//! Addresses are read here and never leave: the classes are all the metrics see.

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;

use crate::config::PolicySettings;
use crate::types::Tier;

/// Consumer mail domains, always free-mail; `policy.free_mail_domains` adds to them. The largest
/// providers by country (docs/metrics.md lists them).
pub const BUILT_IN_FREE_MAIL: &[&str] = &[
    "gmail.com",
    "googlemail.com",
    "outlook.com",
    "hotmail.com",
    "hotmail.co.uk",
    "hotmail.fr",
    "live.com",
    "msn.com",
    "yahoo.com",
    "yahoo.co.uk",
    "yahoo.co.jp",
    "yahoo.fr",
    "ymail.com",
    "icloud.com",
    "me.com",
    "mac.com",
    "aol.com",
    "proton.me",
    "protonmail.com",
    "pm.me",
    "gmx.de",
    "gmx.net",
    "gmx.com",
    "web.de",
    "t-online.de",
    "mail.com",
    "mail.ru",
    "yandex.ru",
    "yandex.com",
    "qq.com",
    "163.com",
    "126.com",
    "zoho.com",
    "fastmail.com",
    "tutanota.com",
    "hey.com",
    "seznam.cz",
    "laposte.net",
    "orange.fr",
    "free.fr",
    "libero.it",
    "naver.com",
    "daum.net",
    "rediffmail.com",
];

/// The default tier of every role Atlas documents (7 organisation roles, 11 project roles); the
/// reasons are in docs/metrics.md. `[policy.tiers]` moves roles; an unknown role is `read`.
pub const DEFAULT_TIERS: &[(&str, Tier)] = &[
    ("ORG_OWNER", Tier::Owner),
    ("ORG_GROUP_CREATOR", Tier::Admin),
    ("ORG_BILLING_ADMIN", Tier::Write),
    ("ORG_STREAM_PROCESSING_ADMIN", Tier::Write),
    ("ORG_BILLING_READ_ONLY", Tier::Read),
    ("ORG_READ_ONLY", Tier::Read),
    ("ORG_MEMBER", Tier::Read),
    ("GROUP_OWNER", Tier::Owner),
    ("GROUP_DATA_ACCESS_ADMIN", Tier::Admin),
    ("GROUP_DATABASE_ACCESS_ADMIN", Tier::Admin),
    ("GROUP_CLUSTER_MANAGER", Tier::Write),
    ("GROUP_STREAM_PROCESSING_OWNER", Tier::Write),
    ("GROUP_DATA_ACCESS_READ_WRITE", Tier::Write),
    ("GROUP_BACKUP_MANAGER", Tier::Write),
    ("GROUP_SEARCH_INDEX_EDITOR", Tier::Write),
    ("GROUP_DATA_ACCESS_READ_ONLY", Tier::Read),
    ("GROUP_OBSERVABILITY_VIEWER", Tier::Read),
    ("GROUP_READ_ONLY", Tier::Read),
];

/// Where an invitee's address is, as far as the policy knows: the `domain_class` label.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DomainClass {
    Internal,
    External,
    FreeMail,
}

impl DomainClass {
    pub const ALL: [DomainClass; 3] = [
        DomainClass::Internal,
        DomainClass::External,
        DomainClass::FreeMail,
    ];

    pub fn label(self) -> &'static str {
        match self {
            DomainClass::Internal => "internal",
            DomainClass::External => "external",
            DomainClass::FreeMail => "free_mail",
        }
    }
}

/// Why a pending invitee is on the short list a pager looks at: the `reason` label.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RiskReason {
    /// Tier owner or admin, to an address that is not internal.
    OwnerExternal,
    FreeMail,
    UnexpectedInviter,
}

impl RiskReason {
    pub const ALL: [RiskReason; 3] = [
        RiskReason::OwnerExternal,
        RiskReason::FreeMail,
        RiskReason::UnexpectedInviter,
    ];

    pub fn label(self) -> &'static str {
        match self {
            RiskReason::OwnerExternal => "owner_external",
            RiskReason::FreeMail => "free_mail",
            RiskReason::UnexpectedInviter => "unexpected_inviter",
        }
    }
}

/// `[policy]`, ready to classify: everything in lower case, looked up without allocating for the
/// addresses Atlas sends (lower-case ASCII). `Policy::default()` is an empty `[policy]`: the
/// built-in free-mail domains and default tiers, no internal domain, no inviter watched.
#[derive(Debug)]
pub struct Policy {
    internal_exact: HashSet<Box<str>>,
    /// `*.example.com` kept as `.example.com`: a subdomain ends with it.
    internal_suffixes: Vec<Box<str>>,
    free_mail_exact: HashSet<Box<str>>,
    free_mail_suffixes: Vec<Box<str>>,
    /// `None` when `expected_inviters` is empty: nobody is unexpected.
    expected_inviters: Option<Inviters>,
    tiers: HashMap<Box<[u8]>, Tier>,
    internal_configured: usize,
}

#[derive(Debug, Default)]
struct Inviters {
    addresses: HashSet<Box<str>>,
    domains: HashSet<Box<str>>,
}

/// Unknown roles already logged: each once over the process's life, at most this many.
static UNKNOWN_ROLES: Mutex<Option<HashSet<Box<[u8]>>>> = Mutex::new(None);
const MAX_UNKNOWN_ROLES_LOGGED: usize = 256;

impl Default for Policy {
    fn default() -> Policy {
        Policy::new(&PolicySettings {
            internal_domains: Vec::new(),
            free_mail_domains: Vec::new(),
            expected_inviters: Vec::new(),
            tiers: Default::default(),
        })
    }
}

impl Policy {
    pub fn new(settings: &PolicySettings) -> Policy {
        let (internal_exact, internal_suffixes) = split_patterns(&settings.internal_domains);
        let built_in = BUILT_IN_FREE_MAIL.iter().map(|d| (*d).to_owned());
        let free_mail: Vec<String> = built_in
            .chain(settings.free_mail_domains.iter().cloned())
            .collect();
        let (free_mail_exact, free_mail_suffixes) = split_patterns(&free_mail);
        let expected_inviters = (!settings.expected_inviters.is_empty()).then(|| {
            let mut inviters = Inviters::default();
            for pattern in &settings.expected_inviters {
                match pattern.strip_prefix("*@") {
                    Some(domain) => inviters.domains.insert(domain.into()),
                    None => inviters.addresses.insert(pattern.as_str().into()),
                };
            }
            inviters
        });
        let mut tiers: HashMap<Box<[u8]>, Tier> = DEFAULT_TIERS
            .iter()
            .map(|(role, tier)| (role.as_bytes().into(), *tier))
            .collect();
        for (tier, role) in &settings.tiers.0 {
            tiers.insert(role.as_bytes().into(), *tier);
        }
        Policy {
            internal_exact,
            internal_suffixes,
            free_mail_exact,
            free_mail_suffixes,
            expected_inviters,
            tiers,
            internal_configured: settings.internal_domains.len(),
        }
    }

    /// How many internal domains are configured: `atlas_invites_policy_internal_domains`.
    pub fn internal_domains(&self) -> usize {
        self.internal_configured
    }

    /// Whether `expected_inviters` is set, so that unexpected inviters are counted at all.
    pub fn watches_inviters(&self) -> bool {
        self.expected_inviters.is_some()
    }

    /// The class of the address's domain (after its last `@`); free-mail wins over internal.
    pub fn domain_class(&self, address: &[u8]) -> DomainClass {
        let domain = lowered(domain_of(address));
        if matches(&self.free_mail_exact, &self.free_mail_suffixes, &domain) {
            DomainClass::FreeMail
        } else if matches(&self.internal_exact, &self.internal_suffixes, &domain) {
            DomainClass::Internal
        } else {
            DomainClass::External
        }
    }

    /// Whether the inviter may invite: `None` when the policy watches no inviter; an invitation
    /// without an inviter is unexpected.
    pub fn inviter_expected(&self, inviter: Option<&[u8]>) -> Option<bool> {
        let inviters = self.expected_inviters.as_ref()?;
        let Some(inviter) = inviter.filter(|inviter| !inviter.is_empty()) else {
            return Some(false);
        };
        let address = lowered(inviter);
        let domain = lowered(domain_of(inviter));
        Some(inviters.addresses.contains(&*address) || inviters.domains.contains(&*domain))
    }

    /// The tier of one role; a role nobody mapped is `read`, and logged once so that new Atlas
    /// roles are noticed.
    pub fn tier(&self, role: &[u8]) -> Tier {
        if let Some(tier) = self.tiers.get(role) {
            return *tier;
        }
        log_unknown_role(role);
        Tier::Read
    }

    /// The highest tier of the roles granted; `read` when none.
    pub fn highest_tier<'r>(&self, roles: impl IntoIterator<Item = &'r [u8]>) -> Tier {
        roles
            .into_iter()
            .map(|role| self.tier(role))
            .min()
            .unwrap_or(Tier::Read)
    }

    /// The reasons an invitee is risky, from their class, tier and inviter.
    pub fn risks(
        &self,
        class: DomainClass,
        tier: Tier,
        inviter_expected: Option<bool>,
    ) -> impl Iterator<Item = RiskReason> {
        let owner_external =
            matches!(tier, Tier::Owner | Tier::Admin) && class != DomainClass::Internal;
        let reasons = [
            (RiskReason::OwnerExternal, owner_external),
            (RiskReason::FreeMail, class == DomainClass::FreeMail),
            (
                RiskReason::UnexpectedInviter,
                inviter_expected == Some(false),
            ),
        ];
        reasons
            .into_iter()
            .filter_map(|(reason, applies)| applies.then_some(reason))
    }
}

fn split_patterns(patterns: &[String]) -> (HashSet<Box<str>>, Vec<Box<str>>) {
    let mut exact = HashSet::new();
    let mut suffixes = Vec::new();
    for pattern in patterns {
        match pattern.strip_prefix('*') {
            // `*.example.com` → `.example.com`
            Some(suffix) => suffixes.push(suffix.into()),
            None => {
                exact.insert(pattern.as_str().into());
            }
        }
    }
    (exact, suffixes)
}

fn matches(exact: &HashSet<Box<str>>, suffixes: &[Box<str>], domain: &str) -> bool {
    exact.contains(domain) || suffixes.iter().any(|suffix| domain.ends_with(&**suffix))
}

/// The part after the last `@`: the whole value when there is none.
pub(crate) fn domain_of(address: &[u8]) -> &[u8] {
    match address.iter().rposition(|b| *b == b'@') {
        Some(at) => &address[at + 1..],
        None => address,
    }
}

/// In lower case; borrowed when it already is (Atlas sends addresses in lower case).
fn lowered(bytes: &[u8]) -> std::borrow::Cow<'_, str> {
    let text = String::from_utf8_lossy(bytes);
    if text.chars().any(char::is_uppercase) {
        std::borrow::Cow::Owned(text.to_lowercase())
    } else {
        text
    }
}

fn log_unknown_role(role: &[u8]) {
    let mut logged = UNKNOWN_ROLES.lock().unwrap_or_else(|p| p.into_inner());
    let logged = logged.get_or_insert_with(HashSet::new);
    if logged.len() >= MAX_UNKNOWN_ROLES_LOGGED || logged.contains(role) {
        return;
    }
    logged.insert(role.into());
    tracing::warn!(
        role = %String::from_utf8_lossy(role),
        "a role no tier maps: counted as read; map it in [policy.tiers] if it gives more power"
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::TierRoles;

    fn policy(internal: &[&str], free: &[&str], inviters: &[&str]) -> Policy {
        let strings = |list: &[&str]| list.iter().map(|s| (*s).to_owned()).collect();
        Policy::new(&PolicySettings {
            internal_domains: strings(internal),
            free_mail_domains: strings(free),
            expected_inviters: strings(inviters),
            tiers: TierRoles(vec![(Tier::Admin, "GROUP_CLUSTER_MANAGER".to_owned())]),
        })
    }

    #[test]
    fn domains_are_classed_exactly_or_by_subdomain_and_free_mail_wins() {
        let p = policy(
            &["example.com", "*.example.co.uk", "gmail.com"],
            &["corp-mail.net"],
            &[],
        );
        assert_eq!(p.domain_class(b"a@example.com"), DomainClass::Internal);
        assert_eq!(p.domain_class(b"a@Example.COM"), DomainClass::Internal);
        assert_eq!(p.domain_class(b"a@eu.example.co.uk"), DomainClass::Internal);
        assert_eq!(
            p.domain_class(b"a@example.co.uk"),
            DomainClass::External,
            "*. names subdomains only"
        );
        assert_eq!(p.domain_class(b"a@notexample.com"), DomainClass::External);
        assert_eq!(
            p.domain_class(b"a@GMAIL.com"),
            DomainClass::FreeMail,
            "free-mail wins"
        );
        assert_eq!(p.domain_class(b"a@corp-mail.net"), DomainClass::FreeMail);
        assert_eq!(
            p.domain_class(b"\"odd@x\"@example.com"),
            DomainClass::Internal,
            "after the last @"
        );
        assert_eq!(p.internal_domains(), 3);
    }

    #[test]
    fn inviters_are_matched_by_address_or_domain_and_a_missing_one_is_unexpected() {
        let p = policy(&[], &[], &["alice@example.com", "*@platform.example.com"]);
        assert_eq!(p.inviter_expected(Some(b"Alice@Example.com")), Some(true));
        assert_eq!(
            p.inviter_expected(Some(b"bob@platform.example.com")),
            Some(true)
        );
        assert_eq!(p.inviter_expected(Some(b"bob@example.com")), Some(false));
        assert_eq!(p.inviter_expected(None), Some(false));
        assert_eq!(p.inviter_expected(Some(b"")), Some(false));
        assert_eq!(
            policy(&[], &[], &[]).inviter_expected(None),
            None,
            "not watched"
        );
    }

    #[test]
    fn tiers_follow_the_defaults_the_overrides_and_read_for_the_unknown() {
        let p = policy(&[], &[], &[]);
        assert_eq!(p.tier(b"ORG_OWNER"), Tier::Owner);
        assert_eq!(p.tier(b"GROUP_DATABASE_ACCESS_ADMIN"), Tier::Admin);
        assert_eq!(p.tier(b"GROUP_CLUSTER_MANAGER"), Tier::Admin, "overridden");
        assert_eq!(p.tier(b"ORG_FUTURE_ROLE"), Tier::Read);
        assert_eq!(
            p.highest_tier([b"ORG_MEMBER".as_slice(), b"GROUP_OWNER".as_slice()]),
            Tier::Owner
        );
        assert_eq!(p.highest_tier([]), Tier::Read);
        assert_eq!(DEFAULT_TIERS.len(), 7 + 11, "every documented role");
    }

    #[test]
    fn risks_name_owner_or_admin_outside_free_mail_and_unexpected_inviters() {
        let p = policy(&["example.com"], &[], &[]);
        let reasons = |class, tier, expected| p.risks(class, tier, expected).collect::<Vec<_>>();
        assert_eq!(
            reasons(DomainClass::External, Tier::Admin, Some(true)),
            [RiskReason::OwnerExternal]
        );
        assert_eq!(
            reasons(DomainClass::FreeMail, Tier::Owner, Some(false)),
            [
                RiskReason::OwnerExternal,
                RiskReason::FreeMail,
                RiskReason::UnexpectedInviter
            ]
        );
        assert!(reasons(DomainClass::Internal, Tier::Owner, None).is_empty());
        assert!(reasons(DomainClass::External, Tier::Write, None).is_empty());
    }
}
