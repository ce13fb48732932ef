//! Where a listing's invitations go as its bodies are decoded: the [`InvitationSink`] trait, and the
//! rule that the scanner reads a body first and the reference decoders decide whatever it declines.
//!
//! So the two lanes cannot disagree on what is valid, nor word an error differently: only on numbers,
//! which the unit tests here, the property tests and the differential fuzz targets compare.

use crate::ApiError;
use crate::model::{self, Invitation, InvitationView, PageCounts};
use crate::scanner;

/// Receives the invitations of a listing, one [`InvitationView`] at a time, as its bodies are decoded.
///
/// A counting sink (the exporter's aggregate) keeps nothing per invitation; `Vec<Invitation>` keeps
/// them all and is decoded by the reference decoders alone. A body that fails to decode leaves the
/// sink unchanged: it is decoded into a clone, kept only when the whole body decodes.
pub trait InvitationSink: Clone {
    /// Takes one invitation (pending, expired, or rejected with no expiry).
    fn add(&mut self, invitation: InvitationView<'_>);

    /// Adds a `listOrgInvites` body; returns the `orgName` of the first invitation that had one.
    fn add_invitations(&mut self, body: &[u8]) -> Result<Option<String>, ApiError> {
        scan_or_decide(
            self,
            |scanned| scanner::org_invitations(body, &mut |view| scanned.add(view)),
            || {
                let parsed = model::parse_org_invitations(body)?;
                Ok((parsed.invitations, parsed.org_name))
            },
        )
    }

    /// Adds the pending and expired invitations of one `listOrgUsers` page.
    fn add_org_users_page(&mut self, body: &[u8]) -> Result<PageCounts, ApiError> {
        scan_or_decide(
            self,
            |scanned| scanner::org_users_page(body, &mut |view| scanned.add(view)),
            || {
                let page = model::parse_org_users_page(body)?;
                let counts = PageCounts {
                    results: page.results,
                    total_count: page.total_count,
                };
                Ok((page.items, counts))
            },
        )
    }
}

/// The reference: every body decoded by the serde decoders, invitations kept whole.
impl InvitationSink for Vec<Invitation> {
    fn add(&mut self, invitation: InvitationView<'_>) {
        self.push(owned(invitation));
    }

    fn add_invitations(&mut self, body: &[u8]) -> Result<Option<String>, ApiError> {
        let parsed = model::parse_org_invitations(body)?;
        self.extend(parsed.invitations);
        Ok(parsed.org_name)
    }

    fn add_org_users_page(&mut self, body: &[u8]) -> Result<PageCounts, ApiError> {
        let page = model::parse_org_users_page(body)?;
        self.extend(page.items);
        Ok(PageCounts {
            results: page.results,
            total_count: page.total_count,
        })
    }
}

/// Hands every invitation to `sink`, as a decoder would have: how the reference decoders' output is
/// counted, and how tests compare the two lanes.
pub fn replay<S: InvitationSink>(invitations: &[Invitation], sink: &mut S) {
    for invitation in invitations {
        invitation.with_view(|view| sink.add(view));
    }
}

fn owned(view: InvitationView<'_>) -> Invitation {
    let text = |bytes: &[u8]| String::from_utf8_lossy(bytes).into_owned();
    // Decoders hand over dates they read from four-digit years, always within jiff's range; the
    // fallback only keeps a daemon from panicking if one day one does not.
    let timestamp = |seconds| jiff::Timestamp::from_second(seconds).unwrap_or_default();
    Invitation {
        id: text(view.id),
        username: text(view.username),
        inviter_username: view.inviter_username.map(text),
        team_ids: view.team_ids.iter().map(|team| text(team)).collect(),
        created_at: timestamp(view.created_at),
        expires_at: view.expires_at.map(timestamp),
        org_roles: view.org_roles.iter().map(|role| text(role)).collect(),
        project_roles: view
            .project_roles
            .iter()
            .map(|(project, role)| model::ProjectRole {
                project_id: text(project),
                role: text(role),
            })
            .collect(),
    }
}

/// Reads a body with the scanner into a copy of `sink`, kept only if the scanner finishes; whatever
/// it declines, the reference decides.
fn scan_or_decide<S: InvitationSink, T>(
    sink: &mut S,
    scan: impl FnOnce(&mut S) -> Result<T, scanner::Declined>,
    reference: impl FnOnce() -> Result<(Vec<Invitation>, T), ApiError>,
) -> Result<T, ApiError> {
    let mut scanned = sink.clone();
    if let Ok(value) = scan(&mut scanned) {
        *sink = scanned;
        return Ok(value);
    }
    let (invitations, value) = reference()?;
    replay(&invitations, sink);
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{parse_org_invitations, parse_org_users_page};

    const SPEC_EXAMPLE: &str =
        include_str!("../../../tests/fixtures/atlas/org_invites_spec_example.json");
    const VARIANTS: &str = include_str!("../../../tests/fixtures/atlas/org_invites_variants.json");
    const ORG_USERS: &str = include_str!("../../../tests/fixtures/atlas/org_users_statuses.json");

    /// One view, owned: every field, so that the lanes must agree on each.
    type Recorded1 = (
        (Vec<u8>, Vec<u8>, Option<Vec<u8>>, Vec<Vec<u8>>),
        i64,
        Option<i64>,
        Vec<Vec<u8>>,
        Vec<(Vec<u8>, Vec<u8>)>,
    );

    /// Every view a decoder handed over, as owned data: the two lanes must hand over the same.
    #[derive(Clone, Debug, Default, PartialEq)]
    struct Recorded(Vec<Recorded1>);

    impl InvitationSink for Recorded {
        fn add(&mut self, view: InvitationView<'_>) {
            self.0.push((
                (
                    view.id.to_vec(),
                    view.username.to_vec(),
                    view.inviter_username.map(<[u8]>::to_vec),
                    view.team_ids.iter().map(|t| t.to_vec()).collect(),
                ),
                view.created_at,
                view.expires_at,
                view.org_roles.iter().map(|r| r.to_vec()).collect(),
                view.project_roles
                    .iter()
                    .map(|(p, r)| (p.to_vec(), r.to_vec()))
                    .collect(),
            ));
        }
    }

    fn reference(invitations: &[Invitation]) -> Recorded {
        let mut recorded = Recorded::default();
        replay(invitations, &mut recorded);
        recorded
    }

    fn one_user(fields: &str) -> String {
        format!(
            r#"{{"results":[{{"id":"5f0e1a2b3c4d5e6f7a8b9c01","username":"u@example.com",{fields}}}]}}"#
        )
    }

    #[test]
    fn a_body_that_fails_leaves_the_sink_as_it_was() {
        let mut sink = Recorded::default();
        sink.add_invitations(SPEC_EXAMPLE.as_bytes()).unwrap();
        let before = sink.clone();
        assert!(!before.0.is_empty());
        // Valid up to the last entry, which lacks its expiry: the scanner has seen part of it.
        let body = br#"[{"createdAt":"2026-01-01T00:00:00Z","expiresAt":"2026-01-31T00:00:00Z"},{"createdAt":"2026-01-01T00:00:00Z"}]"#;
        assert!(sink.add_invitations(body).is_err());
        assert_eq!(sink, before);
        assert!(
            sink.add_org_users_page(br#"{"results":[{"roles":{}}]}"#)
                .is_err()
        );
        assert_eq!(sink, before);
    }

    #[test]
    fn the_reference_sink_keeps_invitations_whole() {
        let mut invitations: Vec<Invitation> = Vec::new();
        invitations.add_invitations(VARIANTS.as_bytes()).unwrap();
        assert_eq!(
            invitations,
            parse_org_invitations(VARIANTS.as_bytes())
                .unwrap()
                .invitations
        );
    }

    /// Bodies with many shapes: escapes, offsets, fractions, missing and null arrays, duplicate roles.
    fn invitation_bodies() -> Vec<String> {
        let mut bodies = vec![
            SPEC_EXAMPLE.to_owned(),
            VARIANTS.to_owned(),
            "[]".to_owned(),
        ];
        let entries: Vec<String> = (0..60)
            .map(|n| {
                let created = ["2026-02-01T00:00:00Z", "2026-03-05T12:30:00+02:00", "2026-02-09T23:59:59.75Z", "2026-01-31T10:00:00Z"][n % 4];
                let expires = ["2026-03-03T00:00:00Z", "2026-04-04T12:30:00+02:00", "2026-03-11T23:59:59.75Z", "2026-03-02T10:00:00Z"][n % 4];
                let roles = ["", r#","roles":null"#, r#","roles":["ORG_MEMBER","ORG_MEMBER","ORG_\u0041"]"#, r#","roles":["ORG_OWNER"]"#][n % 4];
                let groups = ["", r#","groupRoleAssignments":null"#, r#","groupRoleAssignments":[{"groupId":"p1","groupRole":"GROUP_OWNER"},{"groupId":"p1","groupRole":"GROUP_READ_ONLY"},{"groupRole":"ORG_MEMBER"}]"#, r#","groupRoleAssignments":[{"groupId":"p2"},{"groupId":"p\u0033","groupRole":"GROUP_OWNER","extra":[1,{"a":2}]}]"#][(n / 4) % 4];
                let name = if n == 7 { r#","orgName":"Z\u00fcrich""# } else { "" };
                let who = match (n / 3) % 5 {
                    0 => format!(r#","id":"i{n}","username":"u{n}@example.com","inviterUsername":"admin@example.com""#),
                    1 => format!(r#","id":"i{n}","inviterUsername":null"#),
                    2 => String::new(),
                    3 => r#","id":"i\u0031","username":"\u00fc@example.com","inviterUsername":"a\/b""#.to_owned(),
                    _ => r#","username":null,"id":null"#.to_owned(),
                };
                let teams = ["", r#","teamIds":null"#, r#","teamIds":[]"#, r#","teamIds":["t1","t2","t1"]"#, r#","teamIds":["t\u0033"]"#][n % 5];
                format!(r#"{{"createdAt":"{created}","expiresAt":"{expires}"{roles}{groups}{name}{who}{teams},"links":[]}}"#)
            })
            .collect();
        bodies.push(format!("[{}]", entries.join(",")));
        // One entry a body too: an escape anywhere sends a whole body to the reference, so only
        // these let the scanner read most entries.
        bodies.extend(entries.iter().map(|entry| format!("[{entry}]")));
        bodies
    }

    #[test]
    fn scanning_invitations_hands_over_what_the_reference_decodes() {
        let scanned = invitation_bodies()
            .iter()
            .filter(|body| scanner::org_invitations(body.as_bytes(), &mut |_| {}).is_ok())
            .count();
        assert!(scanned >= 15, "only {scanned} bodies took the fast lane");
        for body in invitation_bodies() {
            let parsed = parse_org_invitations(body.as_bytes()).unwrap();
            let mut streamed = Recorded::default();
            let org_name = streamed.add_invitations(body.as_bytes()).unwrap();
            assert_eq!(org_name, parsed.org_name, "{body}");
            assert_eq!(streamed, reference(&parsed.invitations), "{body}");
        }
    }

    #[test]
    fn scanning_invitations_rejects_what_the_reference_rejects() {
        for body in [
            r#"[{"expiresAt":"2026-01-31T00:00:00Z"}]"#,
            r#"[{"createdAt":"2026-01-01T00:00:00Z"}]"#,
            r#"[{"createdAt":"2026-01-01T00:00:00Z","expiresAt":null}]"#,
            r#"[{"createdAt":"2026-01-01T00:00:00","expiresAt":"2026-01-31T00:00:00Z"}]"#,
            r#"[{"createdAt":"2026-01-01T00:00:00Z","expiresAt":"2026-01-31T00:00:00Z","roles":"ORG_OWNER"}]"#,
            r#"[{"createdAt":"2026-01-01T00:00:00Z","createdAt":"2026-01-01T00:00:00Z","expiresAt":"2026-01-31T00:00:00Z"}]"#,
            r#"{"results":[]}"#,
            r#"[{"createdAt":"2026-01-01T00:00:00Z","#,
            "<html><body>Bad gateway</body></html>",
            "[] []",
        ] {
            assert!(parse_org_invitations(body.as_bytes()).is_err(), "{body}");
            assert!(
                matches!(
                    Recorded::default().add_invitations(body.as_bytes()),
                    Err(ApiError::InvalidResponse { .. })
                ),
                "{body}"
            );
        }
    }

    #[test]
    fn scanning_a_users_page_hands_over_what_the_reference_decodes() {
        let statuses = [
            "PENDING",
            "INVITATION_EXPIRED",
            "INVITATION_REJECTED",
            "ACTIVE",
            "INVITATION_REVOKED",
        ];
        let entries: Vec<String> = (0..50)
            .map(|n| {
                let status = statuses[n % statuses.len()];
                let roles = [
                    r#","roles":{"orgRoles":["ORG_MEMBER","ORG_GROUP_CREATOR"],"groupRoleAssignments":[{"groupId":"a","groupRoles":["GROUP_OWNER","GROUP_READ_ONLY"]},{"groupId":"b","groupRoles":["GROUP_OWNER"]}]}"#,
                    r#","roles":{}"#,
                    r#","roles":null"#,
                    r#","roles":{"orgRoles":null,"groupRoleAssignments":[{"groupId":"a"},{"groupRoles":["X"]},{"groupId":"c","groupRoles":[]},{"groupId":"d","groupRoles":null},{"groupId":"e","groupRoles":["GROUP_\u0041"]}]}"#,
                    "",
                ][(n / 5) % 5];
                let expires = [r#","invitationExpiresAt":"2026-03-31T10:00:00+02:00""#, r#","invitationExpiresAt":null"#, r#","invitationExpiresAt":"2026-03-09T00:00:00Z""#][n % 3];
                let who = [r#","inviterUsername":"admin@example.com""#, r#","inviterUsername":null"#, "", r#","inviterUsername":"\u0061dmin@example.com""#][n % 4];
                let teams = ["", r#","teamIds":null"#, r#","teamIds":["aaaaaaaaaaaaaaaaaaaaaaaa","bbbbbbbbbbbbbbbbbbbbbbbb"]"#, r#","teamIds":[]"#, r#","teamIds":["c\u0063"]"#, r#","teamIds":["dd"]"#][(n / 2) % 6];
                let id = if n % 7 == 3 { String::new() } else { format!(r#""id":"u{n}","username":"u{n}@example.com","#) };
                format!(r#"{{{id}"orgMembershipStatus":"{status}","invitationCreatedAt":"2026-03-01T10:00:00Z"{expires}{roles}{who}{teams}}}"#)
            })
            .collect();
        let generated = format!(
            r#"{{"links":[],"results":[{}],"totalCount":50}}"#,
            entries.join(",")
        );
        let mut bodies = vec![
            ORG_USERS.to_owned(),
            generated,
            r#"{"results":[]}"#.to_owned(),
        ];
        bodies.extend(
            entries
                .iter()
                .map(|entry| format!(r#"{{"results":[{entry}],"totalCount":1}}"#)),
        );
        let scanned = bodies
            .iter()
            .filter(|body| scanner::org_users_page(body.as_bytes(), &mut |_| {}).is_ok())
            .count();
        assert!(scanned >= 15, "only {scanned} bodies took the fast lane");
        for body in bodies {
            let page = parse_org_users_page(body.as_bytes()).unwrap();
            let mut streamed = Recorded::default();
            let counts = streamed.add_org_users_page(body.as_bytes()).unwrap();
            assert_eq!(
                counts,
                PageCounts {
                    results: page.results,
                    total_count: page.total_count
                }
            );
            assert_eq!(streamed, reference(&page.items), "{body}");
        }
    }

    #[test]
    fn scanning_a_users_page_fails_as_the_reference_does() {
        let without_created = one_user(
            r#""orgMembershipStatus":"PENDING","roles":{},"invitationExpiresAt":"2026-01-31T00:00:00Z""#,
        );
        let bad_date = one_user(
            r#""orgMembershipStatus":"INVITATION_EXPIRED","invitationCreatedAt":"2026-01-01T00:00:00","invitationExpiresAt":"2026-01-31T00:00:00Z""#,
        );
        for body in [without_created.as_str(), bad_date.as_str()] {
            let expected = parse_org_users_page(body.as_bytes()).unwrap_err();
            let got = Recorded::default()
                .add_org_users_page(body.as_bytes())
                .unwrap_err();
            assert_eq!(format!("{got:?}"), format!("{expected:?}"), "{body}");
        }
        for body in [
            r#"{"totalCount":0}"#,
            r#"[]"#,
            r#"{"results":[{"roles":{}}]}"#,
            r#"{"results":[],"totalCount":-1}"#,
            r#"{"results":[{"orgMembershipStatus":"ACTIVE","roles":{"orgRoles":"x"}}]}"#,
        ] {
            assert!(parse_org_users_page(body.as_bytes()).is_err(), "{body}");
            assert!(
                matches!(
                    Recorded::default().add_org_users_page(body.as_bytes()),
                    Err(ApiError::InvalidResponse { .. })
                ),
                "{body}"
            );
        }
    }
}
