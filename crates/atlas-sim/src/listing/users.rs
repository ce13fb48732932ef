//! listOrgUsers' query (`GET /orgs/{orgId}/users`): the resource version asked for, membership-status
//! filters and `username`, validated as Atlas validates them.

use super::page::{InvalidQuery, Page, single, values};

/// `OrgUserResponse.orgMembershipStatus`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum MembershipStatus {
    Pending,
    Active,
    InvitationExpired,
    InvitationRejected,
}

impl MembershipStatus {
    const ALLOWED: &str = "PENDING, ACTIVE, INVITATION_EXPIRED, INVITATION_REJECTED";

    pub(crate) fn parse(value: &str) -> Option<MembershipStatus> {
        match value {
            "PENDING" => Some(MembershipStatus::Pending),
            "ACTIVE" => Some(MembershipStatus::Active),
            "INVITATION_EXPIRED" => Some(MembershipStatus::InvitationExpired),
            "INVITATION_REJECTED" => Some(MembershipStatus::InvitationRejected),
            _ => None,
        }
    }

    pub(crate) fn as_str(self) -> &'static str {
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
pub(crate) enum UsersVersion {
    /// 2023-01-01: `PaginatedAppUserView`, active users only.
    ActiveOnly,
    /// 2025-02-19: `PaginatedOrgUserView`, pending and active users.
    WithPending,
}

/// listOrgUsers' query, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct UsersQuery {
    pub(crate) page: Page,
    pub(crate) statuses: Vec<MembershipStatus>,
    pub(crate) username: Option<String>,
}

impl AsRef<Page> for UsersQuery {
    fn as_ref(&self) -> &Page {
        &self.page
    }
}

impl UsersQuery {
    /// `legacy`: the org plays an Atlas from before `orgMembershipStatuses` (see `SimOrg`).
    pub(crate) fn parse(
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
}
