//! The demo world `--demo` serves (five organisations, one of every case the metrics need, with their
//! projects, legacy project invitations, teams and active members), its credentials, and the generated
//! worlds of the load, soak and performance runs.
//!
//! Which org shows what (the e2e check `.ci/e2e-prometheus.sh` expects each org's alerts, so a case
//! goes where it trips no alert that org is not expected to have):
//! - Acme Production: roles (the only ORG_OWNER invitation), projects, expiry windows, stale and
//!   expired invitations, legacy project invitations and a project it may not read, teams, seats.
//! - Zürich "Analytics" Ōsaka: names with quotes and non-ASCII letters; a partner invitee with a
//!   project admin role, a free-mail invitee with GROUP_OWNER; and the churn ([`DEMO_CHURN_PERIOD`],
//!   see [`Churn`]), in each four minutes from the start: an invitation listed from 0:00 expires at
//!   1:00 while listed (and is gone at 3:00), one created at 0:30 is accepted at 2:00, one created at
//!   1:30 is revoked at 2:30; the first poll sees only the expiring one.
//! - Sandbox: the invitee domains and inviters, none stale or expiring within a day: internal
//!   ([`DEMO_INTERNAL_DOMAIN`]), partner ([`DEMO_PARTNER_DOMAIN`]), free-mail
//!   ([`DEMO_FREE_MAIL_DOMAINS`]) and an upper-case free-mail address, one invitation naming no
//!   inviter ([`DEMO_INVITATION_NO_INVITER`]) and one from [`DEMO_UNEXPECTED_INVITER`]; privilege
//!   tiers admin, write and read.
//! - Rate Limited Org: 429 every third call. Forbidden Org: 403 every call.
//!
//! Every inviter of the demo is one of [`DEMO_EXPECTED_INVITERS`] except [`DEMO_UNEXPECTED_INVITER`].

use std::time::Duration;

use crate::world::{
    Behaviour, Churn, DAY, HOUR, ProjectAccess, SimInvitation, SimOrg, SimProject,
    SimServiceAccountSecret, SimTeam, SimTime, World,
};

/// Client id of the demo service account.
pub const DEMO_CLIENT_ID: &str = "mdb_sa_id_demo0000000000000000";
/// Client secret of the demo service account. Public on purpose: it only opens the simulator.
pub const DEMO_CLIENT_SECRET: &str = "mdb_sa_sk_demo-simulator-only-0000000000000000";
/// Id of the demo service account's secret (`getOrgServiceAccount`).
pub const DEMO_SECRET_ID: &str = "6523f1a0c8e4b2d9f0a1d001";
/// Days until the demo service account's secret expires, counted from each response.
pub const DEMO_SECRET_EXPIRES_IN_DAYS: i64 = 10;
/// Public key of the demo API key (Atlas public keys are 8 lowercase letters).
pub const DEMO_PUBLIC_KEY: &str = "demokeyx";
/// Private key of the demo API key. Public on purpose: it only opens the simulator.
pub const DEMO_PRIVATE_KEY: &str = "00000000-0000-4000-8000-0000000de700";

/// Id of the demo organisation "Acme Production".
pub const DEMO_ORG_ACME: &str = "6523f1a0c8e4b2d9f0a1b001";
/// Id of the demo organisation whose name has quotes and non-ASCII letters.
pub const DEMO_ORG_ZURICH: &str = "6523f1a0c8e4b2d9f0a1b002";
/// Id of the demo organisation "Sandbox".
pub const DEMO_ORG_SANDBOX: &str = "6523f1a0c8e4b2d9f0a1b003";
/// Id of the demo organisation that answers every third call with 429.
pub const DEMO_ORG_RATE_LIMITED: &str = "6523f1a0c8e4b2d9f0a1b004";
/// Id of the demo organisation that refuses every call with 403.
pub const DEMO_ORG_FORBIDDEN: &str = "6523f1a0c8e4b2d9f0a1b005";
/// Active members of Acme Production (`/users` with `orgMembershipStatuses=ACTIVE` counts them).
pub const DEMO_ACME_ACTIVE_USERS: u32 = 120;
/// Acme's project "web-frontend", with legacy project invitations: `Carol@Example.com`, whom Acme has
/// also invited to the org as `carol@example.com`, and `oscar@example.com`, invited to the project only.
pub const DEMO_PROJECT_LEGACY_INVITES: &str = ACME_PROJECT_WEB;
/// Acme's project "billing", whose invitations the demo credential may not read (403).
pub const DEMO_PROJECT_FORBIDDEN: &str = ACME_PROJECT_BILLING;
/// A team that bob's pending Acme invitation names but Acme's teams listing does not return.
pub const DEMO_TEAM_UNLISTED: &str = "6523f1a0c8e4b2d9f0a1f1ff";

/// How often Zürich's churn repeats: short, so lifecycle panels show events within minutes.
pub const DEMO_CHURN_PERIOD: Duration = Duration::from_secs(240);
/// The demo's own e-mail domain: Acme's, Sandbox's internal invitees' and the churned ones'.
pub const DEMO_INTERNAL_DOMAIN: &str = "example.com";
/// A partner's domain: one invitee in Sandbox, one (a project admin) in Zürich.
pub const DEMO_PARTNER_DOMAIN: &str = "partner.example.org";
/// Free-mail domains: invitees in Sandbox (one as `Someone@GMAIL.COM`) and Zürich (a GROUP_OWNER).
pub const DEMO_FREE_MAIL_DOMAINS: [&str; 2] = ["gmail.com", "outlook.com"];
/// Who sent every demo invitation that names an inviter, bar one ([`DEMO_UNEXPECTED_INVITER`]).
pub const DEMO_EXPECTED_INVITERS: [&str; 3] = [
    "owner@example.com",
    "alice.admin@example.com",
    "anna@example.ch",
];
/// The one inviter nobody expects: a contractor's intern, who invited Sandbox's outlook.com invitee.
pub const DEMO_UNEXPECTED_INVITER: &str = "intern@contractor.example.net";
/// Sandbox's invitation naming no inviter (`inviterUsername` absent): a partner, ORG_READ_ONLY.
pub const DEMO_INVITATION_NO_INVITER: &str = "6523f1a0c8e4b2d9f0a1e305";
/// Sandbox's invitation sent by [`DEMO_UNEXPECTED_INVITER`].
pub const DEMO_INVITATION_UNEXPECTED_INVITER: &str = "6523f1a0c8e4b2d9f0a1e306";
/// Sandbox's invitation to `Someone@GMAIL.COM` (upper case), Project Data Access Admin.
pub const DEMO_INVITATION_UPPERCASE_FREE_MAIL: &str = "6523f1a0c8e4b2d9f0a1e304";
/// Zürich's invitation of a gmail.com address as Project Owner of "streams".
pub const DEMO_INVITATION_FREE_MAIL_OWNER: &str = "6523f1a0c8e4b2d9f0a1e206";

impl World {
    /// A deterministic world in which every metric of the exporter has data: one service account
    /// ([`DEMO_CLIENT_ID`]/[`DEMO_CLIENT_SECRET`], its secret expiring in
    /// [`DEMO_SECRET_EXPIRES_IN_DAYS`] days), one API key ([`DEMO_PUBLIC_KEY`]/[`DEMO_PRIVATE_KEY`]),
    /// and five organisations: Acme Production (roles, projects, expiry windows, stale and expired
    /// invitations), one whose name has quotes and non-ASCII letters, Sandbox, one rate limited every
    /// third call and one that refuses every call. Acme also has [`DEMO_ACME_ACTIVE_USERS`] active
    /// members, teams (one of bob's invitation's `teamIds`, [`DEMO_TEAM_UNLISTED`], is not among them)
    /// and projects: [`DEMO_PROJECT_LEGACY_INVITES`] with legacy project invitations (one invitee also
    /// invited to the org under another letter case, one not) and [`DEMO_PROJECT_FORBIDDEN`] (403).
    /// Zürich churns and Sandbox shows the invitee domains and inviters (see the module's docs).
    pub fn demo() -> World {
        World {
            orgs: vec![
                SimOrg::new(DEMO_ORG_ACME, "Acme Production", acme_invitations())
                    .with_active_users(DEMO_ACME_ACTIVE_USERS)
                    .with_projects(acme_projects())
                    .with_teams(vec![
                        SimTeam::new(ACME_TEAM_PLATFORM, "Platform"),
                        SimTeam::new(ACME_TEAM_DATA, "Data Engineering"),
                    ]),
                SimOrg::new(
                    DEMO_ORG_ZURICH,
                    "Zürich \"Analytics\" Ōsaka",
                    zurich_invitations(),
                )
                .with_active_users(15)
                .with_projects(vec![
                    SimProject::new(ZURICH_PROJECT_LAKE, "data-lake"),
                    SimProject::new(ZURICH_PROJECT_STREAMS, "streams"),
                ])
                .with_teams(vec![SimTeam::new(
                    "6523f1a0c8e4b2d9f0a1f201",
                    "Analytik & Ōsaka",
                )])
                .with_churn(Churn::every(DEMO_CHURN_PERIOD)),
                SimOrg::new(DEMO_ORG_SANDBOX, "Sandbox", sandbox_invitations())
                    .with_active_users(3)
                    .with_projects(vec![SimProject::new(SANDBOX_PROJECT, "sandbox")]),
                SimOrg {
                    active_users: 40,
                    projects: vec![SimProject::new(RATE_LIMITED_PROJECT, "search")],
                    behaviour: Behaviour::RateLimitedEvery {
                        n: 3,
                        retry_after_secs: Some(1),
                    },
                    ..SimOrg::new(
                        DEMO_ORG_RATE_LIMITED,
                        "Rate Limited Org",
                        rate_limited_invitations(),
                    )
                },
                SimOrg {
                    behaviour: Behaviour::Forbidden,
                    ..SimOrg::new(
                        DEMO_ORG_FORBIDDEN,
                        "Forbidden Org",
                        vec![SimInvitation::sent_ago(
                            "6523f1a0c8e4b2d9f0a1e501",
                            "nobody@example.com",
                            DAY,
                        )],
                    )
                },
            ],
            service_accounts: vec![(DEMO_CLIENT_ID.to_owned(), DEMO_CLIENT_SECRET.to_owned())],
            // Expiring soon, so the demo shows a credential about to stop working.
            service_account_secrets: vec![
                SimServiceAccountSecret::expiring_in(
                    DEMO_CLIENT_ID,
                    DEMO_SECRET_ID,
                    DEMO_SECRET_EXPIRES_IN_DAYS * DAY,
                )
                .with_masked_secret(DEMO_CLIENT_SECRET),
            ],
            api_keys: vec![(DEMO_PUBLIC_KEY.to_owned(), DEMO_PRIVATE_KEY.to_owned())],
            ..World::default()
        }
    }
}

/// `orgs` organisations with ids counting up from a fixed base, five invitations each: an owner, two
/// members (one in a project), one expiring within a day and one created ten days ago; with
/// `fault_every`, every n-th call of each answers 429 (load, soak and performance runs). The rest of the
/// world (credentials, token lifetime) is the demo's. No projects: see
/// [`generated_world_with_projects`].
pub fn generated_world(orgs: u32, fault_every: Option<u32>) -> World {
    generated_world_with_projects(orgs, 0, fault_every)
}

/// [`generated_world`] whose orgs have `projects_per_org` projects each, every one with a legacy
/// project invitation (GROUP_READ_ONLY, sent five days ago) of its own; project ids count up from a
/// base of their own, so they are unique across orgs.
pub fn generated_world_with_projects(
    orgs: u32,
    projects_per_org: u32,
    fault_every: Option<u32>,
) -> World {
    let base = World::demo();
    let orgs = (0..u128::from(orgs))
        .map(|i| {
            let id = format!("{:024x}", 0x6600_0000_0000_0000_0000_0000u128 + i);
            let invitation = |n: u32, created: i64, roles: &[&str]| {
                SimInvitation::sent_ago(
                    format!("{id}{n:02}"),
                    format!("user{n}@example.com"),
                    -created,
                )
                .with_dates(
                    SimTime::FromNow(created),
                    SimTime::FromNow(created + 30 * DAY),
                )
                .with_org_roles(roles.iter().copied())
            };
            let invitations = vec![
                invitation(1, -2 * DAY, &["ORG_OWNER"]),
                invitation(2, -3 * DAY, &["ORG_MEMBER"]),
                invitation(3, -4 * DAY, &["ORG_MEMBER"])
                    .with_project_role(format!("{:024x}", i + 1), "GROUP_READ_ONLY"),
                invitation(4, -29 * DAY - DAY / 2, &["ORG_MEMBER"]),
                invitation(5, -10 * DAY, &["ORG_READ_ONLY"]),
            ];
            let behaviour = match fault_every {
                Some(n) if n > 0 => Behaviour::RateLimitedEvery {
                    n,
                    retry_after_secs: Some(1),
                },
                _ => Behaviour::Normal,
            };
            let projects = (0..u128::from(projects_per_org))
                .map(|p| {
                    let project_id = format!(
                        "{:024x}",
                        0x6700_0000_0000_0000_0000_0000u128 + (i << 32) + p
                    );
                    let invitation = SimInvitation::sent_ago(
                        format!(
                            "{:024x}",
                            0x6800_0000_0000_0000_0000_0000u128 + (i << 32) + p
                        ),
                        format!("project{p}@example.com"),
                        5 * DAY,
                    )
                    .with_org_roles(["GROUP_READ_ONLY"]);
                    SimProject::new(project_id, format!("generated-{i}-{p}"))
                        .with_invitations(vec![invitation])
                })
                .collect();
            SimOrg {
                behaviour,
                projects,
                ..SimOrg::new(id, format!("Generated org {i}"), invitations)
            }
        })
        .collect();
    World { orgs, ..base }
}

const ACME_PROJECT_WEB: &str = "6523f1a0c8e4b2d9f0a1c101";
const ACME_PROJECT_ANALYTICS: &str = "6523f1a0c8e4b2d9f0a1c102";
const ACME_PROJECT_BILLING: &str = "6523f1a0c8e4b2d9f0a1c103";
const ZURICH_PROJECT_LAKE: &str = "6523f1a0c8e4b2d9f0a1c201";
const ZURICH_PROJECT_STREAMS: &str = "6523f1a0c8e4b2d9f0a1c202";
const SANDBOX_PROJECT: &str = "6523f1a0c8e4b2d9f0a1c301";
const RATE_LIMITED_PROJECT: &str = "6523f1a0c8e4b2d9f0a1c401";
const ACME_TEAM_PLATFORM: &str = "6523f1a0c8e4b2d9f0a1f101";
const ACME_TEAM_DATA: &str = "6523f1a0c8e4b2d9f0a1f102";

/// web-frontend has legacy invitations (one invitee also invited to the org, one not), analytics none,
/// and billing's the demo credential may not read.
fn acme_projects() -> Vec<SimProject> {
    let legacy = vec![
        // The org invitation e103 invites the same person as carol@example.com.
        SimInvitation::sent_ago("6523f1a0c8e4b2d9f0a1e601", "Carol@Example.com", 3 * DAY)
            .with_org_roles(["GROUP_READ_ONLY"]),
        SimInvitation::sent_ago("6523f1a0c8e4b2d9f0a1e602", "oscar@example.com", 6 * DAY)
            .with_org_roles(["GROUP_DATA_ACCESS_READ_WRITE", "GROUP_READ_ONLY"])
            .with_inviter("alice.admin@example.com"),
    ];
    vec![
        SimProject::new(ACME_PROJECT_WEB, "web-frontend").with_invitations(legacy),
        SimProject::new(ACME_PROJECT_ANALYTICS, "analytics"),
        SimProject::new(ACME_PROJECT_BILLING, "billing")
            .with_access(ProjectAccess::Forbidden)
            .with_invitations(vec![
                SimInvitation::sent_ago("6523f1a0c8e4b2d9f0a1e603", "payroll@example.com", DAY)
                    .with_org_roles(["GROUP_OWNER"]),
            ]),
    ]
}

fn acme_invitations() -> Vec<SimInvitation> {
    vec![
        SimInvitation::sent_ago("6523f1a0c8e4b2d9f0a1e101", "alice@example.com", 2 * DAY)
            .with_org_roles(["ORG_OWNER"]),
        SimInvitation::sent_ago("6523f1a0c8e4b2d9f0a1e102", "bob@example.com", DAY)
            .with_project_role(ACME_PROJECT_WEB, "GROUP_OWNER")
            .with_team_ids([ACME_TEAM_PLATFORM, DEMO_TEAM_UNLISTED]),
        // Also invited to web-frontend the legacy way, as Carol@Example.com.
        SimInvitation::sent_ago("6523f1a0c8e4b2d9f0a1e103", "carol@example.com", 5 * DAY)
            .with_team_ids([ACME_TEAM_DATA])
            .with_project_role(ACME_PROJECT_WEB, "GROUP_READ_ONLY")
            .with_project_role(ACME_PROJECT_ANALYTICS, "GROUP_READ_ONLY"),
        // Expires in 12 hours.
        SimInvitation::sent_ago(
            "6523f1a0c8e4b2d9f0a1e104",
            "dave@example.com",
            29 * DAY + 12 * HOUR,
        )
        .with_project_role(ACME_PROJECT_BILLING, "GROUP_DATA_ACCESS_READ_WRITE"),
        // Expires in 59 hours: inside a 72h window, outside 24h.
        SimInvitation::sent_ago(
            "6523f1a0c8e4b2d9f0a1e105",
            "erin@example.com",
            30 * DAY - 59 * HOUR,
        ),
        // Stale: older than a week.
        SimInvitation::sent_ago("6523f1a0c8e4b2d9f0a1e106", "frank@example.com", 10 * DAY)
            .with_project_role(ACME_PROJECT_ANALYTICS, "GROUP_DATA_ACCESS_READ_WRITE")
            .with_inviter("alice.admin@example.com"),
        // Expired a day ago but still listed.
        SimInvitation::sent_ago("6523f1a0c8e4b2d9f0a1e107", "grace@example.com", 31 * DAY)
            .with_project_role(ACME_PROJECT_BILLING, "GROUP_OWNER"),
        SimInvitation::sent_ago("6523f1a0c8e4b2d9f0a1e108", "heidi@example.com", 3 * HOUR)
            .with_org_roles(["ORG_GROUP_CREATOR"]),
    ]
}

fn zurich_invitations() -> Vec<SimInvitation> {
    vec![
        SimInvitation::sent_ago("6523f1a0c8e4b2d9f0a1e201", "jürg@example.ch", DAY)
            .with_org_roles(["ORG_BILLING_ADMIN"])
            .with_inviter("anna@example.ch"),
        SimInvitation::sent_ago("6523f1a0c8e4b2d9f0a1e202", "haruka@example.jp", 6 * DAY)
            .with_project_role(ZURICH_PROJECT_LAKE, "GROUP_CLUSTER_MANAGER")
            .with_inviter("anna@example.ch"),
        // Expires in 20 hours.
        SimInvitation::sent_ago(
            "6523f1a0c8e4b2d9f0a1e203",
            "lukas@example.ch",
            29 * DAY + 4 * HOUR,
        )
        .with_project_role(ZURICH_PROJECT_LAKE, "GROUP_CLUSTER_MANAGER")
        .with_project_role(ZURICH_PROJECT_STREAMS, "GROUP_DATA_ACCESS_READ_ONLY")
        .with_inviter("anna@example.ch"),
        SimInvitation::sent_ago("6523f1a0c8e4b2d9f0a1e204", "sora@example.jp", 8 * DAY)
            .with_org_roles(["ORG_STREAM_PROCESSING_ADMIN", "ORG_BILLING_READ_ONLY"])
            .with_inviter("anna@example.ch"),
        // A partner as admin of a project's database users.
        SimInvitation::sent_ago(
            "6523f1a0c8e4b2d9f0a1e205",
            "lena@partner.example.org",
            2 * DAY,
        )
        .with_project_role(ZURICH_PROJECT_LAKE, "GROUP_DATABASE_ACCESS_ADMIN")
        .with_inviter("anna@example.ch"),
        // A free-mail address as Project Owner.
        SimInvitation::sent_ago(DEMO_INVITATION_FREE_MAIL_OWNER, "max.muster@gmail.com", DAY)
            .with_project_role(ZURICH_PROJECT_STREAMS, "GROUP_OWNER")
            .with_inviter("anna@example.ch"),
    ]
}

fn sandbox_invitations() -> Vec<SimInvitation> {
    vec![
        SimInvitation::sent_ago("6523f1a0c8e4b2d9f0a1e301", "intern@example.com", 4 * HOUR)
            .with_org_roles(["ORG_READ_ONLY"]),
        SimInvitation::sent_ago("6523f1a0c8e4b2d9f0a1e302", "auditor@example.com", 3 * DAY)
            .with_org_roles(["ORG_READ_ONLY"]),
        // Sandbox stays fresh (nothing a week old, nothing expiring within a day) and has no
        // ORG_OWNER: the e2e check expects no stale, expiry or owner alert for it.
        SimInvitation::sent_ago("6523f1a0c8e4b2d9f0a1e303", "new.hire@example.com", DAY)
            .with_project_role(SANDBOX_PROJECT, "GROUP_DATA_ACCESS_READ_WRITE"),
        SimInvitation::sent_ago(
            DEMO_INVITATION_UPPERCASE_FREE_MAIL,
            "Someone@GMAIL.COM",
            2 * HOUR,
        )
        .with_project_role(SANDBOX_PROJECT, "GROUP_DATA_ACCESS_ADMIN"),
        SimInvitation::sent_ago(
            DEMO_INVITATION_NO_INVITER,
            "pat@partner.example.org",
            6 * HOUR,
        )
        .with_org_roles(["ORG_READ_ONLY"])
        .without_inviter(),
        SimInvitation::sent_ago(
            DEMO_INVITATION_UNEXPECTED_INVITER,
            "sam.dev@outlook.com",
            2 * DAY,
        )
        .with_project_role(SANDBOX_PROJECT, "GROUP_READ_ONLY")
        .with_inviter(DEMO_UNEXPECTED_INVITER),
    ]
}

fn rate_limited_invitations() -> Vec<SimInvitation> {
    vec![
        SimInvitation::sent_ago("6523f1a0c8e4b2d9f0a1e401", "ivan@example.com", 12 * HOUR),
        SimInvitation::sent_ago("6523f1a0c8e4b2d9f0a1e402", "judy@example.com", 9 * DAY)
            .with_org_roles(["ORG_MEMBER", "ORG_GROUP_CREATOR"]),
        SimInvitation::sent_ago("6523f1a0c8e4b2d9f0a1e403", "mallory@example.com", 40 * HOUR)
            .with_project_role(RATE_LIMITED_PROJECT, "GROUP_SEARCH_INDEX_EDITOR"),
    ]
}

#[cfg(test)]
mod tests {
    use jiff::Timestamp;

    use super::*;
    use crate::world::INVITATION_LIFETIME_SECS;

    fn is_atlas_id(id: &str) -> bool {
        id.len() == 24
            && id
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    }

    #[test]
    fn demo_world_ids_are_atlas_ids_and_unique() {
        let world = World::demo();
        let mut ids = Vec::new();
        for org in &world.orgs {
            ids.push(org.id.clone());
            ids.extend(org.teams.iter().map(|team| team.id.clone()));
            for project in &org.projects {
                ids.push(project.id.clone());
                ids.extend(project.invitations.iter().map(|i| i.id.clone()));
                // Atlas' project name pattern: letters, digits and -_.(),:&@+' only.
                assert!(
                    project
                        .name
                        .chars()
                        .all(|c| c.is_alphanumeric() || "-_.(),:&@+'".contains(c)),
                    "{}",
                    project.name
                );
            }
            // Two cycles of churn, so that a new cycle's ids are checked against everything too.
            let start = Timestamp::from_second(1_800_000_000).unwrap();
            let churned = [95, 240 + 95].into_iter().flat_map(|second| {
                let now = Timestamp::from_second(start.as_second() + second).unwrap();
                org.churn
                    .map(|churn| churn.invitations_at(&org.id, start, now))
                    .unwrap_or_default()
            });
            for invitation in org.invitations.iter().cloned().chain(churned) {
                for team_id in &invitation.team_ids {
                    assert!(is_atlas_id(team_id), "{team_id}");
                }
                ids.push(invitation.id.clone());
                for (group_id, _) in &invitation.project_roles {
                    assert!(is_atlas_id(group_id), "{group_id}");
                }
            }
        }
        assert!(ids.iter().all(|id| is_atlas_id(id)), "{ids:?}");
        let count = ids.len();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), count, "duplicate ids");
        assert!(count > 40, "churned ids are among them: {count}");
    }

    #[test]
    fn demo_world_covers_every_case_the_metrics_need() {
        let world = World::demo();
        let now = Timestamp::from_second(1_800_000_000).unwrap();
        assert_eq!(world.orgs.len(), 5);
        let acme = &world.orgs[0];
        let remaining: Vec<i64> = acme
            .invitations
            .iter()
            .map(|i| i.expires.resolve(now).as_second() - now.as_second())
            .collect();
        assert!(
            remaining.iter().any(|&r| r > 0 && r <= 12 * HOUR),
            "{remaining:?}"
        );
        assert!(
            remaining.iter().any(|&r| r > 24 * HOUR && r < 60 * HOUR),
            "{remaining:?}"
        );
        assert!(remaining.iter().any(|&r| r < 0), "one expired but listed");
        assert!(acme.invitations.iter().any(|i| {
            i.expires.resolve(now) > now
                && now.as_second() - i.created.resolve(now).as_second() >= 7 * DAY
        }));
        for org in &world.orgs {
            for invitation in &org.invitations {
                let lifetime = invitation.expires.resolve(now).as_second()
                    - invitation.created.resolve(now).as_second();
                assert_eq!(lifetime, INVITATION_LIFETIME_SECS, "{}", invitation.id);
            }
        }
        assert!(world.orgs[1].name.contains('"') && !world.orgs[1].name.is_ascii());
        assert_eq!(world.orgs[4].behaviour, Behaviour::Forbidden);
        assert!(matches!(
            world.orgs[3].behaviour,
            Behaviour::RateLimitedEvery { n: 3, .. }
        ));
    }

    #[test]
    fn demo_world_has_projects_legacy_invitations_and_teams() {
        let world = World::demo();
        let acme = &world.orgs[0];
        assert_eq!(acme.active_users, 120);
        let web = acme
            .projects
            .iter()
            .find(|p| p.id == DEMO_PROJECT_LEGACY_INVITES)
            .unwrap();
        let org_invitees: Vec<&str> = acme
            .invitations
            .iter()
            .map(|i| i.username.as_str())
            .collect();
        let (both, legacy_only): (Vec<&SimInvitation>, Vec<&SimInvitation>) =
            web.invitations.iter().partition(|legacy| {
                org_invitees
                    .iter()
                    .any(|org| org.eq_ignore_ascii_case(&legacy.username))
            });
        assert!(
            both.iter()
                .any(|i| !org_invitees.contains(&i.username.as_str()))
        );
        assert!(!legacy_only.is_empty());
        assert!(
            acme.projects.iter().any(|p| {
                p.id == DEMO_PROJECT_FORBIDDEN && p.access == ProjectAccess::Forbidden
            })
        );
        let listed: Vec<&str> = acme.teams.iter().map(|t| t.id.as_str()).collect();
        assert!(!listed.contains(&DEMO_TEAM_UNLISTED));
        assert!(acme.invitations.iter().any(|i| {
            i.team_ids.iter().any(|t| t == DEMO_TEAM_UNLISTED)
                && i.team_ids.iter().any(|t| listed.contains(&t.as_str()))
        }));
        assert_eq!(world.service_account_secrets.len(), 1);
    }

    /// The issue 14 signals: invitee domains, privilege tiers, inviters, lifecycle.
    #[test]
    fn demo_world_shows_every_security_signal() {
        let world = World::demo();
        let all: Vec<(&SimOrg, &SimInvitation)> = world
            .orgs
            .iter()
            .flat_map(|org| org.invitations.iter().map(move |i| (org, i)))
            .collect();
        let domain = |i: &SimInvitation| {
            let (_, domain) = i.username.rsplit_once('@').unwrap();
            domain.to_ascii_lowercase()
        };
        for wanted in [DEMO_INTERNAL_DOMAIN, DEMO_PARTNER_DOMAIN]
            .into_iter()
            .chain(DEMO_FREE_MAIL_DOMAINS)
        {
            assert!(all.iter().any(|(_, i)| domain(i) == wanted), "{wanted}");
        }
        let find = |id: &str| all.iter().find(|(_, i)| i.id == id).unwrap();
        assert_eq!(
            find(DEMO_INVITATION_UPPERCASE_FREE_MAIL).1.username,
            "Someone@GMAIL.COM"
        );
        assert_eq!(find(DEMO_INVITATION_NO_INVITER).1.inviter_username, None);
        assert_eq!(
            find(DEMO_INVITATION_UNEXPECTED_INVITER)
                .1
                .inviter_username
                .as_deref(),
            Some(DEMO_UNEXPECTED_INVITER)
        );
        // Every other inviter, legacy project invitations included, is an expected one.
        let legacy = world
            .orgs
            .iter()
            .flat_map(|o| &o.projects)
            .flat_map(|p| &p.invitations);
        for invitation in all.iter().map(|(_, i)| *i).chain(legacy) {
            if let Some(inviter) = invitation.inviter_username.as_deref()
                && inviter != DEMO_UNEXPECTED_INVITER
            {
                assert!(DEMO_EXPECTED_INVITERS.contains(&inviter), "{inviter}");
            }
        }
        let has_role = |i: &SimInvitation, role: &str| {
            i.org_roles.iter().any(|r| r == role) || i.project_roles.iter().any(|(_, r)| r == role)
        };
        for role in [
            "ORG_OWNER",
            "GROUP_OWNER",
            "GROUP_DATA_ACCESS_ADMIN",
            "GROUP_DATABASE_ACCESS_ADMIN",
            "GROUP_DATA_ACCESS_READ_WRITE",
            "ORG_READ_ONLY",
        ] {
            assert!(all.iter().any(|(_, i)| has_role(i, role)), "{role}");
        }
        let (_, owner) = find(DEMO_INVITATION_FREE_MAIL_OWNER);
        assert!(
            has_role(owner, "GROUP_OWNER")
                && DEMO_FREE_MAIL_DOMAINS.contains(&domain(owner).as_str())
        );
        let churning: Vec<&str> = world
            .orgs
            .iter()
            .filter(|o| o.churn.is_some())
            .map(|o| o.id.as_str())
            .collect();
        assert_eq!(churning, [DEMO_ORG_ZURICH]);
        assert_eq!(
            world.orgs[1].churn,
            Some(Churn::every(Duration::from_secs(240)))
        );
    }

    /// What `.ci/e2e-prometheus.sh` expects per org, which the additions must not disturb: five orgs,
    /// ORG_OWNER pending in Acme only, stale invitations and expiry within 24 h only in Acme, Zürich
    /// (and stale in the rate-limited org), legacy project invitations and a forbidden project only in
    /// Acme; Acme's eight invitations and Sandbox free of all of these.
    #[test]
    fn demo_additions_trip_no_alert_the_e2e_check_does_not_expect() {
        let world = World::demo();
        let now = Timestamp::from_second(1_800_000_000).unwrap();
        let ids: Vec<&str> = world.orgs.iter().map(|o| o.id.as_str()).collect();
        assert_eq!(
            ids,
            [
                DEMO_ORG_ACME,
                DEMO_ORG_ZURICH,
                DEMO_ORG_SANDBOX,
                DEMO_ORG_RATE_LIMITED,
                DEMO_ORG_FORBIDDEN
            ]
        );
        assert_eq!(world.orgs[0].invitations.len(), 8);
        // Every second of a churn cycle, as the exporter may poll at any.
        let period = DEMO_CHURN_PERIOD.as_secs() as i64;
        for org in &world.orgs {
            let listed: Vec<SimInvitation> = (0..period)
                .flat_map(|second| {
                    let at = Timestamp::from_second(now.as_second() + second).unwrap();
                    org.listed_invitations(now, at).into_owned()
                })
                .collect();
            let owner = listed
                .iter()
                .any(|i| i.org_roles.iter().any(|r| r == "ORG_OWNER"));
            assert_eq!(owner, org.id == DEMO_ORG_ACME, "ORG_OWNER in {}", org.name);
            let stale = listed
                .iter()
                .any(|i| now.as_second() - i.created.resolve(now).as_second() >= 7 * DAY);
            let stale_orgs = [DEMO_ORG_ACME, DEMO_ORG_ZURICH, DEMO_ORG_RATE_LIMITED];
            assert_eq!(
                stale,
                stale_orgs.contains(&org.id.as_str()),
                "stale in {}",
                org.name
            );
            let soon = listed
                .iter()
                .any(|i| i.expires.resolve(now).as_second() - now.as_second() < DAY);
            let soon_orgs = [DEMO_ORG_ACME, DEMO_ORG_ZURICH];
            assert_eq!(
                soon,
                soon_orgs.contains(&org.id.as_str()),
                "expiring in {}",
                org.name
            );
            let legacy = org.projects.iter().any(|p| !p.invitations.is_empty());
            assert_eq!(
                legacy,
                org.id == DEMO_ORG_ACME,
                "legacy invitations in {}",
                org.name
            );
            let forbidden = org
                .projects
                .iter()
                .any(|p| p.access != ProjectAccess::Normal);
            assert_eq!(
                forbidden,
                org.id == DEMO_ORG_ACME,
                "forbidden project in {}",
                org.name
            );
        }
    }

    #[test]
    fn generated_worlds_have_as_many_projects_as_asked_with_unique_ids() {
        assert!(
            generated_world(3, None)
                .orgs
                .iter()
                .all(|o| o.projects.is_empty())
        );
        let world = generated_world_with_projects(3, 4, Some(5));
        let mut ids: Vec<&str> = Vec::new();
        for org in &world.orgs {
            assert_eq!(org.projects.len(), 4);
            for project in &org.projects {
                assert!(is_atlas_id(&project.id), "{}", project.id);
                assert_eq!(project.invitations.len(), 1);
                ids.push(&project.id);
                ids.push(&project.invitations[0].id);
            }
        }
        let count = ids.len();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), count);
    }

    #[test]
    fn debug_output_hides_secrets() {
        let shown = format!("{:?}", World::demo());
        assert!(!shown.contains(DEMO_CLIENT_SECRET));
        assert!(!shown.contains(DEMO_PRIVATE_KEY));
        assert!(shown.contains(DEMO_CLIENT_ID));
    }
}
