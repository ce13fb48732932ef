//! The fixed values of Atlas's protocol that the simulator serves: media types (resource versions),
//! the deprecation and sunset dates of listOrgInvites, rate-limit capacities and the `gone` detail.

/// The only resource version of listOrgInvites and listOrgs, and the active-users-only one of listOrgUsers
/// (reference §1, §4, §5).
pub const ATLAS_MEDIA_TYPE: &str = "application/vnd.atlas.2023-01-01+json";
/// The listOrgUsers resource version that lists pending users (reference §4).
pub const ORG_USERS_MEDIA_TYPE: &str = "application/vnd.atlas.2025-02-19+json";
/// The only resource version of getOrgServiceAccount (reference §12).
pub const SERVICE_ACCOUNTS_MEDIA_TYPE: &str = "application/vnd.atlas.2024-08-05+json";
/// One year before the sunset, as Atlas removes versions a year after deprecating them (reference §7).
pub const DEPRECATION: &str = "Wed, 01 Jul 2026 00:00:00 GMT";
/// The `x-sunset` of listOrgInvites' 2023-01-01 content type (reference §1).
pub const SUNSET: &str = "Thu, 01 Jul 2027 00:00:00 GMT";
/// Capacity of the "Organizations" and "MongoDB Cloud Users" ORGANIZATION-scoped buckets (reference §8).
pub(crate) const RATE_LIMIT_CAPACITY: u32 = 500;
/// Capacity of the "Teams" (ORGANIZATION) and "Projects" (GROUP) buckets (reference §12).
pub(crate) const LARGE_RATE_LIMIT_CAPACITY: u32 = 1_200;
/// Capacity of the "Organizations" USER-scoped bucket that `GET /orgs` uses (reference §8).
pub(crate) const USER_RATE_LIMIT_CAPACITY: u32 = 300;
/// The spec's `gone` response detail, word for word (reference §3).
pub(crate) const VERSION_GONE_DETAIL: &str =
    "This happens when a resource is marked for sunset and the sunset date is in the past.";
