//! The organisation's teams (`listOrgTeams`), for the names of the teams invitees will join.

use std::sync::Arc;

use crate::metrics::facts::teams::TeamNames;
use crate::poll::facts::{FactCall, FactReader, ORG_FACTS, Reading};

#[linkme::distributed_slice(ORG_FACTS)]
static TEAMS: FactReader = FactReader {
    key: "teams",
    call: "GET /orgs/{orgId}/teams",
    needs: "Organization Member",
    read,
    // No names, but every team a pending invitee will join still has its info series.
    refused: Some(|| Arc::new(TeamNames::default())),
};

fn read(call: FactCall<'_>) -> Reading<'_> {
    Box::pin(async move {
        let listing = call
            .client
            .list_org_teams(call.org.as_str(), call.auth, call.deadline, call.calls)
            .await?;
        let teams = listing.items.into_iter().map(|team| (team.id, team.name));
        Ok(Arc::new(TeamNames::new(teams)) as _)
    })
}
