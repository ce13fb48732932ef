//! What a failed poll means to an operator: a one-line hint from its HTTP status and error code, and
//! the section of the runbook that says more.
//!
//! The exporter does not serve its documentation, and a link relative to the page would 404 on it:
//! with `[web] runbook_url` (where the operator publishes docs/runbook.md) the page links to the
//! section's anchor there; without, it shows `docs/runbook.md#<anchor>`, the file's path in the
//! exporter's repository and the section's anchor as GitHub and most renderers spell it.

/// The runbook's path in the exporter's repository, shown before the section's anchor.
pub(crate) const RUNBOOK: &str = "docs/runbook.md";

/// What to do about one failure.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Hint {
    /// One sentence, plain text (the page escapes it anyway).
    pub text: &'static str,
    /// A heading's anchor in [`RUNBOOK`], without the `#`.
    pub anchor: &'static str,
}

const CREDENTIALS: &str = "atlasinvitescredentialsrejected";
const RATE_LIMITED: &str = "atlasinvitesapiratelimited";
const POLL_FAILING: &str = "atlasinvitespollfailing";

/// The hint for a failed poll: by its error code where that says more than the status (an access
/// list, a token endpoint's OAuth error), else by its status, else by our classification of a call
/// that got no response.
pub(crate) fn hint(status: Option<u16>, error_code: &str) -> Hint {
    let hint = |text, anchor| Hint { text, anchor };
    match (status, error_code) {
        (_, code) if atlas_client::is_access_list_refusal(code) => hint(
            "The exporter's egress IP is not on the credential's API access list: add it (or its CIDR) in Atlas.",
            CREDENTIALS,
        ),
        (_, "INVALID_CLIENT") | (Some(401), _) => hint(
            "Atlas rejected the credentials: check the service account's client id and secret (or the API key), \
             and that the secret is neither expired nor revoked.",
            CREDENTIALS,
        ),
        (Some(403), _) => hint(
            "Atlas refused access: the credential lacks the role this API needs in this organisation \
             (Organization Owner for invitations, Organization Member for org users), or the exporter's \
             IP is not on its API access list.",
            CREDENTIALS,
        ),
        (Some(404), _) | (_, "RESOURCE_NOT_FOUND") => hint(
            "Atlas does not know this organisation: check the organisation id in the configuration.",
            POLL_FAILING,
        ),
        (Some(429), _) => hint(
            "Atlas is rate limiting the exporter: lengthen poll.interval or lower poll.concurrency, and look \
             for other clients sharing the same limit.",
            RATE_LIMITED,
        ),
        (Some(500..=599), _) => hint(
            "Atlas failed to answer: usually an Atlas outage that resolves itself (see status.mongodb.com).",
            POLL_FAILING,
        ),
        (None, "TIMEOUT" | "CONNECTION") => hint(
            "Atlas could not be reached in time: check DNS, the egress firewall, the proxy settings and \
             status.mongodb.com.",
            POLL_FAILING,
        ),
        (None, "TLS") => hint(
            "The TLS handshake with Atlas failed: a proxy that intercepts TLS needs its CA trusted by the \
             exporter; verification is never skipped.",
            POLL_FAILING,
        ),
        (None, "INVALID_RESPONSE" | "BODY_TOO_LARGE") => hint(
            "Atlas' answer could not be read: a proxy's page instead of Atlas, or a body over \
             atlas.max_response_bytes.",
            POLL_FAILING,
        ),
        _ => hint(
            "The poll failed: the runbook lists what each error code means.",
            POLL_FAILING,
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_status_has_its_hint_and_an_anchor_of_the_runbook() {
        let runbook = include_str!("../../docs/runbook.md");
        let cases = [
            (Some(401), "USER_UNAUTHORIZED", CREDENTIALS, "credentials"),
            (Some(400), "INVALID_CLIENT", CREDENTIALS, "credentials"),
            (Some(403), "USER_UNAUTHORIZED", CREDENTIALS, "role"),
            (
                Some(403),
                "IP_ADDRESS_NOT_ON_ACCESS_LIST",
                CREDENTIALS,
                "access list",
            ),
            (
                Some(404),
                "RESOURCE_NOT_FOUND",
                POLL_FAILING,
                "organisation id",
            ),
            (Some(429), "RATE_LIMITED", RATE_LIMITED, "poll.interval"),
            (Some(503), "SERVICE_UNAVAILABLE", POLL_FAILING, "outage"),
            (None, "TIMEOUT", POLL_FAILING, "proxy"),
            (None, "CONNECTION", POLL_FAILING, "proxy"),
            (None, "TLS", POLL_FAILING, "CA"),
            (None, "INVALID_RESPONSE", POLL_FAILING, "proxy"),
            (Some(418), "TEAPOT", POLL_FAILING, "error code"),
        ];
        for (status, code, anchor, words) in cases {
            let found = hint(status, code);
            assert_eq!(found.anchor, anchor, "{status:?} {code}");
            assert!(
                found.text.contains(words),
                "{status:?} {code}: {}",
                found.text
            );
            // Every anchor is a heading of the runbook (GitHub's anchor: the heading in lower case).
            assert!(
                runbook.lines().any(|line| line
                    .strip_prefix("## ")
                    .map(str::to_lowercase)
                    .as_deref()
                    == Some(anchor)),
                "{anchor} is no heading of {RUNBOOK}"
            );
        }
    }
}
