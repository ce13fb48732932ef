//! The demo world `--demo` serves (five organisations, one of every case the metrics need), its
//! credentials, and the generated worlds of the load, soak and performance runs.

use crate::world::{
    Behaviour, DAY, HOUR, SimInvitation, SimOrg, SimServiceAccountSecret, SimTime, World,
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

impl World {
    /// A deterministic world in which every metric of the exporter has data: one service account
    /// ([`DEMO_CLIENT_ID`]/[`DEMO_CLIENT_SECRET`], its secret expiring in
    /// [`DEMO_SECRET_EXPIRES_IN_DAYS`] days), one API key ([`DEMO_PUBLIC_KEY`]/[`DEMO_PRIVATE_KEY`]),
    /// and five organisations: Acme Production (roles, projects, expiry windows, stale and expired
    /// invitations), one whose name has quotes and non-ASCII letters, Sandbox, one rate limited every
    /// third call and one that refuses every call.
    pub fn demo() -> World {
        World {
            orgs: vec![
                SimOrg::new(DEMO_ORG_ACME, "Acme Production", acme_invitations()),
                SimOrg::new(
                    DEMO_ORG_ZURICH,
                    "Zürich \"Analytics\" Ōsaka",
                    zurich_invitations(),
                ),
                SimOrg::new(DEMO_ORG_SANDBOX, "Sandbox", sandbox_invitations()),
                SimOrg {
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
/// world (credentials, token lifetime) is the demo's.
pub fn generated_world(orgs: u32, fault_every: Option<u32>) -> World {
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
            SimOrg {
                behaviour,
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

fn acme_invitations() -> Vec<SimInvitation> {
    vec![
        SimInvitation::sent_ago("6523f1a0c8e4b2d9f0a1e101", "alice@example.com", 2 * DAY)
            .with_org_roles(["ORG_OWNER"]),
        SimInvitation::sent_ago("6523f1a0c8e4b2d9f0a1e102", "bob@example.com", DAY)
            .with_project_role(ACME_PROJECT_WEB, "GROUP_OWNER"),
        SimInvitation::sent_ago("6523f1a0c8e4b2d9f0a1e103", "carol@example.com", 5 * DAY)
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
    ]
}

fn sandbox_invitations() -> Vec<SimInvitation> {
    vec![
        SimInvitation::sent_ago("6523f1a0c8e4b2d9f0a1e301", "intern@example.com", 4 * HOUR)
            .with_org_roles(["ORG_READ_ONLY"]),
        SimInvitation::sent_ago("6523f1a0c8e4b2d9f0a1e302", "auditor@example.com", 3 * DAY)
            .with_org_roles(["ORG_READ_ONLY"]),
    ]
}

fn rate_limited_invitations() -> Vec<SimInvitation> {
    vec![
        SimInvitation::sent_ago("6523f1a0c8e4b2d9f0a1e401", "ivan@example.com", 12 * HOUR),
        SimInvitation::sent_ago("6523f1a0c8e4b2d9f0a1e402", "judy@example.com", 9 * DAY)
            .with_org_roles(["ORG_MEMBER", "ORG_GROUP_CREATOR"]),
        SimInvitation::sent_ago("6523f1a0c8e4b2d9f0a1e403", "mallory@example.com", 40 * HOUR)
            .with_project_role("6523f1a0c8e4b2d9f0a1c401", "GROUP_SEARCH_INDEX_EDITOR"),
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
            for invitation in &org.invitations {
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
    fn debug_output_hides_secrets() {
        let shown = format!("{:?}", World::demo());
        assert!(!shown.contains(DEMO_CLIENT_SECRET));
        assert!(!shown.contains(DEMO_PRIVATE_KEY));
        assert!(shown.contains(DEMO_CLIENT_ID));
    }
}
