//! The audit stage: the opt-in stream of invitation lifecycle events, one JSON object per line, with
//! the personal data the metrics never carry, and the state file that lets a restart neither repeat
//! nor lose an event.
//!
//! - `record`: what one line says ([`record::AuditRecord`]) and what is remembered of an invitation
//!   between polls ([`record::SeenInvitation`]);
//! - `stream`: where the lines go (standard output or a file opened to append, created `0600`);
//! - `state`: the last seen invitations per organisation, written atomically, read at start.

pub(crate) mod record;
pub(crate) mod state;
pub(crate) mod stream;

use std::collections::HashMap;
use std::sync::Arc;

use jiff::Timestamp;

use crate::config::AuditSettings;
use crate::poll::lifecycle::{Event, LifecycleMemory};
use crate::types::OrgId;
use record::{AuditRecord, SeenInvitation};
use state::{Loaded, OrgSeen, StateFile};
use stream::{AuditStream, OpenError, event_id};

/// Lines kept for a stream that cannot be written, at most: about 40 MB.
const MAX_UNWRITTEN: usize = 100_000;

/// The audit stream and its state file, as `[audit]` configures them.
pub(crate) struct Audit {
    stream: AuditStream,
    state: Option<StateFile>,
    /// One poll's lines and state at a time (a state file never goes back to an older snapshot),
    /// and the lines a failed write left: written first at the next poll.
    unwritten: std::sync::Mutex<Vec<AuditRecord>>,
}

impl Audit {
    /// Opens the stream, and reads the state file into `memory` (a missing or unreadable one is a
    /// new baseline, with a warning for the latter). `None` when the stream is off.
    pub(crate) fn open(
        settings: &AuditSettings,
        memory: &LifecycleMemory,
    ) -> Result<Option<Arc<Audit>>, OpenError> {
        if !settings.enabled {
            return Ok(None);
        }
        let stream = AuditStream::open(&settings.path)?;
        let state = (!settings.state_file.is_empty()).then(|| StateFile::new(&settings.state_file));
        if let Some(state) = &state {
            match state.load() {
                Ok(Loaded::Found(orgs)) => {
                    let restored = orgs.into_iter().filter_map(|(org, seen)| {
                        Some((OrgId::parse(&org)?, seen.at, seen.invitations))
                    });
                    memory.restore(restored);
                }
                Ok(Loaded::Missing) => {}
                Err(error) => tracing::warn!(
                    %error,
                    "the audit state file cannot be read: the first poll of every organisation is a new baseline"
                ),
            }
        }
        Ok(Some(Arc::new(Audit {
            stream,
            state,
            unwritten: std::sync::Mutex::new(Vec::new()),
        })))
    }

    /// Writes one poll's events, then replaces the state file with every organisation's last seen
    /// invitations: in that order, so that a crash between the two repeats a line (with the same
    /// `event_id`) and never loses one. A failed write keeps its lines for the next poll's write
    /// and leaves the state file alone; failures are logged, and the poll goes on.
    pub(crate) async fn record(
        self: &Arc<Self>,
        org: &OrgId,
        org_name: &str,
        at: Timestamp,
        events: Vec<Event>,
        memory: &Arc<LifecycleMemory>,
    ) {
        let records: Vec<AuditRecord> = events
            .into_iter()
            .map(|(kind, seen)| audit_record(org, org_name, at, kind, seen))
            .collect();
        let audit = Arc::clone(self);
        let memory = Arc::clone(memory);
        let written = tokio::task::spawn_blocking(move || {
            let mut unwritten = audit.unwritten.lock().unwrap_or_else(|p| p.into_inner());
            unwritten.extend(records);
            if unwritten.len() > MAX_UNWRITTEN {
                // A stream that stays broken must not take the process's memory with it.
                let dropped = unwritten.len() - MAX_UNWRITTEN;
                unwritten.drain(..dropped);
                tracing::error!(dropped, "the audit stream has been failing: its oldest unwritten lines are dropped");
            }
            if let Err(error) = audit.stream.write(&unwritten) {
                tracing::error!(
                    %error,
                    lines = unwritten.len(),
                    "writing the audit stream failed: its lines are written again at the next poll, and the state file is kept as it was"
                );
                return;
            }
            unwritten.clear();
            if let Some(state) = &audit.state {
                let snapshot = memory.snapshot();
                let orgs: HashMap<String, OrgSeen> = snapshot
                    .into_iter()
                    .map(|(org, at, invitations)| (org.to_string(), OrgSeen { at, invitations }))
                    .collect();
                if let Err(error) = state.save(&orgs) {
                    tracing::error!(%error, "saving the audit state file failed");
                }
            }
        })
        .await;
        if written.is_err() {
            tracing::error!("the audit writer stopped unexpectedly");
        }
    }
}

fn audit_record(
    org: &OrgId,
    org_name: &str,
    at: Timestamp,
    kind: record::EventKind,
    seen: SeenInvitation,
) -> AuditRecord {
    let date = |seconds: i64| {
        Timestamp::from_second(seconds).map_or_else(|_| seconds.to_string(), |t| t.to_string())
    };
    AuditRecord {
        event_id: event_id(org.as_str(), &seen.id.to_string(), kind),
        time: at.to_string(),
        org_id: org.to_string(),
        org_name: org_name.to_owned(),
        event: kind.label().to_owned(),
        invitation_id: seen.id.to_string(),
        created_at: date(seen.created_at),
        expires_at: seen.expires_at.map(date),
        details: seen.details.map(|details| *details),
    }
}
