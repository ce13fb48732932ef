//! `GET /orgs/{orgId}/groups` (getOrgGroups): spec field names, the media type, the name prefix and
//! pagination at a page boundary.

use atlas_sim::*;
use reqwest::StatusCode;
use reqwest::header;
use serde_json::json;

use crate::common::*;

fn project_id(n: u32) -> String {
    format!("6523f1a0c8e4b2d9{n:08x}")
}

fn groups_world(projects: u32) -> World {
    let projects = (1..=projects)
        .map(|n| SimProject::new(project_id(n), format!("project-{n}")))
        .collect();
    World {
        orgs: vec![
            SimOrg::new(ORG, "Test Org", Vec::new()).with_projects(projects),
            SimOrg::new(OTHER_ORG, "Other Org", Vec::new()),
        ],
        ..world()
    }
}

fn groups_path(org: &str, query: &str) -> String {
    format!("/api/atlas/v2/orgs/{org}/groups?{query}")
}

#[tokio::test]
async fn groups_have_spec_field_names_and_the_2023_media_type() {
    let sim = Simulator::start(groups_world(12)).await.unwrap();
    let bearer = format!("Bearer {}", token(&sim).await);
    let response = get_path(&sim, &groups_path(ORG, ""), ATLAS_MEDIA_TYPE, Some(&bearer)).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()[header::CONTENT_TYPE], ATLAS_MEDIA_TYPE);
    assert_eq!(response.headers()["ratelimit-limit"], "500");
    let body = json_of(response).await;
    assert_eq!(sorted_keys(&body), ["links", "results", "totalCount"]);
    assert_eq!(body["totalCount"], 12);
    let group = &body["results"][0];
    assert_eq!(
        sorted_keys(group),
        ["clusterCount", "created", "id", "links", "name", "orgId"]
    );
    assert_eq!(group["id"], project_id(1));
    assert_eq!(group["name"], "project-1");
    assert_eq!(group["orgId"], ORG);
    assert_eq!(group["clusterCount"], 0);
    // The time in the id, as an ObjectId holds it: 0x6523f1a0.
    assert_eq!(group["created"], "2023-10-09T12:27:12Z");
    assert_eq!(
        group["links"],
        json!([{"href": format!("{}/api/atlas/v2/groups/{}", sim.base_url(), project_id(1)), "rel": "self"}])
    );

    let named = json_of(
        get_path(
            &sim,
            &groups_path(ORG, "name=PROJECT-1"),
            ATLAS_MEDIA_TYPE,
            Some(&bearer),
        )
        .await,
    )
    .await;
    assert_eq!(
        field(&named, "name"),
        ["project-1", "project-10", "project-11", "project-12"]
    );
    let response = get_path(
        &sim,
        &groups_path(ORG, ""),
        ORG_USERS_MEDIA_TYPE,
        Some(&bearer),
    )
    .await;
    assert_eq!(response.status(), StatusCode::NOT_ACCEPTABLE);
    let response = get_path(
        &sim,
        &groups_path(ORG, "name=a&name=b"),
        ATLAS_MEDIA_TYPE,
        Some(&bearer),
    )
    .await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn groups_paginate_at_the_page_boundary() {
    let sim = Simulator::start(groups_world(501)).await.unwrap();
    let bearer = format!("Bearer {}", token(&sim).await);
    let first = json_of(
        get_path(
            &sim,
            &groups_path(ORG, "itemsPerPage=500"),
            ATLAS_MEDIA_TYPE,
            Some(&bearer),
        )
        .await,
    )
    .await;
    assert_eq!(first["results"].as_array().unwrap().len(), 500);
    assert_eq!(first["totalCount"], 501);
    assert_eq!(rels(&first), ["self", "next"]);
    let second = json_of(
        get_path(
            &sim,
            &groups_path(ORG, "itemsPerPage=500&pageNum=2"),
            ATLAS_MEDIA_TYPE,
            Some(&bearer),
        )
        .await,
    )
    .await;
    assert_eq!(field(&second, "id"), [project_id(501)]);
    assert_eq!(rels(&second), ["self", "previous"]);
    assert_eq!(second["totalCount"], 501);
}
