//! `GET /api/atlas/v2/orgs/{orgId}/serviceAccounts/{clientId}` (2024-08-05): one service account
//! with its secrets' dates and masked values (`OrgServiceAccount`), never a secret.

use hyper::body::Incoming;
use hyper::{Request, StatusCode};
use jiff::Timestamp;
use serde::Serialize;

use crate::handler::ORG_PATHS;
use crate::handler::answer::{listing_reply, query_pairs, rate_limit_headers};
use crate::handler::call::{Call, Outcome};
use crate::handler::fault::serve_fault;
use crate::handler::org::{EndpointFuture, OrgPath, Parent, admit, checked_request, take_org_fault};
use crate::protocol::{RATE_LIMIT_CAPACITY, SERVICE_ACCOUNTS_MEDIA_TYPE};
use crate::response::{DateStyle, api_error};
use crate::state::{Bucket, State};
use crate::world::{DAY, OrgRole, SimServiceAccountSecret, SimTime};

// Atlas' rate-limit bucket for service accounts is undocumented; "Organizations" is the nearest.
#[linkme::distributed_slice(ORG_PATHS)]
static SERVICE_ACCOUNTS: OrgPath = OrgPath {
    parent: Parent::Org,
    suffix: "serviceAccounts",
    scope: "serviceAccounts",
    bucket: Bucket::Organizations,
    role: OrgRole::Member,
    item: true,
    sunsets: false,
    endpoint: service_account_endpoint,
};

fn service_account_endpoint<'a>(
    request: Request<Incoming>,
    call: Call<'a>,
    org_id: &'a str,
    path: &'static OrgPath,
) -> EndpointFuture<'a> {
    Box::pin(service_account(request, call, org_id, path))
}

/// In the order `serve_listing` checks, then 404 for a client id that is no service account (after
/// `admit`, so an org the caller may not see never tells which accounts exist).
async fn service_account(
    request: Request<Incoming>,
    call: Call<'_>,
    org_id: &str,
    path: &'static OrgPath,
) -> Outcome {
    let shared = call.shared;
    let credential = match checked_request(
        &request,
        &call,
        org_id,
        Parent::Org,
        SERVICE_ACCOUNTS_MEDIA_TYPE,
    ) {
        Ok(credential) => credential,
        Err(refusal) => return refusal,
    };
    let pretty = match query_pairs(&request) {
        Ok(pairs) => pairs
            .iter()
            .any(|(key, value)| key == "pretty" && value.eq_ignore_ascii_case("true")),
        Err(refusal) => return refusal.into(),
    };
    // The route admits only a path ending in a non-empty `{clientId}`.
    let client_id = request.uri().path().rsplit('/').next().unwrap_or_default();

    let mut spoil = None;
    if let Some(outcome) = serve_fault(call, take_org_fault(shared, org_id, path), &mut spoil).await
    {
        return outcome;
    }

    let (account, remaining) = {
        let mut state = shared.lock();
        let remaining = match admit(&mut state, org_id, &credential, path, spoil.is_some()) {
            Ok(org) => org.take_token(path.bucket),
            Err(refusal) => return refusal.into(),
        };
        let Some(secrets) = secrets_of(&state, client_id) else {
            return api_error(
                StatusCode::NOT_FOUND,
                Some("RESOURCE_NOT_FOUND"),
                &format!("Cannot find resource service account {client_id}."),
            )
            .into();
        };
        let account = Account {
            client_id: client_id.to_owned(),
            role: state.role_of(client_id, org_id),
            secrets,
        };
        (account, remaining)
    };

    let now = Timestamp::now();
    let reply = listing_reply(SERVICE_ACCOUNTS_MEDIA_TYPE, spoil, pretty, |dates| {
        serde_json::to_value(account.wire(now, dates)).unwrap_or_default()
    });
    rate_limit_headers(reply, RATE_LIMIT_CAPACITY, remaining).into()
}

/// The secrets listed for `client_id`: those declared for it, else one standing secret per secret it
/// authenticates with; None when it is no service account at all.
fn secrets_of(state: &State, client_id: &str) -> Option<Vec<SimServiceAccountSecret>> {
    let declared: Vec<SimServiceAccountSecret> = state
        .service_account_secrets
        .iter()
        .filter(|secret| secret.client_id == client_id)
        .cloned()
        .collect();
    if !declared.is_empty() {
        return Some(declared);
    }
    let standing: Vec<SimServiceAccountSecret> = state
        .service_accounts
        .iter()
        .filter(|(id, _)| id == client_id)
        .enumerate()
        .map(|(n, (id, secret))| {
            SimServiceAccountSecret::standing(id, format!("5a5a{:020x}", n + 1), secret)
        })
        .collect();
    (!standing.is_empty()).then_some(standing)
}

/// A service account as found, resolved into its JSON outside the lock.
struct Account {
    client_id: String,
    /// Its role in the org asked about; None outside it.
    role: Option<OrgRole>,
    secrets: Vec<SimServiceAccountSecret>,
}

impl Account {
    fn wire(&self, now: Timestamp, dates: DateStyle) -> OrgServiceAccount<'_> {
        let render = |at: SimTime| dates.render(at.resolve(now));
        // The account is as old as its oldest secret, or a month when it has none.
        let created = self
            .secrets
            .iter()
            .map(|secret| secret.created.resolve(now))
            .min()
            .unwrap_or_else(|| SimTime::FromNow(-30 * DAY).resolve(now));
        OrgServiceAccount {
            client_id: &self.client_id,
            created_at: dates.render(created),
            description: "A service account of the Atlas simulator.",
            name: &self.client_id,
            roles: self
                .role
                .map(|role| match role {
                    OrgRole::Owner => "ORG_OWNER",
                    OrgRole::Member => "ORG_MEMBER",
                })
                .into_iter()
                .collect(),
            secrets: self
                .secrets
                .iter()
                .map(|secret| ServiceAccountSecret {
                    created_at: render(secret.created),
                    expires_at: render(secret.expires),
                    id: &secret.id,
                    last_used_at: secret.last_used.map(render),
                    masked_secret_value: secret.masked.as_deref(),
                })
                .collect(),
        }
    }
}

/// `OrgServiceAccount`, field names as in the spec.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct OrgServiceAccount<'a> {
    client_id: &'a str,
    created_at: String,
    description: &'a str,
    name: &'a str,
    roles: Vec<&'static str>,
    secrets: Vec<ServiceAccountSecret<'a>>,
}

/// `ServiceAccountSecret`; `secret` is only ever sent on creation, which the simulator never does.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ServiceAccountSecret<'a> {
    created_at: String,
    expires_at: String,
    id: &'a str,
    /// Nullable in the spec: null for a secret never used.
    last_used_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    masked_secret_value: Option<&'a str>,
}
