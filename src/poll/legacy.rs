//! Legacy project invitations: the invitations made through the deprecated project endpoint, which
//! neither org listing shows. An organisation's projects are listed at most once per
//! `poll.slow_interval` (`getOrgGroups`); each project's invitations are read every poll
//! (`listGroupInvites`), before the org listing, so that the org listing can merge their invitees
//! ([`crate::metrics::invitees`]).
//!
//! Per project: a 403 counts it as forbidden and goes on; a 410 (with `auto`) stops asking it, logged
//! once; any other failure counts it as failed and keeps its last good listing. None of these fails
//! the organisation's poll.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};

use jiff::Timestamp;
use tokio::time::Instant;

use atlas_client::{ApiError, AtlasClient, Authenticator, CallRecord};

use crate::audit::record::InvitationDetails;
use crate::audit::record::{InvitationId, SeenInvitation};
use crate::config::ProjectInvitations;
use crate::metrics::aggregate::Grant;
use crate::metrics::facts::projects::{Project, ProjectCoverage, ProjectState};
use crate::metrics::invitees::{InviteeKey, LegacyGrant, domain_of};
use crate::metrics::policy::Policy;
use crate::poll::handover;
use crate::poll::slow::SlowSchedule;
use crate::types::OrgId;

/// One legacy invitation as it is kept between polls: its id and dates (for the lifecycle), its
/// invitee as the counting rule compares them (a keyed hash and the domain: no address), and its
/// audit details only while the audit stream is on.
#[derive(Clone)]
pub(crate) struct LegacyInvitation {
    pub id: String,
    pub counted: LegacyGrant,
    pub details: Option<Box<InvitationDetails>>,
}

/// What this process remembers of each organisation's projects between polls.
#[derive(Default)]
pub(crate) struct ProjectMemory {
    orgs: Mutex<HashMap<OrgId, Vec<KnownProject>>>,
}

/// Counts only: with the audit stream on, the invitations it holds name their invitees.
impl std::fmt::Debug for ProjectMemory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProjectMemory")
            .field("orgs", &self.lock().len())
            .finish_non_exhaustive()
    }
}

#[derive(Clone)]
struct KnownProject {
    id: String,
    name: String,
    state: ProjectState,
    /// The last good listing; kept through failures.
    invitations: Option<Vec<LegacyInvitation>>,
}

impl ProjectMemory {
    fn lock(&self) -> MutexGuard<'_, HashMap<OrgId, Vec<KnownProject>>> {
        self.orgs.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A new project listing: projects still listed keep what was read of them.
    fn relist(&self, org: &OrgId, listed: Vec<(String, String)>) {
        let mut orgs = self.lock();
        let known = orgs.remove(org).unwrap_or_default();
        let projects = listed
            .into_iter()
            .map(|(id, name)| match known.iter().find(|p| p.id == id) {
                Some(project) => KnownProject {
                    name,
                    ..project.clone()
                },
                None => KnownProject {
                    id,
                    name,
                    state: ProjectState::Failed,
                    invitations: None,
                },
            })
            .collect();
        orgs.insert(org.clone(), projects);
    }

    fn projects(&self, org: &OrgId) -> Option<Vec<KnownProject>> {
        self.lock().get(org).cloned()
    }

    fn store(&self, org: &OrgId, projects: Vec<KnownProject>) {
        self.lock().insert(org.clone(), projects);
    }

    /// Forgets an organisation (its projects cannot be listed, or it is read no longer).
    fn forget(&self, org: &OrgId) {
        self.lock().remove(org);
    }
}

/// What one poll read of an organisation's legacy project invitations.
pub(crate) struct LegacyRead {
    /// Every legacy invitation of the projects that could be read (or were read before a failure).
    pub invitations: Vec<LegacyInvitation>,
    /// What the metrics show of the projects; `None` when no project listing is known.
    pub coverage: Option<ProjectCoverage>,
    /// The project listing was due and failed without a refusal: it is due again once a poll of
    /// the organisation has succeeded ([`retry_listing`]), not at every poll of a broken network.
    pub listing_failed: bool,
    /// The `Deprecation` and `Sunset` headers of this poll's last project that answered (the
    /// endpoint is deprecated and sunsets): `None` when none did.
    pub notice: Option<(bool, Option<Timestamp>)>,
}

/// A failed project listing is tried again at the next poll (after one that succeeded).
pub(crate) fn retry_listing(slow: &SlowSchedule<String>, org: &OrgId) {
    slow.retry_soon(&listing_key(org));
}

fn listing_key(org: &OrgId) -> String {
    format!("{org}/projects")
}

/// Everything a reading needs.
pub(crate) struct LegacyCall<'a> {
    pub client: &'a AtlasClient,
    pub memory: &'a ProjectMemory,
    pub slow: &'a SlowSchedule<String>,
    pub org: &'a OrgId,
    pub mode: ProjectInvitations,
    /// Classes each invitation's inviter, so that no inviter's address is kept.
    pub policy: &'a Policy,
    /// Keep each invitation's personal details (the audit stream is on).
    pub keep_details: bool,
    pub auth: &'a Authenticator,
    pub deadline: Instant,
    pub calls: &'a mut Vec<CallRecord>,
}

/// Lists the projects if due, then reads every project's legacy invitations.
pub(crate) async fn read(call: LegacyCall<'_>) -> LegacyRead {
    let LegacyCall {
        client,
        memory,
        slow,
        org,
        mode,
        policy,
        keep_details,
        auth,
        deadline,
        calls,
    } = call;
    if mode == ProjectInvitations::Off {
        // What is forgotten is listed again as soon as the projects are asked for again, not a
        // slow interval later (a reload that turns them off and on again keeps no organisation
        // without its projects for an hour).
        memory.forget(org);
        retry_listing(slow, org);
        return LegacyRead {
            invitations: Vec::new(),
            coverage: None,
            listing_failed: false,
            notice: None,
        };
    }
    let key = listing_key(org);
    let mut listing_failed = false;
    let reader = std::ptr::from_ref(auth) as usize;
    if slow.claim(&key, reader, Instant::now()) {
        match client
            .get_org_groups(org.as_str(), auth, deadline, calls)
            .await
        {
            Ok(listing) => memory.relist(
                org,
                listing.items.into_iter().map(|g| (g.id, g.name)).collect(),
            ),
            Err(error) if matches!(error.status(), Some(403 | 404)) => {
                if slow.first_refusal(&key) {
                    tracing::warn!(
                        %org,
                        status = error.status(),
                        error_code = %error.error_code(),
                        "cannot list the organisation's projects (GET /orgs/{{orgId}}/groups needs Organization Member); \
                         its legacy project invitations are not read"
                    );
                }
                memory.forget(org);
            }
            Err(error) => {
                tracing::warn!(%org, %error, "listing the organisation's projects failed; the last listing is kept");
                listing_failed = true;
            }
        }
    }
    let Some(mut projects) = memory.projects(org) else {
        return LegacyRead {
            invitations: Vec::new(),
            coverage: None,
            listing_failed,
            notice: None,
        };
    };
    // Once a call gets no answer (network, timeout, token), the others would not either: the
    // remaining projects keep their last listing and count as failed, with no call.
    let mut unreachable = false;
    let mut notice = None;
    for project in projects
        .iter_mut()
        .filter(|p| p.state != ProjectState::Gone)
    {
        if unreachable {
            project.state = ProjectState::Failed;
            continue;
        }
        let listed = client
            .list_group_invites(&project.id, auth, deadline, calls)
            .await;
        match listed {
            Ok(listing) => {
                notice = Some((listing.deprecated, listing.sunset));
                project.state = ProjectState::Read;
                project.invitations = Some(
                    listing
                        .items
                        .into_iter()
                        .map(|invitation| {
                            legacy_invitation(invitation, &project.id, policy, keep_details)
                        })
                        .collect(),
                );
            }
            Err(error) => {
                unreachable = error.status().is_none();
                project.state = state_after(&error, mode);
                match project.state {
                    ProjectState::Forbidden | ProjectState::Gone => project.invitations = None,
                    _ => {}
                }
                log_failure(org, project, &error);
            }
        }
    }
    let now = Timestamp::now().as_second();
    let coverage = ProjectCoverage::new(projects.iter().map(|project| {
        let pending = project.invitations.as_ref().map(|invitations| {
            invitations
                .iter()
                .filter(|invitation| invitation.counted.grant.expires.is_some_and(|e| e > now))
                .count() as u64
        });
        let shown = Project {
            name: project.name.clone(),
            state: project.state,
            legacy_pending: pending,
        };
        (project.id.clone(), shown)
    }));
    let invitations = projects
        .iter()
        .flat_map(|p| p.invitations.iter().flatten().cloned())
        .collect();
    memory.store(org, projects);
    LegacyRead {
        invitations,
        coverage: Some(coverage),
        listing_failed,
        notice,
    }
}

fn state_after(error: &ApiError, mode: ProjectInvitations) -> ProjectState {
    match error.status() {
        Some(403) => ProjectState::Forbidden,
        Some(410) if mode == ProjectInvitations::Auto => ProjectState::Gone,
        _ => ProjectState::Failed,
    }
}

fn log_failure(org: &OrgId, project: &KnownProject, error: &ApiError) {
    match project.state {
        ProjectState::Gone => tracing::info!(
            %org,
            project_id = %project.id,
            "the legacy project invitations endpoint is gone (410) for this project: it is no longer asked"
        ),
        ProjectState::Forbidden => tracing::debug!(
            %org,
            project_id = %project.id,
            "the credential may not read this project's legacy invitations (403: needs Project Owner)"
        ),
        _ => tracing::warn!(
            %org,
            project_id = %project.id,
            error_code = %error.error_code(),
            %error,
            "reading the project's legacy invitations failed; its last listing is kept"
        ),
    }
}

impl LegacyInvitation {
    /// What the lifecycle keeps of it.
    pub(crate) fn seen(&self) -> SeenInvitation {
        SeenInvitation {
            id: InvitationId::from(self.id.as_str()),
            created_at: self.counted.grant.created,
            expires_at: self.counted.grant.expires,
            details: self.details.clone(),
        }
    }
}

/// A legacy invitation's roles: `GROUP_*` roles in its project, any other as an org role.
fn legacy_invitation(
    invitation: atlas_client::endpoints::list_group_invites::GroupInvitation,
    project_id: &str,
    policy: &Policy,
    keep_details: bool,
) -> LegacyInvitation {
    let (project_roles, org_roles): (Vec<String>, Vec<String>) = invitation
        .roles
        .into_iter()
        .partition(|role| role.starts_with("GROUP_"));
    let grant = Grant {
        created: invitation.created_at,
        expires: invitation.expires_at,
        org_roles,
        project_roles: project_roles
            .into_iter()
            .map(|role| (project_id.to_owned(), role))
            .collect(),
        team_ids: Vec::new(),
        inviter_expected: policy
            .inviter_expected(invitation.inviter_username.as_deref().map(str::as_bytes)),
    };
    let username = invitation.username.as_bytes();
    let details = keep_details.then(|| {
        let roles = grant
            .org_roles
            .iter()
            .chain(grant.project_roles.iter().map(|(_, role)| role))
            .map(String::as_bytes);
        handover::details(
            policy,
            username,
            invitation.inviter_username.as_deref().map(str::as_bytes),
            roles,
            grant
                .project_roles
                .iter()
                .map(|(project, _)| project.as_bytes()),
            std::iter::empty(),
        )
    });
    LegacyInvitation {
        id: invitation.id,
        counted: LegacyGrant {
            invitee: InviteeKey::of(username),
            domain: domain_of(username),
            grant,
        },
        details: details.map(Box::new),
    }
}
