//! The poll path's fast lane: reads the listing bodies Atlas sends in one pass, handing each invitation
//! to a sink as borrowed bytes.
//!
//! serde_json with typed visitors spends most of a poll on work this exporter does not need (UTF-8
//! checks of every key, one visitor call per token, strings handed over one by one), and could not
//! reach half the speed of serde_json merely skipping the same bytes (issue 6). This scanner knows
//! the two shapes it reads and nothing else. It never reports an error of its own: anything it does
//! not fully understand (an escape sequence, a fraction or an exponent, a value of an unexpected type,
//! a duplicate field, deep nesting, malformed JSON) makes it *decline*, and the caller decodes the
//! body with the reference decoders in [`super::model`] instead. Declining is always safe, so the
//! two lanes cannot disagree on which bodies are valid or on what an error says; they can only
//! disagree on numbers, which the property tests and the fuzz targets compare.
//!
//! What it accepts must be exactly what serde_json accepts: strings without escapes or control
//! characters (keys and the strings it keeps also valid UTF-8; serde_json does not check the
//! strings it skips either), integers without fraction or exponent, `true`, `false`, `null`, JSON
//! whitespace, and nothing after the top-level value.

mod cursor;

use crate::model::{InvitationView, PageCounts};
pub(crate) use cursor::Declined;
use cursor::{Cursor, Scan, epoch_seconds};

/// Hands each invitation of a `listOrgInvites` body (an array of `OrganizationInvitation`) to `add`;
/// returns the `orgName` of the first invitation that had one. On `Declined`, `add` has seen part of
/// the body.
pub(crate) fn org_invitations(
    body: &[u8],
    add: &mut impl FnMut(InvitationView<'_>),
) -> Scan<Option<String>> {
    let mut cursor = Cursor::new(body);
    let mut org_name: Option<String> = None;
    let mut roles: Vec<&[u8]> = Vec::new();
    let mut assignments: Vec<(&[u8], &[u8])> = Vec::new();
    let mut team_ids: Vec<&[u8]> = Vec::new();
    cursor.array(|cursor| {
        roles.clear();
        assignments.clear();
        team_ids.clear();
        let (mut created, mut expires, mut name, mut seen) = (None, None, None, Seen::default());
        let (mut id, mut username, mut inviter) = (None, None, None);
        cursor.object(|cursor, key| {
            match key {
                b"createdAt" => {
                    seen.first(0)?;
                    created = Some(cursor.date()?);
                }
                b"expiresAt" => {
                    seen.first(1)?;
                    expires = Some(cursor.date()?);
                }
                b"roles" => {
                    seen.first(2)?;
                    cursor.optional_texts(&mut roles)?;
                }
                b"groupRoleAssignments" => {
                    seen.first(3)?;
                    if !cursor.null()? {
                        cursor.array(|cursor| group_role(cursor, &mut assignments))?;
                    }
                }
                b"orgName" => {
                    seen.first(4)?;
                    name = cursor.optional_text()?;
                }
                b"id" => {
                    seen.first(5)?;
                    id = cursor.optional_text()?;
                }
                b"username" => {
                    seen.first(6)?;
                    username = cursor.optional_text()?;
                }
                b"inviterUsername" => {
                    seen.first(7)?;
                    inviter = cursor.optional_text()?;
                }
                b"teamIds" => {
                    seen.first(8)?;
                    cursor.optional_texts(&mut team_ids)?;
                }
                _ => cursor.skip_value()?,
            }
            Ok(())
        })?;
        let (Some(created), Some(expires)) = (created, expires) else {
            return Err(Declined);
        };
        if org_name.is_none() {
            // Checked UTF-8 (`text`): the conversion cannot lose anything.
            org_name = name.map(|name| String::from_utf8_lossy(name).into_owned());
        }
        add(
            InvitationView::new(created, Some(expires), &roles, &assignments)
                .with_identity(
                    id.unwrap_or_default(),
                    username.unwrap_or_default(),
                    inviter,
                )
                .with_teams(&team_ids),
        );
        Ok(())
    })?;
    cursor.end()?;
    Ok(org_name)
}

/// `GroupRole`: a role of one project, kept when both halves are there.
fn group_role<'a>(
    cursor: &mut Cursor<'a>,
    assignments: &mut Vec<(&'a [u8], &'a [u8])>,
) -> Scan<()> {
    let (mut project, mut role, mut seen) = (None, None, Seen::default());
    cursor.object(|cursor, key| {
        match key {
            b"groupId" => {
                seen.first(0)?;
                project = cursor.optional_text()?;
            }
            b"groupRole" => {
                seen.first(1)?;
                role = cursor.optional_text()?;
            }
            _ => cursor.skip_value()?,
        }
        Ok(())
    })?;
    // A role without its project (or the reverse) grants nothing we can count.
    if let (Some(project), Some(role)) = (project, role) {
        assignments.push((project, role));
    }
    Ok(())
}

/// Hands the pending and expired invitations of one `listOrgUsers` page (`PaginatedOrgUserView`)
/// to `add`. On `Declined`, `add` has seen part of the page.
pub(crate) fn org_users_page(
    body: &[u8],
    add: &mut impl FnMut(InvitationView<'_>),
) -> Scan<PageCounts> {
    let mut cursor = Cursor::new(body);
    let (mut results, mut total_count, mut seen) = (None, None, Seen::default());
    let mut entry = UserEntry::default();
    cursor.object(|cursor, key| {
        match key {
            b"results" => {
                seen.first(0)?;
                results = Some(cursor.array(|cursor| entry.scan(cursor, add))?);
            }
            b"totalCount" => {
                seen.first(1)?;
                if !cursor.null()? {
                    total_count = Some(cursor.integer()?.ok_or(Declined)?);
                }
            }
            _ => cursor.skip_value()?,
        }
        Ok(())
    })?;
    cursor.end()?;
    Ok(PageCounts {
        results: results.ok_or(Declined)?,
        total_count,
    })
}

/// `orgMembershipStatus` values whose entries are invitations we count.
const COUNTED_STATUSES: [&[u8]; 2] = [b"PENDING", b"INVITATION_EXPIRED"];

/// The roles and teams of one `OrgUserResponse`, in lists reused from entry to entry.
#[derive(Default)]
struct UserEntry<'a> {
    roles: Vec<&'a [u8]>,
    team_ids: Vec<&'a [u8]>,
    assignments: Vec<(&'a [u8], &'a [u8])>,
    group_roles: Vec<&'a [u8]>,
}

impl<'a> UserEntry<'a> {
    /// One `OrgUserResponse`: every field is checked as the reference checks it, whatever the status;
    /// only invitations are counted.
    fn scan(
        &mut self,
        cursor: &mut Cursor<'a>,
        add: &mut impl FnMut(InvitationView<'_>),
    ) -> Scan<()> {
        self.roles.clear();
        self.assignments.clear();
        self.team_ids.clear();
        let (mut status, mut created, mut expires, mut seen) = (None, None, None, Seen::default());
        let (mut id, mut username, mut inviter) = (None, None, None);
        cursor.object(|cursor, key| {
            match key {
                b"orgMembershipStatus" => {
                    seen.first(0)?;
                    status = Some(cursor.text()?);
                }
                b"roles" => {
                    seen.first(1)?;
                    if !cursor.null()? {
                        self.user_roles(cursor)?;
                    }
                }
                b"invitationCreatedAt" => {
                    seen.first(2)?;
                    created = cursor.optional_text()?;
                }
                b"invitationExpiresAt" => {
                    seen.first(3)?;
                    expires = cursor.optional_text()?;
                }
                b"id" => {
                    seen.first(4)?;
                    id = cursor.optional_text()?;
                }
                b"username" => {
                    seen.first(5)?;
                    username = cursor.optional_text()?;
                }
                b"inviterUsername" => {
                    seen.first(6)?;
                    inviter = cursor.optional_text()?;
                }
                b"teamIds" => {
                    seen.first(7)?;
                    cursor.optional_texts(&mut self.team_ids)?;
                }
                _ => cursor.skip_value()?,
            }
            Ok(())
        })?;
        if !COUNTED_STATUSES.contains(&status.ok_or(Declined)?) {
            return Ok(());
        }
        // A missing or unreadable date is an error the reference words.
        let created = epoch_seconds(created.ok_or(Declined)?)?;
        let expires = expires.map(epoch_seconds).transpose()?;
        add(
            InvitationView::new(created, expires, &self.roles, &self.assignments)
                .with_identity(
                    id.unwrap_or_default(),
                    username.unwrap_or_default(),
                    inviter,
                )
                .with_teams(&self.team_ids),
        );
        Ok(())
    }

    /// `OrgUserRolesResponse`.
    fn user_roles(&mut self, cursor: &mut Cursor<'a>) -> Scan<()> {
        let mut seen = Seen::default();
        cursor.object(|cursor, key| {
            match key {
                b"orgRoles" => {
                    seen.first(0)?;
                    cursor.optional_texts(&mut self.roles)?;
                }
                b"groupRoleAssignments" => {
                    seen.first(1)?;
                    if !cursor.null()? {
                        cursor.array(|cursor| self.group_role_assignment(cursor))?;
                    }
                }
                _ => cursor.skip_value()?,
            }
            Ok(())
        })
    }

    /// `GroupRoleAssignment`: every role of one project, as (project, role) pairs.
    fn group_role_assignment(&mut self, cursor: &mut Cursor<'a>) -> Scan<()> {
        self.group_roles.clear();
        let (mut project, mut has_roles, mut seen) = (None, false, Seen::default());
        cursor.object(|cursor, key| {
            match key {
                b"groupId" => {
                    seen.first(0)?;
                    project = cursor.optional_text()?;
                }
                b"groupRoles" => {
                    seen.first(1)?;
                    has_roles = !cursor.null()?;
                    if has_roles {
                        cursor.texts(&mut self.group_roles)?;
                    }
                }
                _ => cursor.skip_value()?,
            }
            Ok(())
        })?;
        // Roles without their project (or a project without roles) grant nothing we can count.
        if let (Some(project), true) = (project, has_roles) {
            self.assignments
                .extend(self.group_roles.iter().map(|role| (project, *role)));
        }
        Ok(())
    }
}

/// The fields of one object seen so far: a second occurrence is an error for serde's derived types.
#[derive(Default)]
struct Seen(u16);

impl Seen {
    fn first(&mut self, field: u8) -> Scan<()> {
        let bit = 1u16 << field;
        if self.0 & bit != 0 {
            return Err(Declined);
        }
        self.0 |= bit;
        Ok(())
    }
}

/// A position in a body, and how deep in it.
#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{parse_org_invitations, parse_org_users_page};
    use cursor::{special_byte, utc_seconds};

    const SPEC_EXAMPLE: &str =
        include_str!("../../../../tests/fixtures/atlas/org_invites_spec_example.json");
    const ORG_USERS: &str =
        include_str!("../../../../tests/fixtures/atlas/org_users_statuses.json");

    fn invitations(body: &str) -> Scan<Option<String>> {
        org_invitations(body.as_bytes(), &mut |_| {})
    }

    fn users(body: &str) -> Scan<PageCounts> {
        org_users_page(body.as_bytes(), &mut |_| {})
    }

    const ONE: &str = r#"{"createdAt":"2026-02-01T00:00:00Z","expiresAt":"2026-03-03T00:00:00Z""#;

    #[test]
    fn what_atlas_sends_is_read_by_the_scanner() {
        // The fast lane is only fast if it takes the usual bodies: these must not fall back.
        assert_eq!(
            invitations(SPEC_EXAMPLE).map(|name| name.is_some()),
            Ok(true)
        );
        let counts = users(ORG_USERS).unwrap();
        let page = parse_org_users_page(ORG_USERS.as_bytes()).unwrap();
        assert_eq!(
            (counts.results, counts.total_count),
            (page.results, page.total_count)
        );
        assert_eq!(invitations(" [ ] \n"), Ok(None));
        assert_eq!(
            invitations(&format!(
                "[{ONE},\"roles\":[\"ORG_OWNER\"],\"orgName\":\"Z\u{fc}rich\",\"x\":[1,-2,true,false,null,{{}},[]]}}]"
            )),
            Ok(Some("Z\u{fc}rich".to_owned()))
        );
    }

    /// Counts the allocations of the current thread, so that a test can tell what the scanner
    /// allocates while other tests run on other threads. It serves the whole test binary.
    mod allocations {
        use std::alloc::{GlobalAlloc, Layout, System};
        use std::cell::Cell;

        thread_local! {
            static COUNT: Cell<u64> = const { Cell::new(0) };
        }

        struct Counting;

        fn count() {
            // `try_with`: a thread being torn down may still allocate.
            let _ = COUNT.try_with(|count| count.set(count.get() + 1));
        }

        // SAFETY: every call is passed on unchanged to the system allocator.
        unsafe impl GlobalAlloc for Counting {
            unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
                count();
                // SAFETY: the caller's contract, passed on.
                unsafe { System.alloc(layout) }
            }

            unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
                // SAFETY: the caller's contract, passed on.
                unsafe { System.dealloc(ptr, layout) }
            }

            unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
                count();
                // SAFETY: the caller's contract, passed on.
                unsafe { System.realloc(ptr, layout, new_size) }
            }
        }

        #[global_allocator]
        static GLOBAL: Counting = Counting;

        /// How many allocations `run` made on this thread.
        pub(super) fn made_by(run: impl FnOnce()) -> u64 {
            let before = COUNT.with(Cell::get);
            run();
            COUNT.with(Cell::get) - before
        }
    }

    #[test]
    fn the_scanner_allocates_nothing_per_invitation() {
        let invitation = |n: usize| {
            format!(
                r#"{{"id":"{n:024x}","username":"u{n}@example.com","inviterUsername":"admin@example.com","createdAt":"2026-02-01T00:00:00Z","expiresAt":"2026-03-03T00:00:00Z","roles":["ORG_MEMBER","ORG_READ_ONLY"],"groupRoleAssignments":[{{"groupId":"aaaaaaaaaaaaaaaaaaaaaaaa","groupRole":"GROUP_OWNER"}},{{"groupId":"bbbbbbbbbbbbbbbbbbbbbbbb","groupRole":"GROUP_READ_ONLY"}}],"teamIds":["cccccccccccccccccccccccc","dddddddddddddddddddddddd"],"orgName":"Acme","links":[]}}"#
            )
        };
        let user = |n: usize| {
            format!(
                r#"{{"id":"{n:024x}","username":"u{n}@example.com","inviterUsername":"admin@example.com","orgMembershipStatus":"PENDING","invitationCreatedAt":"2026-02-01T00:00:00Z","invitationExpiresAt":"2026-03-03T00:00:00Z","roles":{{"orgRoles":["ORG_MEMBER"],"groupRoleAssignments":[{{"groupId":"aaaaaaaaaaaaaaaaaaaaaaaa","groupRoles":["GROUP_OWNER","GROUP_READ_ONLY"]}}]}},"teamIds":["cccccccccccccccccccccccc","dddddddddddddddddddddddd"]}}"#
            )
        };
        let invitations_body = |count: usize| {
            let entries: Vec<String> = (0..count).map(invitation).collect();
            format!("[{}]", entries.join(","))
        };
        let users_body = |count: usize| {
            let entries: Vec<String> = (0..count).map(user).collect();
            format!(
                r#"{{"results":[{}],"totalCount":{count}}}"#,
                entries.join(",")
            )
        };
        let scan_invitations = |body: &str| {
            let mut seen = 0usize;
            allocations::made_by(|| {
                org_invitations(body.as_bytes(), &mut |view| seen += view.team_ids.len()).unwrap();
            })
        };
        let scan_users = |body: &str| {
            let mut seen = 0usize;
            allocations::made_by(|| {
                org_users_page(body.as_bytes(), &mut |view| seen += view.team_ids.len()).unwrap();
            })
        };
        // The reused buffers grow on the first invitation; after that, nothing is allocated.
        let (few, many) = (invitations_body(2), invitations_body(2000));
        // The counter counts: the buffers' first growth and the organisation's name.
        assert!(scan_invitations(&few) > 0);
        assert_eq!(scan_invitations(&few), scan_invitations(&many));
        let (few, many) = (users_body(2), users_body(2000));
        assert_eq!(scan_users(&few), scan_users(&many));
    }

    #[test]
    fn views_carry_the_ids_addresses_and_teams_as_borrowed_bytes() {
        let mut seen = Vec::new();
        org_invitations(SPEC_EXAMPLE.as_bytes(), &mut |view| {
            seen.push((
                view.id.to_vec(),
                view.username.to_vec(),
                view.inviter_username.map(<[u8]>::to_vec),
                view.team_ids.iter().map(|t| t.to_vec()).collect::<Vec<_>>(),
            ));
        })
        .unwrap();
        org_users_page(ORG_USERS.as_bytes(), &mut |view| {
            seen.push((
                view.id.to_vec(),
                view.username.to_vec(),
                view.inviter_username.map(<[u8]>::to_vec),
                view.team_ids.iter().map(|t| t.to_vec()).collect::<Vec<_>>(),
            ));
        })
        .unwrap();
        let admin = Some(b"admin@example.com".to_vec());
        assert_eq!(
            seen,
            [
                (
                    b"32b6e34b3d91647abb20e7b8".to_vec(),
                    b"user@example.com".to_vec(),
                    Some(b"user@example.com".to_vec()),
                    vec![b"string".to_vec()]
                ),
                (
                    b"5f0e1a2b3c4d5e6f7a8b9c01".to_vec(),
                    b"pending.user@example.com".to_vec(),
                    admin.clone(),
                    vec![b"fedcba9876543210fedcba98".to_vec()]
                ),
                (
                    b"5f0e1a2b3c4d5e6f7a8b9c02".to_vec(),
                    b"expired.user@example.com".to_vec(),
                    admin,
                    vec![]
                ),
            ]
        );
    }

    #[test]
    fn anything_unusual_is_declined_and_left_to_the_reference() {
        for body in [
            // Escapes, even where serde_json would accept them.
            format!(r#"[{ONE},"roles":["ORG_\u0041"]}}]"#),
            format!(r#"[{ONE},"links":"a\/b"}}]"#),
            // Fractions, exponents, leading zeros, lone minus.
            format!(r#"[{ONE},"n":1.5}}]"#),
            format!(r#"[{ONE},"n":1e3}}]"#),
            format!(r#"[{ONE},"n":01}}]"#),
            format!(r#"[{ONE},"n":-}}]"#),
            // Types the reference refuses, duplicates, missing dates.
            format!(r#"[{ONE},"roles":"ORG_OWNER"}}]"#),
            format!(r#"[{ONE},"roles":[null]}}]"#),
            format!(r#"[{ONE},"createdAt":"2026-02-01T00:00:00Z"}}]"#),
            r#"[{"createdAt":"2026-02-01T00:00:00Z"}]"#.to_owned(),
            format!(r#"[{ONE},"expiresAt":null}}]"#),
            // Dates jiff refuses, the array form of an object, malformed JSON.
            r#"[{"createdAt":"2026-02-01T00:00:00","expiresAt":"2026-03-03T00:00:00Z"}]"#
                .to_owned(),
            r#"[["2026-02-01T00:00:00Z","2026-03-03T00:00:00Z"]]"#.to_owned(),
            format!(r#"[{ONE}}},]"#),
            format!(r#"[{ONE},}}]"#),
            format!(r#"[{ONE}}}] x"#),
            format!(r#"[{ONE},"x":tru}}]"#),
            format!("[{ONE},\"x\":\"a\tb\"}}]"),
            format!("[{ONE},\"n\":{}1{}}}]", "[".repeat(40), "]".repeat(40)),
            "\u{feff}[]".to_owned(),
            String::new(),
            // The identity and the teams: duplicates, wrong types, escapes.
            format!(r#"[{ONE},"id":"a","id":"a"}}]"#),
            format!(r#"[{ONE},"teamIds":[],"teamIds":[]}}]"#),
            format!(r#"[{ONE},"teamIds":[1]}}]"#),
            format!(r#"[{ONE},"teamIds":"t"}}]"#),
            format!(r#"[{ONE},"username":5}}]"#),
            format!(r#"[{ONE},"inviterUsername":"a\u0040b"}}]"#),
        ] {
            assert_eq!(invitations(&body), Err(Declined), "{body}");
        }
        for body in [
            r#"{"results":[],"totalCount":-1}"#,
            r#"{"results":[],"totalCount":1.0}"#,
            r#"{"results":[],"totalCount":18446744073709551616}"#,
            r#"{"totalCount":0}"#,
            r#"{"results":[],"results":[]}"#,
            r#"{"results":[{"roles":{}}]}"#,
            r#"{"results":[{"orgMembershipStatus":"PENDING"}]}"#,
            r#"{"results":[{"orgMembershipStatus":"ACTIVE","roles":{"orgRoles":"x"}}]}"#,
            r#"{"results":[{"orgMembershipStatus":"ACTIVE","invitationCreatedAt":1}]}"#,
            r#"{"results":[{"orgMembershipStatus":"PENDING","invitationCreatedAt":"2026-01-01"}]}"#,
            r#"{"results":[{"orgMembershipStatus":"PEND\u0049NG"}]}"#,
            r#"{"results":[{"orgMembershipStatus":"ACTIVE","id":"a","id":"a"}]}"#,
            r#"{"results":[{"orgMembershipStatus":"ACTIVE","teamIds":"x"}]}"#,
            r#"{"results":[{"orgMembershipStatus":"ACTIVE","inviterUsername":["x"]}]}"#,
            r#"[]"#,
        ] {
            assert_eq!(users(body), Err(Declined), "{body}");
        }
    }

    #[test]
    fn special_bytes_are_found_at_every_offset() {
        for length in 0..40 {
            for special in [b'"', b'\\', 0x00, 0x1f] {
                for at in 0..length {
                    let mut bytes = vec![b'a'; length];
                    // Bytes around the special one that a careless bit trick would confuse with it.
                    if at + 1 < length {
                        bytes[at + 1] = 0x21;
                    }
                    if at > 0 {
                        bytes[at - 1] = 0xff;
                    }
                    bytes[at] = special;
                    let ascii = !bytes[..at].contains(&0xff);
                    assert_eq!(special_byte(&bytes), Some((at, ascii)), "{bytes:?}");
                }
                let plain: Vec<u8> = (0..length)
                    .map(|n| [b'a', 0x20, 0x7f, 0x80, 0xff, b'#', b'!', b']'][n % 8])
                    .collect();
                assert_eq!(special_byte(&plain), None, "{plain:?}");
            }
        }
    }

    #[test]
    fn invalid_utf8_is_declined_where_serde_json_checks_it_and_skipped_where_it_does_not() {
        let body = |inside: &[u8]| {
            let mut body = format!("[{ONE},").into_bytes();
            body.extend_from_slice(inside);
            body.extend_from_slice(b"}]");
            body
        };
        for refused in [
            &b"\"roles\":[\"\xff\"]"[..],
            b"\"\xff\":1",
            b"\"orgName\":\"\xc3\"",
            b"\"username\":\"\xff\"",
            b"\"teamIds\":[\"\xff\"]",
        ] {
            let body = body(refused);
            assert_eq!(org_invitations(&body, &mut |_| {}), Err(Declined));
            assert!(parse_org_invitations(&body).is_err());
        }
        let skipped = body(b"\"orgId\":\"\xff\"");
        assert!(org_invitations(&skipped, &mut |_| {}).is_ok());
        assert!(parse_org_invitations(&skipped).is_ok());
    }

    #[test]
    fn the_direct_date_reading_agrees_with_jiff() {
        for text in [
            "1970-01-01T00:00:00Z",
            "2026-03-01T10:00:00Z",
            "2024-02-29T23:59:59Z",
            "2023-02-29T00:00:00Z",
            "2100-02-29T00:00:00Z",
            "2000-02-29T12:00:00Z",
            "1969-12-31T23:59:59Z",
            "0001-01-01T00:00:00Z",
            "9999-12-31T23:59:59Z",
            "2026-04-31T00:00:00Z",
            "2026-13-01T00:00:00Z",
            "2026-00-10T00:00:00Z",
            "2026-01-00T00:00:00Z",
            "2026-01-01T24:00:00Z",
            "2026-01-01T00:60:00Z",
            "2026-01-01T23:59:60Z",
            "2026-01-01t00:00:00z",
            "2026-01-01T00:00:00+01:00",
            "2026-01-01T00:00:00.999Z",
            "2026-01-01T00:00:00",
            "2026-1-01T00:00:00Z",
            "+002026-01-01T00:00:00Z",
            "",
        ] {
            let direct = utc_seconds(text.as_bytes());
            let jiff = text.parse::<jiff::Timestamp>().map(|t| t.as_second()).ok();
            if direct.is_some() {
                assert_eq!(direct, jiff, "{text}");
            }
            assert_eq!(epoch_seconds(text.as_bytes()).ok(), jiff, "{text}");
        }
    }
}
