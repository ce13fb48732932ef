//! `getOrgServiceAccount` (`GET /api/atlas/v2/orgs/{orgId}/serviceAccounts/{clientId}`): a service
//! account and its secrets' dates, and which of those secrets the caller's own credential is, told
//! from the masked values Atlas shows.

use jiff::Timestamp;
use secrecy::ExposeSecret;
use serde::Deserialize;

use tokio::time::Instant;

use crate::call::{CallRecord, Endpoint};
use crate::client::{AtlasClient, path_segment};
use crate::model::{Text, parse_json};
use crate::transport::ApiRequest;
use crate::{ApiError, Authenticator};

crate::call::endpoint! {
    /// `GET /api/atlas/v2/orgs/{orgId}/serviceAccounts/{clientId}`
    /// ([`AtlasClient::get_org_service_account`]).
    GET_ORG_SERVICE_ACCOUNT = "get_org_service_account", version "2024-08-05";
}

/// A service account of an organisation, from `getOrgServiceAccount`: only what tells when its
/// credentials stop working.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServiceAccount {
    /// `clientId`, as Atlas sent it (the one asked for when Atlas left it out).
    pub client_id: String,
    /// `secrets`, in Atlas' order; empty when absent.
    pub secrets: Vec<ServiceAccountSecret>,
}

/// One secret of a service account (`ServiceAccountSecret`). The secret itself is never kept: Atlas
/// sends it only in the answer to its creation, and this type has nowhere to put it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServiceAccountSecret {
    /// `id`: 24 hexadecimal digits, as Atlas sent it (not validated here).
    pub id: String,
    /// `createdAt`.
    pub created_at: Timestamp,
    /// `expiresAt`: after it, the secret no longer obtains tokens.
    pub expires_at: Timestamp,
    /// `lastUsedAt`; `None` when null or absent (never used).
    pub last_used_at: Option<Timestamp>,
    /// `maskedSecretValue`, e.g. `mdb_sa_sk_...abcd`; `None` when absent.
    pub masked_secret_value: Option<String>,
}

impl AtlasClient {
    /// `GET /api/atlas/v2/orgs/{org_id}/serviceAccounts/{client_id}` (resource version 2024-08-05):
    /// the service account and its secrets' dates, with retries that never sleep past `deadline`.
    /// Every call made (token fetches included) is appended to `calls`.
    pub async fn get_org_service_account(
        &self,
        org_id: &str,
        client_id: &str,
        auth: &Authenticator,
        deadline: Instant,
        calls: &mut Vec<CallRecord>,
    ) -> Result<ServiceAccount, ApiError> {
        let path = format!(
            "/api/atlas/v2/orgs/{org_id}/serviceAccounts/{}",
            path_segment(client_id)
        );
        let request = ApiRequest {
            endpoint: Endpoint::GET_ORG_SERVICE_ACCOUNT,
            path_and_query: &path,
        };
        let decode = |body: &[u8]| parse_org_service_account(body, client_id);
        let fetched = self.get(&request, auth, deadline, calls, &decode).await?;
        Ok(fetched.value)
    }
}

impl ServiceAccount {
    /// The secret this authenticator uses: the one whose maskedSecretValue's visible characters
    /// (the parts before and after the mask, e.g. "mdb_sa_sk_" and "abcd" in "mdb_sa_sk_...abcd";
    /// masks written as "...", "…" or runs of '*') match our secret (prefix and suffix); if none or
    /// more than one match, the one expiring soonest (among the matching ones if several match).
    /// None when there are no secrets or `auth` is not a service account.
    pub fn secret_in_use(&self, auth: &Authenticator) -> Option<&ServiceAccountSecret> {
        let ours = auth.service_account_secret()?.expose_secret();
        let matching = |secret: &&ServiceAccountSecret| {
            secret
                .masked_secret_value
                .as_deref()
                .is_some_and(|masked| mask_matches(masked, ours))
        };
        // Not knowing which secret is ours, the soonest expiry is the one that must not be missed.
        soonest(self.secrets.iter().filter(matching)).or_else(|| soonest(self.secrets.iter()))
    }
}

fn soonest<'a>(
    secrets: impl Iterator<Item = &'a ServiceAccountSecret>,
) -> Option<&'a ServiceAccountSecret> {
    secrets.min_by_key(|secret| secret.expires_at)
}

/// Whether `secret` starts with what `masked` shows before its mask and ends with what it shows
/// after. A value with no mask in it shows nothing we can rely on, so it matches nothing.
fn mask_matches(masked: &str, secret: &str) -> bool {
    let Some((prefix, suffix)) = visible_parts(masked) else {
        return false;
    };
    prefix.len() + suffix.len() <= secret.len()
        && secret.starts_with(prefix)
        && secret.ends_with(suffix)
}

/// The text before and after the first mask (`...`, `…`, or a run of `*`, longer runs of dots or
/// ellipses included).
fn visible_parts(masked: &str) -> Option<(&str, &str)> {
    let mut from = 0;
    loop {
        let start = from + masked[from..].find(['.', '…', '*'])?;
        let rest = &masked[start..];
        let mask_len = if rest.starts_with('*') {
            rest.len() - rest.trim_start_matches('*').len()
        } else if rest.starts_with("...") || rest.starts_with('…') {
            rest.len() - rest.trim_start_matches(['.', '…']).len()
        } else {
            // A lone dot (one byte) is part of the visible text; the mask may come after it.
            from = start + 1;
            continue;
        };
        return Some((&masked[..start], &rest[mask_len..]));
    }
}

/// `OrgServiceAccount`. The spec requires none of its fields; only the secrets matter here.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct OrgServiceAccount<'a> {
    #[serde(borrow)]
    client_id: Option<Text<'a>>,
    #[serde(borrow)]
    secrets: Option<Vec<WireSecret<'a>>>,
}

/// `ServiceAccountSecret` as sent; `secret` is left undeclared so it is never even decoded.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireSecret<'a> {
    created_at: Timestamp,
    expires_at: Timestamp,
    #[serde(borrow)]
    id: Text<'a>,
    last_used_at: Option<Timestamp>,
    #[serde(borrow)]
    masked_secret_value: Option<Text<'a>>,
}

/// Decodes a `getOrgServiceAccount` body; `requested` is the client id asked for.
fn parse_org_service_account(
    body: &[u8],
    requested: &str,
) -> Result<ServiceAccount, ApiError> {
    let wire: OrgServiceAccount<'_> = parse_json(body)?;
    Ok(ServiceAccount {
        client_id: wire
            .client_id
            .map_or_else(|| requested.to_owned(), Text::into_owned),
        secrets: wire
            .secrets
            .unwrap_or_default()
            .into_iter()
            .map(|secret| ServiceAccountSecret {
                id: secret.id.into_owned(),
                created_at: secret.created_at,
                expires_at: secret.expires_at,
                last_used_at: secret.last_used_at,
                masked_secret_value: secret.masked_secret_value.map(Text::into_owned),
            })
            .collect(),
    })
}

#[cfg(test)]
mod tests {
    use secrecy::SecretString;

    use super::*;

    /// The spec's `OrgServiceAccount`, every field in its own name, `secret` included.
    const SPEC_SHAPE: &str = r#"{
        "clientId": "mdb_sa_id_1234567890abcdef12345678",
        "createdAt": "2024-08-05T10:00:00Z",
        "description": "Polls invitations",
        "name": "invites-exporter",
        "roles": ["ORG_READ_ONLY", "ORG_MEMBER"],
        "secrets": [
            {
                "createdAt": "2025-01-01T00:00:00Z",
                "expiresAt": "2025-12-27T00:00:00+01:00",
                "id": "32b6e34b3d91647abb20e7b8",
                "lastUsedAt": "2025-06-01T12:30:00Z",
                "maskedSecretValue": "mdb_sa_sk_...abcd",
                "secret": "mdb_sa_sk_never-kept"
            },
            {
                "createdAt": "2025-02-01T00:00:00Z",
                "expiresAt": "2026-02-01T00:00:00Z",
                "id": "32b6e34b3d91647abb20e7b9",
                "lastUsedAt": null
            }
        ]
    }"#;

    fn ts(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    fn secret(id: &str, expires_at: &str, masked: Option<&str>) -> ServiceAccountSecret {
        ServiceAccountSecret {
            id: id.to_owned(),
            created_at: ts("2025-01-01T00:00:00Z"),
            expires_at: ts(expires_at),
            last_used_at: None,
            masked_secret_value: masked.map(str::to_owned),
        }
    }

    fn account(secrets: Vec<ServiceAccountSecret>) -> ServiceAccount {
        ServiceAccount {
            client_id: "mdb_sa_id_1".to_owned(),
            secrets,
        }
    }

    fn ours() -> Authenticator {
        Authenticator::service_account(
            "mdb_sa_id_1".to_owned(),
            SecretString::from("mdb_sa_sk_0123456789abcd"),
        )
    }

    #[test]
    fn the_endpoint_is_registered() {
        assert!(Endpoint::all().contains(&Endpoint::GET_ORG_SERVICE_ACCOUNT));
    }

    #[test]
    fn the_spec_shape_decodes_field_for_field() {
        let parsed = parse_org_service_account(SPEC_SHAPE.as_bytes(), "asked").unwrap();
        assert_eq!(
            parsed,
            ServiceAccount {
                client_id: "mdb_sa_id_1234567890abcdef12345678".to_owned(),
                secrets: vec![
                    ServiceAccountSecret {
                        id: "32b6e34b3d91647abb20e7b8".to_owned(),
                        created_at: ts("2025-01-01T00:00:00Z"),
                        // The offset is applied, not dropped.
                        expires_at: ts("2025-12-26T23:00:00Z"),
                        last_used_at: Some(ts("2025-06-01T12:30:00Z")),
                        masked_secret_value: Some("mdb_sa_sk_...abcd".to_owned()),
                    },
                    ServiceAccountSecret {
                        id: "32b6e34b3d91647abb20e7b9".to_owned(),
                        created_at: ts("2025-02-01T00:00:00Z"),
                        expires_at: ts("2026-02-01T00:00:00Z"),
                        last_used_at: None,
                        masked_secret_value: None,
                    },
                ],
            }
        );
        assert!(!format!("{parsed:?}").contains("never-kept"));
    }

    #[test]
    fn an_account_without_client_id_or_secrets_is_the_one_asked_for_with_none() {
        let parsed = parse_org_service_account(b"{}", "mdb_sa_id_asked").unwrap();
        assert_eq!(parsed, account_named("mdb_sa_id_asked"));
    }

    fn account_named(client_id: &str) -> ServiceAccount {
        ServiceAccount {
            client_id: client_id.to_owned(),
            secrets: Vec::new(),
        }
    }

    #[test]
    fn missing_required_dates_bad_dates_and_bad_json_are_invalid_responses() {
        for body in [
            r#"{"secrets":[{"id":"a","expiresAt":"2026-01-01T00:00:00Z"}]}"#,
            r#"{"secrets":[{"id":"a","createdAt":"2026-01-01T00:00:00Z"}]}"#,
            r#"{"secrets":[{"createdAt":"2026-01-01T00:00:00Z","expiresAt":"2026-01-01T00:00:00Z"}]}"#,
            r#"{"secrets":[{"id":"a","createdAt":"2026-01-01T00:00:00","expiresAt":"2026-01-01T00:00:00Z"}]}"#,
            r#"{"secrets":{}}"#,
            r#"[]"#,
            r#"{"secrets":["#,
            "<html></html>",
        ] {
            let error = parse_org_service_account(body.as_bytes(), "x").unwrap_err();
            assert!(
                matches!(error, ApiError::InvalidResponse { .. }),
                "{body}: {error:?}"
            );
        }
    }

    #[test]
    fn masks_of_every_spelling_show_a_prefix_and_a_suffix() {
        for (masked, parts) in [
            ("mdb_sa_sk_...abcd", Some(("mdb_sa_sk_", "abcd"))),
            ("mdb_sa_sk_…abcd", Some(("mdb_sa_sk_", "abcd"))),
            ("mdb_sa_sk_****abcd", Some(("mdb_sa_sk_", "abcd"))),
            ("mdb_sa_sk_*abcd", Some(("mdb_sa_sk_", "abcd"))),
            ("mdb_sa_sk_.....abcd", Some(("mdb_sa_sk_", "abcd"))),
            ("mdb_sa_sk_...", Some(("mdb_sa_sk_", ""))),
            ("a.b...cd", Some(("a.b", "cd"))),
            ("...", Some(("", ""))),
            ("mdb_sa_sk_abcd", None),
            ("a.b", None),
            ("a..b", None),
            ("", None),
        ] {
            assert_eq!(visible_parts(masked), parts, "{masked}");
        }
        assert!(mask_matches("mdb_sa_sk_...abcd", "mdb_sa_sk_0123abcd"));
        assert!(!mask_matches("mdb_sa_sk_...abce", "mdb_sa_sk_0123abcd"));
        assert!(!mask_matches("mdb_sa_sk_...abcd", "xmdb_sa_sk_0123abcd"));
        // The parts may not overlap in the secret.
        assert!(!mask_matches("abc...bcd", "abcd"));
        assert!(!mask_matches("mdb_sa_sk_0123abcd", "mdb_sa_sk_0123abcd"));
        // However many lone dots, no recursion and no panic.
        assert_eq!(visible_parts(&".x".repeat(100_000)), None);
    }

    #[test]
    fn the_matching_secret_wins_over_a_sooner_expiring_one() {
        let sa = account(vec![
            secret("soon", "2025-03-01T00:00:00Z", Some("mdb_sa_sk_...zzzz")),
            secret("ours", "2025-09-01T00:00:00Z", Some("mdb_sa_sk_...abcd")),
            secret("unmasked", "2025-01-02T00:00:00Z", None),
        ]);
        assert_eq!(sa.secret_in_use(&ours()).unwrap().id, "ours");
    }

    #[test]
    fn without_a_match_the_soonest_expiring_secret_is_chosen() {
        let sa = account(vec![
            secret("late", "2025-09-01T00:00:00Z", Some("mdb_sa_sk_...zzzz")),
            secret("soon", "2025-03-01T00:00:00Z", Some("other_...abcd")),
            secret("unmasked", "2025-06-02T00:00:00Z", None),
        ]);
        assert_eq!(sa.secret_in_use(&ours()).unwrap().id, "soon");
    }

    #[test]
    fn of_two_matches_the_soonest_expiring_one_is_chosen() {
        let sa = account(vec![
            secret("early", "2025-01-15T00:00:00Z", Some("other_...zzzz")),
            secret("late", "2025-09-01T00:00:00Z", Some("mdb_sa_sk_...abcd")),
            secret("sooner", "2025-04-01T00:00:00Z", Some("mdb_sa_sk_***")),
        ]);
        assert_eq!(sa.secret_in_use(&ours()).unwrap().id, "sooner");
    }

    #[test]
    fn an_api_key_or_an_account_without_secrets_has_no_secret_in_use() {
        let key = Authenticator::api_key(
            "abcdefgh".to_owned(),
            SecretString::from("mdb_sa_sk_0123456789abcd"),
        );
        let sa = account(vec![secret(
            "only",
            "2025-03-01T00:00:00Z",
            Some("mdb_sa_sk_...abcd"),
        )]);
        assert_eq!(sa.secret_in_use(&key), None);
        assert_eq!(account(Vec::new()).secret_in_use(&ours()), None);
        assert_eq!(key.service_account_id(), None);
        assert_eq!(ours().service_account_id(), Some("mdb_sa_id_1"));
    }
}
