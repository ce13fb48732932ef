//! The published exposition: an immutable [`Snapshot`] stitched from every organisation's fragment,
//! deflated once, and completed at scrape time with the time-to-expiry tail.

use std::collections::BTreeMap;
use std::sync::{Mutex, OnceLock, PoisonError};

use bytes::Bytes;
use jiff::Timestamp;

use crate::metrics::compression::GzipPrefix;
use crate::metrics::exposition::{self, CATALOG, OrgFragment};
use crate::metrics::facts::FactFamily;
use crate::metrics::status::OrgStatus;

/// An immutable, pre-rendered view of every organisation, as published to the HTTP side.
#[derive(Debug, Default)]
pub struct Snapshot {
    /// Counts publications; 0 is the empty snapshot before the first.
    pub generation: u64,
    /// The poll-time part of the exposition.
    pub body: Bytes,
    /// `body`, deflated once at publication; a scrape completes it with its own small tail.
    pub body_gzip: GzipPrefix,
    /// Inputs of the scrape-time time-to-expiry family, in the body's org order.
    pub expiry_lines: Vec<(Vec<u8>, i64)>,
    pub orgs: Vec<OrgStatus>,
    /// False only while discovery is enabled and has not run yet.
    pub discovery_attempted: bool,
    /// The scrape-time tails rendered in the current second.
    pub(crate) tails: Mutex<ScrapeTails>,
}

/// The scrape-time tails of one second, per encoding, rendered on demand.
#[derive(Debug, Default)]
pub(crate) struct ScrapeTails {
    second: Option<i64>,
    /// The published part and the tail: cloning them counts references, copies nothing.
    plain: Option<(Bytes, Bytes)>,
    gzip: Option<(Bytes, Bytes)>,
}

impl Snapshot {
    /// Ready once discovery (if enabled) has run and every organisation has had its first poll attempt.
    pub fn ready(&self) -> bool {
        self.generation > 0 && self.discovery_attempted && self.orgs.iter().all(|org| org.attempted)
    }

    /// Appends the scrape-time part (time to expiry, computed against `now`) to `out`.
    pub fn render_scrape_time(&self, out: &mut Vec<u8>, now: Timestamp) {
        exposition::render_time_to_expiry(
            out,
            exposition::time_to_expiry_header(),
            self.expiry_lines.iter(),
            now.as_second(),
        );
    }

    /// `/metrics` as of `now`, in two parts to send one after the other: the part published after the
    /// last poll (shared by every scrape, never copied), then the scrape-time tail: the time-to-expiry
    /// family and what `self_metrics` appends. With `gzip` the two form one gzip member: the published
    /// part was deflated once at publication, only the tail is compressed here.
    ///
    /// The tail is rendered at most once per second and encoding, then shared: time to expiry counts
    /// whole seconds, so scrapes within one second (Prometheus servers in HA pairs, a load test) would
    /// render the same bytes. Only the exporter's own metrics may be up to a second old; a poll result
    /// makes a new snapshot, so it is never held back.
    pub fn scrape_parts(
        &self,
        now: Timestamp,
        gzip: bool,
        self_metrics: impl FnOnce(&mut Vec<u8>),
    ) -> (Bytes, Bytes) {
        let second = now.as_second();
        let mut tails = self.tails.lock().unwrap_or_else(PoisonError::into_inner);
        if tails.second != Some(second) {
            *tails = ScrapeTails {
                second: Some(second),
                ..ScrapeTails::default()
            };
        }
        let slot = if gzip {
            &mut tails.gzip
        } else {
            &mut tails.plain
        };
        if let Some(parts) = slot {
            return parts.clone();
        }
        let mut text = Vec::with_capacity(self.expiry_lines.len() * 120 + 8192);
        self.render_scrape_time(&mut text, now);
        self_metrics(&mut text);
        let parts = if gzip {
            self.body_gzip.finish_in_parts(&text)
        } else {
            (self.body.clone(), Bytes::from(text))
        };
        slot.insert(parts).clone()
    }
}

/// The `# HELP`/`# TYPE` lines of every catalogue family, encoded once.
fn catalog_headers() -> &'static [Vec<u8>] {
    static HEADERS: OnceLock<Vec<Vec<u8>>> = OnceLock::new();
    HEADERS.get_or_init(|| CATALOG.iter().map(exposition::header).collect())
}

/// One body from the fragments, family by family in catalogue order, deflated once.
pub(crate) fn stitch(
    generation: u64,
    fragments: &[std::sync::Arc<OrgFragment>],
    orgs: Vec<OrgStatus>,
    discovery_attempted: bool,
) -> Snapshot {
    // The facts' families come after the catalogue's, by name, each under one header.
    let mut facts: BTreeMap<&str, (&FactFamily, Vec<&[u8]>)> = BTreeMap::new();
    for (family, lines) in fragments.iter().flat_map(|f| f.facts.iter()) {
        facts
            .entry(family.name)
            .or_insert_with(|| (family, Vec::new()))
            .1
            .push(lines);
    }
    let fact_headers: Vec<Vec<u8>> = facts
        .values()
        .map(|(family, _)| exposition::fact_header(family))
        .collect();
    let headers = catalog_headers();
    let size: usize = fragments
        .iter()
        .flat_map(|f| {
            f.families
                .iter()
                .chain(f.facts.iter().map(|(_, lines)| lines))
        })
        .chain(headers)
        .chain(&fact_headers)
        .map(Vec::len)
        .sum();
    // Reserved whole: a body that outgrew its reservation would be copied into one twice its size,
    // and `Bytes` would keep the spare half for the snapshot's life.
    let mut body = Vec::with_capacity(size);
    for (spec, header) in CATALOG.iter().zip(headers) {
        let index = spec.family as usize;
        let mut parts = fragments
            .iter()
            .filter_map(|f| f.families.get(index))
            .filter(|p| !p.is_empty())
            .peekable();
        if parts.peek().is_none() {
            continue;
        }
        body.extend_from_slice(header);
        for part in parts {
            body.extend_from_slice(part);
        }
    }
    for ((_, parts), header) in facts.values().zip(&fact_headers) {
        body.extend_from_slice(header);
        for part in parts {
            body.extend_from_slice(part);
        }
    }
    let expiry_lines = fragments
        .iter()
        .flat_map(|f| f.expiry_lines.iter().cloned())
        .collect();
    let body_gzip = GzipPrefix::new(&body);
    Snapshot {
        generation,
        body: Bytes::from(body),
        body_gzip,
        expiry_lines,
        orgs,
        discovery_attempted,
        tails: Mutex::default(),
    }
}
