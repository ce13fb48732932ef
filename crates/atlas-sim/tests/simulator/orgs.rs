//! `GET /orgs`: what each credential may see, deleted organisations included.

use atlas_sim::*;
use reqwest::StatusCode;
use reqwest::header;
use serde_json::json;

use crate::common::*;

#[tokio::test]
async fn orgs_listing_shows_what_each_credential_may_see_including_deleted_orgs() {
    let sim = Simulator::start(World {
        orgs: vec![
            SimOrg::new(OTHER_ORG, "Other Org", Vec::new()),
            SimOrg::new(ORG, "Test Org", Vec::new()),
            SimOrg {
                is_deleted: true,
                ..SimOrg::new(DELETED_ORG, "Gone Org", Vec::new())
            },
        ],
        grants: vec![Grant::new(PUBLIC_KEY, OTHER_ORG, OrgRole::Member)],
        ..world()
    })
    .await
    .unwrap();
    let token = token(&sim).await;
    let bearer = format!("Bearer {token}");
    let orgs_path = "/api/atlas/v2/orgs";

    let response = get_path(&sim, orgs_path, ATLAS_MEDIA_TYPE, Some(&bearer)).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()[header::CONTENT_TYPE], ATLAS_MEDIA_TYPE);
    assert_eq!(response.headers()["ratelimit-limit"], "300");
    assert!(response.headers().get("sunset").is_none());
    let body = json_of(response).await;
    assert_eq!(sorted_keys(&body), ["links", "results", "totalCount"]);
    assert_eq!(body["totalCount"], 3);
    assert_eq!(field(&body, "id"), [ORG, OTHER_ORG, DELETED_ORG], "by id");
    let org = &body["results"][0];
    assert_eq!(
        sorted_keys(org),
        [
            "id",
            "isDeleted",
            "links",
            "name",
            "skipDefaultAlertsSettings"
        ]
    );
    assert_eq!(org["name"], "Test Org");
    assert_eq!(org["isDeleted"], false);
    assert_eq!(org["skipDefaultAlertsSettings"], false);
    assert_eq!(
        org["links"],
        json!([{"href": format!("{}/api/atlas/v2/orgs/{ORG}", sim.base_url()), "rel": "self"}])
    );
    assert_eq!(body["results"][2]["isDeleted"], true);

    // The granted API key sees only its org.
    let response = get_digest(&sim, orgs_path, ATLAS_MEDIA_TYPE).await;
    assert_eq!(response.status(), StatusCode::OK);
    let body = json_of(response).await;
    assert_eq!(field(&body, "id"), [OTHER_ORG]);
    assert_eq!(body["totalCount"], 1);

    let page = |query: &'static str| {
        let bearer = bearer.clone();
        let sim = &sim;
        async move {
            let path = format!("{orgs_path}?{query}");
            json_of(get_path(sim, &path, ATLAS_MEDIA_TYPE, Some(&bearer)).await).await
        }
    };
    let second = page("itemsPerPage=2&pageNum=2").await;
    assert_eq!(field(&second, "id"), [DELETED_ORG]);
    assert_eq!(rels(&second), ["self", "previous"]);
    assert_eq!(field(&page("name=oTHer").await, "id"), [OTHER_ORG]);

    // Deleted orgs keep their listing but not their paths.
    assert_eq!(
        get_with_token(&sim, DELETED_ORG, &token).await.status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        get_users(&sim, DELETED_ORG, "", &token).await.status(),
        StatusCode::NOT_FOUND
    );

    sim.remove_org(OTHER_ORG);
    sim.set_deleted(DELETED_ORG, false);
    let body = page("").await;
    assert_eq!(field(&body, "id"), [ORG, DELETED_ORG]);
    assert_eq!(body["results"][1]["isDeleted"], false);

    let response = get_path(&sim, orgs_path, ORG_USERS_MEDIA_TYPE, Some(&bearer)).await;
    assert_eq!(response.status(), StatusCode::NOT_ACCEPTABLE);
    let response = get_path(&sim, orgs_path, ATLAS_MEDIA_TYPE, None).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let response = get_path(
        &sim,
        "/api/atlas/v2/orgs?itemsPerPage=501",
        ATLAS_MEDIA_TYPE,
        Some(&bearer),
    )
    .await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);

    sim.push_list_orgs_faults([
        Fault::Status {
            status: 500,
            error_code: Some("UNEXPECTED_ERROR".to_owned()),
            retry_after: None,
        },
        Fault::WrongShape,
    ]);
    let response = get_path(&sim, orgs_path, ATLAS_MEDIA_TYPE, Some(&bearer)).await;
    assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert!(page("").await.is_array());
    assert_eq!(page("").await["totalCount"], 2);
}
