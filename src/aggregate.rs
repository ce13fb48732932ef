//! Pure arithmetic from one organisation's invitations to the numbers we export: no I/O, no clock.
//!
//! Definitions (docs/metrics.md repeats them for users):
//! - *pending*: `expires_at > now`; *expired*: `expires_at <= now` (still listed by Atlas);
//! - an invitation *grants* role R if R is one of its org roles or one of its project roles;
//!   counts are of invitations, so an invitation granting a role in two projects counts once;
//! - *stale*: pending and `now - created_at >= stale_age`;
//! - *expiring within W*: pending and `expires_at - now <= W`.

use std::collections::BTreeMap;
use std::time::Duration;

use jiff::Timestamp;

use crate::config::ExpiryWindow;
use crate::invitation::{Invitation, ORG_ROLES};

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

impl OrgAggregate {
    pub fn compute(
        invitations: &[Invitation],
        now: Timestamp,
        settings: &AggregateSettings<'_>,
    ) -> OrgAggregate {
        let now_s = now.as_second();
        let stale_age = i64::try_from(settings.stale_age.as_secs()).unwrap_or(i64::MAX);
        let windows: Vec<i64> = settings
            .expiry_windows
            .iter()
            .map(|w| i64::try_from(w.duration.as_secs()).unwrap_or(i64::MAX))
            .collect();

        let mut aggregate = OrgAggregate::default();
        for role in ORG_ROLES {
            aggregate
                .roles
                .insert(role.to_owned(), RoleStats::with_windows(windows.len()));
        }

        // Reused across invitations: the distinct roles and projects of one invitation.
        let mut granted: Vec<&str> = Vec::new();
        let mut projects: Vec<&str> = Vec::new();
        for invitation in invitations {
            // Rejected invitations (no expiry) are neither pending nor expired.
            let Some(expires_at) = invitation.expires_at else {
                continue;
            };
            let expires_s = expires_at.as_second();
            if expires_s <= now_s {
                aggregate.expired += 1;
                continue;
            }
            aggregate.pending += 1;
            let created_s = invitation.created_at.as_second();
            if now_s.saturating_sub(created_s) >= stale_age {
                aggregate.stale += 1;
            }

            granted.clear();
            granted.extend(invitation.org_roles.iter().map(String::as_str));
            granted.extend(invitation.project_roles.iter().map(|p| p.role.as_str()));
            granted.sort_unstable();
            granted.dedup();
            let remaining = expires_s - now_s;
            for role in &granted {
                let stats = match aggregate.roles.get_mut(*role) {
                    Some(stats) => stats,
                    None => aggregate
                        .roles
                        .entry((*role).to_owned())
                        .or_insert_with(|| RoleStats::with_windows(windows.len())),
                };
                stats.pending += 1;
                for (count, window) in stats.expiring.iter_mut().zip(&windows) {
                    if remaining <= *window {
                        *count += 1;
                    }
                }
                stats.next_expiry = Some(stats.next_expiry.map_or(expires_s, |e| e.min(expires_s)));
                stats.oldest_created =
                    Some(stats.oldest_created.map_or(created_s, |c| c.min(created_s)));
            }

            projects.clear();
            projects.extend(
                invitation
                    .project_roles
                    .iter()
                    .map(|p| p.project_id.as_str()),
            );
            projects.sort_unstable();
            projects.dedup();
            for project in &projects {
                match aggregate.projects.get_mut(*project) {
                    Some(count) => *count += 1,
                    None => {
                        aggregate.projects.insert((*project).to_owned(), 1);
                    }
                }
            }
        }
        aggregate
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
    use crate::invitation::ProjectRole;

    const NOW: i64 = 1_800_000_000;
    const HOUR: i64 = 3600;
    const DAY: i64 = 24 * HOUR;

    fn ts(s: i64) -> Timestamp {
        Timestamp::from_second(s).unwrap()
    }

    fn invite(created: i64, expires: i64, org: &[&str], projects: &[(&str, &str)]) -> Invitation {
        Invitation {
            created_at: ts(NOW + created),
            expires_at: Some(ts(NOW + expires)),
            org_roles: org.iter().map(|r| r.to_string()).collect(),
            project_roles: projects
                .iter()
                .map(|(p, r)| ProjectRole {
                    project_id: p.to_string(),
                    role: r.to_string(),
                })
                .collect(),
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
        OrgAggregate::compute(invitations, ts(NOW), &settings)
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
        rejected.expires_at = None;
        let a = compute(&[rejected]);
        assert_eq!((a.pending, a.expired), (0, 0));
    }

    #[test]
    fn unknown_roles_are_kept_as_opaque_labels() {
        let a = compute(&[invite(-DAY, DAY, &["ORG_FUTURE_ROLE"], &[])]);
        assert_eq!(a.roles["ORG_FUTURE_ROLE"].pending, 1);
    }
}
