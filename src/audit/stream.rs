//! Where the audit lines go (standard output, or a file opened to append and created `0600`), how
//! one batch becomes lines, and the stable id of each event.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::PathBuf;
use std::sync::Mutex;

use sha2::{Digest, Sha256};

use super::record::{AuditRecord, EventKind};

/// The stream could not be opened: the exporter does not start rather than run without the audit
/// trail its configuration asks for (`[audit]` is read at start only; a reload warns of a change).
#[derive(Debug, thiserror::Error)]
pub(crate) enum OpenError {
    #[error("cannot open the audit stream {path}: {source}")]
    File {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
}

/// A batch was not (entirely) written, or not synced: the caller warns and keeps its previous state,
/// in memory and in the state file, so that the next poll finds the same events again and writes
/// them with the same ids (at-least-once).
#[derive(Debug, thiserror::Error)]
pub(crate) enum WriteError {
    // Only io errors reach the message: serde_json's data errors can quote a value (an address),
    // and serializing these records cannot fail otherwise.
    #[error("cannot write to the audit stream {target}: {source}")]
    Io {
        /// `standard output`, or the file's path.
        target: String,
        #[source]
        source: io::Error,
    },
}

enum Sink {
    Stdout,
    File {
        file: File,
        // fsync of a character device or a FIFO (`/dev/stdout`, a named pipe given as the path)
        // fails with EINVAL; it would turn every batch into an error and freeze the state file.
        sync: bool,
    },
}

struct Inner {
    sink: Sink,
    // The previous batch failed, maybe halfway through a line: the next batch starts with a
    // newline so that its first line is not glued to a torn one (a blank line costs a shipper
    // less than a lost event).
    torn: bool,
    // Kept between batches: one allocation for the life of the stream.
    buffer: Vec<u8>,
}

/// The audit stream: one JSON object per line, one line per lifecycle event.
#[derive(Debug)]
pub(crate) struct AuditStream {
    /// `standard output`, or the file's path: for messages.
    target: String,
    inner: Mutex<Inner>,
}

impl std::fmt::Debug for Inner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Inner")
            .field("torn", &self.torn)
            .finish_non_exhaustive()
    }
}

impl AuditStream {
    /// `-` is standard output (the exporter's own logs go to standard error); anything else is a
    /// file, opened to append and created `0600`. An existing file keeps its mode, with a warning
    /// when group or others may open it: the lines carry addresses.
    pub(crate) fn open(path: &str) -> Result<AuditStream, OpenError> {
        let (sink, target) = if path == "-" {
            (Sink::Stdout, "standard output".to_owned())
        } else {
            let path = PathBuf::from(path);
            let fail = |source| OpenError::File {
                path: path.clone(),
                source,
            };
            let mut options = OpenOptions::new();
            options.append(true).create(true);
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
            let file = options.open(&path).map_err(fail)?;
            let metadata = file.metadata().map_err(fail)?;
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                let mode = metadata.permissions().mode() & 0o777;
                if mode & 0o077 != 0 {
                    tracing::warn!(
                        path = %path.display(),
                        mode = format_args!("{mode:o}"),
                        "the audit stream file is open to group or others; it holds personal data (chmod 600)"
                    );
                }
            }
            let sink = Sink::File {
                file,
                sync: metadata.file_type().is_file(),
            };
            (sink, path.display().to_string())
        };
        Ok(AuditStream {
            target,
            inner: Mutex::new(Inner {
                sink,
                torn: false,
                buffer: Vec::new(),
            }),
        })
    }

    /// Writes a batch, one line per record, with a single write where the platform allows, then
    /// flushes it (and syncs a file to disk: the state file is replaced right after, and a line
    /// lost in the page cache by a power cut would be an event lost for good).
    pub(crate) fn write(&self, records: &[AuditRecord]) -> Result<(), WriteError> {
        if records.is_empty() {
            return Ok(());
        }
        // A panic elsewhere while holding the lock leaves nothing half-done that matters here:
        // the buffer is cleared below and `torn` is conservative.
        let mut guard = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let inner = &mut *guard;
        inner.buffer.clear();
        if inner.torn {
            inner.buffer.push(b'\n');
        }
        for record in records {
            // Writing into a Vec fails only on a non-string map key, which these records have not;
            // serde_json's message is dropped all the same, as it may quote a value.
            serde_json::to_writer(&mut inner.buffer, record).map_err(|_| WriteError::Io {
                target: self.target.clone(),
                source: io::Error::other("a record could not be serialized"),
            })?;
            inner.buffer.push(b'\n');
        }
        // Only a failed write can leave part of a line; a failed flush or sync leaves whole lines
        // (repeated at the next poll, with the same ids).
        let result = match &mut inner.sink {
            Sink::Stdout => {
                let mut out = io::stdout().lock();
                let written = out.write_all(&inner.buffer);
                inner.torn = written.is_err();
                written.and_then(|()| out.flush())
            }
            Sink::File { file, sync } => {
                let written = file.write_all(&inner.buffer);
                inner.torn = written.is_err();
                written.and_then(|()| if *sync { file.sync_data() } else { Ok(()) })
            }
        };
        // A big batch would otherwise keep its buffer for the life of the process.
        if inner.buffer.capacity() > 1 << 20 {
            inner.buffer = Vec::new();
        }
        result.map_err(|source| WriteError::Io {
            target: self.target.clone(),
            source,
        })
    }
}

/// The id of one event, the same in every process and every version: a shipper deduplicates the
/// lines a crash repeats on it. 32 hex digits: the first 16 bytes of SHA-256 over
/// `org_id NUL invitation_id NUL event NUL created_at NUL expires_at`, the fields as the line writes
/// them (`expires_at` empty when absent; Atlas ids and dates never hold a NUL). The dates make an
/// invitation that is sent again under the same id (a new `expiresAt`) a new event, not a repeat a
/// shipper would drop. Pinned by a test: changing it breaks deduplication across an upgrade.
pub(crate) fn event_id(
    org_id: &str,
    invitation_id: &str,
    kind: EventKind,
    created_at: &str,
    expires_at: Option<&str>,
) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let digest = Sha256::new()
        .chain_update(org_id.as_bytes())
        .chain_update([0])
        .chain_update(invitation_id.as_bytes())
        .chain_update([0])
        .chain_update(kind.label().as_bytes())
        .chain_update([0])
        .chain_update(created_at.as_bytes())
        .chain_update([0])
        .chain_update(expires_at.unwrap_or_default().as_bytes())
        .finalize();
    let mut id = String::with_capacity(32);
    for byte in &digest[..16] {
        id.push(char::from(HEX[usize::from(byte >> 4)]));
        id.push(char::from(HEX[usize::from(byte & 0x0f)]));
    }
    id
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::record::InvitationDetails;

    fn record(n: u32, details: bool) -> AuditRecord {
        AuditRecord {
            event_id: event_id(
                "5f0c0a1b2c3d4e5f60718293",
                &format!("inv{n}"),
                EventKind::Created,
                "2026-12-05T16:30:00Z",
                Some("2027-01-04T16:30:00Z"),
            ),
            time: "2026-12-05T16:32:16Z".to_owned(),
            org_id: "5f0c0a1b2c3d4e5f60718293".to_owned(),
            org_name: "Example \"Org\"\nwith a newline".to_owned(),
            event: EventKind::Created.label().to_owned(),
            invitation_id: format!("inv{n}"),
            created_at: "2026-12-05T16:30:00Z".to_owned(),
            expires_at: Some("2027-01-04T16:30:00Z".to_owned()),
            details: details.then(|| InvitationDetails {
                invitee: format!("user{n}@example.com"),
                inviter: Some("admin@example.com".to_owned()),
                roles: vec!["ORG_OWNER".to_owned(), "GROUP_READ_ONLY".to_owned()],
                project_ids: vec!["6a1b2c3d4e5f607182930a1b".to_owned()],
                team_ids: vec![],
                domain_class: "internal".to_owned(),
                tier: "owner".to_owned(),
                risk_reasons: vec![],
            }),
        }
    }

    fn lines(path: &std::path::Path) -> Vec<AuditRecord> {
        let text = std::fs::read_to_string(path).unwrap();
        assert!(text.is_empty() || text.ends_with('\n'));
        text.lines()
            .map(|line| serde_json::from_str(line).unwrap())
            .collect()
    }

    #[test]
    fn dash_is_standard_output() {
        let stream = AuditStream::open("-").unwrap();
        assert_eq!(stream.target, "standard output");
        // The harness does not capture writes to fd 1, so this line shows in the test output;
        // only success is checked (the file tests check the bytes).
        stream.write(&[record(0, false)]).unwrap();
        stream.write(&[]).unwrap();
    }

    #[test]
    fn a_path_is_a_file_not_standard_output() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.jsonl");
        let stream = AuditStream::open(path.to_str().unwrap()).unwrap();
        assert_eq!(stream.target, path.display().to_string());
        stream.write(&[record(1, true)]).unwrap();
        assert_eq!(lines(&path), vec![record(1, true)]);
    }

    #[cfg(unix)]
    #[test]
    fn a_new_file_is_created_0600_and_an_existing_one_keeps_its_mode() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.jsonl");
        AuditStream::open(path.to_str().unwrap()).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);

        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).unwrap();
        // Opens with a warning, never changes what the operator chose.
        AuditStream::open(path.to_str().unwrap()).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o640);
    }

    #[test]
    fn reopening_appends_after_earlier_lines() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.jsonl");
        let first = AuditStream::open(path.to_str().unwrap()).unwrap();
        first.write(&[record(1, true), record(2, false)]).unwrap();
        drop(first);
        let second = AuditStream::open(path.to_str().unwrap()).unwrap();
        second.write(&[record(3, true)]).unwrap();
        second.write(&[]).unwrap();
        assert_eq!(
            lines(&path),
            vec![record(1, true), record(2, false), record(3, true)]
        );
    }

    #[test]
    fn each_record_is_one_line_that_parses_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.jsonl");
        let stream = AuditStream::open(path.to_str().unwrap()).unwrap();
        let batch: Vec<_> = (0..50).map(|n| record(n, n % 3 != 0)).collect();
        stream.write(&batch).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        // The organisation name holds a newline: it must stay escaped inside its line.
        assert_eq!(text.matches('\n').count(), batch.len());
        assert_eq!(lines(&path), batch);
        // Details are flattened into the line, absent details leave no key behind.
        let first: serde_json::Value = serde_json::from_str(text.lines().next().unwrap()).unwrap();
        assert!(first.get("invitee").is_none() && first.get("details").is_none());
        let second: serde_json::Value = serde_json::from_str(text.lines().nth(1).unwrap()).unwrap();
        assert_eq!(second["invitee"], "user1@example.com");
    }

    #[test]
    fn an_empty_batch_writes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.jsonl");
        let stream = AuditStream::open(path.to_str().unwrap()).unwrap();
        stream.write(&[]).unwrap();
        assert_eq!(std::fs::metadata(&path).unwrap().len(), 0);
    }

    #[test]
    fn writers_on_several_threads_never_interleave_lines() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.jsonl");
        let stream = AuditStream::open(path.to_str().unwrap()).unwrap();
        std::thread::scope(|scope| {
            for t in 0..4 {
                let stream = &stream;
                scope.spawn(move || {
                    for n in 0..25 {
                        stream.write(&[record(t * 100 + n, true)]).unwrap();
                    }
                });
            }
        });
        assert_eq!(lines(&path).len(), 100);
    }

    #[test]
    fn a_directory_or_a_missing_parent_is_an_open_error() {
        let dir = tempfile::tempdir().unwrap();
        assert!(AuditStream::open(dir.path().to_str().unwrap()).is_err());
        let missing = dir.path().join("no/such/dir/audit.jsonl");
        let error = AuditStream::open(missing.to_str().unwrap()).unwrap_err();
        assert!(error.to_string().contains("audit.jsonl"), "{error}");
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn a_device_path_is_written_without_fsync() {
        // `/dev/null` stands for `/dev/stdout` or a FIFO: sync_data on it would fail every batch.
        let stream = AuditStream::open("/dev/null").unwrap();
        stream.write(&[record(1, true)]).unwrap();
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn a_full_disk_is_a_write_error_naming_the_target() {
        let stream = AuditStream::open("/dev/full").unwrap();
        let error = stream.write(&[record(1, true)]).unwrap_err();
        let message = error.to_string();
        assert!(message.contains("/dev/full"), "{message}");
        assert!(!message.contains("example.com"), "{message}");
        // And again: the stream stays usable (the next batch would start on a fresh line).
        assert!(stream.write(&[record(2, true)]).is_err());
    }

    /// The example in docs/operations.md is a real line: it parses, writes back byte for byte, and
    /// its id is the event's.
    #[test]
    fn the_documented_example_line_is_real() {
        let docs = include_str!("../../docs/operations.md");
        let line = docs
            .lines()
            .find(|line| line.starts_with(r#"{"event_id":"#))
            .expect("docs/operations.md shows an audit line");
        let record: AuditRecord = serde_json::from_str(line).unwrap();
        assert_eq!(serde_json::to_string(&record).unwrap(), line);
        assert_eq!(record.event, EventKind::Created.label());
        assert_eq!(
            record.event_id,
            event_id(
                &record.org_id,
                &record.invitation_id,
                EventKind::Created,
                &record.created_at,
                record.expires_at.as_deref()
            )
        );
        let details = record.details.unwrap();
        assert!(details.invitee.ends_with("example.com"));
    }

    #[test]
    fn event_id_is_stable_and_distinguishes_every_field() {
        let org = "5f0c0a1b2c3d4e5f60718293";
        let inv = "6a1b2c3d4e5f607182930a1b";
        let (created, expires) = ("2026-12-05T16:30:00Z", Some("2027-01-04T16:30:00Z"));
        let id = |org, inv, kind, created, expires| event_id(org, inv, kind, created, expires);
        // Pinned (sha256 of the five fields joined by NUL, first 16 bytes): a change breaks
        // deduplication across an upgrade.
        assert_eq!(
            id(org, inv, EventKind::Created, created, expires),
            "ac74ad11d5080806ac6d82d24d9a6323"
        );
        assert_eq!(
            id(org, inv, EventKind::Created, created, expires),
            id(org, inv, EventKind::Created, created, expires)
        );
        let mut ids: Vec<_> = [EventKind::Created, EventKind::Removed, EventKind::Expired]
            .iter()
            .map(|&kind| id(org, inv, kind, created, expires))
            .collect();
        ids.extend([
            id(
                "5f0c0a1b2c3d4e5f60718294",
                inv,
                EventKind::Created,
                created,
                expires,
            ),
            id(
                org,
                "6a1b2c3d4e5f607182930a1c",
                EventKind::Created,
                created,
                expires,
            ),
            // Sent again under the same id: another event.
            id(
                org,
                inv,
                EventKind::Expired,
                created,
                Some("2027-02-03T16:30:00Z"),
            ),
            id(
                org,
                inv,
                EventKind::Created,
                "2026-12-06T16:30:00Z",
                expires,
            ),
            id(org, inv, EventKind::Created, created, None),
            // The separator keeps field boundaries: `ab`+`c` is not `a`+`bc`.
            id("ab", "c", EventKind::Created, created, expires),
            id("a", "bc", EventKind::Created, created, expires),
        ]);
        let unique: std::collections::HashSet<_> = ids.iter().collect();
        assert_eq!(unique.len(), ids.len());
        assert!(ids.iter().all(|id| {
            id.len() == 32
                && id
                    .bytes()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        }));
    }
}
