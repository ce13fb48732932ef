//! The organisation's teams, by id and name (`listOrgTeams`): `atlas_invites_team_info`, one series
//! per team listed and per team a pending invitee will join that the listing does not show.

use std::collections::BTreeMap;

use prometheus::proto::{Metric, MetricType};

use crate::metrics::exposition::gauge_metric;
use crate::metrics::facts::{FactContext, FactFamily, OrgFact};
use crate::metrics::label;

static FAMILIES: [FactFamily; 1] = [FactFamily {
    name: "atlas_invites_team_info",
    kind: MetricType::GAUGE,
    help: "An Atlas team of the organisation, or one a pending invitee will join; always 1. \
           team_name is empty for a team the credential cannot list.",
}];

/// Team id → name, as the listing gave them (label values already bounded).
#[derive(Debug, Default, PartialEq)]
pub struct TeamNames {
    names: BTreeMap<String, String>,
}

impl TeamNames {
    pub fn new(teams: impl IntoIterator<Item = (String, String)>) -> TeamNames {
        let names = teams
            .into_iter()
            .map(|(id, name)| {
                (
                    label::bounded_owned("team_id", id),
                    label::bounded_owned("team_name", name),
                )
            })
            .collect();
        TeamNames { names }
    }
}

impl OrgFact for TeamNames {
    fn key(&self) -> &'static str {
        "teams"
    }

    fn families(&self) -> &'static [FactFamily] {
        &FAMILIES
    }

    fn samples(&self, context: &FactContext<'_>) -> Vec<Vec<Metric>> {
        let org = ("org_id", context.org_id);
        let unlisted = context
            .data
            .into_iter()
            .flat_map(|data| data.teams.keys())
            .filter(|id| !self.names.contains_key(*id))
            .map(|id| (id.as_str(), ""));
        let listed = self.names.iter().map(|(id, name)| (id.as_str(), name.as_str()));
        let mut teams: Vec<(&str, &str)> = listed.chain(unlisted).collect();
        teams.sort_unstable();
        let info = teams
            .into_iter()
            .map(|(id, name)| gauge_metric(&[org, ("team_id", id), ("team_name", name)], 1.0))
            .collect();
        vec![info]
    }
}
