//! Facts of an organisation beside its invitations (its projects and their legacy invitations, its
//! teams, its seats): each read by calls of its own in the poll stage, kept by the store until the
//! next reading, and rendered into families of its own.
//!
//! A fact is one file in this folder (found by `automod`, no `mod` line): its plain data, the
//! families it renders ([`FactFamily`]: the only place their names are spelled) and its samples. The
//! poll stage builds the value and hands it over as an `Arc<dyn OrgFact>`; the store renders it with
//! the organisation, and the snapshot puts each family's samples of every organisation under one
//! header, after the families of the catalogue.

use std::fmt::Debug;

use prometheus::proto::{Metric, MetricType};

use crate::metrics::aggregate::OrgAggregate;

automod::dir!(pub "src/metrics/facts");

/// Name, type and help of one family of a fact.
#[derive(Debug)]
pub struct FactFamily {
    pub name: &'static str,
    pub kind: MetricType,
    pub help: &'static str,
}

/// What a fact may render against besides itself.
pub struct FactContext<'a> {
    pub org_id: &'a str,
    /// The organisation's invitation numbers, when it has live ones.
    pub data: Option<&'a OrgAggregate>,
}

/// A fact of one organisation, as last read.
pub trait OrgFact: Send + Sync + Debug {
    /// Which fact this is: a new value replaces the one with the same key.
    fn key(&self) -> &'static str;
    /// The families it renders, in order.
    fn families(&self) -> &'static [FactFamily];
    /// Its samples: one list per entry of [`OrgFact::families`], in the same order.
    fn samples(&self, context: &FactContext<'_>) -> Vec<Vec<Metric>>;
    /// What the status page shows of it, as (what, count): coverage a fact knows (projects whose
    /// invitations cannot be read, say). Most facts show nothing there.
    fn status_figures(&self) -> Vec<(&'static str, u64)> {
        Vec::new()
    }
}
