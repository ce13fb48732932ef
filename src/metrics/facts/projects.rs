//! The organisation's projects and what their legacy project invitations showed (`getOrgGroups`,
//! `listGroupInvites`): how many projects could be read, `atlas_invites_projects{state}`; each
//! project's name, `atlas_invites_project_info`; and the pending legacy invitations each listed,
//! before they were merged with the org invitations, `atlas_invites_legacy_project_pending`.

use std::collections::BTreeMap;

use prometheus::proto::{Metric, MetricType};

use crate::metrics::exposition::gauge_metric;
use crate::metrics::facts::{FactContext, FactFamily, OrgFact};
use crate::metrics::label;

static FAMILIES: [FactFamily; 3] = [
    FactFamily {
        name: "atlas_invites_projects",
        kind: MetricType::GAUGE,
        help: "Projects of the organisation by whether their legacy project invitations could be read at \
               the last poll: read, forbidden (the credential is not Project Owner), failed.",
    },
    FactFamily {
        name: "atlas_invites_project_info",
        kind: MetricType::GAUGE,
        help: "A project (Atlas group) of the organisation; always 1. Join on project_id for the name.",
    },
    FactFamily {
        name: "atlas_invites_legacy_project_pending",
        kind: MetricType::GAUGE,
        help: "Pending legacy project invitations listed by the project (listGroupInvites), before \
               merging with the organisation's invitations.",
    },
];

/// Whether a project's legacy invitations could be read at the last poll.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProjectState {
    Read,
    /// 403: the credential is not Project Owner of it.
    Forbidden,
    /// Any other failure; the last good listing of the project is still counted.
    Failed,
    /// 410: the endpoint is gone for the project; no longer asked, and not counted in any state.
    Gone,
}

impl ProjectState {
    const COUNTED: [(ProjectState, &'static str); 3] = [
        (ProjectState::Read, "read"),
        (ProjectState::Forbidden, "forbidden"),
        (ProjectState::Failed, "failed"),
    ];
}

/// One project as the last poll saw it.
#[derive(Clone, Debug, PartialEq)]
pub struct Project {
    pub name: String,
    pub state: ProjectState,
    /// Pending legacy invitations at its last good reading; `None` before one.
    pub legacy_pending: Option<u64>,
}

/// The organisation's projects by id.
#[derive(Debug, Default, PartialEq)]
pub struct ProjectCoverage {
    projects: BTreeMap<String, Project>,
}

impl ProjectCoverage {
    pub fn new(projects: impl IntoIterator<Item = (String, Project)>) -> ProjectCoverage {
        let projects = projects
            .into_iter()
            .map(|(id, mut project)| {
                project.name = label::bounded_owned("project_name", project.name);
                (label::bounded_owned("project_id", id), project)
            })
            .collect();
        ProjectCoverage { projects }
    }

    /// Pending legacy invitations listed by every project, before merging.
    pub fn legacy_pending(&self) -> u64 {
        self.projects.values().filter_map(|p| p.legacy_pending).sum()
    }

    /// How many projects are in `state`.
    pub fn count(&self, state: ProjectState) -> u64 {
        self.projects.values().filter(|p| p.state == state).count() as u64
    }
}

impl OrgFact for ProjectCoverage {
    fn key(&self) -> &'static str {
        "projects"
    }

    fn families(&self) -> &'static [FactFamily] {
        &FAMILIES
    }

    fn samples(&self, context: &FactContext<'_>) -> Vec<Vec<Metric>> {
        let org = ("org_id", context.org_id);
        let states = ProjectState::COUNTED
            .iter()
            .map(|(state, name)| gauge_metric(&[org, ("state", name)], self.count(*state) as f64))
            .collect();
        let info = self
            .projects
            .iter()
            .map(|(id, project)| {
                gauge_metric(
                    &[org, ("project_id", id), ("project_name", &project.name)],
                    1.0,
                )
            })
            .collect();
        let pending = self
            .projects
            .iter()
            .filter_map(|(id, project)| Some((id, project.legacy_pending?)))
            .map(|(id, count)| gauge_metric(&[org, ("project_id", id)], count as f64))
            .collect();
        vec![states, info, pending]
    }

    fn status_figures(&self) -> Vec<(&'static str, u64)> {
        vec![
            ("projects forbidden", self.count(ProjectState::Forbidden)),
            ("legacy project invitations pending", self.legacy_pending()),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn project(name: &str, state: ProjectState, pending: Option<u64>) -> Project {
        Project {
            name: name.to_owned(),
            state,
            legacy_pending: pending,
        }
    }

    #[test]
    fn every_state_is_present_and_only_read_counts_are_pending_series() {
        let coverage = ProjectCoverage::new([
            ("p1".to_owned(), project("One", ProjectState::Read, Some(2))),
            ("p2".to_owned(), project("Two", ProjectState::Forbidden, None)),
            ("p3".to_owned(), project("Three", ProjectState::Gone, None)),
        ]);
        let context = FactContext {
            org_id: "o",
            data: None,
        };
        let samples = coverage.samples(&context);
        let values: Vec<(String, f64)> = samples[0]
            .iter()
            .map(|m| (m.get_label()[1].value().to_owned(), m.get_gauge().get_value()))
            .collect();
        assert_eq!(
            values,
            [
                ("read".to_owned(), 1.0),
                ("forbidden".to_owned(), 1.0),
                ("failed".to_owned(), 0.0)
            ]
        );
        assert_eq!(samples[1].len(), 3, "every project has its info");
        assert_eq!(samples[2].len(), 1);
        assert_eq!(samples[2][0].get_gauge().get_value(), 2.0);
        assert_eq!(
            coverage.status_figures(),
            [
                ("projects forbidden", 1),
                ("legacy project invitations pending", 2)
            ]
        );
    }
}
