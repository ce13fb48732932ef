//! The organisation's active members (`listOrgUsers` asked for its count alone), for its seats.

use std::sync::Arc;

use crate::metrics::facts::seats::Seats;
use crate::poll::facts::{FactCall, FactReader, ORG_FACTS, Reading};

#[linkme::distributed_slice(ORG_FACTS)]
static SEATS: FactReader = FactReader {
    key: "seats",
    call: "GET /orgs/{orgId}/users?orgMembershipStatuses=ACTIVE",
    needs: "Organization Member",
    read,
    refused: None,
};

fn read(call: FactCall<'_>) -> Reading<'_> {
    Box::pin(async move {
        let active = call
            .client
            .count_active_org_users(call.org.as_str(), call.auth, call.deadline, call.calls)
            .await?;
        Ok(Arc::new(Seats { active }) as _)
    })
}
