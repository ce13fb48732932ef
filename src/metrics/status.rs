//! What the status page (`/`) and readiness know of one organisation, as plain data published with
//! the snapshot: its poll (source, API version, last attempt, last success, the last failure) and the
//! figures of its live data. Also the one rule for Atlas' `detail` text before anyone may read it.

use std::sync::Arc;
use std::time::Duration;

use jiff::Timestamp;

use crate::config::ExpiryWindow;
use crate::metrics::aggregate::OrgAggregate;
use crate::metrics::facts::OrgFact;
use crate::metrics::policy::RiskReason;
use crate::types::PollFailure;

/// The most characters of Atlas' `detail` the page shows: enough for Atlas' sentences (they name the
/// resource and the role), short enough that a hostile or verbose body cannot fill the page.
pub const DETAIL_CHARS: usize = 200;

/// One organisation's status for the status page and readiness.
#[derive(Clone, Debug, PartialEq)]
pub struct OrgStatus {
    pub id: String,
    pub name: String,
    /// The `source` label value of the API in use.
    pub source: &'static str,
    /// The Atlas resource version that API is asked for.
    pub api_version: &'static str,
    pub attempted: bool,
    pub poll_success: bool,
    /// When the last poll started.
    pub last_attempt: Option<Timestamp>,
    /// How long the last poll took.
    pub last_duration: Option<Duration>,
    pub last_success: Option<Timestamp>,
    /// Why the last poll failed; `None` once a poll succeeds. Its `error_code` is bounded as the
    /// `error_code` label is.
    pub failure: Option<PollFailure>,
    /// The figures of the last good data, while that data is still exported.
    pub figures: Option<OrgFigures>,
}

/// The numbers of an organisation the status page shows, as of its last successful poll.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct OrgFigures {
    pub pending: u64,
    /// The first configured expiry window's label and the pending invitees expiring within it.
    pub expiring: Option<(String, u64)>,
    pub stale: u64,
    /// Pending invitations granting `ORG_OWNER`.
    pub owner: u64,
    /// Pending invitees by risk reason (label, count), every reason listed.
    pub risky: Vec<(&'static str, u64)>,
    /// What the facts beside the invitations tell of coverage (projects forbidden, legacy project
    /// invitations pending), as each fact words it.
    pub coverage: Vec<(&'static str, u64)>,
}

/// The figures of one organisation's live data and facts.
pub(crate) fn figures(
    data: &OrgAggregate,
    facts: &[Arc<dyn OrgFact>],
    windows: &[ExpiryWindow],
) -> OrgFigures {
    OrgFigures {
        pending: data.pending,
        expiring: windows
            .first()
            .zip(data.expiring.first())
            .map(|(window, count)| (window.label.clone(), *count)),
        stale: data.stale,
        owner: data.roles.get("ORG_OWNER").map_or(0, |role| role.pending),
        risky: RiskReason::ALL
            .iter()
            .zip(data.risky)
            .map(|(reason, count)| (reason.label(), count))
            .collect(),
        coverage: facts
            .iter()
            .flat_map(|fact| fact.status_figures())
            .collect(),
    }
}

/// Atlas' `detail` as anyone who can open the status page may read it: control characters as
/// spaces, every e-mail address as `…@domain` (the domain tells the operator enough; the person is
/// none of their business there), at most [`DETAIL_CHARS`] characters. Applying it twice changes
/// nothing, so the page may apply it again to what the poll stage already scrubbed.
pub fn scrub_detail(text: &str) -> String {
    let chars: Vec<char> = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let mut out = String::with_capacity(text.len().min(DETAIL_CHARS * 4));
    let mut start = 0;
    for (at, c) in chars.iter().enumerate() {
        if *c != '@' {
            continue;
        }
        // The local part: the run of address characters before the '@'.
        let local = chars[start..at]
            .iter()
            .rev()
            .take_while(|c| in_address(**c))
            .count();
        let has_domain = chars.get(at + 1).is_some_and(|c| in_address(*c));
        if local == 0 || !has_domain {
            continue;
        }
        out.extend(&chars[start..at - local]);
        out.push('…');
        start = at;
    }
    out.extend(&chars[start..]);
    if out.chars().count() > DETAIL_CHARS {
        out = out.chars().take(DETAIL_CHARS - 1).collect();
        out.push('…');
    }
    out
}

/// Whether `c` may be part of an address as far as hiding one goes: anything but spaces and the
/// punctuation that surrounds addresses in prose (not `'`: `o'neil@example.com` is one address). Generous on purpose: hiding too much of a sentence
/// is harmless, showing part of an address is not.
fn in_address(c: char) -> bool {
    // Not '@' itself: in `a@b@c` the second address's local part is `b`.
    !c.is_whitespace()
        && !matches!(
            c,
            '@' | '<' | '>' | '(' | ')' | '[' | ']' | '"' | ',' | ';' | ':'
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_keep_only_their_domain() {
        assert_eq!(
            scrub_detail(
                "Invitation to alice.o'neil+x@example.com (or <bob@corp.example>) exists."
            ),
            "Invitation to …@example.com (or <…@corp.example>) exists."
        );
        assert_eq!(scrub_detail("a@b, c@d"), "…@b, …@d");
        assert_eq!(scrub_detail("a@b@c"), "…@…@c");
        assert_eq!(scrub_detail("…@…@c"), "…@…@c");
        assert_eq!(
            scrub_detail("x @ y and @handle and trailing@"),
            "x @ y and @handle and trailing@"
        );
    }

    #[test]
    fn scrubbing_is_bounded_idempotent_and_removes_control_characters() {
        let long = format!("{} someone@example.com", "é".repeat(300));
        let once = scrub_detail(&long);
        assert_eq!(once.chars().count(), DETAIL_CHARS);
        assert!(once.ends_with('…'));
        assert_eq!(scrub_detail(&once), once);
        let sample = "line\nbreak\tuser@example.com";
        assert_eq!(scrub_detail(sample), "line break …@example.com");
        assert_eq!(scrub_detail(&scrub_detail(sample)), scrub_detail(sample));
    }

    #[test]
    fn figures_take_the_first_window_the_owner_role_and_every_risk_reason() {
        let mut data = OrgAggregate {
            pending: 5,
            stale: 2,
            expiring: vec![1, 3],
            risky: [1, 0, 2],
            ..OrgAggregate::default()
        };
        data.roles.insert(
            "ORG_OWNER".into(),
            crate::metrics::aggregate::RoleStats {
                pending: 4,
                ..Default::default()
            },
        );
        let windows = [ExpiryWindow {
            label: "24h".into(),
            duration: Duration::from_secs(86_400),
        }];
        let f = figures(&data, &[], &windows);
        assert_eq!((f.pending, f.stale, f.owner), (5, 2, 4));
        assert_eq!(f.expiring, Some(("24h".into(), 1)));
        assert_eq!(
            f.risky,
            [
                ("owner_external", 1),
                ("free_mail", 0),
                ("unexpected_inviter", 2)
            ]
        );
        assert_eq!(figures(&data, &[], &[]).expiring, None);
    }
}
