//! The Atlas JSON we read, as serde types: field names checked against the official OpenAPI spec.
//!
//! Only the fields the exporter uses are declared; serde ignores the rest, so e-mail addresses
//! (`username`, `inviterUsername`) are never even decoded. Strings borrow from the response body
//! unless they contain escapes. Role names stay opaque strings: Atlas adds roles without notice.

use std::borrow::Cow;

use jiff::Timestamp;
use secrecy::SecretString;
use serde::Deserialize;
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

use crate::aggregate::Aggregator;
use crate::atlas::ApiError;
use crate::invitation::{Invitation, ProjectRole};

/// A JSON string, borrowed from the body when it has no escape sequences.
#[derive(Clone, Debug, Deserialize)]
#[serde(transparent)]
pub struct Text<'a>(#[serde(borrow)] pub Cow<'a, str>);

impl Text<'_> {
    fn into_owned(self) -> String {
        self.0.into_owned()
    }
}

impl AsRef<str> for Text<'_> {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

/// `OrganizationInvitation` (`components.schemas`), as returned by `listOrgInvites`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OrganizationInvitation<'a> {
    /// The spec marks it optional, but an invitation without dates cannot be counted: the listing is
    /// rejected rather than silently miscounted.
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
    #[serde(borrow)]
    pub roles: Option<Vec<Text<'a>>>,
    #[serde(borrow)]
    pub group_role_assignments: Option<Vec<GroupRole<'a>>>,
    #[serde(borrow)]
    pub org_name: Option<Text<'a>>,
}

/// `GroupRole`: one project ("group") role granted by an invitation. Both fields are optional in the spec.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GroupRole<'a> {
    #[serde(borrow)]
    pub group_id: Option<Text<'a>>,
    #[serde(borrow)]
    pub group_role: Option<Text<'a>>,
}

/// The invitations of one organisation, in our own terms.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OrgInvitations {
    pub invitations: Vec<Invitation>,
    /// `orgName` of the first invitation that had one.
    pub org_name: Option<String>,
}

/// Decodes a `listOrgInvites` body (a bare JSON array) into our invitation type.
pub fn parse_org_invitations(body: &[u8]) -> Result<OrgInvitations, ApiError> {
    let wire: Vec<OrganizationInvitation<'_>> = parse_json(body)?;
    let mut org_name = None;
    let invitations = wire
        .into_iter()
        .map(|invitation| {
            if org_name.is_none() {
                org_name = invitation.org_name.map(Text::into_owned);
            }
            Invitation {
                created_at: invitation.created_at,
                expires_at: Some(invitation.expires_at),
                org_roles: invitation
                    .roles
                    .unwrap_or_default()
                    .into_iter()
                    .map(Text::into_owned)
                    .collect(),
                project_roles: invitation
                    .group_role_assignments
                    .unwrap_or_default()
                    .into_iter()
                    // A role without its project (or the reverse) grants nothing we can count.
                    .filter_map(
                        |assignment| match (assignment.group_id, assignment.group_role) {
                            (Some(project), Some(role)) => Some(ProjectRole {
                                project_id: project.into_owned(),
                                role: role.into_owned(),
                            }),
                            _ => None,
                        },
                    )
                    .collect(),
            }
        })
        .collect();
    Ok(OrgInvitations {
        invitations,
        org_name,
    })
}

/// One page of a paginated listing (`Paginated…View`), already in our own terms.
/// Public only for the fuzz targets and property tests.
#[doc(hidden)]
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// How many entries the page held, skipped ones included: pagination counts these, not `items`.
    pub results: usize,
    /// `totalCount`, when Atlas sent it. The spec calls it an estimate.
    pub total_count: Option<u64>,
}

/// `PaginatedOrgUserView`, as returned by `listOrgUsers` on resource version 2025-02-19.
/// `links` is not declared: pagination goes by `pageNum` (which `rel` values Atlas sends is unconfirmed).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PaginatedOrgUserView<'a> {
    #[serde(borrow)]
    pub results: Vec<OrgUserResponse<'a>>,
    pub total_count: Option<u64>,
}

/// `OrgUserResponse`: a member (`OrgActiveUserResponse`) or an invitation (`OrgPendingUserResponse`),
/// told apart by `orgMembershipStatus`. The invitation dates stay text until the status says they
/// matter, so an active user, or an entry of a status Atlas adds later, can never fail the page.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OrgUserResponse<'a> {
    pub org_membership_status: MembershipStatus,
    /// Required by the spec; an invitation without it grants no role we could count.
    #[serde(borrow)]
    pub roles: Option<OrgUserRolesResponse<'a>>,
    #[serde(borrow)]
    pub invitation_created_at: Option<Text<'a>>,
    /// `null` for rejected invitations, absent for active users.
    #[serde(borrow)]
    pub invitation_expires_at: Option<Text<'a>>,
}

/// `orgMembershipStatus`. The enum grew inside resource version 2025-02-19 (`INVITATION_EXPIRED`,
/// `INVITATION_REJECTED`), so it may grow again: anything else is `Unknown`, not an error.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum MembershipStatus {
    Pending,
    InvitationExpired,
    InvitationRejected,
    Active,
    #[serde(other)]
    Unknown,
}

impl MembershipStatus {
    /// The status as Atlas spells it (`Unknown` stands for any other spelling).
    pub fn as_str(self) -> &'static str {
        match self {
            MembershipStatus::Pending => "PENDING",
            MembershipStatus::InvitationExpired => "INVITATION_EXPIRED",
            MembershipStatus::InvitationRejected => "INVITATION_REJECTED",
            MembershipStatus::Active => "ACTIVE",
            MembershipStatus::Unknown => "unknown",
        }
    }
}

/// `OrgUserRolesResponse`. Both arrays are optional in the spec.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OrgUserRolesResponse<'a> {
    #[serde(borrow)]
    pub org_roles: Option<Vec<Text<'a>>>,
    #[serde(borrow)]
    pub group_role_assignments: Option<Vec<GroupRoleAssignment<'a>>>,
}

/// `GroupRoleAssignment`: every role of one project, unlike the invitations API's one-role `GroupRole`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GroupRoleAssignment<'a> {
    #[serde(borrow)]
    pub group_id: Option<Text<'a>>,
    #[serde(borrow)]
    pub group_roles: Option<Vec<Text<'a>>>,
}

/// Decodes one `listOrgUsers` page, keeping the pending and expired invitations.
/// Public only for the fuzz targets and property tests.
#[doc(hidden)]
pub fn parse_org_users_page(body: &[u8]) -> Result<Page<Invitation>, ApiError> {
    let wire: PaginatedOrgUserView<'_> = parse_json(body)?;
    let results = wire.results.len();
    let mut items = Vec::with_capacity(results);
    for user in wire.results {
        if let Some(invitation) = user.into_invitation()? {
            items.push(invitation);
        }
    }
    Ok(Page {
        items,
        results,
        total_count: wire.total_count,
    })
}

impl OrgUserResponse<'_> {
    /// The invitation this entry stands for, or `None` for members, rejected invitations (which
    /// grant nothing) and statuses newer than this code.
    fn into_invitation(self) -> Result<Option<Invitation>, ApiError> {
        if !matches!(
            self.org_membership_status,
            MembershipStatus::Pending | MembershipStatus::InvitationExpired
        ) {
            return Ok(None);
        }
        let created_at = self
            .invitation_created_at
            .ok_or_else(|| ApiError::InvalidResponse {
                reason: format!(
                    "a {} user has no invitationCreatedAt",
                    self.org_membership_status.as_str()
                ),
            })?;
        let created_at = parse_date_time("invitationCreatedAt", &created_at)?;
        let expires_at = self
            .invitation_expires_at
            .map(|expires_at| parse_date_time("invitationExpiresAt", &expires_at))
            .transpose()?;
        let (org_roles, assignments) = self
            .roles
            .map(|roles| (roles.org_roles, roles.group_role_assignments))
            .unwrap_or_default();
        let project_roles = assignments
            .unwrap_or_default()
            .into_iter()
            // Roles without their project (or a project without roles) grant nothing we can count.
            .filter_map(|assignment| Some((assignment.group_id?, assignment.group_roles?)))
            .flat_map(|(project, roles)| {
                let project = project.into_owned();
                roles.into_iter().map(move |role| ProjectRole {
                    project_id: project.clone(),
                    role: role.into_owned(),
                })
            })
            .collect();
        Ok(Some(Invitation {
            created_at,
            expires_at,
            org_roles: org_roles
                .unwrap_or_default()
                .into_iter()
                .map(Text::into_owned)
                .collect(),
            project_roles,
        }))
    }
}

/// An RFC 3339 date-time with its offset, as the spec's `format: date-time` promises.
fn parse_date_time(field: &str, text: &Text<'_>) -> Result<Timestamp, ApiError> {
    text.0.parse().map_err(|error| ApiError::InvalidResponse {
        reason: format!("{field} is not an RFC 3339 date-time ({error})"),
    })
}

/// An organisation the credentials can see, from `listOrgs`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Organization {
    /// 24 hexadecimal digits, as Atlas sent it (not validated here).
    pub id: String,
    pub name: String,
    /// Deleted organisations are still listed; they have no invitations to poll.
    pub is_deleted: bool,
}

/// `PaginatedOrganizationView`, as returned by `listOrgs`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PaginatedOrganizationView<'a> {
    #[serde(borrow)]
    pub results: Vec<AtlasOrganization<'a>>,
    pub total_count: Option<u64>,
}

/// `AtlasOrganization`. `id` is read-only, so always in responses; an organisation without one could
/// not be polled, and the listing is rejected rather than silently shortened.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AtlasOrganization<'a> {
    #[serde(borrow)]
    pub id: Text<'a>,
    #[serde(borrow)]
    pub name: Text<'a>,
    pub is_deleted: Option<bool>,
}

/// Decodes one `listOrgs` page.
pub(crate) fn parse_organizations_page(body: &[u8]) -> Result<Page<Organization>, ApiError> {
    let wire: PaginatedOrganizationView<'_> = parse_json(body)?;
    let results = wire.results.len();
    let items = wire
        .results
        .into_iter()
        .map(|org| Organization {
            id: org.id.into_owned(),
            name: org.name.into_owned(),
            is_deleted: org.is_deleted.unwrap_or(false),
        })
        .collect();
    Ok(Page {
        items,
        results,
        total_count: wire.total_count,
    })
}

/// Atlas' `ApiError` body. Everything is optional: a Digest 401 has no `errorCode`, a proxy sends HTML.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct AtlasErrorBody<'a> {
    #[serde(borrow)]
    pub error_code: Option<Text<'a>>,
    #[serde(borrow)]
    pub detail: Option<Text<'a>>,
}

impl AtlasErrorBody<'_> {
    pub(crate) fn parse(body: &[u8]) -> Option<AtlasErrorBody<'_>> {
        serde_json::from_slice(body).ok()
    }
}

/// The token endpoint's success body (`POST /api/oauth/token`).
#[derive(Deserialize)]
pub(crate) struct TokenResponse<'a> {
    pub access_token: SecretString,
    pub expires_in: u64,
    #[serde(borrow)]
    pub token_type: Option<Text<'a>>,
}

/// An OAuth 2.0 error body (RFC 6749 §5.2): `error` is a string, unlike Atlas' integer `error`.
#[derive(Debug, Deserialize)]
pub(crate) struct OAuthErrorBody<'a> {
    #[serde(borrow)]
    pub error: Text<'a>,
}

impl OAuthErrorBody<'_> {
    pub(crate) fn parse(body: &[u8]) -> Option<OAuthErrorBody<'_>> {
        serde_json::from_slice(body).ok()
    }
}

pub(crate) fn parse_json<'a, T: Deserialize<'a>>(body: &'a [u8]) -> Result<T, ApiError> {
    serde_json::from_slice(body).map_err(invalid_json)
}

fn invalid_json(error: serde_json::Error) -> ApiError {
    ApiError::InvalidResponse {
        reason: match error.classify() {
            serde_json::error::Category::Syntax | serde_json::error::Category::Eof => {
                format!("body is not valid JSON ({error})")
            }
            _ => format!("unexpected JSON ({error})"),
        },
    }
}

// ---------------------------------------------------------------------------------------------------
// Decoding straight into an aggregate: the poll path's fast lane. Same rules as the functions above
// (the tests compare them), but no invitation, no `Vec` and no `String` per entry: the strings stay
// borrowed from the body and land in an [`Aggregator`].
// ---------------------------------------------------------------------------------------------------

/// Where a listing's invitations go as its bodies are decoded: an [`Aggregator`] on the poll path
/// (nothing per invitation is kept), or a `Vec<Invitation>` where the invitations themselves are wanted
/// (tests, and the reference the aggregator is checked against). A body that fails to decode may leave
/// part of itself behind: the client decodes into a clone and keeps it only on success.
pub trait InvitationSink: Clone {
    /// Adds a `listOrgInvites` body; returns the `orgName` of the first invitation that had one.
    fn add_invitations(&mut self, body: &[u8]) -> Result<Option<String>, ApiError>;
    /// Adds the pending and expired invitations of one `listOrgUsers` page.
    fn add_org_users_page(&mut self, body: &[u8]) -> Result<PageCounts, ApiError>;
}

impl InvitationSink for Aggregator {
    fn add_invitations(&mut self, body: &[u8]) -> Result<Option<String>, ApiError> {
        aggregate_org_invitations(body, self)
    }
    fn add_org_users_page(&mut self, body: &[u8]) -> Result<PageCounts, ApiError> {
        aggregate_org_users_page(body, self)
    }
}

impl InvitationSink for Vec<Invitation> {
    fn add_invitations(&mut self, body: &[u8]) -> Result<Option<String>, ApiError> {
        let parsed = parse_org_invitations(body)?;
        self.extend(parsed.invitations);
        Ok(parsed.org_name)
    }
    fn add_org_users_page(&mut self, body: &[u8]) -> Result<PageCounts, ApiError> {
        let page = parse_org_users_page(body)?;
        self.extend(page.items);
        Ok(PageCounts {
            results: page.results,
            total_count: page.total_count,
        })
    }
}

/// Counts a `listOrgInvites` body into `aggregator`, as [`parse_org_invitations`] followed by
/// [`crate::aggregate::OrgAggregate::compute`] would; returns the `orgName` of the first invitation
/// that had one. On error the aggregator holds part of the body: drop it.
pub fn aggregate_org_invitations(
    body: &[u8],
    aggregator: &mut Aggregator,
) -> Result<Option<String>, ApiError> {
    let mut deserializer = serde_json::Deserializer::from_slice(body);
    let org_name = InvitationList { aggregator }
        .deserialize(&mut deserializer)
        .and_then(|org_name| deserializer.end().map(|()| org_name))
        .map_err(invalid_json)?;
    Ok(org_name)
}

/// What a page said about itself, for pagination.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PageCounts {
    /// Entries on the page, skipped ones included.
    pub results: usize,
    pub total_count: Option<u64>,
}

/// Counts the pending and expired invitations of one `listOrgUsers` page into `aggregator`, as
/// [`parse_org_users_page`] followed by [`crate::aggregate::OrgAggregate::compute`] would. On error
/// the aggregator holds part of the page: drop it.
pub fn aggregate_org_users_page(
    body: &[u8],
    aggregator: &mut Aggregator,
) -> Result<PageCounts, ApiError> {
    let mut failure = None;
    let mut deserializer = serde_json::Deserializer::from_slice(body);
    let counts = UserPage {
        aggregator,
        failure: &mut failure,
    }
    .deserialize(&mut deserializer)
    .and_then(|counts| deserializer.end().map(|()| counts));
    match (counts, failure) {
        // An entry broke a rule of ours, and aborted the decoding to say so.
        (_, Some(failure)) => Err(failure),
        (counts, None) => counts.map_err(invalid_json),
    }
}

/// Seconds since the epoch of an RFC 3339 date-time. The form Atlas sends (`2026-03-01T10:00:00Z`) is
/// read directly; every other form (offsets, fractions, anything invalid) goes through jiff.
fn epoch_seconds(text: &str) -> Result<i64, jiff::Error> {
    match utc_seconds(text.as_bytes()) {
        Some(seconds) => Ok(seconds),
        None => text.parse::<Timestamp>().map(|t| t.as_second()),
    }
}

/// `YYYY-MM-DDTHH:MM:SSZ` exactly, with a valid date and time; `None` for anything else.
fn utc_seconds(text: &[u8]) -> Option<i64> {
    let [
        y0,
        y1,
        y2,
        y3,
        b'-',
        m0,
        m1,
        b'-',
        d0,
        d1,
        b'T',
        h0,
        h1,
        b':',
        n0,
        n1,
        b':',
        s0,
        s1,
        b'Z',
    ] = *text
    else {
        return None;
    };
    let digit = |b: u8| b.is_ascii_digit().then(|| i64::from(b - b'0'));
    let number = |digits: &[u8]| digits.iter().try_fold(0, |n, &b| Some(n * 10 + digit(b)?));
    let (year, month, day) = (
        number(&[y0, y1, y2, y3])?,
        number(&[m0, m1])?,
        number(&[d0, d1])?,
    );
    let (hour, minute, second) = (number(&[h0, h1])?, number(&[n0, n1])?, number(&[s0, s1])?);
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    let month_days = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return None,
    };
    // A leap second (:60) is left to jiff.
    if day == 0 || day > month_days || hour > 23 || minute > 59 || second > 59 {
        return None;
    }
    // Days from 1970-01-01 (Howard Hinnant's days_from_civil).
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let year_of_era = y - era * 400;
    let day_of_year = (153 * ((month + 9) % 12) + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    let days = era * 146_097 + day_of_era - 719_468;
    let seconds = days * 86_400 + hour * 3_600 + minute * 60 + second;
    // jiff's range ends a little before 10000-01-01: beyond it, jiff's error is the answer.
    Timestamp::from_second(seconds).is_ok().then_some(seconds)
}

/// An RFC 3339 date-time as seconds since the epoch.
struct Seconds(i64);

impl<'de> Deserialize<'de> for Seconds {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Seconds, D::Error> {
        struct SecondsVisitor;
        impl Visitor<'_> for SecondsVisitor {
            type Value = Seconds;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("an RFC 3339 date-time")
            }
            fn visit_str<E: de::Error>(self, text: &str) -> Result<Seconds, E> {
                epoch_seconds(text).map(Seconds).map_err(E::custom)
            }
            fn visit_bytes<E: de::Error>(self, text: &[u8]) -> Result<Seconds, E> {
                match utc_seconds(text) {
                    Some(seconds) => Ok(Seconds(seconds)),
                    None => match std::str::from_utf8(text) {
                        Ok(text) => self.visit_str(text),
                        Err(_) => Err(E::invalid_value(de::Unexpected::Bytes(text), &self)),
                    },
                }
            }
        }
        // As bytes, like keys: the usual form needs no UTF-8 validation.
        deserializer.deserialize_bytes(SecondsVisitor)
    }
}

/// A key among `names`: its index, or `names.len()` for any other key.
struct Field(&'static [&'static str]);

impl<'de> DeserializeSeed<'de> for Field {
    type Value = usize;
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<usize, D::Error> {
        // As a string, not as bytes: serde_json hands bytes over without refusing raw control
        // characters or invalid UTF-8, and an escaped control character is indistinguishable from a
        // raw one afterwards; a body must be refused here exactly when the reference decoder refuses
        // it (the fuzz targets found both cases).
        deserializer.deserialize_str(self)
    }
}

impl Visitor<'_> for Field {
    type Value = usize;
    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a field name")
    }
    fn visit_bytes<E: de::Error>(self, key: &[u8]) -> Result<usize, E> {
        Ok(self
            .0
            .iter()
            .position(|name| name.as_bytes() == key)
            .unwrap_or(self.0.len()))
    }
    fn visit_str<E: de::Error>(self, key: &str) -> Result<usize, E> {
        self.visit_bytes(key.as_bytes())
    }
}

/// Marks a field seen; a second occurrence is an error, as with derived types.
fn first_time<E: de::Error>(seen: &mut u32, index: usize, names: &[&'static str]) -> Result<(), E> {
    let bit = 1 << index;
    if *seen & bit != 0 {
        return Err(E::duplicate_field(names[index]));
    }
    *seen |= bit;
    Ok(())
}

/// `["A", "B"]` or `null`, appended to a list reused from entry to entry.
struct TextList<'s, 'de>(&'s mut Vec<Text<'de>>);

impl<'de> DeserializeSeed<'de> for TextList<'_, 'de> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_option(self)
    }
}

impl<'de> Visitor<'de> for TextList<'_, 'de> {
    type Value = ();
    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("an array of strings or null")
    }
    fn visit_none<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_seq(self)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while let Some(text) = seq.next_element::<Text<'de>>()? {
            self.0.push(text);
        }
        Ok(())
    }
}

/// The project roles of one entry as (project, role) pairs, reused from entry to entry.
type Assignments<'de> = Vec<(Text<'de>, Text<'de>)>;

/// `listOrgInvites`: the bare array.
struct InvitationList<'s> {
    aggregator: &'s mut Aggregator,
}

impl<'de> DeserializeSeed<'de> for InvitationList<'_> {
    type Value = Option<String>;
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for InvitationList<'_> {
    type Value = Option<String>;
    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("an array of OrganizationInvitation")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Option<String>, A::Error> {
        let mut org_name = None;
        let (mut roles, mut assignments) = (Vec::new(), Vec::new());
        while seq
            .next_element_seed(InvitationEntry {
                aggregator: &mut *self.aggregator,
                roles: &mut roles,
                assignments: &mut assignments,
                org_name: &mut org_name,
            })?
            .is_some()
        {}
        Ok(org_name)
    }
}

/// One `OrganizationInvitation`, counted as soon as it is read.
struct InvitationEntry<'s, 'de> {
    aggregator: &'s mut Aggregator,
    roles: &'s mut Vec<Text<'de>>,
    assignments: &'s mut Assignments<'de>,
    org_name: &'s mut Option<String>,
}

const INVITATION_FIELDS: &[&str] = &[
    "createdAt",
    "expiresAt",
    "roles",
    "groupRoleAssignments",
    "orgName",
];

impl<'de> DeserializeSeed<'de> for InvitationEntry<'_, 'de> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for InvitationEntry<'_, 'de> {
    type Value = ();
    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("an OrganizationInvitation object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        self.roles.clear();
        self.assignments.clear();
        let (mut created, mut expires, mut org_name, mut seen) = (None, None, None, 0);
        while let Some(field) = map.next_key_seed(Field(INVITATION_FIELDS))? {
            if field < INVITATION_FIELDS.len() {
                first_time(&mut seen, field, INVITATION_FIELDS)?;
            }
            match field {
                0 => created = Some(map.next_value::<Seconds>()?.0),
                1 => expires = Some(map.next_value::<Seconds>()?.0),
                2 => map.next_value_seed(TextList(self.roles))?,
                3 => {
                    for role in map
                        .next_value::<Option<Vec<GroupRole<'de>>>>()?
                        .unwrap_or_default()
                    {
                        // A role without its project (or the reverse) grants nothing we can count.
                        if let (Some(project), Some(role)) = (role.group_id, role.group_role) {
                            self.assignments.push((project, role));
                        }
                    }
                }
                4 => org_name = map.next_value::<Option<Text<'de>>>()?,
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        let created = created.ok_or_else(|| de::Error::missing_field("createdAt"))?;
        let expires = expires.ok_or_else(|| de::Error::missing_field("expiresAt"))?;
        if self.org_name.is_none() {
            *self.org_name = org_name.map(Text::into_owned);
        }
        self.aggregator
            .add(created, Some(expires), self.roles, self.assignments);
        Ok(())
    }
}

/// `PaginatedOrgUserView`.
struct UserPage<'s> {
    aggregator: &'s mut Aggregator,
    failure: &'s mut Option<ApiError>,
}

const PAGE_FIELDS: &[&str] = &["results", "totalCount"];

impl<'de> DeserializeSeed<'de> for UserPage<'_> {
    type Value = PageCounts;
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<PageCounts, D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for UserPage<'_> {
    type Value = PageCounts;
    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a PaginatedOrgUserView object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<PageCounts, A::Error> {
        let (mut results, mut total_count, mut seen) = (None, None, 0);
        while let Some(field) = map.next_key_seed(Field(PAGE_FIELDS))? {
            if field < PAGE_FIELDS.len() {
                first_time(&mut seen, field, PAGE_FIELDS)?;
            }
            match field {
                0 => {
                    results = Some(map.next_value_seed(UserList {
                        aggregator: &mut *self.aggregator,
                        failure: &mut *self.failure,
                    })?);
                }
                1 => total_count = map.next_value::<Option<u64>>()?,
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(PageCounts {
            results: results.ok_or_else(|| de::Error::missing_field("results"))?,
            total_count,
        })
    }
}

/// `results`: counts its entries.
struct UserList<'s> {
    aggregator: &'s mut Aggregator,
    failure: &'s mut Option<ApiError>,
}

impl<'de> DeserializeSeed<'de> for UserList<'_> {
    type Value = usize;
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<usize, D::Error> {
        deserializer.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for UserList<'_> {
    type Value = usize;
    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("an array of OrgUserResponse")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<usize, A::Error> {
        let (mut roles, mut assignments, mut group_roles) = (Vec::new(), Vec::new(), Vec::new());
        let mut count = 0;
        while seq
            .next_element_seed(UserEntry {
                aggregator: &mut *self.aggregator,
                failure: &mut *self.failure,
                roles: &mut roles,
                assignments: &mut assignments,
                group_roles: &mut group_roles,
            })?
            .is_some()
        {
            count += 1;
        }
        Ok(count)
    }
}

/// One `OrgUserResponse`, counted as soon as it is read when it is an invitation.
struct UserEntry<'s, 'de> {
    aggregator: &'s mut Aggregator,
    failure: &'s mut Option<ApiError>,
    roles: &'s mut Vec<Text<'de>>,
    assignments: &'s mut Assignments<'de>,
    group_roles: &'s mut Vec<Text<'de>>,
}

const USER_FIELDS: &[&str] = &[
    "orgMembershipStatus",
    "roles",
    "invitationCreatedAt",
    "invitationExpiresAt",
];

impl<'de> DeserializeSeed<'de> for UserEntry<'_, 'de> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for UserEntry<'_, 'de> {
    type Value = ();
    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("an OrgUserResponse object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        self.roles.clear();
        self.assignments.clear();
        let (mut status, mut created, mut expires, mut seen) = (None, None, None, 0);
        while let Some(field) = map.next_key_seed(Field(USER_FIELDS))? {
            if field < USER_FIELDS.len() {
                first_time(&mut seen, field, USER_FIELDS)?;
            }
            match field {
                0 => status = Some(map.next_value::<MembershipStatus>()?),
                1 => map.next_value_seed(UserRoles {
                    roles: &mut *self.roles,
                    assignments: &mut *self.assignments,
                    group_roles: &mut *self.group_roles,
                })?,
                2 => created = map.next_value::<Option<Text<'de>>>()?,
                3 => expires = map.next_value::<Option<Text<'de>>>()?,
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        let status = status.ok_or_else(|| de::Error::missing_field("orgMembershipStatus"))?;
        if !matches!(
            status,
            MembershipStatus::Pending | MembershipStatus::InvitationExpired
        ) {
            return Ok(());
        }
        let dates = created
            .ok_or_else(|| ApiError::InvalidResponse {
                reason: format!("a {} user has no invitationCreatedAt", status.as_str()),
            })
            .and_then(|created| seconds_of("invitationCreatedAt", &created))
            .and_then(|created| {
                let expires = expires
                    .map(|expires| seconds_of("invitationExpiresAt", &expires))
                    .transpose()?;
                Ok((created, expires))
            });
        match dates {
            Ok((created, expires)) => {
                self.aggregator
                    .add(created, expires, self.roles, self.assignments);
                Ok(())
            }
            Err(failure) => {
                *self.failure = Some(failure);
                Err(de::Error::custom("an invitation broke the API's rules"))
            }
        }
    }
}

/// As [`parse_date_time`], in seconds.
fn seconds_of(field: &str, text: &Text<'_>) -> Result<i64, ApiError> {
    epoch_seconds(&text.0).map_err(|error| ApiError::InvalidResponse {
        reason: format!("{field} is not an RFC 3339 date-time ({error})"),
    })
}

/// `OrgUserRolesResponse` or `null`: org roles, and one (project, role) pair per role of each project.
struct UserRoles<'s, 'de> {
    roles: &'s mut Vec<Text<'de>>,
    assignments: &'s mut Assignments<'de>,
    group_roles: &'s mut Vec<Text<'de>>,
}

const ROLES_FIELDS: &[&str] = &["orgRoles", "groupRoleAssignments"];

impl<'de> DeserializeSeed<'de> for UserRoles<'_, 'de> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_option(self)
    }
}

impl<'de> Visitor<'de> for UserRoles<'_, 'de> {
    type Value = ();
    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("an OrgUserRolesResponse object or null")
    }
    fn visit_none<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_map(self)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut seen = 0;
        while let Some(field) = map.next_key_seed(Field(ROLES_FIELDS))? {
            if field < ROLES_FIELDS.len() {
                first_time(&mut seen, field, ROLES_FIELDS)?;
            }
            match field {
                0 => map.next_value_seed(TextList(&mut *self.roles))?,
                1 => map.next_value_seed(AssignmentList {
                    assignments: &mut *self.assignments,
                    group_roles: &mut *self.group_roles,
                })?,
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(())
    }
}

/// `groupRoleAssignments` or `null`.
struct AssignmentList<'s, 'de> {
    assignments: &'s mut Assignments<'de>,
    group_roles: &'s mut Vec<Text<'de>>,
}

impl<'de> DeserializeSeed<'de> for AssignmentList<'_, 'de> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_option(self)
    }
}

impl<'de> Visitor<'de> for AssignmentList<'_, 'de> {
    type Value = ();
    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("an array of GroupRoleAssignment or null")
    }
    fn visit_none<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_seq(self)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while seq
            .next_element_seed(AssignmentEntry {
                assignments: &mut *self.assignments,
                group_roles: &mut *self.group_roles,
            })?
            .is_some()
        {}
        Ok(())
    }
}

/// One `GroupRoleAssignment`: every role of one project.
struct AssignmentEntry<'s, 'de> {
    assignments: &'s mut Assignments<'de>,
    group_roles: &'s mut Vec<Text<'de>>,
}

const ASSIGNMENT_FIELDS: &[&str] = &["groupId", "groupRoles"];

impl<'de> DeserializeSeed<'de> for AssignmentEntry<'_, 'de> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for AssignmentEntry<'_, 'de> {
    type Value = ();
    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a GroupRoleAssignment object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        self.group_roles.clear();
        let (mut project, mut has_roles, mut seen) = (None, false, 0);
        while let Some(field) = map.next_key_seed(Field(ASSIGNMENT_FIELDS))? {
            if field < ASSIGNMENT_FIELDS.len() {
                first_time(&mut seen, field, ASSIGNMENT_FIELDS)?;
            }
            match field {
                0 => project = map.next_value::<Option<Text<'de>>>()?,
                1 => {
                    has_roles = map.next_value_seed(Presence(TextList(&mut *self.group_roles)))?;
                }
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        // Roles without their project (or a project without roles) grant nothing we can count.
        if let (Some(project), true) = (project, has_roles) {
            for role in self.group_roles.drain(..) {
                self.assignments.push((project.clone(), role));
            }
        }
        Ok(())
    }
}

/// A [`TextList`] that says whether the value was an array (true) or `null` (false).
struct Presence<'s, 'de>(TextList<'s, 'de>);

impl<'de> DeserializeSeed<'de> for Presence<'_, 'de> {
    type Value = bool;
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<bool, D::Error> {
        deserializer.deserialize_option(self)
    }
}

impl<'de> Visitor<'de> for Presence<'_, 'de> {
    type Value = bool;
    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("an array of strings or null")
    }
    fn visit_none<E: de::Error>(self) -> Result<bool, E> {
        Ok(false)
    }
    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<bool, D::Error> {
        deserializer.deserialize_seq(self.0).map(|()| true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SPEC_EXAMPLE: &str =
        include_str!("../../tests/fixtures/atlas/org_invites_spec_example.json");
    const VARIANTS: &str = include_str!("../../tests/fixtures/atlas/org_invites_variants.json");
    const ORG_USERS: &str = include_str!("../../tests/fixtures/atlas/org_users_statuses.json");
    const ORGS: &str = include_str!("../../tests/fixtures/atlas/orgs_page.json");

    fn ts(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    #[test]
    fn the_spec_example_decodes_field_for_field() {
        let parsed = parse_org_invitations(SPEC_EXAMPLE.as_bytes()).unwrap();
        assert_eq!(parsed.org_name.as_deref(), Some("string"));
        assert_eq!(
            parsed.invitations,
            vec![Invitation {
                created_at: ts("2019-08-24T14:15:22Z"),
                expires_at: Some(ts("2019-08-24T14:15:22Z")),
                org_roles: vec!["ORG_OWNER".into()],
                project_roles: vec![ProjectRole {
                    project_id: "32b6e34b3d91647abb20e7b8".into(),
                    role: "string".into()
                }],
            }]
        );
    }

    #[test]
    fn offsets_extra_fields_unknown_roles_and_missing_arrays_are_accepted() {
        let parsed = parse_org_invitations(VARIANTS.as_bytes()).unwrap();
        assert_eq!(parsed.org_name.as_deref(), Some("Zürich \"Ops\""));
        assert_eq!(parsed.invitations.len(), 3);

        let first = &parsed.invitations[0];
        // 12:00+02:00 is 10:00 UTC: the offset must be applied, not dropped.
        assert_eq!(first.created_at, ts("2026-03-01T10:00:00Z"));
        assert_eq!(first.expires_at, Some(ts("2026-03-31T10:00:00.5Z")));
        assert_eq!(first.org_roles, vec!["ORG_MEMBER", "ORG_FUTURE_ROLE"]);
        assert_eq!(
            first.project_roles,
            vec![
                ProjectRole {
                    project_id: "aaaaaaaaaaaaaaaaaaaaaaaa".into(),
                    role: "GROUP_OWNER".into()
                },
                ProjectRole {
                    project_id: "bbbbbbbbbbbbbbbbbbbbbbbb".into(),
                    role: "GROUP_BRAND_NEW".into()
                },
            ]
        );

        let second = &parsed.invitations[1];
        assert_eq!(second.created_at, ts("2026-03-02T05:30:00Z"));
        assert!(second.org_roles.is_empty());
        // The assignment without a groupRole is dropped; the complete one is kept.
        assert_eq!(
            second.project_roles,
            vec![ProjectRole {
                project_id: "cccccccccccccccccccccccc".into(),
                role: "GROUP_READ_ONLY".into()
            }]
        );

        let third = &parsed.invitations[2];
        assert_eq!(third.org_roles, vec!["ORG_OWNER"]);
        assert!(third.project_roles.is_empty());
    }

    #[test]
    fn an_empty_array_is_an_empty_listing() {
        let parsed = parse_org_invitations(include_bytes!(
            "../../tests/fixtures/atlas/org_invites_empty.json"
        ))
        .unwrap();
        assert_eq!(
            parsed,
            OrgInvitations {
                invitations: vec![],
                org_name: None
            }
        );
    }

    #[test]
    fn plain_strings_are_borrowed_and_escaped_ones_owned() {
        let body = br#"[{"createdAt":"2026-01-01T00:00:00Z","expiresAt":"2026-01-31T00:00:00Z","roles":["ORG_OWNER","ORG_\u0041"]}]"#;
        let wire: Vec<OrganizationInvitation<'_>> = parse_json(body).unwrap();
        let roles = wire[0].roles.as_ref().unwrap();
        assert!(matches!(roles[0].0, Cow::Borrowed("ORG_OWNER")));
        assert!(matches!(&roles[1].0, Cow::Owned(s) if s == "ORG_A"));
    }

    #[test]
    fn missing_dates_are_invalid_responses() {
        for body in [
            r#"[{"expiresAt":"2026-01-31T00:00:00Z"}]"#,
            r#"[{"createdAt":"2026-01-01T00:00:00Z"}]"#,
            r#"[{"createdAt":"2026-01-01T00:00:00Z","expiresAt":null}]"#,
        ] {
            let error = parse_org_invitations(body.as_bytes()).unwrap_err();
            assert!(
                matches!(error, ApiError::InvalidResponse { .. }),
                "{body}: {error:?}"
            );
        }
    }

    #[test]
    fn dates_without_an_offset_are_rejected() {
        let body = br#"[{"createdAt":"2026-01-01T00:00:00","expiresAt":"2026-01-31T00:00:00Z"}]"#;
        assert!(matches!(
            parse_org_invitations(body),
            Err(ApiError::InvalidResponse { .. })
        ));
    }

    #[test]
    fn non_json_and_wrong_shapes_are_invalid_responses() {
        let html = parse_org_invitations(b"<html><body>Bad gateway</body></html>").unwrap_err();
        assert!(
            matches!(&html, ApiError::InvalidResponse { reason } if reason.starts_with("body is not valid JSON"))
        );
        let object = parse_org_invitations(br#"{"results":[]}"#).unwrap_err();
        assert!(
            matches!(&object, ApiError::InvalidResponse { reason } if reason.starts_with("unexpected JSON"))
        );
        let truncated =
            parse_org_invitations(br#"[{"createdAt":"2026-01-01T00:00:00Z","#).unwrap_err();
        assert!(matches!(truncated, ApiError::InvalidResponse { .. }));
    }

    #[test]
    fn atlas_and_oauth_error_bodies_are_told_apart() {
        let atlas = br#"{"detail":"x","error":429,"errorCode":"RATE_LIMITED","reason":"Too Many Requests"}"#;
        let parsed = AtlasErrorBody::parse(atlas).unwrap();
        assert_eq!(parsed.error_code.unwrap().0, "RATE_LIMITED");
        assert!(
            OAuthErrorBody::parse(atlas).is_none(),
            "an integer `error` is not an OAuth error"
        );

        let oauth =
            br#"{"error_description":"Invalid credentials provided.","error":"invalid_client"}"#;
        assert_eq!(
            OAuthErrorBody::parse(oauth).unwrap().error.0,
            "invalid_client"
        );

        let digest_401 = br#"{"error" : 401, "reason" : "Unauthorized", "detail" : "You are not authorized for this resource."}"#;
        assert!(
            AtlasErrorBody::parse(digest_401)
                .unwrap()
                .error_code
                .is_none()
        );
    }

    fn project_role(project_id: &str, role: &str) -> ProjectRole {
        ProjectRole {
            project_id: project_id.into(),
            role: role.into(),
        }
    }

    /// A one-entry `PaginatedOrgUserView` around `user`'s JSON fields.
    fn one_user(fields: &str) -> String {
        format!(
            r#"{{"results":[{{"id":"5f0e1a2b3c4d5e6f7a8b9c01","username":"u@example.com",{fields}}}]}}"#
        )
    }

    #[test]
    fn pending_and_expired_users_become_invitations_and_the_rest_is_skipped() {
        let page = parse_org_users_page(ORG_USERS.as_bytes()).unwrap();
        assert_eq!(page.results, 5, "skipped entries still count for paging");
        assert_eq!(page.total_count, Some(5));
        assert_eq!(
            page.items,
            vec![
                Invitation {
                    // 12:00+02:00 is 10:00 UTC.
                    created_at: ts("2026-03-01T10:00:00Z"),
                    expires_at: Some(ts("2026-03-31T10:00:00Z")),
                    org_roles: vec!["ORG_MEMBER".into(), "ORG_GROUP_CREATOR".into()],
                    // One project role per role of each assignment.
                    project_roles: vec![
                        project_role("aaaaaaaaaaaaaaaaaaaaaaaa", "GROUP_OWNER"),
                        project_role("aaaaaaaaaaaaaaaaaaaaaaaa", "GROUP_READ_ONLY"),
                        project_role("bbbbbbbbbbbbbbbbbbbbbbbb", "GROUP_DATA_ACCESS_READ_ONLY"),
                    ],
                },
                Invitation {
                    created_at: ts("2026-01-01T00:00:00Z"),
                    expires_at: Some(ts("2026-01-31T00:00:00Z")),
                    org_roles: vec!["ORG_READ_ONLY".into()],
                    project_roles: vec![],
                },
            ]
        );
    }

    #[test]
    fn membership_statuses_decode_and_unknown_ones_are_tolerated() {
        for (json, status) in [
            (r#""PENDING""#, MembershipStatus::Pending),
            (
                r#""INVITATION_EXPIRED""#,
                MembershipStatus::InvitationExpired,
            ),
            (
                r#""INVITATION_REJECTED""#,
                MembershipStatus::InvitationRejected,
            ),
            (r#""ACTIVE""#, MembershipStatus::Active),
            (r#""INVITATION_REVOKED""#, MembershipStatus::Unknown),
            (r#""pending""#, MembershipStatus::Unknown),
        ] {
            assert_eq!(
                serde_json::from_str::<MembershipStatus>(json).unwrap(),
                status,
                "{json}"
            );
        }
    }

    #[test]
    fn a_null_or_absent_expiry_is_none() {
        for expiry in [r#","invitationExpiresAt":null"#, ""] {
            let body = one_user(&format!(
                r#""orgMembershipStatus":"PENDING","roles":{{}},"invitationCreatedAt":"2026-01-01T00:00:00Z"{expiry}"#
            ));
            let page = parse_org_users_page(body.as_bytes()).unwrap();
            assert_eq!(page.items.len(), 1, "{body}");
            assert_eq!(page.items[0].expires_at, None);
            assert_eq!(page.items[0].created_at, ts("2026-01-01T00:00:00Z"));
        }
    }

    #[test]
    fn an_invitation_without_its_creation_date_is_an_invalid_response() {
        for status in ["PENDING", "INVITATION_EXPIRED"] {
            let body = one_user(&format!(
                r#""orgMembershipStatus":"{status}","roles":{{}},"invitationExpiresAt":"2026-01-31T00:00:00Z""#
            ));
            let error = parse_org_users_page(body.as_bytes()).unwrap_err();
            assert!(
                matches!(&error, ApiError::InvalidResponse { reason } if reason.contains(status) && reason.contains("invitationCreatedAt")),
                "{error:?}"
            );
        }
        // A member has no invitation dates, and needs none.
        let active = one_user(r#""orgMembershipStatus":"ACTIVE","roles":{}"#);
        assert_eq!(
            parse_org_users_page(active.as_bytes()).unwrap().items,
            vec![]
        );
    }

    #[test]
    fn invitation_dates_must_be_rfc3339_with_an_offset() {
        for (created, expires) in [
            ("2026-01-01T00:00:00", "2026-01-31T00:00:00Z"),
            ("2026-01-01T00:00:00Z", "31/01/2026"),
        ] {
            let body = one_user(&format!(
                r#""orgMembershipStatus":"PENDING","roles":{{}},"invitationCreatedAt":"{created}","invitationExpiresAt":"{expires}""#
            ));
            assert!(
                matches!(
                    parse_org_users_page(body.as_bytes()),
                    Err(ApiError::InvalidResponse { .. })
                ),
                "{body}"
            );
        }
    }

    #[test]
    fn missing_roles_and_incomplete_assignments_grant_nothing() {
        let body = one_user(
            r#""orgMembershipStatus":"PENDING","invitationCreatedAt":"2026-01-01T00:00:00Z""#,
        );
        let invitation = &parse_org_users_page(body.as_bytes()).unwrap().items[0];
        assert!(invitation.org_roles.is_empty() && invitation.project_roles.is_empty());

        let body = one_user(
            r#""orgMembershipStatus":"PENDING","invitationCreatedAt":"2026-01-01T00:00:00Z","roles":{"groupRoleAssignments":[{"groupId":"aaaaaaaaaaaaaaaaaaaaaaaa"},{"groupRoles":["GROUP_OWNER"]},{"groupId":"bbbbbbbbbbbbbbbbbbbbbbbb","groupRoles":[]},{"groupId":"cccccccccccccccccccccccc","groupRoles":["GROUP_FUTURE_ROLE"]}]}"#,
        );
        let invitation = &parse_org_users_page(body.as_bytes()).unwrap().items[0];
        assert!(invitation.org_roles.is_empty());
        assert_eq!(
            invitation.project_roles,
            vec![project_role(
                "cccccccccccccccccccccccc",
                "GROUP_FUTURE_ROLE"
            )]
        );
    }

    #[test]
    fn org_user_pages_without_results_or_with_a_wrong_shape_are_invalid() {
        for body in [
            r#"{"totalCount":0}"#,
            r#"[]"#,
            r#"{"results":[{"roles":{}}]}"#,
            r#"{"results":[],"totalCount":-1}"#,
        ] {
            assert!(
                matches!(
                    parse_org_users_page(body.as_bytes()),
                    Err(ApiError::InvalidResponse { .. })
                ),
                "{body}"
            );
        }
        let empty = parse_org_users_page(br#"{"links":[],"results":[]}"#).unwrap();
        assert_eq!(
            empty,
            Page {
                items: vec![],
                results: 0,
                total_count: None
            }
        );
    }

    #[test]
    fn org_user_strings_are_borrowed_from_the_body() {
        let body = ORG_USERS.as_bytes();
        let wire: PaginatedOrgUserView<'_> = parse_json(body).unwrap();
        let roles = wire.results[0].roles.as_ref().unwrap();
        let org_roles = roles.org_roles.as_ref().unwrap();
        assert!(matches!(org_roles[0].0, Cow::Borrowed("ORG_MEMBER")));
        let assignment = &roles.group_role_assignments.as_ref().unwrap()[0];
        assert!(matches!(
            assignment.group_id.as_ref().unwrap().0,
            Cow::Borrowed("aaaaaaaaaaaaaaaaaaaaaaaa")
        ));
    }

    /// The settings and clock every test of the two decoders counts against.
    fn with_settings<T>(
        then: impl FnOnce(&crate::aggregate::AggregateSettings<'_>, Timestamp) -> T,
    ) -> T {
        let windows: Vec<crate::config::ExpiryWindow> = ["24h", "72h", "168h"]
            .iter()
            .map(|label| crate::config::ExpiryWindow {
                label: (*label).to_owned(),
                duration: humantime::parse_duration(label).unwrap(),
            })
            .collect();
        let settings = crate::aggregate::AggregateSettings {
            expiry_windows: &windows,
            stale_age: std::time::Duration::from_secs(7 * 86_400),
        };
        then(&settings, ts("2026-03-10T00:00:00Z"))
    }

    fn aggregator() -> Aggregator {
        with_settings(|settings, now| Aggregator::new(now, settings))
    }

    fn compute(invitations: &[Invitation]) -> crate::aggregate::OrgAggregate {
        with_settings(|settings, now| {
            crate::aggregate::OrgAggregate::compute(invitations, now, settings)
        })
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
                format!(r#"{{"id":"x{n}","createdAt":"{created}","expiresAt":"{expires}"{roles}{groups}{name},"links":[]}}"#)
            })
            .collect();
        bodies.push(format!("[{}]", entries.join(",")));
        bodies
    }

    #[test]
    fn aggregating_while_decoding_invitations_equals_parsing_then_computing() {
        for body in invitation_bodies() {
            let parsed = parse_org_invitations(body.as_bytes()).unwrap();
            let mut streamed = aggregator();
            let org_name = aggregate_org_invitations(body.as_bytes(), &mut streamed).unwrap();
            assert_eq!(org_name, parsed.org_name, "{body}");
            assert_eq!(streamed.finish(), compute(&parsed.invitations), "{body}");
        }
    }

    #[test]
    fn aggregating_while_decoding_rejects_what_parsing_rejects() {
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
                    aggregate_org_invitations(body.as_bytes(), &mut aggregator()),
                    Err(ApiError::InvalidResponse { .. })
                ),
                "{body}"
            );
        }
    }

    #[test]
    fn aggregating_while_decoding_a_users_page_equals_parsing_then_computing() {
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
                format!(r#"{{"id":"u{n}","username":"u{n}@example.com","orgMembershipStatus":"{status}","invitationCreatedAt":"2026-03-01T10:00:00Z"{expires}{roles}}}"#)
            })
            .collect();
        let generated = format!(
            r#"{{"links":[],"results":[{}],"totalCount":50}}"#,
            entries.join(",")
        );
        for body in [
            ORG_USERS.to_owned(),
            generated,
            r#"{"results":[]}"#.to_owned(),
        ] {
            let page = parse_org_users_page(body.as_bytes()).unwrap();
            let mut streamed = aggregator();
            let counts = aggregate_org_users_page(body.as_bytes(), &mut streamed).unwrap();
            assert_eq!(
                counts,
                PageCounts {
                    results: page.results,
                    total_count: page.total_count
                }
            );
            assert_eq!(streamed.finish(), compute(&page.items), "{body}");
        }
    }

    #[test]
    fn aggregating_a_users_page_fails_as_parsing_it_does() {
        let without_created = one_user(
            r#""orgMembershipStatus":"PENDING","roles":{},"invitationExpiresAt":"2026-01-31T00:00:00Z""#,
        );
        let bad_date = one_user(
            r#""orgMembershipStatus":"INVITATION_EXPIRED","invitationCreatedAt":"2026-01-01T00:00:00","invitationExpiresAt":"2026-01-31T00:00:00Z""#,
        );
        for body in [without_created.as_str(), bad_date.as_str()] {
            let expected = parse_org_users_page(body.as_bytes()).unwrap_err();
            let got = aggregate_org_users_page(body.as_bytes(), &mut aggregator()).unwrap_err();
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
                    aggregate_org_users_page(body.as_bytes(), &mut aggregator()),
                    Err(ApiError::InvalidResponse { .. })
                ),
                "{body}"
            );
        }
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
            let jiff = text.parse::<Timestamp>().map(|t| t.as_second()).ok();
            if direct.is_some() {
                assert_eq!(direct, jiff, "{text}");
            }
            assert_eq!(epoch_seconds(text).ok(), jiff, "{text}");
        }
    }

    #[test]
    fn organizations_decode_with_deleted_ones_flagged() {
        let page = parse_organizations_page(ORGS.as_bytes()).unwrap();
        assert_eq!((page.results, page.total_count), (3, Some(3)));
        let organization = |id: &str, name: &str, is_deleted| Organization {
            id: id.into(),
            name: name.into(),
            is_deleted,
        };
        assert_eq!(
            page.items,
            vec![
                organization("32b6e34b3d91647abb20e7b8", "Acme-Production", false),
                organization("0123456789abcdef01234567", "Acme-Old_(2019)", true),
                // No isDeleted: not deleted.
                organization("fedcba9876543210fedcba98", "Zürich-Ops", false),
            ]
        );
    }

    #[test]
    fn an_organization_without_id_or_name_is_an_invalid_response() {
        for body in [
            r#"{"results":[{"name":"Acme"}]}"#,
            r#"{"results":[{"id":"32b6e34b3d91647abb20e7b8"}]}"#,
            r#"{"results":[{"id":"32b6e34b3d91647abb20e7b8","name":"Acme","isDeleted":"no"}]}"#,
        ] {
            assert!(
                matches!(
                    parse_organizations_page(body.as_bytes()),
                    Err(ApiError::InvalidResponse { .. })
                ),
                "{body}"
            );
        }
        let null_flag = parse_organizations_page(
            br#"{"results":[{"id":"32b6e34b3d91647abb20e7b8","name":"Acme","isDeleted":null}]}"#,
        )
        .unwrap();
        assert!(!null_flag.items[0].is_deleted);
    }
}
