//! The service-account resources: one object per GET, through [`AtlasClient::get`] like every call.

use tokio::time::Instant;

use super::AtlasClient;
use crate::call::{CallRecord, Endpoint};
use crate::model::{self, ServiceAccount};
use crate::transport::ApiRequest;
use crate::{ApiError, Authenticator};

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
            endpoint: Endpoint::GetOrgServiceAccount,
            path_and_query: &path,
        };
        let decode = |body: &[u8]| model::parse_org_service_account(body, client_id);
        let fetched = self.get(&request, auth, deadline, calls, &decode).await?;
        Ok(fetched.value)
    }
}

/// `segment` percent-encoded but for RFC 3986's unreserved characters, so that a configured client
/// id can only ever name one path segment (real ones, `mdb_sa_id_` and hex digits, pass unchanged).
fn path_segment(segment: &str) -> String {
    let mut encoded = String::with_capacity(segment.len());
    for byte in segment.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            encoded.push(char::from(byte));
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    encoded
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_ids_stay_one_path_segment() {
        assert_eq!(
            path_segment("mdb_sa_id_1234567890abcdef12345678"),
            "mdb_sa_id_1234567890abcdef12345678"
        );
        assert_eq!(path_segment("a/b?c#d é"), "a%2Fb%3Fc%23d%20%C3%A9");
    }
}
