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
use crate::poll::lifecycle::{LifecycleMemory, Remembered};
use crate::types::{ActiveSource, LifecycleObserved, OrgId};
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
                        let remembered = Remembered {
                            source: seen.source,
                            at: seen.at,
                            seen: seen.invitations,
                        };
                        Some((OrgId::parse(&org)?, remembered))
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

    /// Compares one successful poll with the organisation's previous one ([`LifecycleMemory::observe`]),
    /// writes the events, then replaces the state file with every organisation's last seen
    /// invitations: in that order, so that a crash between the two repeats a line (with the same
    /// `event_id`) and never loses one. The three are one step under one lock: were the comparison
    /// outside it, another organisation's step could save this one's new state before its lines
    /// are written, and a crash then would lose them. A failed write keeps its lines for the next
    /// step's write and leaves the state file alone; failures are logged, and the poll goes on.
    /// Returns the comparison's counts (`None` for a baseline).
    pub(crate) async fn observe_and_record(
        self: &Arc<Self>,
        org: &OrgId,
        org_name: &str,
        source: ActiveSource,
        at: Timestamp,
        seen: Vec<SeenInvitation>,
        memory: &Arc<LifecycleMemory>,
    ) -> Option<LifecycleObserved> {
        let audit = Arc::clone(self);
        let memory = Arc::clone(memory);
        let (org, org_name) = (org.clone(), org_name.to_owned());
        let observed = tokio::task::spawn_blocking(move || {
            let mut unwritten = audit.unwritten.lock().unwrap_or_else(|p| p.into_inner());
            // A baseline writes no line, but its state is saved like any other.
            let counts = memory
                .observe(&org, source, at.as_second(), seen)
                .map(|observation| {
                    let records = observation.events.into_iter();
                    unwritten.extend(
                        records.map(|(kind, seen)| audit_record(&org, &org_name, at, kind, seen)),
                    );
                    observation.counts
                });
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
                return counts;
            }
            unwritten.clear();
            if let Some(state) = &audit.state {
                let orgs: HashMap<String, OrgSeen> = memory
                    .snapshot()
                    .into_iter()
                    .map(|(org, remembered)| {
                        let seen = OrgSeen {
                            source: remembered.source,
                            at: remembered.at,
                            invitations: remembered.seen,
                        };
                        (org.to_string(), seen)
                    })
                    .collect();
                if let Err(error) = state.save(&orgs) {
                    tracing::error!(%error, "saving the audit state file failed");
                }
            }
            counts
        })
        .await;
        observed.unwrap_or_else(|_| {
            tracing::error!("the audit writer stopped unexpectedly");
            None
        })
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
    let (invitation_id, created_at) = (seen.id.to_string(), date(seen.created_at));
    let expires_at = seen.expires_at.map(date);
    AuditRecord {
        event_id: event_id(
            org.as_str(),
            &invitation_id,
            kind,
            &created_at,
            expires_at.as_deref(),
        ),
        time: at.to_string(),
        org_id: org.to_string(),
        org_name: org_name.to_owned(),
        event: kind.label().to_owned(),
        invitation_id,
        created_at,
        expires_at,
        details: seen.details.map(|details| *details),
    }
}
