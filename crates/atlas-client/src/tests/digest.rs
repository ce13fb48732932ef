//! API keys: HTTP Digest with the challenge reused across calls, stale nonces, and wrong keys.

use std::sync::{Arc, Mutex};

use digest_auth::{AuthContext, AuthorizationHeader};

use super::server::{Recorded, Reply, TestServer};
use super::*;

/// Atlas' Digest 401 has no `errorCode`.
const DIGEST_401: &str = r#"{"error" : 401, "reason" : "Unauthorized", "detail" : "You are not authorized for this resource."}"#;

/// The server side of Digest, as Atlas does it: MD5, qop=auth, one current nonce.
struct DigestServer {
    nonce: String,
    private_key: &'static str,
    /// (nonce, nc) of every accepted request.
    accepted: Vec<(String, u32)>,
}

impl DigestServer {
    fn start_with(private_key: &'static str) -> Arc<Mutex<DigestServer>> {
        Arc::new(Mutex::new(DigestServer {
            nonce: "nonce-1".into(),
            private_key,
            accepted: Vec::new(),
        }))
    }

    fn challenge(&self, stale: bool) -> Reply {
        let value = format!(
            r#"Digest realm="MMS Public API", domain="", nonce="{}", algorithm=MD5, qop="auth", stale={stale}"#,
            self.nonce
        );
        Reply::json(401, DIGEST_401).header("www-authenticate", &value)
    }

    fn handle(&mut self, request: &Recorded) -> Reply {
        let Some(answer) = request
            .header("authorization")
            .and_then(|value| AuthorizationHeader::parse(value).ok())
        else {
            return self.challenge(false);
        };
        if !self.is_correct(&answer, &request.path) {
            return self.challenge(false);
        }
        if answer.nonce != self.nonce {
            return self.challenge(true);
        }
        self.accepted.push((answer.nonce.clone(), answer.nc));
        Reply::json(200, SPEC_EXAMPLE)
    }

    fn is_correct(&self, answer: &AuthorizationHeader, path: &str) -> bool {
        let mut context = AuthContext::new(PUBLIC_KEY, self.private_key, path);
        if let Some(cnonce) = &answer.cnonce {
            context.set_custom_cnonce(cnonce.clone());
        }
        let mut expected = answer.clone();
        expected.digest(&context);
        answer.username == PUBLIC_KEY
            && answer.uri == path
            && answer.qop == Some(digest_auth::Qop::AUTH)
            && answer.algorithm.to_string() == "MD5"
            && expected.response == answer.response
    }
}

async fn start(state: &Arc<Mutex<DigestServer>>) -> TestServer {
    let state = Arc::clone(state);
    TestServer::start(move |request| state.lock().unwrap().handle(request)).await
}

#[tokio::test]
async fn the_challenge_is_reused_so_later_calls_take_one_round_trip() {
    let state = DigestServer::start_with(PRIVATE_KEY);
    let server = start(&state).await;
    let (client, auth) = (client(&server), api_key());

    let (first, first_calls) = list(&client, &auth, far_deadline()).await;
    first.unwrap();
    assert_eq!(
        server.requests().len(),
        2,
        "the first call fetches the challenge"
    );
    assert!(server.requests()[0].header("authorization").is_none());
    assert_eq!(
        outcomes(&first_calls),
        [(LIST, Some(200), None)],
        "the challenge round trip is part of the call"
    );

    let (second, second_calls) = list(&client, &auth, far_deadline()).await;
    second.unwrap();
    assert_eq!(
        server.requests().len(),
        3,
        "the second call answers the cached challenge preemptively"
    );
    assert_eq!(outcomes(&second_calls), [(LIST, Some(200), None)]);
    assert_eq!(
        state.lock().unwrap().accepted,
        [("nonce-1".to_owned(), 1), ("nonce-1".to_owned(), 2)]
    );
}

#[tokio::test]
async fn a_stale_nonce_is_replaced_by_the_new_challenge() {
    let state = DigestServer::start_with(PRIVATE_KEY);
    let server = start(&state).await;
    let (client, auth) = (client(&server), api_key());
    list(&client, &auth, far_deadline()).await.0.unwrap();

    state.lock().unwrap().nonce = "nonce-2".into();
    let (result, calls) = list(&client, &auth, far_deadline()).await;
    result.unwrap();
    assert_eq!(outcomes(&calls), [(LIST, Some(200), None)]);
    assert_eq!(
        server.requests().len(),
        4,
        "stale answer, then the answer to the new challenge"
    );
    assert_eq!(
        state.lock().unwrap().accepted,
        [("nonce-1".to_owned(), 1), ("nonce-2".to_owned(), 1)]
    );
}

#[tokio::test]
async fn wrong_keys_fail_after_one_answered_challenge() {
    let state = DigestServer::start_with("another-private-key");
    let server = start(&state).await;
    let (client, auth) = (client(&server), api_key());

    let (result, calls) = list(&client, &auth, far_deadline()).await;
    let error = result.unwrap_err();
    assert_eq!(error.error_code(), "HTTP_401");
    assert_eq!(outcomes(&calls), [(LIST, Some(401), Some("HTTP_401"))]);
    assert_eq!(server.requests().len(), 2);

    // The next poll answers the cached challenge, gets a fresh one, answers it, and stops there.
    let (result, calls) = list(&client, &auth, far_deadline()).await;
    assert_eq!(result.unwrap_err().status(), Some(401));
    assert_eq!(outcomes(&calls), [(LIST, Some(401), Some("HTTP_401"))]);
    assert_eq!(server.requests().len(), 4);
}

#[tokio::test]
async fn a_401_without_a_digest_challenge_is_returned_as_is() {
    let server = TestServer::start(|_| {
        Reply::json(
            401,
            r#"{"error":401,"errorCode":"USER_UNAUTHORIZED","reason":"Unauthorized"}"#,
        )
    })
    .await;
    let (result, calls) = list(&client(&server), &api_key(), far_deadline()).await;
    assert_eq!(result.unwrap_err().error_code(), "USER_UNAUTHORIZED");
    assert_eq!(
        outcomes(&calls),
        [(LIST, Some(401), Some("USER_UNAUTHORIZED"))]
    );
    assert_eq!(server.requests().len(), 1);
}
