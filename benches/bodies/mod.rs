//! Bodies for the poll-path benchmarks, with the JSON shape the simulator serves (and the OpenAPI
//! spec documents): every field, e-mail addresses and links included, so a decoder skips as much as
//! it would against Atlas. Shared by `benches/poll.rs` (divan) and `benches/poll_ratio.rs` (paired).

use std::fmt::Write as _;
use std::sync::LazyLock;
use std::time::Duration;

use atlas_invites_exporter::config::ExpiryWindow;
use atlas_invites_exporter::metrics::aggregate::{AggregateSettings, Aggregator, OrgAggregate};
use atlas_invites_exporter::metrics::policy::Policy;
use atlas_invites_exporter::poll::handover::PollSink;
use jiff::Timestamp;
use std::sync::Arc;

/// Invitations per body: from a small organisation to far beyond any real one.
pub const COUNTS: &[usize] = &[100, 1_000, 10_000, 100_000];

const NOW: i64 = 1_800_000_000;
const DAY: i64 = 86_400;
const ORG_ID: &str = "6523f1a0c8e4b2d9f0a1b001";
const ORG_ROLES: [&str; 4] = [
    "ORG_MEMBER",
    "ORG_OWNER",
    "ORG_READ_ONLY",
    "ORG_GROUP_CREATOR",
];
const GROUP_ROLES: [&str; 4] = [
    "GROUP_READ_ONLY",
    "GROUP_OWNER",
    "GROUP_DATA_ACCESS_READ_WRITE",
    "GROUP_CLUSTER_MANAGER",
];

fn date(seconds: i64) -> String {
    Timestamp::from_second(seconds)
        .map(|t| t.to_string())
        .unwrap_or_default()
}

/// 24 hex digits, distinct per `(kind, n)`.
fn id(kind: u32, n: usize) -> String {
    format!("{kind:08x}{n:016x}")
}

/// Invitation `n`: sent 0–39 days ago (so about a quarter have expired), one or two org roles, zero to
/// three project roles across 50 projects.
struct Shape {
    created: i64,
    org_roles: Vec<&'static str>,
    project_roles: Vec<(String, &'static str)>,
}

fn shape(n: usize) -> Shape {
    let created = NOW - (n as i64 % 40) * DAY - (n as i64 % 3600);
    let mut org_roles = vec![ORG_ROLES[n % ORG_ROLES.len()]];
    if n.is_multiple_of(5) {
        org_roles.push("ORG_BILLING_READ_ONLY");
    }
    let project_roles = (0..n % 4)
        .map(|k| {
            (
                id(0xc0, (n + k * 7) % 50),
                GROUP_ROLES[(n + k) % GROUP_ROLES.len()],
            )
        })
        .collect();
    Shape {
        created,
        org_roles,
        project_roles,
    }
}

fn quoted_list<'a>(items: impl IntoIterator<Item = &'a str>) -> String {
    let items: Vec<String> = items.into_iter().map(|s| format!("\"{s}\"")).collect();
    items.join(",")
}

/// A `listOrgInvites` body (a bare array of `OrganizationInvitation`), as the simulator writes it.
pub fn invites_body(count: usize) -> Vec<u8> {
    let mut out = String::from("[");
    for n in 0..count {
        let shape = shape(n);
        let invitation = id(0xe1, n);
        let assignments: Vec<String> = shape
            .project_roles
            .iter()
            .map(|(group, role)| format!(r#"{{"groupId":"{group}","groupRole":"{role}"}}"#))
            .collect();
        if n > 0 {
            out.push(',');
        }
        let _ = write!(
            out,
            r#"{{"createdAt":"{}","expiresAt":"{}","groupRoleAssignments":[{}],"id":"{invitation}","inviterUsername":"owner{}@example.com","links":[{{"href":"https://cloud.mongodb.com/api/atlas/v2/orgs/{ORG_ID}/invites/{invitation}","rel":"self"}}],"orgId":"{ORG_ID}","orgName":"Acme Production","roles":[{}],"teamIds":[],"username":"invitee{n}@example.com"}}"#,
            date(shape.created),
            date(shape.created + 30 * DAY),
            assignments.join(","),
            n % 7,
            quoted_list(shape.org_roles),
        );
    }
    out.push(']');
    out.into_bytes()
}

/// A `listOrgUsers` page (`PaginatedOrgUserView`, resource version 2025-02-19) of pending and expired
/// invitations, as the simulator writes it. Atlas pages hold at most 500; larger pages show the slope.
pub fn users_page(count: usize) -> Vec<u8> {
    let mut out = format!(
        r#"{{"links":[{{"href":"https://cloud.mongodb.com/api/atlas/v2/orgs/{ORG_ID}/users?orgMembershipStatuses=PENDING&orgMembershipStatuses=INVITATION_EXPIRED&itemsPerPage=500&pageNum=1","rel":"self"}}],"results":["#
    );
    for n in 0..count {
        let shape = shape(n);
        let expires = shape.created + 30 * DAY;
        let status = if expires <= NOW {
            "INVITATION_EXPIRED"
        } else {
            "PENDING"
        };
        // One assignment per project, with all its roles (uniqueItems).
        let mut projects: Vec<(String, Vec<&str>)> = Vec::new();
        for (group, role) in &shape.project_roles {
            match projects.iter_mut().find(|(g, _)| g == group) {
                Some((_, roles)) if !roles.contains(role) => roles.push(role),
                Some(_) => {}
                None => projects.push((group.clone(), vec![role])),
            }
        }
        let assignments: Vec<String> = projects
            .iter()
            .map(|(group, roles)| {
                format!(
                    r#"{{"groupId":"{group}","groupRoles":[{}]}}"#,
                    quoted_list(roles.iter().copied())
                )
            })
            .collect();
        if n > 0 {
            out.push(',');
        }
        let _ = write!(
            out,
            r#"{{"id":"{}","invitationCreatedAt":"{}","invitationExpiresAt":"{}","inviterUsername":"owner{}@example.com","orgMembershipStatus":"{status}","roles":{{"groupRoleAssignments":[{}],"orgRoles":[{}]}},"teamIds":[],"username":"invitee{n}@example.com"}}"#,
            id(0xe1, n),
            date(shape.created),
            date(expires),
            n % 7,
            assignments.join(","),
            quoted_list(shape.org_roles),
        );
    }
    let _ = write!(out, r#"],"totalCount":{count}}}"#);
    out.into_bytes()
}

/// The expiry windows, parsed once as the exporter parses its configuration once: what a poll costs
/// starts at `Aggregator::new`.
static WINDOWS: LazyLock<Vec<ExpiryWindow>> = LazyLock::new(|| {
    ["24h", "72h", "168h"]
        .iter()
        .map(|label| ExpiryWindow {
            label: (*label).to_owned(),
            duration: humantime::parse_duration(label).unwrap_or_default(),
        })
        .collect()
});

/// An empty `[policy]` (the built-in free-mail domains and tiers), built once as a poller builds it
/// once per configuration.
static POLICY: LazyLock<Arc<Policy>> = LazyLock::new(Arc::default);

fn settings_and_now<T>(then: impl FnOnce(&AggregateSettings<'_>, Timestamp) -> T) -> T {
    let windows = &*WINDOWS;
    let settings = AggregateSettings {
        expiry_windows: windows,
        stale_age: Duration::from_secs(7 * DAY as u64),
        policy: POLICY.clone(),
    };
    then(
        &settings,
        Timestamp::from_second(NOW).unwrap_or(Timestamp::UNIX_EPOCH),
    )
}

pub fn aggregate(invitations: &[atlas_client::Invitation]) -> OrgAggregate {
    settings_and_now(|settings, now| {
        atlas_invites_exporter::poll::handover::count(invitations, now, settings)
    })
}

/// The poll path's sink, as a poll builds it: the counter and the lifecycle's record of each
/// invitation.
pub fn aggregator() -> PollSink {
    settings_and_now(|settings, now| PollSink::new(Aggregator::new(now, settings)))
}
