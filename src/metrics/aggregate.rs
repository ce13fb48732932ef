//! Pure arithmetic from one organisation's invitations to the numbers we export: no I/O, no clock.
//!
//! Definitions (docs/metrics.md repeats them for users):
//! - *pending*: `expires_at > now`; *expired*: `expires_at <= now` (still listed by Atlas);
//! - an invitation *grants* role R if R is one of its org roles or one of its project roles;
//!   counts are of invitations, so an invitation granting a role in two projects counts once;
//! - *stale*: pending and `now - created_at >= stale_age`;
//! - *expiring within W*: pending and `expires_at - now <= W`.
//!
//! An invitee with several invitations (an org invitation and legacy project invitations of the same
//! `username`) is counted once by [`Aggregator::tally_invitee`]: see docs/metrics.md, "Counting rule".

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use jiff::Timestamp;

use crate::config::ExpiryWindow;
use crate::metrics::label;
use crate::metrics::policy::{self, DomainClass, Policy, RiskReason};
use crate::types::{ORG_ROLES, Tier};

/// What the numbers are computed against.
#[derive(Clone, Debug)]
pub struct AggregateSettings<'a> {
    pub expiry_windows: &'a [ExpiryWindow],
    pub stale_age: Duration,
    /// `[policy]`: the classes pending invitees are counted in.
    pub policy: Arc<Policy>,
}

/// The pending invitations that grant one role.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RoleStats {
    pub pending: u64,
    /// One count per configured expiry window, in configuration order.
    pub expiring: Vec<u64>,
    /// Soonest expiry among them, seconds since the epoch; `None` when there are none.
    pub next_expiry: Option<i64>,
    /// Oldest creation among them, seconds since the epoch.
    pub oldest_created: Option<i64>,
}

/// One organisation's invitation numbers as of one poll.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct OrgAggregate {
    pub pending: u64,
    pub expired: u64,
    pub stale: u64,
    /// Pending invitees expiring within each configured window, in configuration order (the status
    /// page's figure; the metrics count per role).
    pub expiring: Vec<u64>,
    /// Every role granted by a pending invitation, plus the seven org roles (0 when unused).
    pub roles: BTreeMap<String, RoleStats>,
    /// Pending invitations per project id that assign any role in it.
    pub projects: BTreeMap<String, u64>,
    /// Pending invitations per team id the invitee will join (`teamIds`).
    pub teams: BTreeMap<String, u64>,
    /// Pending invitees by the class of their domain, in [`DomainClass::ALL`] order.
    pub domains: [u64; 3],
    /// Pending invitees by the highest tier of their roles, in [`Tier::ALL`] order.
    pub tiers: [u64; 4],
    /// Pending invitees with an unexpected (or no) inviter; `None` when the policy watches none.
    pub unexpected_inviter: Option<u64>,
    /// Pending invitees by risk reason, in [`RiskReason::ALL`] order.
    pub risky: [u64; 3],
}

/// One project role assignment, however the caller holds it: ours, or borrowed from a response body.
/// Both are UTF-8 (the body's scanner checks them), as bytes so that a borrowed string need not be
/// converted to `str` for each lookup.
pub trait Assignment {
    fn project_id(&self) -> &[u8];
    fn role(&self) -> &[u8];
}

impl<P: AsRef<[u8]>, R: AsRef<[u8]>> Assignment for (P, R) {
    fn project_id(&self) -> &[u8] {
        self.0.as_ref()
    }
    fn role(&self) -> &[u8] {
        self.1.as_ref()
    }
}

/// As [`name`], reusing the allocation.
fn owned_name(bytes: Box<[u8]>) -> String {
    String::from_utf8(bytes.into_vec()).unwrap_or_else(|error| name(error.as_bytes()))
}

/// A name received as UTF-8 bytes. Lossy only in form: every caller hands over checked UTF-8, and a
/// daemon must not panic if one day one does not.
fn name(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Builds an [`OrgAggregate`] one invitation at a time, from borrowed strings: a poll can feed it
/// while decoding the response, without building an invitation (or a `String`) per invitation.
#[derive(Clone, Debug)]
pub struct Aggregator {
    now: i64,
    stale_age: i64,
    windows: Vec<i64>,
    pending: u64,
    expired: u64,
    stale: u64,
    expiring: Vec<u64>,
    /// In first-granted order; sorted, and the org roles not granted added, by [`Aggregator::finish`]. An organisation grants a handful of
    /// roles, and a scan comparing lengths first beats a tree of string comparisons per invitation.
    roles: Vec<(String, RoleStats)>,
    /// By bytes, so a borrowed id is looked up as it is; same order as by `str`.
    projects: BTreeMap<Box<[u8]>, u64>,
    teams: BTreeMap<Box<[u8]>, u64>,
    policy: Arc<Policy>,
    /// The last domain classed and its class: an organisation's invitees share a few domains, and
    /// the poll path cannot afford a hash per invitation.
    /// Shared, not copied, when a page is counted into a clone of the aggregator.
    domain_memo: Option<(Arc<[u8]>, DomainClass)>,
    /// Each role's tier, as looked up: a handful per organisation, compared by length first; shared
    /// with the clones too, and copied only when a new role comes.
    tier_memo: Arc<Vec<(Box<[u8]>, Tier)>>,
    domains: [u64; 3],
    tiers: [u64; 4],
    unexpected_inviter: u64,
    risky: [u64; 3],
}

/// One invitation of an invitee who has several, owned: the rare path of [`Aggregator::tally_invitee`].
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Grant {
    pub created: i64,
    /// `None` for a rejected invitation.
    pub expires: Option<i64>,
    pub org_roles: Vec<String>,
    pub project_roles: Vec<(String, String)>,
    pub team_ids: Vec<String>,
    /// Whether the policy expected its inviter ([`Policy::inviter_expected`]): kept instead of the
    /// inviter's address, which no memory holds past its poll.
    pub inviter_expected: Option<bool>,
}

impl Aggregator {
    pub fn new(now: Timestamp, settings: &AggregateSettings<'_>) -> Aggregator {
        let windows: Vec<i64> = settings
            .expiry_windows
            .iter()
            .map(|w| i64::try_from(w.duration.as_secs()).unwrap_or(i64::MAX))
            .collect();
        Aggregator {
            now: now.as_second(),
            stale_age: i64::try_from(settings.stale_age.as_secs()).unwrap_or(i64::MAX),
            expiring: vec![0; windows.len()],
            windows,
            pending: 0,
            expired: 0,
            stale: 0,
            roles: Vec::new(),
            projects: BTreeMap::new(),
            teams: BTreeMap::new(),
            policy: settings.policy.clone(),
            domain_memo: None,
            tier_memo: Arc::default(),
            domains: [0; 3],
            tiers: [0; 4],
            unexpected_inviter: 0,
            risky: [0; 3],
        }
    }

    /// The policy pending invitees are classed by.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// Counts a pending invitee in the policy's classes: the domain of their address, the highest
    /// tier of the roles granted, and their inviter (`inviter_expected` from
    /// [`Policy::inviter_expected`], over all their pending invitations).
    pub fn tally_policy<'r>(
        &mut self,
        username: &[u8],
        inviter_expected: Option<bool>,
        roles: impl IntoIterator<Item = &'r [u8]>,
    ) {
        let domain = policy::domain_of(username);
        let class = match &self.domain_memo {
            Some((known, class)) if **known == *domain => *class,
            _ => {
                let class = self.policy.domain_class(domain);
                self.domain_memo = Some((domain.into(), class));
                class
            }
        };
        let mut tier = Tier::Read;
        for role in roles {
            let known = self
                .tier_memo
                .iter()
                .find(|(known, _)| known.len() == role.len() && **known == *role);
            let role_tier = match known {
                Some((_, role_tier)) => *role_tier,
                None => {
                    let role_tier = self.policy.tier(role);
                    Arc::make_mut(&mut self.tier_memo).push((role.into(), role_tier));
                    role_tier
                }
            };
            tier = tier.min(role_tier);
        }
        self.domains[class_index(class)] += 1;
        self.tiers[tier_index(tier)] += 1;
        if inviter_expected == Some(false) {
            self.unexpected_inviter += 1;
        }
        for reason in self.policy.risks(class, tier, inviter_expected) {
            self.risky[reason_index(reason)] += 1;
        }
    }

    /// Counts one invitation; dates in seconds since the epoch, `expires: None` for a rejected one;
    /// role names and project ids in UTF-8. Returns whether it is pending (its teams then count,
    /// through [`Aggregator::tally_teams`]).
    pub fn tally<R: AsRef<[u8]>, A: Assignment>(
        &mut self,
        created: i64,
        expires: Option<i64>,
        org_roles: &[R],
        project_roles: &[A],
    ) -> bool {
        // Rejected invitations (no expiry) are neither pending nor expired.
        let Some(expires) = expires else {
            return false;
        };
        if expires <= self.now {
            self.expired += 1;
            return false;
        }
        self.pending += 1;
        if self.now.saturating_sub(created) >= self.stale_age {
            self.stale += 1;
        }
        self.tally_expiring(expires);
        let granted = org_roles
            .iter()
            .map(|role| (role.as_ref(), expires, created))
            .chain(
                project_roles
                    .iter()
                    .map(|assignment| (assignment.role(), expires, created)),
            );
        self.tally_roles(granted);
        Self::tally_ids(
            &mut self.projects,
            "project_id",
            project_roles.iter().map(Assignment::project_id),
        );
        true
    }

    /// Counts a pending invitee once in each team they will join (ids as listed, duplicates once).
    pub fn tally_teams<T: AsRef<[u8]>>(&mut self, team_ids: &[T]) {
        Self::tally_ids(
            &mut self.teams,
            "team_id",
            team_ids.iter().map(AsRef::as_ref),
        );
    }

    /// Counts one invitee with several invitations once: pending if any invitation is, expired if all
    /// of them are; stale if their oldest pending invitation is; each role (project, team) once if
    /// any pending invitation grants it, with the soonest expiry and the oldest creation among those.
    /// `address` is what the policy classes: the invitee's address, or its domain alone.
    pub fn tally_invitee(&mut self, address: &[u8], grants: &[Grant]) {
        let pending: Vec<&Grant> = grants
            .iter()
            .filter(|grant| grant.expires.is_some_and(|expires| expires > self.now))
            .collect();
        if pending.is_empty() {
            if grants.iter().any(|grant| grant.expires.is_some()) {
                self.expired += 1;
            }
            return;
        }
        self.pending += 1;
        let oldest = pending.iter().map(|grant| grant.created).min();
        if oldest.is_some_and(|created| self.now.saturating_sub(created) >= self.stale_age) {
            self.stale += 1;
        }
        if let Some(soonest) = pending.iter().filter_map(|grant| grant.expires).min() {
            self.tally_expiring(soonest);
        }
        // Per role, the soonest expiry and the oldest creation among the invitations granting it.
        let mut roles: Vec<(&[u8], i64, i64)> = Vec::new();
        for grant in &pending {
            let expires = grant.expires.unwrap_or(i64::MAX);
            let granted = grant
                .org_roles
                .iter()
                .map(String::as_bytes)
                .chain(grant.project_roles.iter().map(|(_, role)| role.as_bytes()));
            for role in granted {
                match roles
                    .iter_mut()
                    .find(|(known, ..)| label::kept(known) == label::kept(role))
                {
                    Some((_, soonest, oldest)) => {
                        *soonest = (*soonest).min(expires);
                        *oldest = (*oldest).min(grant.created);
                    }
                    None => roles.push((role, expires, grant.created)),
                }
            }
        }
        self.tally_roles(roles.into_iter());
        let projects = pending.iter().flat_map(|grant| {
            grant
                .project_roles
                .iter()
                .map(|(project, _)| project.as_bytes())
        });
        Self::tally_ids(&mut self.projects, "project_id", projects);
        let teams = pending
            .iter()
            .flat_map(|grant| grant.team_ids.iter().map(String::as_bytes));
        Self::tally_ids(&mut self.teams, "team_id", teams);
        // Unexpected if any pending invitation came from someone the policy does not expect.
        let expected = pending
            .iter()
            .map(|grant| grant.inviter_expected)
            .reduce(|a, b| a.zip(b).map(|(a, b)| a && b));
        let roles: Vec<&[u8]> = pending
            .iter()
            .flat_map(|grant| {
                grant
                    .org_roles
                    .iter()
                    .map(String::as_bytes)
                    .chain(grant.project_roles.iter().map(|(_, role)| role.as_bytes()))
            })
            .collect();
        self.tally_policy(address, expected.flatten(), roles);
    }

    /// Counts one pending invitee in each window its (soonest) expiry falls within.
    fn tally_expiring(&mut self, expires: i64) {
        let remaining = expires.saturating_sub(self.now);
        for (count, window) in self.expiring.iter_mut().zip(&self.windows) {
            if remaining <= *window {
                *count += 1;
            }
        }
    }

    /// Counts one pending invitee in each role granted: `(role, expiry, creation)`, where a role
    /// listed twice counts once (at its first listing's dates: callers merge dates beforehand).
    fn tally_roles<'r>(&mut self, granted: impl Iterator<Item = (&'r [u8], i64, i64)> + Clone) {
        // Each granted role once, however many assignments grant it: an invitation lists a handful,
        // so looking back is cheaper than sorting.
        for (index, (role, expires, created)) in granted.clone().enumerate() {
            // Compared as exported: two roles that differ only past the label length are one.
            let kept = label::kept(role);
            if granted
                .clone()
                .take(index)
                .any(|(earlier, ..)| label::kept(earlier) == kept)
            {
                continue;
            }
            let remaining = expires - self.now;
            let exported = if kept.1 {
                Cow::Owned(label::bounded("role", role).into_bytes())
            } else {
                Cow::Borrowed(role)
            };
            let known = self
                .roles
                .iter()
                .position(|(known, _)| known.as_bytes() == &*exported);
            let index = match known {
                Some(index) => index,
                None => {
                    let stats = RoleStats::with_windows(self.windows.len());
                    self.roles.push((name(&exported), stats));
                    self.roles.len() - 1
                }
            };
            let stats = &mut self.roles[index].1;
            stats.pending += 1;
            for (count, window) in stats.expiring.iter_mut().zip(&self.windows) {
                if remaining <= *window {
                    *count += 1;
                }
            }
            stats.next_expiry = Some(stats.next_expiry.map_or(expires, |e| e.min(expires)));
            stats.oldest_created = Some(stats.oldest_created.map_or(created, |c| c.min(created)));
        }
    }

    /// Counts one pending invitee once per distinct id (project or team), compared as exported.
    fn tally_ids<'i>(
        counts: &mut BTreeMap<Box<[u8]>, u64>,
        label_name: &'static str,
        ids: impl Iterator<Item = &'i [u8]> + Clone,
    ) {
        for (index, id) in ids.clone().enumerate() {
            let kept = label::kept(id);
            if ids
                .clone()
                .take(index)
                .any(|earlier| label::kept(earlier) == kept)
            {
                continue;
            }
            let exported = if kept.1 {
                Cow::Owned(label::bounded(label_name, id).into_bytes())
            } else {
                Cow::Borrowed(id)
            };
            match counts.get_mut(&*exported) {
                Some(count) => *count += 1,
                None => {
                    counts.insert(exported.into(), 1);
                }
            }
        }
    }

    pub fn finish(self) -> OrgAggregate {
        let mut roles: BTreeMap<String, RoleStats> = self.roles.into_iter().collect();
        // The org roles nobody was granted are added here, not in `new`: a body is counted into a
        // clone of the aggregator, and seven names and their rows were most of what it copied.
        for role in ORG_ROLES {
            if !roles.contains_key(role) {
                roles.insert(role.to_owned(), RoleStats::with_windows(self.windows.len()));
            }
        }
        OrgAggregate {
            pending: self.pending,
            expired: self.expired,
            stale: self.stale,
            expiring: self.expiring,
            roles,
            projects: self
                .projects
                .into_iter()
                .map(|(project, count)| (owned_name(project), count))
                .collect(),
            teams: self
                .teams
                .into_iter()
                .map(|(team, count)| (owned_name(team), count))
                .collect(),
            domains: self.domains,
            tiers: self.tiers,
            unexpected_inviter: self
                .policy
                .watches_inviters()
                .then_some(self.unexpected_inviter),
            risky: self.risky,
        }
    }
}

fn class_index(class: DomainClass) -> usize {
    DomainClass::ALL
        .iter()
        .position(|c| *c == class)
        .unwrap_or(0)
}

fn tier_index(tier: Tier) -> usize {
    Tier::ALL.iter().position(|t| *t == tier).unwrap_or(0)
}

fn reason_index(reason: RiskReason) -> usize {
    RiskReason::ALL
        .iter()
        .position(|r| *r == reason)
        .unwrap_or(0)
}

impl RoleStats {
    fn with_windows(windows: usize) -> RoleStats {
        RoleStats {
            expiring: vec![0; windows],
            ..RoleStats::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An invitation as the tests write it: dates relative to `NOW`, `expires: None` for a rejected one.
    struct Invitation {
        created: i64,
        expires: Option<i64>,
        org: Vec<&'static str>,
        projects: Vec<(&'static str, &'static str)>,
    }

    const NOW: i64 = 1_800_000_000;
    const HOUR: i64 = 3600;
    const DAY: i64 = 24 * HOUR;

    fn ts(s: i64) -> Timestamp {
        Timestamp::from_second(s).unwrap()
    }

    fn invite(
        created: i64,
        expires: i64,
        org: &[&'static str],
        projects: &[(&'static str, &'static str)],
    ) -> Invitation {
        Invitation {
            created: NOW + created,
            expires: Some(NOW + expires),
            org: org.to_vec(),
            projects: projects.to_vec(),
        }
    }

    fn windows() -> Vec<ExpiryWindow> {
        ["24h", "72h"]
            .iter()
            .map(|l| ExpiryWindow {
                label: l.to_string(),
                duration: humantime::parse_duration(l).unwrap(),
            })
            .collect()
    }

    fn compute(invitations: &[Invitation]) -> OrgAggregate {
        let windows = windows();
        let settings = AggregateSettings {
            expiry_windows: &windows,
            stale_age: Duration::from_secs(7 * DAY as u64),
            policy: Arc::default(),
        };
        let mut aggregator = Aggregator::new(ts(NOW), &settings);
        for invitation in invitations {
            aggregator.tally(
                invitation.created,
                invitation.expires,
                &invitation.org,
                &invitation.projects,
            );
        }
        aggregator.finish()
    }

    #[test]
    fn empty_org_has_zero_for_every_org_role_and_nothing_else() {
        let a = compute(&[]);
        assert_eq!((a.pending, a.expired, a.stale), (0, 0, 0));
        assert_eq!(a.expiring, [0, 0]);
        assert_eq!(a.roles.len(), ORG_ROLES.len());
        assert!(
            a.roles
                .values()
                .all(|r| r.pending == 0 && r.next_expiry.is_none() && r.expiring == [0, 0])
        );
        assert!(a.projects.is_empty());
    }

    #[test]
    fn expiry_boundary_is_exclusive_of_now() {
        let a = compute(&[
            invite(-30 * DAY, 0, &["ORG_MEMBER"], &[]),
            invite(-30 * DAY + 1, 1, &["ORG_MEMBER"], &[]),
        ]);
        assert_eq!(a.expired, 1, "expires exactly now: expired");
        assert_eq!(a.pending, 1, "expires one second from now: pending");
        assert_eq!(a.roles["ORG_MEMBER"].pending, 1);
        assert_eq!(a.roles["ORG_MEMBER"].next_expiry, Some(NOW + 1));
    }

    #[test]
    fn windows_are_inclusive_at_their_edge() {
        let a = compute(&[
            invite(-29 * DAY, DAY, &["ORG_OWNER"], &[]),
            invite(-29 * DAY, DAY + 1, &["ORG_OWNER"], &[]),
            invite(-27 * DAY, 3 * DAY, &["ORG_OWNER"], &[]),
            invite(-26 * DAY, 3 * DAY + 1, &["ORG_OWNER"], &[]),
        ]);
        let owner = &a.roles["ORG_OWNER"];
        assert_eq!(owner.pending, 4);
        assert_eq!(owner.expiring, vec![1, 3]);
        assert_eq!(
            a.expiring,
            vec![1, 3],
            "the organisation's figure, as the role's"
        );
        assert_eq!(owner.next_expiry, Some(NOW + DAY));
        assert_eq!(owner.oldest_created, Some(NOW - 29 * DAY));
    }

    #[test]
    fn stale_means_created_at_least_stale_age_ago_and_still_pending() {
        let a = compute(&[
            invite(-7 * DAY, 23 * DAY, &["ORG_MEMBER"], &[]),
            invite(-7 * DAY + 1, 23 * DAY, &["ORG_MEMBER"], &[]),
            invite(-40 * DAY, -10 * DAY, &["ORG_MEMBER"], &[]),
        ]);
        assert_eq!(a.stale, 1);
        assert_eq!(a.expired, 1);
        assert_eq!(a.pending, 2);
    }

    #[test]
    fn an_invitation_counts_once_per_role_and_project_however_many_assignments() {
        let a = compute(&[invite(
            -DAY,
            29 * DAY,
            &["ORG_MEMBER"],
            &[
                ("p1", "GROUP_READ_ONLY"),
                ("p2", "GROUP_READ_ONLY"),
                ("p1", "GROUP_OWNER"),
            ],
        )]);
        assert_eq!(a.pending, 1);
        assert_eq!(a.roles["GROUP_READ_ONLY"].pending, 1);
        assert_eq!(a.roles["GROUP_OWNER"].pending, 1);
        assert_eq!(a.roles["ORG_MEMBER"].pending, 1);
        assert_eq!(a.projects.get("p1"), Some(&1));
        assert_eq!(a.projects.get("p2"), Some(&1));
    }

    #[test]
    fn expired_invitations_grant_nothing_and_project_roles_appear_only_when_granted() {
        let a = compute(&[invite(
            -31 * DAY,
            -DAY,
            &["ORG_OWNER"],
            &[("p1", "GROUP_OWNER")],
        )]);
        assert_eq!(a.roles["ORG_OWNER"].pending, 0);
        assert!(!a.roles.contains_key("GROUP_OWNER"));
        assert!(a.projects.is_empty());
    }

    #[test]
    fn rejected_invitations_without_expiry_are_ignored() {
        let mut rejected = invite(-DAY, 0, &["ORG_OWNER"], &[]);
        rejected.expires = None;
        let a = compute(&[rejected]);
        assert_eq!((a.pending, a.expired), (0, 0));
    }

    #[test]
    fn unknown_roles_are_kept_as_opaque_labels() {
        let a = compute(&[invite(-DAY, DAY, &["ORG_FUTURE_ROLE"], &[])]);
        assert_eq!(a.roles["ORG_FUTURE_ROLE"].pending, 1);
    }
}
