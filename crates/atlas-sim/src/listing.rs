//! The paginated listings, `GET /orgs/{orgId}/users` (both resource versions) and `GET /orgs`: their
//! query parameters, pages and links, and their bodies with field names exactly as the OpenAPI spec.

use jiff::Timestamp;
use serde::Serialize;

use super::response::{DateStyle, Link};
use super::world::{SimInvitation, SimTime};

/// `itemsPerPage` when absent, and its largest allowed value (reference §4, §5).
pub const DEFAULT_ITEMS_PER_PAGE: usize = 100;
pub const MAX_ITEMS_PER_PAGE: usize = 500;

const DAY: i64 = 86_400;

/// A query Atlas would refuse with 400 `VALIDATION_ERROR`; the text is the ApiError detail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidQuery(pub String);

/// The values of `key`, in the order sent.
fn values<'a>(pairs: &'a [(String, String)], key: &str) -> Vec<&'a str> {
    pairs
        .iter()
        .filter(|(name, _)| name == key)
        .map(|(_, value)| value.as_str())
        .collect()
}

/// The value of a parameter that may appear at most once.
fn single<'a>(pairs: &'a [(String, String)], key: &str) -> Result<Option<&'a str>, InvalidQuery> {
    match values(pairs, key).as_slice() {
        [] => Ok(None),
        [value] => Ok(Some(value)),
        _ => Err(InvalidQuery(format!(
            "Request query parameter {key} may be given only once."
        ))),
    }
}

fn boolean(pairs: &[(String, String)], key: &str, default: bool) -> Result<bool, InvalidQuery> {
    match single(pairs, key)? {
        None => Ok(default),
        Some(value) if value.eq_ignore_ascii_case("true") => Ok(true),
        Some(value) if value.eq_ignore_ascii_case("false") => Ok(false),
        Some(value) => Err(InvalidQuery(format!(
            "Invalid value {value} for request query parameter {key}: it must be true or false."
        ))),
    }
}

fn integer(
    pairs: &[(String, String)],
    key: &str,
    default: usize,
    range: std::ops::RangeInclusive<usize>,
) -> Result<usize, InvalidQuery> {
    let Some(value) = single(pairs, key)? else {
        return Ok(default);
    };
    value
        .parse::<usize>()
        .ok()
        .filter(|number| range.contains(number))
        .ok_or_else(|| {
            InvalidQuery(format!(
                "Invalid value {value} for request query parameter {key}: it must be an integer from {} to {}.",
                range.start(),
                range.end()
            ))
        })
}

/// The pagination parameters listOrgUsers and listOrgs share.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    pub items_per_page: usize,
    pub page_num: usize,
    pub include_count: bool,
    pub pretty: bool,
}

impl Page {
    pub fn from_query(pairs: &[(String, String)]) -> Result<Page, InvalidQuery> {
        Ok(Page {
            items_per_page: integer(
                pairs,
                "itemsPerPage",
                DEFAULT_ITEMS_PER_PAGE,
                1..=MAX_ITEMS_PER_PAGE,
            )?,
            page_num: integer(pairs, "pageNum", 1, 1..=usize::MAX)?,
            include_count: boolean(pairs, "includeCount", true)?,
            pretty: boolean(pairs, "pretty", false)?,
        })
    }

    /// This page's share of `items`; empty past the end, as Atlas answers.
    pub fn window<'a, T>(&self, items: &'a [T]) -> &'a [T] {
        let start = self
            .page_num
            .saturating_sub(1)
            .saturating_mul(self.items_per_page)
            .min(items.len());
        let end = start.saturating_add(self.items_per_page).min(items.len());
        &items[start..end]
    }

    /// `self`, then `previous` and `next` where such pages exist. Which rels Atlas sends is unconfirmed
    /// (reference §4); the exporter must not need them. The other query parameters are kept as sent.
    pub fn links(&self, resource_url: &str, raw_query: Option<&str>, total: usize) -> Vec<Link> {
        let kept: Vec<&str> = raw_query
            .unwrap_or("")
            .split('&')
            .filter(|pair| {
                let key = pair.split('=').next().unwrap_or("");
                !pair.is_empty() && key != "pageNum" && key != "itemsPerPage"
            })
            .collect();
        let href = |page_num: usize| {
            let mut query = kept.join("&");
            if !query.is_empty() {
                query.push('&');
            }
            format!(
                "{resource_url}?{query}pageNum={page_num}&itemsPerPage={}",
                self.items_per_page
            )
        };
        let mut links = vec![Link {
            href: href(self.page_num),
            rel: "self",
        }];
        if self.page_num > 1 {
            links.push(Link {
                href: href(self.page_num - 1),
                rel: "previous",
            });
        }
        if self.page_num.saturating_mul(self.items_per_page) < total {
            links.push(Link {
                href: href(self.page_num.saturating_add(1)),
                rel: "next",
            });
        }
        links
    }
}

/// `PaginatedOrgUserView`, `PaginatedAppUserView` and `PaginatedOrganizationView` alike.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Paginated<T> {
    links: Vec<Link>,
    results: Vec<T>,
    #[serde(skip_serializing_if = "Option::is_none")]
    total_count: Option<usize>,
}

/// One page of `items` in its envelope, as a JSON value so that a fault can spoil it.
fn paginate<T: Serialize>(
    items: &[T],
    page: &Page,
    resource_url: &str,
    raw_query: Option<&str>,
) -> serde_json::Value {
    let envelope = Paginated {
        links: page.links(resource_url, raw_query, items.len()),
        results: page.window(items).iter().collect(),
        total_count: page.include_count.then_some(items.len()),
    };
    // Only non-string map keys make serialisation fail, and these types have none.
    serde_json::to_value(envelope).unwrap_or(serde_json::Value::Null)
}

// ---------------------------------------------------------------------------------------------------
// GET /api/atlas/v2/orgs/{orgId}/users
// ---------------------------------------------------------------------------------------------------

/// `OrgUserResponse.orgMembershipStatus`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MembershipStatus {
    Pending,
    Active,
    InvitationExpired,
    InvitationRejected,
}

impl MembershipStatus {
    const ALLOWED: &str = "PENDING, ACTIVE, INVITATION_EXPIRED, INVITATION_REJECTED";

    pub fn parse(value: &str) -> Option<MembershipStatus> {
        match value {
            "PENDING" => Some(MembershipStatus::Pending),
            "ACTIVE" => Some(MembershipStatus::Active),
            "INVITATION_EXPIRED" => Some(MembershipStatus::InvitationExpired),
            "INVITATION_REJECTED" => Some(MembershipStatus::InvitationRejected),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            MembershipStatus::Pending => "PENDING",
            MembershipStatus::Active => "ACTIVE",
            MembershipStatus::InvitationExpired => "INVITATION_EXPIRED",
            MembershipStatus::InvitationRejected => "INVITATION_REJECTED",
        }
    }
}

/// The resource version a `/users` call asked for in `Accept`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UsersVersion {
    /// 2023-01-01: `PaginatedAppUserView`, active users only.
    ActiveOnly,
    /// 2025-02-19: `PaginatedOrgUserView`, pending and active users.
    WithPending,
}

/// listOrgUsers' query, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsersQuery {
    pub page: Page,
    pub statuses: Vec<MembershipStatus>,
    pub username: Option<String>,
}

impl UsersQuery {
    /// `legacy`: the org plays an Atlas from before `orgMembershipStatuses` (see `SimOrg`).
    pub fn parse(
        pairs: &[(String, String)],
        version: UsersVersion,
        legacy: bool,
    ) -> Result<UsersQuery, InvalidQuery> {
        let page = Page::from_query(pairs)?;
        let plural = values(pairs, "orgMembershipStatuses");
        let singular = single(pairs, "orgMembershipStatus")?;
        let username = single(pairs, "username")?.map(str::to_owned);
        if version == UsersVersion::ActiveOnly {
            // The spec says these are "not supported in deprecated versions"; refusing them (rather than
            // ignoring them, which Atlas may do) makes a client that sends the wrong Accept fail loudly.
            if !plural.is_empty() || singular.is_some() || username.is_some() {
                return Err(InvalidQuery(
                    "orgMembershipStatus, orgMembershipStatuses and username are not supported in resource version 2023-01-01."
                        .to_owned(),
                ));
            }
            return Ok(UsersQuery {
                page,
                statuses: vec![MembershipStatus::Active],
                username: None,
            });
        }
        if let Some(wanted) = &username
            && !wanted.contains('@')
        {
            return Err(InvalidQuery(
                "Request query parameter username must be an email address.".to_owned(),
            ));
        }
        if legacy && !plural.is_empty() {
            return Err(InvalidQuery(
                "Invalid query parameter orgMembershipStatuses.".to_owned(),
            ));
        }
        let statuses = match (plural.is_empty(), singular) {
            (false, Some(_)) => {
                return Err(InvalidQuery(
                    "orgMembershipStatuses cannot be combined with orgMembershipStatus.".to_owned(),
                ));
            }
            (false, None) => {
                if plural.len() > 4 {
                    return Err(InvalidQuery(
                        "Request query parameter orgMembershipStatuses accepts at most 4 values."
                            .to_owned(),
                    ));
                }
                plural
                    .iter()
                    .map(|value| {
                        MembershipStatus::parse(value).ok_or_else(|| {
                            InvalidQuery(format!(
                                "Invalid value {value} for request query parameter orgMembershipStatuses; allowed values: {}.",
                                MembershipStatus::ALLOWED
                            ))
                        })
                    })
                    .collect::<Result<Vec<_>, _>>()?
            }
            (true, Some(value)) => {
                let status = MembershipStatus::parse(value).filter(|status| {
                    !legacy
                        || matches!(status, MembershipStatus::Pending | MembershipStatus::Active)
                });
                let allowed = if legacy {
                    "PENDING, ACTIVE"
                } else {
                    MembershipStatus::ALLOWED
                };
                vec![status.ok_or_else(|| {
                    InvalidQuery(format!(
                        "Invalid value {value} for request query parameter orgMembershipStatus; allowed values: {allowed}."
                    ))
                })?]
            }
            // Atlas's documented default (reference §4).
            (true, None) => vec![MembershipStatus::Active, MembershipStatus::Pending],
        };
        Ok(UsersQuery {
            page,
            statuses,
            username,
        })
    }
}

/// One entry of an org's member list, in the order `/users` lists them.
#[derive(Debug, Clone, Copy)]
enum Member<'a> {
    Invited(&'a SimInvitation, MembershipStatus),
    /// The n-th (from 1) generated rejected invitation.
    Rejected(u32),
    /// The n-th (from 1) generated active member.
    Active(u32),
}

/// An org's members and invitations, and how `/users` serialises them.
#[derive(Debug)]
pub struct OrgMembers<'a> {
    pub base_url: &'a str,
    pub org_id: &'a str,
    pub invitations: &'a [SimInvitation],
    pub active_users: u32,
    pub rejected: u32,
    /// An older Atlas: no INVITATION_EXPIRED or INVITATION_REJECTED; expired invitations stay PENDING.
    pub legacy: bool,
    pub now: Timestamp,
}

impl<'a> OrgMembers<'a> {
    /// Every entry with one of `statuses` (and `username`, when given), in a stable order: invitations as
    /// declared, then rejected invitations, then active members.
    fn members(&self, statuses: &[MembershipStatus], username: Option<&str>) -> Vec<Member<'a>> {
        let invitations = self.invitations.iter().map(|invitation| {
            let expired = invitation.expires.resolve(self.now) <= self.now;
            let status = if expired && !self.legacy {
                MembershipStatus::InvitationExpired
            } else {
                MembershipStatus::Pending
            };
            Member::Invited(invitation, status)
        });
        let rejected = if self.legacy { 0 } else { self.rejected };
        let all = invitations
            .chain((1..=rejected).map(Member::Rejected))
            .chain((1..=self.active_users).map(Member::Active));
        all.filter(|member| statuses.contains(&member.status()))
            .filter(|member| {
                username.is_none_or(|wanted| member.username().eq_ignore_ascii_case(wanted))
            })
            .collect()
    }

    /// `PaginatedOrgUserView` (2025-02-19).
    pub fn with_pending(
        &self,
        query: &UsersQuery,
        raw_query: Option<&str>,
        dates: DateStyle,
    ) -> serde_json::Value {
        let members = self.members(&query.statuses, query.username.as_deref());
        let items: Vec<OrgUserResponse<'_>> = members
            .iter()
            .map(|member| self.org_user(*member, dates))
            .collect();
        paginate(&items, &query.page, &self.resource_url(), raw_query)
    }

    /// `PaginatedAppUserView` (2023-01-01): active members only.
    pub fn active_only(
        &self,
        query: &UsersQuery,
        raw_query: Option<&str>,
        dates: DateStyle,
    ) -> serde_json::Value {
        let items: Vec<CloudAppUser<'_>> = (1..=self.active_users)
            .map(|n| self.cloud_app_user(n, dates))
            .collect();
        paginate(&items, &query.page, &self.resource_url(), raw_query)
    }

    fn resource_url(&self) -> String {
        format!("{}/api/atlas/v2/orgs/{}/users", self.base_url, self.org_id)
    }

    /// Generated ids end in the org id's last 14 digits, a kind and a counter, so they are valid,
    /// stable across calls and unique across orgs.
    fn generated_id(&self, kind: u8, n: u32) -> String {
        let org_part = self.org_id.get(10..).unwrap_or("00000000000000");
        format!("{org_part}{kind:02x}{n:08x}")
    }

    fn org_user(&self, member: Member<'a>, dates: DateStyle) -> OrgUserResponse<'a> {
        let status = member.status().as_str();
        match member {
            Member::Invited(invitation, _) => OrgUserResponse::Pending(OrgPendingUserResponse {
                id: invitation.id.clone(),
                invitation_created_at: dates.render(invitation.created.resolve(self.now)),
                invitation_expires_at: Some(dates.render(invitation.expires.resolve(self.now))),
                inviter_username: invitation.inviter_username.clone(),
                org_membership_status: status,
                roles: OrgUserRolesResponse::of(invitation),
                team_ids: [],
                username: invitation.username.clone(),
            }),
            Member::Rejected(n) => OrgUserResponse::Pending(OrgPendingUserResponse {
                id: self.generated_id(0xe0, n),
                invitation_created_at: dates
                    .render(SimTime::FromNow(-(20 * DAY + i64::from(n) * 60)).resolve(self.now)),
                invitation_expires_at: None,
                inviter_username: "owner@example.com".to_owned(),
                org_membership_status: status,
                roles: OrgUserRolesResponse::member(),
                team_ids: [],
                username: member.username(),
            }),
            Member::Active(n) => OrgUserResponse::Active(OrgActiveUserResponse {
                created_at: dates.render(self.member_since(n)),
                first_name: "Active",
                id: self.generated_id(0xac, n),
                last_name: format!("User {n}"),
                org_membership_status: status,
                roles: if n == 1 {
                    OrgUserRolesResponse::owner()
                } else {
                    OrgUserRolesResponse::member()
                },
                team_ids: [],
                username: member.username(),
            }),
        }
    }

    fn cloud_app_user(&self, n: u32, dates: DateStyle) -> CloudAppUser<'a> {
        let id = self.generated_id(0xac, n);
        let username = Member::Active(n).username();
        CloudAppUser {
            country: "US",
            created_at: dates.render(self.member_since(n)),
            email_address: username.clone(),
            first_name: "Active",
            last_name: format!("User {n}"),
            links: vec![Link {
                href: format!("{}/api/atlas/v2/users/{id}", self.base_url),
                rel: "self",
            }],
            id,
            mobile_number: "2125550100",
            roles: vec![CloudAccessRoleAssignment {
                org_id: self.org_id,
                role_name: if n == 1 { "ORG_OWNER" } else { "ORG_MEMBER" },
            }],
            team_ids: [],
            username,
        }
    }

    fn member_since(&self, n: u32) -> Timestamp {
        SimTime::FromNow(-(400 * DAY + i64::from(n) * 3600)).resolve(self.now)
    }
}

impl Member<'_> {
    fn status(&self) -> MembershipStatus {
        match self {
            Member::Invited(_, status) => *status,
            Member::Rejected(_) => MembershipStatus::InvitationRejected,
            Member::Active(_) => MembershipStatus::Active,
        }
    }

    fn username(&self) -> String {
        match self {
            Member::Invited(invitation, _) => invitation.username.clone(),
            Member::Rejected(n) => format!("rejected{n}@example.com"),
            Member::Active(n) => format!("user{n}@example.com"),
        }
    }
}

/// `OrgUserResponse`: its discriminator is `orgMembershipStatus`, so no tag of our own.
#[derive(Debug, Serialize)]
#[serde(untagged)]
enum OrgUserResponse<'a> {
    Pending(OrgPendingUserResponse<'a>),
    Active(OrgActiveUserResponse<'a>),
}

/// `OrgPendingUserResponse`, also for INVITATION_EXPIRED and INVITATION_REJECTED.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct OrgPendingUserResponse<'a> {
    id: String,
    invitation_created_at: String,
    /// Null for rejected invitations.
    invitation_expires_at: Option<String>,
    inviter_username: String,
    org_membership_status: &'static str,
    roles: OrgUserRolesResponse<'a>,
    team_ids: [&'static str; 0],
    username: String,
}

/// `OrgActiveUserResponse`, with only the required fields (and `teamIds`).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct OrgActiveUserResponse<'a> {
    created_at: String,
    first_name: &'static str,
    id: String,
    last_name: String,
    org_membership_status: &'static str,
    roles: OrgUserRolesResponse<'a>,
    team_ids: [&'static str; 0],
    username: String,
}

/// `OrgUserRolesResponse`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct OrgUserRolesResponse<'a> {
    group_role_assignments: Vec<GroupRoleAssignment<'a>>,
    org_roles: Vec<&'a str>,
}

/// `GroupRoleAssignment`: all of one project's roles together.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct GroupRoleAssignment<'a> {
    group_id: &'a str,
    group_roles: Vec<&'a str>,
}

impl<'a> OrgUserRolesResponse<'a> {
    /// Project roles grouped by project in first-seen order, each list without repeats (`uniqueItems`).
    fn of(invitation: &'a SimInvitation) -> OrgUserRolesResponse<'a> {
        let mut assignments: Vec<GroupRoleAssignment<'a>> = Vec::new();
        for (group_id, role) in &invitation.project_roles {
            match assignments
                .iter_mut()
                .find(|assignment| assignment.group_id == group_id.as_str())
            {
                Some(assignment) if assignment.group_roles.contains(&role.as_str()) => {}
                Some(assignment) => assignment.group_roles.push(role),
                None => assignments.push(GroupRoleAssignment {
                    group_id,
                    group_roles: vec![role],
                }),
            }
        }
        let mut org_roles: Vec<&str> = Vec::new();
        for role in &invitation.org_roles {
            if !org_roles.contains(&role.as_str()) {
                org_roles.push(role);
            }
        }
        OrgUserRolesResponse {
            group_role_assignments: assignments,
            org_roles,
        }
    }

    fn member() -> OrgUserRolesResponse<'a> {
        OrgUserRolesResponse {
            group_role_assignments: Vec::new(),
            org_roles: vec!["ORG_MEMBER"],
        }
    }

    fn owner() -> OrgUserRolesResponse<'a> {
        OrgUserRolesResponse {
            group_role_assignments: Vec::new(),
            org_roles: vec!["ORG_OWNER"],
        }
    }
}

/// `CloudAppUser` as the 2023-01-01 version serves it (never with `password`).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct CloudAppUser<'a> {
    country: &'static str,
    created_at: String,
    email_address: String,
    first_name: &'static str,
    id: String,
    last_name: String,
    links: Vec<Link>,
    mobile_number: &'static str,
    roles: Vec<CloudAccessRoleAssignment<'a>>,
    team_ids: [&'static str; 0],
    username: String,
}

/// `CloudAccessRoleAssignment` for an org role.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct CloudAccessRoleAssignment<'a> {
    org_id: &'a str,
    role_name: &'static str,
}

// ---------------------------------------------------------------------------------------------------
// GET /api/atlas/v2/orgs
// ---------------------------------------------------------------------------------------------------

/// listOrgs' query, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrgsQuery {
    pub page: Page,
    /// Case-insensitive name prefix (reference §5).
    pub name: Option<String>,
}

impl OrgsQuery {
    pub fn parse(pairs: &[(String, String)]) -> Result<OrgsQuery, InvalidQuery> {
        Ok(OrgsQuery {
            page: Page::from_query(pairs)?,
            name: single(pairs, "name")?.map(str::to_owned),
        })
    }
}

/// An org as `/orgs` lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedOrg {
    pub id: String,
    pub name: String,
    pub is_deleted: bool,
}

/// `AtlasOrganization`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct AtlasOrganization<'a> {
    id: &'a str,
    /// A string only in the spoiled "invalid dates" body, which has no dates to spoil.
    is_deleted: serde_json::Value,
    links: Vec<Link>,
    name: &'a str,
    skip_default_alerts_settings: bool,
}

/// `PaginatedOrganizationView` of `orgs` (already in listing order), filtered by the query's name prefix.
pub fn organizations(
    base_url: &str,
    orgs: &[ListedOrg],
    query: &OrgsQuery,
    raw_query: Option<&str>,
    dates: DateStyle,
) -> serde_json::Value {
    let prefix = query.name.as_deref().map(str::to_lowercase);
    let items: Vec<AtlasOrganization<'_>> = orgs
        .iter()
        .filter(|org| {
            prefix
                .as_deref()
                .is_none_or(|prefix| org.name.to_lowercase().starts_with(prefix))
        })
        .map(|org| AtlasOrganization {
            id: &org.id,
            is_deleted: match dates {
                DateStyle::Rfc3339 => serde_json::Value::Bool(org.is_deleted),
                DateStyle::Invalid => serde_json::Value::String(org.is_deleted.to_string()),
            },
            links: vec![Link {
                href: format!("{base_url}/api/atlas/v2/orgs/{}", org.id),
                rel: "self",
            }],
            name: &org.name,
            skip_default_alerts_settings: false,
        })
        .collect();
    paginate(
        &items,
        &query.page,
        &format!("{base_url}/api/atlas/v2/orgs"),
        raw_query,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(query: &str) -> Vec<(String, String)> {
        query
            .split('&')
            .filter(|pair| !pair.is_empty())
            .map(|pair| {
                let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
                (key.to_owned(), value.to_owned())
            })
            .collect()
    }

    fn statuses(query: &str, legacy: bool) -> Result<Vec<&'static str>, InvalidQuery> {
        UsersQuery::parse(&pairs(query), UsersVersion::WithPending, legacy)
            .map(|parsed| parsed.statuses.iter().map(|s| s.as_str()).collect())
    }

    #[test]
    fn page_defaults_and_bounds() {
        assert_eq!(
            Page::from_query(&[]),
            Ok(Page {
                items_per_page: 100,
                page_num: 1,
                include_count: true,
                pretty: false
            })
        );
        let page = Page::from_query(&pairs(
            "itemsPerPage=500&pageNum=3&includeCount=FALSE&pretty=true",
        ))
        .unwrap();
        assert_eq!(
            (page.items_per_page, page.page_num, page.include_count),
            (500, 3, false)
        );
        for bad in [
            "itemsPerPage=0",
            "itemsPerPage=501",
            "itemsPerPage=-1",
            "itemsPerPage=ten",
            "pageNum=0",
            "includeCount=yes",
            "pageNum=1&pageNum=2",
        ] {
            assert!(Page::from_query(&pairs(bad)).is_err(), "{bad}");
        }
    }

    #[test]
    fn window_is_exact_at_the_boundaries() {
        let items: Vec<u32> = (0..10).collect();
        let page = |page_num| Page {
            items_per_page: 5,
            page_num,
            include_count: true,
            pretty: false,
        };
        assert_eq!(page(1).window(&items), &[0, 1, 2, 3, 4]);
        assert_eq!(page(2).window(&items), &[5, 6, 7, 8, 9]);
        assert!(page(3).window(&items).is_empty());
        assert!(page(usize::MAX).window(&items).is_empty());
    }

    #[test]
    fn links_keep_other_parameters_and_point_both_ways() {
        let page = Page {
            items_per_page: 2,
            page_num: 2,
            include_count: true,
            pretty: false,
        };
        let links = page.links(
            "http://x/api/atlas/v2/orgs/o/users",
            Some("orgMembershipStatuses=PENDING&pageNum=2&itemsPerPage=2&orgMembershipStatuses=ACTIVE"),
            5,
        );
        let shown: Vec<(&str, &str)> = links.iter().map(|l| (l.rel, l.href.as_str())).collect();
        let url = "http://x/api/atlas/v2/orgs/o/users?orgMembershipStatuses=PENDING&orgMembershipStatuses=ACTIVE";
        assert_eq!(
            shown,
            [
                ("self", format!("{url}&pageNum=2&itemsPerPage=2").as_str()),
                (
                    "previous",
                    format!("{url}&pageNum=1&itemsPerPage=2").as_str()
                ),
                ("next", format!("{url}&pageNum=3&itemsPerPage=2").as_str()),
            ]
        );
        let last = Page {
            page_num: 3,
            ..page
        };
        assert!(
            last.links("u", None, 5)
                .iter()
                .all(|link| link.rel != "next")
        );
        let first = Page {
            page_num: 1,
            ..page
        };
        assert_eq!(first.links("u", None, 2).len(), 1, "exactly one full page");
    }

    #[test]
    fn status_filters() {
        assert_eq!(statuses("", false), Ok(vec!["ACTIVE", "PENDING"]));
        assert_eq!(
            statuses(
                "orgMembershipStatuses=PENDING&orgMembershipStatuses=INVITATION_EXPIRED",
                false
            ),
            Ok(vec!["PENDING", "INVITATION_EXPIRED"])
        );
        assert_eq!(
            statuses("orgMembershipStatus=INVITATION_REJECTED", false),
            Ok(vec!["INVITATION_REJECTED"])
        );
        for bad in [
            "orgMembershipStatuses=PENDING,INVITATION_EXPIRED",
            "orgMembershipStatuses=pending",
            "orgMembershipStatuses=PENDING&orgMembershipStatus=PENDING",
            "orgMembershipStatus=PENDING&orgMembershipStatus=ACTIVE",
            "orgMembershipStatuses=PENDING&orgMembershipStatuses=PENDING&orgMembershipStatuses=ACTIVE&orgMembershipStatuses=ACTIVE&orgMembershipStatuses=PENDING",
            "username=not-an-email",
        ] {
            assert!(statuses(bad, false).is_err(), "{bad}");
        }
    }

    #[test]
    fn legacy_atlas_knows_only_the_single_pending_or_active_filter() {
        assert_eq!(
            statuses("orgMembershipStatus=PENDING", true),
            Ok(vec!["PENDING"])
        );
        assert_eq!(statuses("", true), Ok(vec!["ACTIVE", "PENDING"]));
        assert!(statuses("orgMembershipStatuses=PENDING", true).is_err());
        assert!(statuses("orgMembershipStatus=INVITATION_EXPIRED", true).is_err());
    }

    #[test]
    fn active_only_version_refuses_the_filters() {
        for bad in [
            "orgMembershipStatuses=PENDING",
            "orgMembershipStatus=ACTIVE",
            "username=a@b.c",
        ] {
            assert!(UsersQuery::parse(&pairs(bad), UsersVersion::ActiveOnly, false).is_err());
        }
        let parsed = UsersQuery::parse(&[], UsersVersion::ActiveOnly, false).unwrap();
        assert_eq!(parsed.statuses, [MembershipStatus::Active]);
    }

    #[test]
    fn project_roles_are_grouped_by_project_without_repeats() {
        let invitation = SimInvitation::sent_ago("6523f1a0c8e4b2d9f0a1e101", "a@example.com", 60)
            .with_org_roles(["ORG_MEMBER", "ORG_MEMBER", "ORG_GROUP_CREATOR"])
            .with_project_role("6523f1a0c8e4b2d9f0a1c101", "GROUP_OWNER")
            .with_project_role("6523f1a0c8e4b2d9f0a1c102", "GROUP_READ_ONLY")
            .with_project_role("6523f1a0c8e4b2d9f0a1c101", "GROUP_READ_ONLY")
            .with_project_role("6523f1a0c8e4b2d9f0a1c101", "GROUP_OWNER");
        let roles = serde_json::to_value(OrgUserRolesResponse::of(&invitation)).unwrap();
        assert_eq!(
            roles,
            serde_json::json!({
                "orgRoles": ["ORG_MEMBER", "ORG_GROUP_CREATOR"],
                "groupRoleAssignments": [
                    {"groupId": "6523f1a0c8e4b2d9f0a1c101", "groupRoles": ["GROUP_OWNER", "GROUP_READ_ONLY"]},
                    {"groupId": "6523f1a0c8e4b2d9f0a1c102", "groupRoles": ["GROUP_READ_ONLY"]}
                ]
            })
        );
    }

    #[test]
    fn generated_ids_are_atlas_ids_unique_across_orgs_and_kinds() {
        let members = |org_id: &'static str| OrgMembers {
            base_url: "http://x",
            org_id,
            invitations: &[],
            active_users: 0,
            rejected: 0,
            legacy: false,
            now: Timestamp::UNIX_EPOCH,
        };
        let a = members("6523f1a0c8e4b2d9f0a1b001");
        let b = members("6523f1a0c8e4b2d9f0a1b002");
        let ids = [
            a.generated_id(0xac, 1),
            a.generated_id(0xe0, 1),
            a.generated_id(0xac, 2),
            b.generated_id(0xac, 1),
        ];
        for id in &ids {
            assert_eq!(id.len(), 24, "{id}");
            assert!(
                id.bytes()
                    .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
            );
        }
        let mut unique = ids.to_vec();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), ids.len());
    }
}
