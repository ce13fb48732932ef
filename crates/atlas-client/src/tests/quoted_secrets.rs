//! A credential's secret that an error response quotes back (Atlas' `detail`, the token endpoint's
//! OAuth `error`) is blanked before the error or its call record leaves the client.

use super::server::{Reply, TestServer};
use super::*;

/// An Atlas error body whose `detail` quotes `secret`.
fn quoting(status: u16, secret: &str) -> Reply {
    Reply::json(
        status,
        format!(
            r#"{{"detail":"Credential {secret} is not valid here.","error":{status},"errorCode":"INVALID_PARAMETER","reason":"x"}}"#
        ),
    )
}

fn detail_of(error: &ApiError) -> &str {
    match error {
        ApiError::Status {
            detail: Some(detail),
            ..
        } => detail,
        other => panic!("expected a detail: {other:?}"),
    }
}

#[tokio::test]
async fn a_service_account_secret_quoted_in_a_detail_is_redacted() {
    let server = TestServer::start(|request| {
        if request.path == TOKEN_PATH {
            server::token_reply("tok-1", 3600)
        } else {
            quoting(400, CLIENT_SECRET)
        }
    })
    .await;
    let (result, calls) = list(&client(&server), &service_account(), far_deadline()).await;
    let error = result.unwrap_err();
    assert_eq!(
        detail_of(&error),
        "Credential [REDACTED] is not valid here."
    );
    assert!(!format!("{error:?} {error} {calls:?}").contains(CLIENT_SECRET));
}

#[tokio::test]
async fn an_api_key_quoted_in_a_detail_is_redacted() {
    let server = TestServer::start(|_| quoting(403, PRIVATE_KEY)).await;
    let (result, _) = list(&client(&server), &api_key(), far_deadline()).await;
    let error = result.unwrap_err();
    assert_eq!(
        detail_of(&error),
        "Credential [REDACTED] is not valid here."
    );
}

#[tokio::test]
async fn a_secret_quoted_as_the_oauth_error_is_redacted_in_the_error_and_its_record() {
    let server = TestServer::start(|_| {
        Reply::json(
            400,
            format!(r#"{{"error":"bad_secret_{CLIENT_SECRET}","error_description":"x"}}"#),
        )
    })
    .await;
    let (result, calls) = list(&client(&server), &service_account(), far_deadline()).await;
    let error = result.unwrap_err();
    assert!(
        matches!(&error, ApiError::Token { status: 400, error } if error == "bad_secret_[REDACTED]"),
        "{error:?}"
    );
    assert_eq!(
        outcomes(&calls),
        [(TOKEN, Some(400), Some("BAD_SECRET_[REDACTED]"))]
    );
}

#[tokio::test]
async fn a_detail_without_the_secret_is_kept_as_sent() {
    let server = TestServer::start(|_| quoting(403, "someone-elses-key")).await;
    let (result, _) = list(&client(&server), &api_key(), far_deadline()).await;
    assert_eq!(
        detail_of(&result.unwrap_err()),
        "Credential someone-elses-key is not valid here."
    );
}
