//! The status page (`/`) through the real binary against the simulator: a failing organisation shows
//! the endpoint, status, Atlas error code and detail of its failed call, and what to do about it; a
//! healthy one its poll and figures; nothing on the page is an address or a secret.

use std::time::{Duration, Instant};

use atlas_sim::{Behaviour, SimInvitation, SimOrg, Simulator, World};

use crate::util::Exporter;

const ORG_OK: &str = "aaaaaaaaaaaaaaaaaaaaaaa1";
const ORG_FAILING: &str = "bbbbbbbbbbbbbbbbbbbbbbb2";
const CLIENT_ID: &str = "mdb_sa_id_status";
const CLIENT_SECRET: &str = "mdb_sa_sk_STATUS-secret-do-not-leak";

fn invitations(prefix: &str) -> Vec<SimInvitation> {
    (0..3)
        .map(|i| {
            SimInvitation::sent_ago(
                format!("{prefix}{i:023x}"),
                format!("{prefix}{i}@example.com"),
                3600 * (i + 1),
            )
            .with_org_roles(["ORG_OWNER"])
        })
        .collect()
}

/// Fetches `/` until `done` holds for it; the page as last fetched.
async fn page_until(exporter: &Exporter, what: &str, done: impl Fn(&str) -> bool) -> String {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let response = exporter.get("/").await;
        assert_eq!(response.status(), 200);
        let page = response.text().await.unwrap();
        if done(&page) {
            return page;
        }
        assert!(
            Instant::now() < deadline,
            "{what}: not on the page in time:\n{page}\nlogs:\n{}",
            exporter.logs()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_org_shows_its_endpoint_status_code_detail_and_hint() {
    let simulator = Simulator::start(World {
        orgs: vec![
            SimOrg::new(ORG_OK, "<b>Healthy</b> & Co", invitations("a")),
            SimOrg {
                behaviour: Behaviour::Forbidden,
                ..SimOrg::new(ORG_FAILING, "Refused Org", invitations("b"))
            },
        ],
        service_accounts: vec![(CLIENT_ID.into(), CLIENT_SECRET.into())],
        ..World::default()
    })
    .await
    .unwrap();
    let config = format!(
        "[auth]\nclient_id = \"{CLIENT_ID}\"\nclient_secret = \"{CLIENT_SECRET}\"\n\
         [atlas]\nbase_url = \"{}\"\nsource = \"invites\"\ntimeout = \"2s\"\n\
         [poll]\ninterval = \"1s\"\njitter = 0.0\n\
         [[orgs]]\nid = \"{ORG_OK}\"\n[[orgs]]\nid = \"{ORG_FAILING}\"\nname = \"Refused Org\"\n",
        simulator.base_url()
    );
    let exporter = Exporter::start(&config);
    exporter.wait_ready().await;
    let page = page_until(&exporter, "both orgs polled", |page| {
        page.contains("1 of 2 organisations OK, 1 failing") && page.contains("Pending")
    })
    .await;

    // The failing org: what failed, and what to do.
    assert!(
        page.contains(
            "endpoint <code>list_org_invites</code>, HTTP 403, <code>USER_UNAUTHORIZED</code>: \
             “Current user is not authorized to perform this action.”"
        ),
        "{page}"
    );
    assert!(page.contains("Atlas refused access"), "{page}");
    assert!(page.contains("docs/runbook.md#atlasinvitescredentialsrejected"));
    assert!(page.contains("Oldest last success: never (Refused Org has not succeeded yet)"));
    assert!(
        page.find("Refused Org").unwrap() < page.find("&lt;b&gt;Healthy").unwrap(),
        "the failing org comes first"
    );

    // The healthy org: its poll and figures, its name escaped.
    assert!(
        page.contains("&lt;b&gt;Healthy&lt;/b&gt; &amp; Co"),
        "{page}"
    );
    assert!(page.contains("source invites, API "));
    assert!(page.contains("<td class=\"ok\">OK</td>"));
    assert!(
        page.contains("<td class=\"num\">3</td>"),
        "3 pending and 3 owner invitations: {page}"
    );

    // Relative links only, no address, no secret.
    assert!(page.contains("href=\"metrics\"") && !page.contains("href=\"/"));
    assert!(!page.contains("@example.com"), "{page}");
    assert!(!page.contains(CLIENT_SECRET) && !page.contains(CLIENT_ID));

    // Once Atlas lets the exporter in again, the failure goes.
    simulator.set_behaviour(ORG_FAILING, Behaviour::Normal);
    let page = page_until(&exporter, "the org recovered", |page| {
        page.contains("2 of 2 organisations OK, 0 failing")
    })
    .await;
    assert!(!page.contains("Last poll failed"), "{page}");
}
