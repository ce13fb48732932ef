//! The counting rule across listings: an invitee with an org invitation and legacy project
//! invitations in the same organisation counts once (docs/metrics.md, "Counting rule").
//!
//! Legacy project invitations are read first (a few per project); the org listing then streams
//! through [`InviteeCounter`], which counts every invitee it has no legacy invitation for at once, as
//! before, and sets aside the few it has, to be merged by [`Aggregator::tally_invitee`] at the end.
//! With no legacy invitation the org listing is counted exactly as without this rule.
//!
//! Invitees are compared by a keyed hash of their lower-cased address, and classed by its domain:
//! what is kept of a legacy invitation between polls holds no address.

use std::collections::HashMap;
use std::hash::{BuildHasher, RandomState};
use std::sync::OnceLock;

use crate::metrics::aggregate::{Aggregator, Grant, OrgAggregate};
use crate::metrics::policy;

/// An invitee as the counting rule compares them: the `username`, case-insensitively, hashed with a
/// key drawn once per process (so the value means nothing outside it). Never exported or logged.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct InviteeKey(u64);

impl InviteeKey {
    pub fn of(username: &[u8]) -> InviteeKey {
        static KEY: OnceLock<RandomState> = OnceLock::new();
        let lower = String::from_utf8_lossy(username).to_lowercase();
        InviteeKey(KEY.get_or_init(RandomState::new).hash_one(lower))
    }
}

/// The domain of an address (after its last `@`), lower-cased: what the policy classes, and not
/// personal data on its own.
pub fn domain_of(username: &[u8]) -> String {
    String::from_utf8_lossy(policy::domain_of(username)).to_lowercase()
}

/// One legacy project invitation as the counting rule takes it.
#[derive(Clone, Debug)]
pub struct LegacyGrant {
    pub invitee: InviteeKey,
    /// The invitee's domain, for the policy's class.
    pub domain: String,
    pub grant: Grant,
}

/// The org listing's sink when legacy project invitations exist: counts or sets aside each invitee.
#[derive(Clone)]
pub struct InviteeCounter {
    aggregator: Aggregator,
    /// Invitee → their domain, and every invitation of theirs seen so far: their legacy project
    /// invitations, then what the org listing adds.
    merged: HashMap<InviteeKey, (String, Vec<Grant>)>,
}

/// Counts only.
impl std::fmt::Debug for InviteeCounter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InviteeCounter")
            .field("aggregator", &self.aggregator)
            .field("invitees_with_legacy_invitations", &self.merged.len())
            .finish()
    }
}

impl InviteeCounter {
    pub fn new(aggregator: Aggregator, legacy: Vec<LegacyGrant>) -> InviteeCounter {
        let mut merged: HashMap<InviteeKey, (String, Vec<Grant>)> = HashMap::new();
        for legacy in legacy {
            merged
                .entry(legacy.invitee)
                .or_insert_with(|| (legacy.domain, Vec::new()))
                .1
                .push(legacy.grant);
        }
        InviteeCounter { aggregator, merged }
    }

    /// The invitations of this invitee, if they also have legacy project invitations: the caller then
    /// hands the org invitation over with [`InviteeCounter::set_aside`] instead of counting it.
    pub fn has_legacy(&self, username: &[u8]) -> bool {
        !self.merged.is_empty() && self.merged.contains_key(&InviteeKey::of(username))
    }

    /// An org invitation of an invitee who also has legacy project invitations.
    pub fn set_aside(&mut self, username: &[u8], grant: Grant) {
        if let Some((_, grants)) = self.merged.get_mut(&InviteeKey::of(username)) {
            grants.push(grant);
        }
    }

    /// The counter of every invitee without legacy invitations.
    pub fn aggregator(&mut self) -> &mut Aggregator {
        &mut self.aggregator
    }

    /// Counts the invitees set aside, each once, and returns the organisation's numbers.
    pub fn finish(mut self) -> OrgAggregate {
        for (domain, grants) in self.merged.values() {
            self.aggregator.tally_invitee(domain.as_bytes(), grants);
        }
        self.aggregator.finish()
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use jiff::Timestamp;

    use super::*;
    use crate::config::ExpiryWindow;
    use crate::metrics::aggregate::AggregateSettings;

    const NOW: i64 = 1_800_000_000;
    const DAY: i64 = 86_400;

    fn counter(legacy: Vec<(String, Grant)>) -> InviteeCounter {
        let legacy = legacy
            .into_iter()
            .map(|(username, grant)| LegacyGrant {
                invitee: InviteeKey::of(username.as_bytes()),
                domain: domain_of(username.as_bytes()),
                grant,
            })
            .collect();
        let windows = vec![ExpiryWindow {
            label: "72h".to_owned(),
            duration: Duration::from_secs(3 * DAY as u64),
        }];
        let settings = AggregateSettings {
            expiry_windows: &windows,
            stale_age: Duration::from_secs(7 * DAY as u64),
            policy: std::sync::Arc::default(),
        };
        let aggregator = Aggregator::new(Timestamp::from_second(NOW).unwrap(), &settings);
        InviteeCounter::new(aggregator, legacy)
    }

    fn grant(created: i64, expires: i64, org: &[&str], projects: &[(&str, &str)]) -> Grant {
        Grant {
            created: NOW + created,
            expires: Some(NOW + expires),
            org_roles: org.iter().map(|r| (*r).to_owned()).collect(),
            project_roles: projects
                .iter()
                .map(|(p, r)| ((*p).to_owned(), (*r).to_owned()))
                .collect(),
            team_ids: Vec::new(),
            inviter_expected: None,
        }
    }

    /// As the org listing's sink does: set aside or count.
    fn add_org_invitation(counter: &mut InviteeCounter, username: &str, grant: Grant) {
        if counter.has_legacy(username.as_bytes()) {
            counter.set_aside(username.as_bytes(), grant);
        } else {
            counter.aggregator().tally(
                grant.created,
                grant.expires,
                &grant.org_roles,
                &grant.project_roles,
            );
        }
    }

    #[test]
    fn an_invitee_with_an_org_and_a_project_invitation_counts_once_with_the_union_of_roles() {
        let legacy = grant(
            -10 * DAY,
            2 * DAY,
            &["GROUP_OWNER"],
            &[("p2", "GROUP_OWNER")],
        );
        let mut counter = counter(vec![("Dana@Example.com".to_owned(), legacy)]);
        add_org_invitation(
            &mut counter,
            "dana@example.com",
            grant(
                -DAY,
                29 * DAY,
                &["ORG_MEMBER"],
                &[("p1", "GROUP_READ_ONLY")],
            ),
        );
        add_org_invitation(
            &mut counter,
            "eve@example.com",
            grant(-DAY, 29 * DAY, &["ORG_MEMBER"], &[]),
        );
        let a = counter.finish();
        assert_eq!(a.pending, 2, "dana once, eve once");
        assert_eq!(
            a.stale, 1,
            "dana's oldest pending invitation is 10 days old"
        );
        assert_eq!(a.roles["ORG_MEMBER"].pending, 2);
        assert_eq!(a.roles["GROUP_OWNER"].pending, 1);
        assert_eq!(a.roles["GROUP_READ_ONLY"].pending, 1);
        assert_eq!(a.projects.get("p1"), Some(&1));
        assert_eq!(a.projects.get("p2"), Some(&1));
        assert_eq!(
            a.roles["GROUP_OWNER"].expiring,
            [1],
            "the legacy invitation expires within 72h"
        );
    }

    #[test]
    fn per_role_the_soonest_expiry_and_the_oldest_creation_count() {
        let legacy = grant(
            -20 * DAY,
            2 * DAY,
            &["GROUP_READ_ONLY"],
            &[("p1", "GROUP_READ_ONLY")],
        );
        let mut counter = counter(vec![("dana@example.com".to_owned(), legacy)]);
        add_org_invitation(
            &mut counter,
            "DANA@example.com",
            grant(
                -DAY,
                29 * DAY,
                &["ORG_MEMBER"],
                &[("p1", "GROUP_READ_ONLY")],
            ),
        );
        let a = counter.finish();
        let read_only = &a.roles["GROUP_READ_ONLY"];
        assert_eq!(read_only.pending, 1);
        assert_eq!(read_only.next_expiry, Some(NOW + 2 * DAY));
        assert_eq!(read_only.oldest_created, Some(NOW - 20 * DAY));
        let member = &a.roles["ORG_MEMBER"];
        assert_eq!(
            member.next_expiry,
            Some(NOW + 29 * DAY),
            "only the org invitation grants it"
        );
        assert_eq!(a.projects.get("p1"), Some(&1));
    }

    #[test]
    fn an_invitee_is_expired_only_when_every_invitation_is() {
        let expired = grant(
            -40 * DAY,
            -10 * DAY,
            &["GROUP_OWNER"],
            &[("p1", "GROUP_OWNER")],
        );
        let mut counter = counter(vec![
            ("a@example.com".to_owned(), expired.clone()),
            ("b@example.com".to_owned(), expired.clone()),
        ]);
        add_org_invitation(
            &mut counter,
            "a@example.com",
            grant(-DAY, 29 * DAY, &["ORG_MEMBER"], &[]),
        );
        let a = counter.finish();
        assert_eq!((a.pending, a.expired), (1, 1));
        assert_eq!(
            a.roles.get("GROUP_OWNER").map_or(0, |r| r.pending),
            0,
            "an expired invitation grants nothing"
        );
        assert!(a.projects.is_empty());
    }

    #[test]
    fn invitees_compare_case_insensitively_by_a_key_that_is_not_their_address() {
        let key = InviteeKey::of(b"Dana@Example.COM");
        assert_eq!(key, InviteeKey::of(b"dana@example.com"));
        assert_ne!(key, InviteeKey::of(b"dan@example.com"));
        assert!(!format!("{key:?}").contains("dana"));
        assert_eq!(domain_of(b"Dana@Example.COM"), "example.com");
        assert_eq!(domain_of(b"\"a@b\"@Example.com"), "example.com");
    }

    #[test]
    fn debug_output_names_no_invitee() {
        let legacy = grant(-DAY, DAY, &["GROUP_OWNER"], &[("p1", "GROUP_OWNER")]);
        let counter = counter(vec![("dana@example.com".to_owned(), legacy)]);
        let debug = format!("{counter:?}");
        assert!(!debug.contains("dana"), "{debug}");
        assert!(
            debug.contains("invitees_with_legacy_invitations: 1"),
            "{debug}"
        );
    }

    #[test]
    fn without_legacy_invitations_the_org_listing_counts_as_before() {
        let mut counter = counter(Vec::new());
        assert!(!counter.has_legacy(b"dana@example.com"));
        add_org_invitation(
            &mut counter,
            "dana@example.com",
            grant(-DAY, 29 * DAY, &["ORG_OWNER"], &[("p1", "GROUP_OWNER")]),
        );
        let a = counter.finish();
        assert_eq!(a.pending, 1);
        assert_eq!(a.roles["ORG_OWNER"].pending, 1);
    }
}
