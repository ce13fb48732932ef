//! The invitations' lifecycle: what changed, by invitation id, between two successful polls of an
//! organisation. `created`: an id not seen before; `removed`: an id gone before its expiry
//! (accepted or revoked); `expired`: its `expiresAt` passed since the previous poll, listed or not.
//!
//! The first successful poll after a start is a baseline and reports nothing (unless the audit
//! state file remembered the organisation); a failed poll compares nothing; a poll from another
//! source than the previous one (the org-users fallback lists other ids) starts a new baseline,
//! across a restart too (the state file keeps each organisation's source).
//! What is kept between polls is each invitation's id and dates, and its personal details only
//! while the audit stream is on.

use std::collections::{HashMap, HashSet};
use std::sync::{Mutex, MutexGuard};

use crate::audit::record::{EventKind, InvitationId, SeenInvitation};
use crate::types::{ActiveSource, LifecycleObserved, OrgId};

/// The last successful poll of each organisation, as far as the lifecycle needs it.
#[derive(Default)]
pub(crate) struct LifecycleMemory {
    orgs: Mutex<HashMap<OrgId, Previous>>,
}

/// Counts only: with the audit stream on, it holds invitees' addresses.
impl std::fmt::Debug for LifecycleMemory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LifecycleMemory")
            .field("orgs", &self.lock().len())
            .finish()
    }
}

#[derive(Clone, Debug)]
pub(crate) struct Previous {
    source: ActiveSource,
    /// The previous poll's time, seconds since the epoch.
    at: i64,
    seen: Vec<SeenInvitation>,
}

/// An organisation's last successful poll, as the state file keeps it.
#[derive(Clone, Debug)]
pub(crate) struct Remembered {
    pub source: ActiveSource,
    /// The poll's time, seconds since the epoch.
    pub at: i64,
    pub seen: Vec<SeenInvitation>,
}

/// One event and the invitation it is about (as seen now, or as last seen when it is gone).
pub(crate) type Event = (EventKind, SeenInvitation);

/// What one successful poll observed: the counts for the metrics, the events for the audit stream.
#[derive(Debug, Default)]
pub(crate) struct Observation {
    pub counts: LifecycleObserved,
    pub events: Vec<Event>,
}

impl LifecycleMemory {
    fn lock(&self) -> MutexGuard<'_, HashMap<OrgId, Previous>> {
        self.orgs.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Remembers organisations read from the state file: their next poll from the same source is
    /// no baseline.
    pub(crate) fn restore(&self, orgs: impl IntoIterator<Item = (OrgId, Remembered)>) {
        let mut memory = self.lock();
        for (org, remembered) in orgs {
            memory.insert(
                org,
                Previous {
                    source: remembered.source,
                    at: remembered.at,
                    seen: remembered.seen,
                },
            );
        }
    }

    /// Compares this poll's invitations with the previous successful poll's, and remembers them.
    /// `None` for a baseline.
    pub(crate) fn observe(
        &self,
        org: &OrgId,
        source: ActiveSource,
        now: i64,
        seen: Vec<SeenInvitation>,
    ) -> Option<Observation> {
        let current = Previous {
            source,
            at: now,
            seen,
        };
        let mut memory = self.lock();
        let observation = memory
            .get(org)
            .filter(|previous| previous.source == source)
            .map(|previous| compare(previous, &current));
        memory.insert(org.clone(), current);
        observation
    }

    /// Every organisation's last seen invitations, for the state file.
    pub(crate) fn snapshot(&self) -> Vec<(OrgId, Remembered)> {
        self.lock()
            .iter()
            .map(|(org, previous)| {
                let remembered = Remembered {
                    source: previous.source,
                    at: previous.at,
                    seen: previous.seen.clone(),
                };
                (org.clone(), remembered)
            })
            .collect()
    }

    /// Forgets organisations no longer polled, so a later return is a baseline.
    pub(crate) fn retain(&self, keep: &HashSet<OrgId>) {
        self.lock().retain(|org, _| keep.contains(org));
    }
}

/// The events between two polls. Rejected invitations (no expiry) are neither pending nor expired,
/// and take part in nothing.
fn compare(previous: &Previous, current: &Previous) -> Observation {
    let now = current.at;
    let before: HashMap<&InvitationId, &SeenInvitation> = previous
        .seen
        .iter()
        .filter(|s| s.expires_at.is_some())
        .map(|s| (&s.id, s))
        .collect();
    let listed: HashSet<&InvitationId> = current.seen.iter().map(|s| &s.id).collect();
    let expired_since = |seen: &SeenInvitation| {
        seen.expires_at
            .is_some_and(|expires| expires > previous.at && expires <= now)
    };
    let mut observation = Observation::default();
    for seen in current.seen.iter().filter(|s| s.expires_at.is_some()) {
        match before.get(&seen.id) {
            None => {
                observation.counts.created += 1;
                observation.events.push((EventKind::Created, seen.clone()));
                if expired_since(seen) {
                    observation.counts.expired += 1;
                    observation.events.push((EventKind::Expired, seen.clone()));
                }
            }
            Some(_) if expired_since(seen) => {
                observation.counts.expired += 1;
                observation.events.push((EventKind::Expired, seen.clone()));
            }
            Some(_) => {}
        }
    }
    for seen in previous.seen.iter().filter(|s| s.expires_at.is_some()) {
        if listed.contains(&seen.id) {
            continue;
        }
        if expired_since(seen) {
            observation.counts.expired += 1;
            observation.events.push((EventKind::Expired, seen.clone()));
        } else if seen.expires_at.is_some_and(|expires| expires > now) {
            observation.counts.removed += 1;
            observation
                .counts
                .removal_ages
                .push(now.saturating_sub(seen.created_at).max(0));
            observation.events.push((EventKind::Removed, seen.clone()));
        }
    }
    observation
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: i64 = 1_800_000_000;
    const DAY: i64 = 86_400;

    fn org() -> OrgId {
        OrgId::parse("aaaaaaaaaaaaaaaaaaaaaaaa").unwrap()
    }

    fn seen(id: &str, created: i64, expires: Option<i64>) -> SeenInvitation {
        SeenInvitation {
            id: id.into(),
            created_at: created,
            expires_at: expires,
            details: None,
        }
    }

    fn kinds(observation: &Observation) -> Vec<(EventKind, String)> {
        let mut kinds: Vec<(EventKind, String)> = observation
            .events
            .iter()
            .map(|(kind, seen)| (*kind, seen.id.to_string()))
            .collect();
        kinds.sort_by_key(|(kind, id)| (kind.label(), id.clone()));
        kinds
    }

    #[test]
    fn the_first_poll_is_a_baseline_and_the_next_reports_each_change_once() {
        let memory = LifecycleMemory::default();
        let first = vec![
            seen("stays", T0 - DAY, Some(T0 + 20 * DAY)),
            seen("accepted", T0 - 3 * DAY, Some(T0 + 27 * DAY)),
            seen("expires", T0 - 30 * DAY + 60, Some(T0 + 60)),
            seen("gone-expiring", T0 - 30 * DAY + 60, Some(T0 + 60)),
            seen("old-expired", T0 - 40 * DAY, Some(T0 - 10 * DAY)),
            seen("rejected", T0 - DAY, None),
        ];
        assert!(
            memory
                .observe(&org(), ActiveSource::Invites, T0, first)
                .is_none()
        );
        let second = vec![
            seen("stays", T0 - DAY, Some(T0 + 20 * DAY)),
            seen("new", T0 + 100, Some(T0 + 30 * DAY)),
            seen("expires", T0 - 30 * DAY + 60, Some(T0 + 60)),
            seen("old-expired", T0 - 40 * DAY, Some(T0 - 10 * DAY)),
        ];
        let observed = memory
            .observe(&org(), ActiveSource::Invites, T0 + 300, second)
            .unwrap();
        assert_eq!(
            kinds(&observed),
            [
                (EventKind::Created, "new".to_owned()),
                (EventKind::Expired, "expires".to_owned()),
                (EventKind::Expired, "gone-expiring".to_owned()),
                (EventKind::Removed, "accepted".to_owned()),
            ]
        );
        assert_eq!(
            (
                observed.counts.created,
                observed.counts.removed,
                observed.counts.expired
            ),
            (1, 1, 2)
        );
        assert_eq!(observed.counts.removal_ages, [3 * DAY + 300]);

        // Nothing changed: nothing reported, the expired one is not reported again.
        let third = vec![
            seen("stays", T0 - DAY, Some(T0 + 20 * DAY)),
            seen("new", T0 + 100, Some(T0 + 30 * DAY)),
            seen("expires", T0 - 30 * DAY + 60, Some(T0 + 60)),
        ];
        let observed = memory
            .observe(&org(), ActiveSource::Invites, T0 + 600, third)
            .unwrap();
        assert!(observed.events.is_empty(), "{:?}", kinds(&observed));
    }

    #[test]
    fn a_source_switch_starts_a_new_baseline_before_and_after_a_restart() {
        let memory = LifecycleMemory::default();
        memory.observe(
            &org(),
            ActiveSource::Invites,
            T0,
            vec![seen("a", T0 - DAY, Some(T0 + DAY))],
        );
        assert!(
            memory
                .observe(&org(), ActiveSource::OrgUsers, T0 + 60, Vec::new())
                .is_none()
        );

        // Restored from the state file: the same source compares, another is a new baseline.
        let restored = |source| {
            let memory = LifecycleMemory::default();
            let seen = vec![seen("a", T0 - DAY, Some(T0 + DAY))];
            memory.restore([(
                org(),
                Remembered {
                    source,
                    at: T0,
                    seen,
                },
            )]);
            memory
        };
        let observed = restored(ActiveSource::Invites)
            .observe(&org(), ActiveSource::Invites, T0 + 60, Vec::new())
            .unwrap();
        assert_eq!(kinds(&observed), [(EventKind::Removed, "a".to_owned())]);
        assert!(
            restored(ActiveSource::Invites)
                .observe(&org(), ActiveSource::OrgUsers, T0 + 60, Vec::new())
                .is_none()
        );
    }

    #[test]
    fn debug_output_names_no_invitee() {
        let memory = LifecycleMemory::default();
        let mut with_details = seen("a", T0, Some(T0 + DAY));
        with_details.details = Some(Box::new(crate::audit::record::InvitationDetails {
            invitee: "dana@example.com".to_owned(),
            inviter: None,
            roles: Vec::new(),
            project_ids: Vec::new(),
            team_ids: Vec::new(),
            domain_class: "external".to_owned(),
            tier: "read".to_owned(),
            risk_reasons: Vec::new(),
        }));
        memory.observe(&org(), ActiveSource::Invites, T0, vec![with_details]);
        assert!(!format!("{memory:?}").contains("dana"));
    }
}
