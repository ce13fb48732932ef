//! `GET /orgs/{orgId}/teams` (listOrgTeams): spec field names, the media type, pagination at a page
//! boundary, its own fault queue and rate-limit bucket.

use atlas_sim::*;
use reqwest::StatusCode;
use reqwest::header;
use serde_json::json;

use crate::common::*;

fn team_id(n: u32) -> String {
    format!("6523f1a0c8e4b2d9{n:08x}")
}

fn teams_world(teams: u32) -> World {
    let teams = (1..=teams)
        .map(|n| SimTeam::new(team_id(n), format!("Team {n}")))
        .collect();
    World {
        orgs: vec![
            SimOrg::new(ORG, "Test Org", Vec::new()).with_teams(teams),
            SimOrg::new(OTHER_ORG, "Other Org", Vec::new()),
        ],
        ..world()
    }
}

fn teams_path(org: &str, query: &str) -> String {
    format!("/api/atlas/v2/orgs/{org}/teams?{query}")
}

#[tokio::test]
async fn teams_have_spec_field_names_and_the_2023_media_type() {
    let sim = Simulator::start(teams_world(2)).await.unwrap();
    let bearer = format!("Bearer {}", token(&sim).await);
    let response = get_path(&sim, &teams_path(ORG, ""), ATLAS_MEDIA_TYPE, Some(&bearer)).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()[header::CONTENT_TYPE], ATLAS_MEDIA_TYPE);
    assert_eq!(response.headers()["ratelimit-limit"], "1200");
    assert_eq!(response.headers()["ratelimit-remaining"], "1199");
    assert!(response.headers().get("sunset").is_none());
    let body = json_of(response).await;
    assert_eq!(sorted_keys(&body), ["links", "results", "totalCount"]);
    assert_eq!(body["totalCount"], 2);
    let team = &body["results"][0];
    assert_eq!(sorted_keys(team), ["id", "links", "name"]);
    assert_eq!(team["id"], team_id(1));
    assert_eq!(team["name"], "Team 1");
    assert_eq!(
        team["links"],
        json!([{"href": format!("{}/api/atlas/v2/orgs/{ORG}/teams/{}", sim.base_url(), team_id(1)), "rel": "self"}])
    );

    let empty = get_path(
        &sim,
        &teams_path(OTHER_ORG, ""),
        ATLAS_MEDIA_TYPE,
        Some(&bearer),
    )
    .await;
    assert_eq!(
        json_of(empty).await,
        json!({"links": [{"href": format!("{}/api/atlas/v2/orgs/{OTHER_ORG}/teams?pageNum=1&itemsPerPage=100", sim.base_url()), "rel": "self"}], "results": [], "totalCount": 0})
    );
    for accept in [ORG_USERS_MEDIA_TYPE, "application/json"] {
        let response = get_path(&sim, &teams_path(ORG, ""), accept, Some(&bearer)).await;
        assert_eq!(response.status(), StatusCode::NOT_ACCEPTABLE, "{accept}");
    }
    let digest = get_digest(&sim, &teams_path(ORG, ""), ATLAS_MEDIA_TYPE).await;
    assert_eq!(digest.status(), StatusCode::OK);
}

#[tokio::test]
async fn teams_paginate_at_the_page_boundary() {
    let sim = Simulator::start(teams_world(501)).await.unwrap();
    let bearer = format!("Bearer {}", token(&sim).await);
    let page = |query: &'static str| {
        let (sim, bearer) = (&sim, &bearer);
        async move {
            let response =
                get_path(sim, &teams_path(ORG, query), ATLAS_MEDIA_TYPE, Some(bearer)).await;
            assert_eq!(response.status(), StatusCode::OK, "{query}");
            json_of(response).await
        }
    };
    let first = page("itemsPerPage=500").await;
    assert_eq!(first["results"].as_array().unwrap().len(), 500);
    assert_eq!(first["totalCount"], 501);
    assert_eq!(rels(&first), ["self", "next"]);
    let second = page("itemsPerPage=500&pageNum=2").await;
    assert_eq!(field(&second, "id"), [team_id(501)]);
    assert_eq!(rels(&second), ["self", "previous"]);
    let third = page("itemsPerPage=500&pageNum=3").await;
    assert_eq!(third["results"], json!([]));
    let uncounted = page("itemsPerPage=500&pageNum=2&includeCount=false").await;
    assert!(uncounted.get("totalCount").is_none());
    let response = get_path(
        &sim,
        &teams_path(ORG, "itemsPerPage=501"),
        ATLAS_MEDIA_TYPE,
        Some(&bearer),
    )
    .await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn teams_have_a_fault_queue_and_behaviour_of_their_own() {
    let sim = Simulator::start(teams_world(1)).await.unwrap();
    let token = token(&sim).await;
    let bearer = format!("Bearer {token}");
    sim.push_path_faults(ORG, "teams", [Fault::Html { status: 502 }]);
    assert_eq!(sim.pending_path_faults(ORG, "teams"), 1);
    // The invites and users paths do not take it.
    assert_eq!(
        get_with_token(&sim, ORG, &token).await.status(),
        StatusCode::OK
    );
    let response = get_path(&sim, &teams_path(ORG, ""), ATLAS_MEDIA_TYPE, Some(&bearer)).await;
    assert_eq!(response.status(), StatusCode::BAD_GATEWAY);
    sim.set_path_behaviour(ORG, "teams", Behaviour::Forbidden);
    let response = get_path(&sim, &teams_path(ORG, ""), ATLAS_MEDIA_TYPE, Some(&bearer)).await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let teams_calls = sim
        .requests()
        .iter()
        .filter(|request| {
            request.path.ends_with("/teams") && request.org_id.as_deref() == Some(ORG)
        })
        .count();
    assert_eq!(teams_calls, 2);
}
