//! The organisation's seats: its active members (`listOrgUsers`' `totalCount`) beside its pending
//! invitees, as `atlas_invites_org_users{status}`; Atlas counts both against the organisation's
//! user limit (`atlas_invites_org_user_limit`).

use prometheus::proto::{Metric, MetricType};

use crate::metrics::exposition::gauge_metric;
use crate::metrics::facts::{FactContext, FactFamily, OrgFact};

static FAMILIES: [FactFamily; 1] = [FactFamily {
    name: "atlas_invites_org_users",
    kind: MetricType::GAUGE,
    help: "Members of the organisation by status: active (Atlas' count, read once per poll.slow_interval) \
           and pending (invitees, as of the last successful poll).",
}];

/// How many active members Atlas counts in the organisation.
#[derive(Debug, PartialEq)]
pub struct Seats {
    pub active: u64,
}

impl OrgFact for Seats {
    fn key(&self) -> &'static str {
        "seats"
    }

    fn families(&self) -> &'static [FactFamily] {
        &FAMILIES
    }

    fn samples(&self, context: &FactContext<'_>) -> Vec<Vec<Metric>> {
        let org = ("org_id", context.org_id);
        let mut users = vec![gauge_metric(&[org, ("status", "active")], self.active as f64)];
        if let Some(data) = context.data {
            users.push(gauge_metric(&[org, ("status", "pending")], data.pending as f64));
        }
        vec![users]
    }
}
