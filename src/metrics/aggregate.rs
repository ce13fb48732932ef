//! Pure arithmetic from one organisation's invitations to the numbers we export: no I/O, no clock.
//!
//! Definitions (docs/metrics.md repeats them for users):
//! - *pending*: `expires_at > now`; *expired*: `expires_at <= now` (still listed by Atlas);
//! - an invitation *grants* role R if R is one of its org roles or one of its project roles;
//!   counts are of invitations, so an invitation granting a role in two projects counts once;
//! - *stale*: pending and `now - created_at >= stale_age`;
//! - *expiring within W*: pending and `expires_at - now <= W`.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::time::Duration;

use jiff::Timestamp;

use crate::config::ExpiryWindow;
use crate::metrics::label;
use crate::types::ORG_ROLES;

/// What the numbers are computed against.
#[derive(Clone, Debug)]
pub struct AggregateSettings<'a> {
    pub expiry_windows: &'a [ExpiryWindow],
    pub stale_age: Duration,
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
    /// Every role granted by a pending invitation, plus the seven org roles (0 when unused).
    pub roles: BTreeMap<String, RoleStats>,
    /// Pending invitations per project id that assign any role in it.
    pub projects: BTreeMap<String, u64>,
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
    /// In first-granted order; sorted by [`Aggregator::finish`]. An organisation grants a handful of
    /// roles, and a scan comparing lengths first beats a tree of string comparisons per invitation.
    roles: Vec<(String, RoleStats)>,
    /// By bytes, so a borrowed id is looked up as it is; same order as by `str`.
    projects: BTreeMap<Box<[u8]>, u64>,
}

impl Aggregator {
    pub fn new(now: Timestamp, settings: &AggregateSettings<'_>) -> Aggregator {
        let windows: Vec<i64> = settings
            .expiry_windows
            .iter()
            .map(|w| i64::try_from(w.duration.as_secs()).unwrap_or(i64::MAX))
            .collect();
        let roles = ORG_ROLES
            .iter()
            .map(|role| ((*role).to_owned(), RoleStats::with_windows(windows.len())))
            .collect();
        Aggregator {
            now: now.as_second(),
            stale_age: i64::try_from(settings.stale_age.as_secs()).unwrap_or(i64::MAX),
            windows,
            pending: 0,
            expired: 0,
            stale: 0,
            roles,
            projects: BTreeMap::new(),
        }
    }

    /// Counts one invitation; dates in seconds since the epoch, `expires: None` for a rejected one;
    /// role names and project ids in UTF-8.
    pub fn tally<R: AsRef<[u8]>, A: Assignment>(
        &mut self,
        created: i64,
        expires: Option<i64>,
        org_roles: &[R],
        project_roles: &[A],
    ) {
        // Rejected invitations (no expiry) are neither pending nor expired.
        let Some(expires) = expires else {
            return;
        };
        if expires <= self.now {
            self.expired += 1;
            return;
        }
        self.pending += 1;
        if self.now.saturating_sub(created) >= self.stale_age {
            self.stale += 1;
        }
        let remaining = expires - self.now;

        // Each granted role once, however many assignments grant it: an invitation lists a handful,
        // so looking back is cheaper than sorting.
        let granted = org_roles
            .iter()
            .map(AsRef::as_ref)
            .chain(project_roles.iter().map(Assignment::role));
        for (index, role) in granted.clone().enumerate() {
            // Compared as exported: two roles that differ only past the label length are one.
            let kept = label::kept(role);
            if granted
                .clone()
                .take(index)
                .any(|earlier| label::kept(earlier) == kept)
            {
                continue;
            }
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

        for (index, assignment) in project_roles.iter().enumerate() {
            let project = assignment.project_id();
            let kept = label::kept(project);
            if project_roles[..index]
                .iter()
                .any(|earlier| label::kept(earlier.project_id()) == kept)
            {
                continue;
            }
            let exported = if kept.1 {
                Cow::Owned(label::bounded("project_id", project).into_bytes())
            } else {
                Cow::Borrowed(project)
            };
            match self.projects.get_mut(&*exported) {
                Some(count) => *count += 1,
                None => {
                    self.projects.insert(exported.into(), 1);
                }
            }
        }
    }

    pub fn finish(self) -> OrgAggregate {
        OrgAggregate {
            pending: self.pending,
            expired: self.expired,
            stale: self.stale,
            roles: self.roles.into_iter().collect(),
            projects: self
                .projects
                .into_iter()
                .map(|(project, count)| (owned_name(project), count))
                .collect(),
        }
    }
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
