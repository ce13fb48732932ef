//! `GET /orgs/{orgId}/users`: spec field names, status filters, the legacy Atlas, pagination, the
//! 2023-01-01 version, and the fault queue, behaviours and gzip it shares with the invites path.

use std::io::Read as _;

use atlas_sim::*;
use reqwest::StatusCode;
use reqwest::header;
use serde_json::{Value, json};

use crate::common::*;

#[tokio::test]
async fn users_listing_has_spec_field_names_and_maps_invitations() {
    let sim = Simulator::start(users_world()).await.unwrap();
    let token = token(&sim).await;
    let all = "orgMembershipStatuses=PENDING&orgMembershipStatuses=INVITATION_EXPIRED\
               &orgMembershipStatuses=INVITATION_REJECTED&orgMembershipStatuses=ACTIVE";
    let response = get_users(&sim, ORG, all, &token).await;
    assert_eq!(response.status(), StatusCode::OK);
    let headers = response.headers().clone();
    assert_eq!(headers[header::CONTENT_TYPE], ORG_USERS_MEDIA_TYPE);
    assert_eq!(headers["ratelimit-limit"], "500");
    assert!(headers.get("sunset").is_none() && headers.get("deprecation").is_none());
    let body = json_of(response).await;

    assert_eq!(sorted_keys(&body), ["links", "results", "totalCount"]);
    assert_eq!(body["totalCount"], 5);
    assert_eq!(
        field(&body, "orgMembershipStatus"),
        [
            "PENDING",
            "INVITATION_EXPIRED",
            "INVITATION_REJECTED",
            "ACTIVE",
            "ACTIVE"
        ]
    );
    let results = body["results"].as_array().unwrap();
    let pending_keys = [
        "id",
        "invitationCreatedAt",
        "invitationExpiresAt",
        "inviterUsername",
        "orgMembershipStatus",
        "roles",
        "teamIds",
        "username",
    ];
    for pending in &results[..3] {
        assert_eq!(sorted_keys(pending), pending_keys);
    }
    for active in &results[3..] {
        assert_eq!(
            sorted_keys(active),
            [
                "createdAt",
                "firstName",
                "id",
                "lastName",
                "orgMembershipStatus",
                "roles",
                "teamIds",
                "username"
            ]
        );
        assert!(
            active["createdAt"]
                .as_str()
                .unwrap()
                .parse::<jiff::Timestamp>()
                .is_ok()
        );
    }

    let pending = &results[0];
    assert_eq!(pending["id"], PENDING_ID);
    assert_eq!(pending["username"], "pending@example.com");
    assert_eq!(pending["inviterUsername"], "boss@example.com");
    assert_eq!(pending["teamIds"], json!([]));
    assert_eq!(
        pending["roles"],
        json!({
            "orgRoles": ["ORG_MEMBER"],
            "groupRoleAssignments": [
                {"groupId": PROJECT_1, "groupRoles": ["GROUP_OWNER", "GROUP_READ_ONLY"]},
                {"groupId": PROJECT_2, "groupRoles": ["GROUP_READ_ONLY"]}
            ]
        })
    );
    let at = |value: &Value| value.as_str().unwrap().parse::<jiff::Timestamp>().unwrap();
    let now = jiff::Timestamp::now();
    let created = at(&pending["invitationCreatedAt"]);
    let expires = at(&pending["invitationExpiresAt"]);
    assert_eq!(
        expires.as_second() - created.as_second(),
        INVITATION_LIFETIME_SECS
    );
    assert!(expires > now);

    assert_eq!(results[1]["id"], EXPIRED_ID);
    assert!(at(&results[1]["invitationExpiresAt"]) < now);
    assert!(results[2]["invitationExpiresAt"].is_null());
    assert!(at(&results[2]["invitationCreatedAt"]) < now);

    let ids = field(&body, "id");
    let mut unique = ids.clone();
    unique.sort_unstable();
    unique.dedup();
    assert_eq!(unique.len(), ids.len(), "{ids:?}");
    assert!(ids.iter().all(|id| id.len() == 24));
}

#[tokio::test]
async fn users_status_filters_repeated_single_default_and_invalid() {
    let sim = Simulator::start(users_world()).await.unwrap();
    let token = token(&sim).await;
    let statuses = |body: &Value| -> Vec<String> {
        field(body, "orgMembershipStatus")
            .into_iter()
            .map(str::to_owned)
            .collect()
    };

    let default = users_page(&sim, ORG, "", &token).await;
    assert_eq!(statuses(&default), ["PENDING", "ACTIVE", "ACTIVE"]);
    let repeated = users_page(
        &sim,
        ORG,
        "orgMembershipStatuses=PENDING&orgMembershipStatuses=INVITATION_EXPIRED",
        &token,
    )
    .await;
    assert_eq!(statuses(&repeated), ["PENDING", "INVITATION_EXPIRED"]);
    assert_eq!(repeated["totalCount"], 2);
    let single = users_page(&sim, ORG, "orgMembershipStatus=INVITATION_REJECTED", &token).await;
    assert_eq!(statuses(&single), ["INVITATION_REJECTED"]);
    let by_name = users_page(
        &sim,
        ORG,
        "orgMembershipStatuses=PENDING&orgMembershipStatuses=INVITATION_EXPIRED&username=EXPIRED%40example.com",
        &token,
    )
    .await;
    assert_eq!(field(&by_name, "id"), [EXPIRED_ID]);

    for refused in [
        "orgMembershipStatuses=BANNED",
        "orgMembershipStatuses=PENDING%2CINVITATION_EXPIRED",
        "orgMembershipStatuses=PENDING&orgMembershipStatus=PENDING",
        "orgMembershipStatus=pending",
        "itemsPerPage=501",
        "itemsPerPage=0",
        "pageNum=0",
        "includeCount=maybe",
        "username=nobody",
    ] {
        let response = get_users(&sim, ORG, refused, &token).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{refused}");
        let body = json_of(response).await;
        assert_eq!(body["errorCode"], "VALIDATION_ERROR", "{refused}");
        assert_eq!(body["reason"], "Bad Request");
    }
}

#[tokio::test]
async fn legacy_atlas_refuses_the_repeated_filter_and_reports_expired_as_pending() {
    let sim = Simulator::start(users_world()).await.unwrap();
    let token = token(&sim).await;
    let modern = "orgMembershipStatuses=PENDING&orgMembershipStatuses=INVITATION_EXPIRED";
    sim.set_legacy_status_filter(ORG, true);

    let response = get_users(&sim, ORG, modern, &token).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert_eq!(json_of(response).await["errorCode"], "VALIDATION_ERROR");
    let response = get_users(&sim, ORG, "orgMembershipStatus=INVITATION_EXPIRED", &token).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);

    let fallback = users_page(&sim, ORG, "orgMembershipStatus=PENDING", &token).await;
    assert_eq!(field(&fallback, "id"), [PENDING_ID, EXPIRED_ID]);
    assert_eq!(
        field(&fallback, "orgMembershipStatus"),
        ["PENDING", "PENDING"]
    );
    let default = users_page(&sim, ORG, "", &token).await;
    assert_eq!(
        field(&default, "orgMembershipStatus"),
        ["PENDING", "PENDING", "ACTIVE", "ACTIVE"]
    );

    // The switch is per org, and can be turned off again.
    assert_eq!(
        get_users(&sim, OTHER_ORG, modern, &token).await.status(),
        StatusCode::OK
    );
    sim.set_legacy_status_filter(ORG, false);
    let modern_page = users_page(&sim, ORG, modern, &token).await;
    assert_eq!(
        field(&modern_page, "orgMembershipStatus"),
        ["PENDING", "INVITATION_EXPIRED"]
    );
}

#[tokio::test]
async fn users_pagination_across_pages_and_at_exact_boundaries() {
    let sim = Simulator::start(World {
        orgs: vec![
            SimOrg {
                active_users: 10,
                ..SimOrg::new(ORG, "Ten", Vec::new())
            },
            SimOrg {
                active_users: 8,
                ..SimOrg::new(OTHER_ORG, "Eight", Vec::new())
            },
            SimOrg {
                active_users: 150,
                ..SimOrg::new(DELETED_ORG, "Big", Vec::new())
            },
        ],
        ..world()
    })
    .await
    .unwrap();
    let token = token(&sim).await;

    // Follow `next` links from the first page: 4 + 4 + 2, each page counting all 10.
    let mut pages = Vec::new();
    let mut next = Some(format!(
        "{}{}?orgMembershipStatuses=ACTIVE&itemsPerPage=4",
        sim.base_url(),
        users_path(ORG)
    ));
    while let Some(url) = next.take() {
        assert!(pages.len() < 5, "next links never end");
        let response = client()
            .get(&url)
            .header(header::ACCEPT, ORG_USERS_MEDIA_TYPE)
            .header(header::AUTHORIZATION, format!("Bearer {token}"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{url}");
        let body = json_of(response).await;
        next = body["links"]
            .as_array()
            .unwrap()
            .iter()
            .find(|link| link["rel"] == "next")
            .map(|link| link["href"].as_str().unwrap().to_owned());
        pages.push(body);
    }
    let sizes: Vec<usize> = pages
        .iter()
        .map(|page| page["results"].as_array().unwrap().len())
        .collect();
    assert_eq!(sizes, [4, 4, 2]);
    assert!(pages.iter().all(|page| page["totalCount"] == 10));
    assert_eq!(
        pages.iter().map(rels).collect::<Vec<_>>(),
        [
            vec!["self", "next"],
            vec!["self", "previous", "next"],
            vec!["self", "previous"]
        ]
    );
    let paged_ids: Vec<&str> = pages.iter().flat_map(|page| field(page, "id")).collect();
    let whole = users_page(&sim, ORG, "itemsPerPage=500", &token).await;
    assert_eq!(paged_ids, field(&whole, "id"), "stable order across pages");

    // 8 items in pages of 4: the second page is full and last; the third is empty.
    let second = users_page(&sim, OTHER_ORG, "itemsPerPage=4&pageNum=2", &token).await;
    assert_eq!(second["results"].as_array().unwrap().len(), 4);
    assert_eq!(rels(&second), ["self", "previous"]);
    let third = users_page(&sim, OTHER_ORG, "itemsPerPage=4&pageNum=3", &token).await;
    assert_eq!(third["results"], json!([]));
    assert_eq!(third["totalCount"], 8);
    let uncounted = users_page(&sim, OTHER_ORG, "includeCount=false", &token).await;
    assert!(uncounted.get("totalCount").is_none());
    assert_eq!(uncounted["results"].as_array().unwrap().len(), 8);

    let default = users_page(&sim, DELETED_ORG, "", &token).await;
    assert_eq!(default["results"].as_array().unwrap().len(), 100);
    assert_eq!(default["totalCount"], 150);
    let largest = users_page(&sim, DELETED_ORG, "itemsPerPage=500", &token).await;
    assert_eq!(largest["results"].as_array().unwrap().len(), 150);
}

#[tokio::test]
async fn users_2023_version_lists_active_users_only_and_other_versions_get_406() {
    let sim = Simulator::start(users_world()).await.unwrap();
    let token = token(&sim).await;
    let bearer = format!("Bearer {token}");
    let response = get_path(&sim, &users_path(ORG), ATLAS_MEDIA_TYPE, Some(&bearer)).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()[header::CONTENT_TYPE], ATLAS_MEDIA_TYPE);
    assert!(response.headers().get("sunset").is_none());
    let body = json_of(response).await;
    assert_eq!(body["totalCount"], 2);
    let user = &body["results"][0];
    assert_eq!(
        sorted_keys(user),
        [
            "country",
            "createdAt",
            "emailAddress",
            "firstName",
            "id",
            "lastName",
            "links",
            "mobileNumber",
            "roles",
            "teamIds",
            "username"
        ]
    );
    assert_eq!(
        user["roles"],
        json!([{"orgId": ORG, "roleName": "ORG_OWNER"}])
    );

    let filtered = format!("{}?orgMembershipStatuses=PENDING", users_path(ORG));
    let response = get_path(&sim, &filtered, ATLAS_MEDIA_TYPE, Some(&bearer)).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    for accept in ["application/vnd.atlas.2025-03-12+json", "application/json"] {
        let response = get_path(&sim, &users_path(ORG), accept, Some(&bearer)).await;
        assert_eq!(response.status(), StatusCode::NOT_ACCEPTABLE, "{accept}");
        assert_eq!(json_of(response).await["errorCode"], "INVALID_VERSION_DATE");
    }
}

#[tokio::test]
async fn users_path_shares_the_org_fault_queue_behaviours_and_gzip() {
    let sim = Simulator::start(users_world()).await.unwrap();
    let token = token(&sim).await;
    sim.push_faults(
        ORG,
        [
            Fault::Status {
                status: 503,
                error_code: Some("SERVICE_UNAVAILABLE".to_owned()),
                retry_after: None,
            },
            Fault::WrongShape,
            Fault::InvalidDates,
            Fault::Oversized { bytes: 4096 },
            Fault::MalformedJson,
        ],
    );
    let response = get_users(&sim, ORG, "", &token).await;
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    let wrong_shape = json_of(get_users(&sim, ORG, "", &token).await).await;
    assert!(wrong_shape.is_array(), "{wrong_shape}");
    let invalid = json_of(get_users(&sim, ORG, "", &token).await).await;
    let created = invalid["results"][0]["invitationCreatedAt"]
        .as_str()
        .unwrap();
    assert!(created.parse::<jiff::Timestamp>().is_err(), "{created}");
    let oversized = get_users(&sim, ORG, "", &token)
        .await
        .bytes()
        .await
        .unwrap();
    assert_eq!(oversized.len(), 4096);
    assert!(serde_json::from_slice::<Value>(&oversized).unwrap()["results"].is_array());
    // The queue is the org's, whichever path comes next.
    let malformed = get_with_token(&sim, ORG, &token)
        .await
        .bytes()
        .await
        .unwrap();
    assert!(serde_json::from_slice::<Value>(&malformed).is_err());
    assert_eq!(
        get_users(&sim, ORG, "", &token).await.status(),
        StatusCode::OK
    );

    let response = client()
        .get(format!("{}{}", sim.base_url(), users_path(ORG)))
        .header(header::ACCEPT, ORG_USERS_MEDIA_TYPE)
        .header(header::ACCEPT_ENCODING, "gzip")
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()[header::CONTENT_ENCODING], "gzip");
    let compressed = response.bytes().await.unwrap();
    let mut decompressed = String::new();
    flate2::read::GzDecoder::new(&compressed[..])
        .read_to_string(&mut decompressed)
        .unwrap();
    let body: Value = serde_json::from_str(&decompressed).unwrap();
    assert_eq!(body["totalCount"], 3);

    sim.set_behaviour(ORG, Behaviour::Forbidden);
    let response = get_users(&sim, ORG, "", &token).await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    sim.set_behaviour(
        ORG,
        Behaviour::RateLimitedEvery {
            n: 1,
            retry_after_secs: Some(3),
        },
    );
    let response = get_users(&sim, ORG, "", &token).await;
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    let detail = json_of(response).await["detail"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        detail.contains(&format!("api/atlas/v2/orgs/{ORG}/users")),
        "{detail}"
    );

    let response = get_path(&sim, &users_path(ORG), ORG_USERS_MEDIA_TYPE, None).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert!(challenge_of(response.headers()).starts_with("Digest "));
    let response = get_users(&sim, "0123456789abcdef01234567", "", &token).await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    let response = get_users(&sim, "nope", "", &token).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
}
