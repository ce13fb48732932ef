//! The paginated listings, `GET /orgs/{orgId}/users` (both resource versions) and `GET /orgs`: their
//! query parameters, pages and links (`page.rs`), listOrgUsers' query (`users.rs`) and body
//! (`members.rs`), and listOrgs' query and body (`orgs.rs`), field names exactly as the OpenAPI spec.

mod members;
mod orgs;
mod page;
mod users;

pub(crate) use members::OrgMembers;
pub(crate) use orgs::{ListedOrg, OrgsQuery, organizations};
pub use page::{DEFAULT_ITEMS_PER_PAGE, MAX_ITEMS_PER_PAGE};
pub(crate) use page::{InvalidQuery, Page, paginate};
pub(crate) use users::{UsersQuery, UsersVersion};
