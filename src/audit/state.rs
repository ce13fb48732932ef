//! The audit state file: the last seen invitations of every organisation, replaced atomically after
//! each successful poll and read at start, so that a restart neither repeats nor loses an event.
//!
//! The file is one JSON object, `{"version":1,"orgs":{"<org id>":{"source":"invites" or
//! "org_users","at":<last poll, epoch seconds>,"invitations":[<seen invitation>, …]}}}`, with the
//! fields of [`SeenInvitation`]. Every save writes every organisation's state (measured with
//! Atlas-shaped 24-hex ids: 81 bytes per invitation without details, about 390 with the details
//! the audit stream keeps, plus 80 per organisation (82 on `org_users`), its source and last poll time included), so 10,000 pending invitations with details
//! are about 4 MB written and fsynced per poll: serialization goes straight to a buffered writer,
//! with no intermediate copy of the document.

use std::collections::HashMap;
use std::fs::{self, File, OpenOptions};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use serde::{Deserialize, Serialize};

use super::record::SeenInvitation;
use crate::types::ActiveSource;

/// The format written; a file of another version is not read (the caller starts a baseline).
const VERSION: u64 = 1;

/// The state of every organisation, by its id.
pub(crate) type OrgStates = HashMap<String, OrgSeen>;

/// One organisation's last successful poll: its source (a poll from another is a new baseline),
/// when (seconds since the epoch: an invitation that expired after it and before the next poll is
/// reported as expired), and what it listed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct OrgSeen {
    pub source: ActiveSource,
    pub at: i64,
    pub invitations: Vec<SeenInvitation>,
}

/// What the start finds.
#[derive(Debug, PartialEq)]
pub(crate) enum Loaded {
    /// No state file (a first start, or the file was removed): the first poll of each organisation
    /// is a baseline that reports nothing.
    Missing,
    /// The state left by the previous process: the first poll reports what changed since. An
    /// organisation absent from it has no baseline yet.
    Found(OrgStates),
}

/// The state file could not be used. Whatever the variant, the caller warns (the message names the
/// path and what was wrong, never a value read from the file, which may be an address) and starts
/// a baseline, exactly as for [`Loaded::Missing`]; it never stops the exporter.
#[derive(Debug, thiserror::Error)]
pub(crate) enum LoadError {
    #[error("cannot read the audit state file {path}: {source}")]
    Unreadable {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    // serde_json's own message is left out: for a value of the wrong type it quotes the value.
    #[error("the audit state file {path} is corrupt: {problem} at line {line}, column {column}")]
    Corrupt {
        path: PathBuf,
        /// `invalid JSON`, `truncated` or `unexpected structure`.
        problem: &'static str,
        line: usize,
        column: usize,
    },
    #[error(
        "the audit state file {path} has version {found}; this exporter reads version {VERSION}"
    )]
    UnknownVersion { path: PathBuf, found: u64 },
}

/// The state was not replaced; the previous file, if any, is intact. The caller warns and carries
/// on: a restart before the next successful save repeats the events since (with the same ids),
/// never loses one.
#[derive(Debug, thiserror::Error)]
pub(crate) enum SaveError {
    #[error("cannot create a temporary file next to the audit state file {path}: {source}")]
    CreateTemporary {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("cannot write {temporary}, the next audit state file: {source}")]
    Write {
        temporary: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("cannot rename {temporary} over the audit state file {path}: {source}")]
    Replace {
        temporary: PathBuf,
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error(
        "the audit state file {path} was replaced, but its directory could not be synced: {source}"
    )]
    SyncDirectory {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
}

#[derive(Serialize)]
struct DocumentRef<'a> {
    version: u64,
    orgs: &'a OrgStates,
}

#[derive(Deserialize)]
struct Document {
    #[serde(rename = "version")]
    _version: u64,
    orgs: OrgStates,
}

// Read first, alone: a file of another version is reported as such, not as a shape it may well
// not have.
#[derive(Deserialize)]
struct Probe {
    version: u64,
}

// Part of each temporary name, with the pid: unique within the process.
static COUNTER: AtomicU64 = AtomicU64::new(0);

/// The state file at one path.
#[derive(Debug)]
pub(crate) struct StateFile {
    path: PathBuf,
    // Saves of one process run one at a time: two at once would each write and fsync the whole
    // state for nothing. Which one stays is the order they take this lock in, so a caller that
    // saves from several tasks saves under the lock that guards its state.
    saving: Mutex<()>,
}

impl StateFile {
    pub(crate) fn new(path: impl Into<PathBuf>) -> StateFile {
        StateFile {
            path: path.into(),
            saving: Mutex::new(()),
        }
    }

    /// Reads the state left by the previous process, and removes the temporary files a process
    /// killed in the middle of a save left behind (called once, at start).
    pub(crate) fn load(&self) -> Result<Loaded, LoadError> {
        self.remove_leftovers();
        let bytes = match fs::read(&self.path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Loaded::Missing),
            Err(source) => {
                return Err(LoadError::Unreadable {
                    path: self.path.clone(),
                    source,
                });
            }
        };
        let probe: Probe = serde_json::from_slice(&bytes).map_err(|e| self.corrupt(&e))?;
        if probe.version != VERSION {
            return Err(LoadError::UnknownVersion {
                path: self.path.clone(),
                found: probe.version,
            });
        }
        let document: Document = serde_json::from_slice(&bytes).map_err(|e| self.corrupt(&e))?;
        Ok(Loaded::Found(document.orgs))
    }

    /// Replaces the file with `state`: a temporary file in the same directory (`0600`), written,
    /// synced, renamed over the target, then the directory synced, so that after a crash the file
    /// is either the previous state or this one, whole.
    pub(crate) fn save(&self, state: &OrgStates) -> Result<(), SaveError> {
        let _saving = self.saving.lock().unwrap_or_else(|e| e.into_inner());
        let (temporary, file) = self.create_temporary()?;
        let written = write_synced(file, &temporary, state).and_then(|()| {
            fs::rename(&temporary, &self.path).map_err(|source| SaveError::Replace {
                temporary: temporary.clone(),
                path: self.path.clone(),
                source,
            })
        });
        if let Err(e) = written {
            // Best effort: a leftover is also removed by the next start's `load`.
            let _ = fs::remove_file(&temporary);
            return Err(e);
        }
        self.sync_directory()
    }

    fn directory(&self) -> &Path {
        match self.path.parent() {
            Some(parent) if !parent.as_os_str().is_empty() => parent,
            _ => Path::new("."),
        }
    }

    fn temporary_prefix(&self) -> Option<String> {
        let name = self.path.file_name()?.to_string_lossy();
        Some(format!(".{name}."))
    }

    fn create_temporary(&self) -> Result<(PathBuf, File), SaveError> {
        let fail = |source| SaveError::CreateTemporary {
            path: self.path.clone(),
            source,
        };
        let prefix = self.temporary_prefix().ok_or_else(|| {
            fail(io::Error::new(
                io::ErrorKind::InvalidInput,
                "the path has no file name",
            ))
        })?;
        let pid = std::process::id();
        // A leftover of an earlier process with the same pid (pid 1 in every container) may hold
        // a name: the next one is tried.
        let mut last = None;
        for _ in 0..16 {
            let n = COUNTER.fetch_add(1, Ordering::Relaxed);
            let temporary = self.directory().join(format!("{prefix}{pid}.{n}.tmp"));
            let mut options = OpenOptions::new();
            options.write(true).create_new(true);
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
            match options.open(&temporary) {
                Ok(file) => return Ok((temporary, file)),
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => last = Some(e),
                Err(e) => return Err(fail(e)),
            }
        }
        Err(fail(last.unwrap_or_else(|| {
            io::Error::from(io::ErrorKind::AlreadyExists)
        })))
    }

    fn sync_directory(&self) -> Result<(), SaveError> {
        #[cfg(unix)]
        {
            let synced = File::open(self.directory()).and_then(|dir| dir.sync_all());
            match synced {
                // Some file systems cannot fsync a directory; the rename is all they offer.
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::InvalidInput | io::ErrorKind::Unsupported
                    ) => {}
                Err(source) => {
                    return Err(SaveError::SyncDirectory {
                        path: self.path.clone(),
                        source,
                    });
                }
                Ok(()) => {}
            }
        }
        Ok(())
    }

    fn remove_leftovers(&self) {
        let Some(prefix) = self.temporary_prefix() else {
            return;
        };
        let Ok(entries) = fs::read_dir(self.directory()) else {
            return;
        };
        for entry in entries.flatten() {
            let name = entry.file_name();
            let Some(middle) = name
                .to_str()
                .and_then(|name| name.strip_prefix(&prefix))
                .and_then(|rest| rest.strip_suffix(".tmp"))
            else {
                continue;
            };
            // Only names this module makes: `<pid>.<n>`.
            let ours = middle.split_once('.').is_some_and(|(pid, n)| {
                [pid, n]
                    .iter()
                    .all(|s| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
            });
            if ours {
                let path = entry.path();
                match fs::remove_file(&path) {
                    Ok(()) => {
                        tracing::info!(path = %path.display(), "removed a temporary audit state file left by an interrupted save")
                    }
                    Err(e) => {
                        tracing::debug!(path = %path.display(), error = %e, "cannot remove a leftover temporary audit state file")
                    }
                }
            }
        }
    }

    fn corrupt(&self, error: &serde_json::Error) -> LoadError {
        use serde_json::error::Category;
        LoadError::Corrupt {
            path: self.path.clone(),
            problem: match error.classify() {
                Category::Syntax => "invalid JSON",
                Category::Eof => "truncated",
                Category::Data => "unexpected structure",
                Category::Io => "read error",
            },
            line: error.line(),
            column: error.column(),
        }
    }
}

fn write_synced(file: File, temporary: &Path, state: &OrgStates) -> Result<(), SaveError> {
    let mut writer = BufWriter::with_capacity(64 * 1024, file);
    let document = DocumentRef {
        version: VERSION,
        orgs: state,
    };
    let written = serde_json::to_writer(&mut writer, &document)
        .map_err(io::Error::from)
        .and_then(|()| writer.flush())
        .and_then(|()| writer.get_ref().sync_all());
    written.map_err(|source| SaveError::Write {
        temporary: temporary.to_owned(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::record::InvitationDetails;

    fn seen(n: u32, details: bool) -> SeenInvitation {
        SeenInvitation {
            id: format!("6a1b2c3d4e5f6071829{n:05}").into(),
            created_at: 1_796_488_336,
            expires_at: Some(1_799_080_336),
            details: details.then(|| {
                Box::new(InvitationDetails {
                    invitee: format!("invitee.number{n}@example.com"),
                    inviter: Some("platform-admin@example.com".to_owned()),
                    roles: vec![
                        "ORG_MEMBER".to_owned(),
                        "GROUP_DATA_ACCESS_READ_WRITE".to_owned(),
                    ],
                    project_ids: vec!["5f0c0a1b2c3d4e5f60718293".to_owned()],
                    team_ids: vec!["5f0c0a1b2c3d4e5f60718294".to_owned()],
                    domain_class: "external".to_owned(),
                    tier: "write".to_owned(),
                    risk_reasons: vec!["unexpected_inviter".to_owned()],
                })
            }),
        }
    }

    fn state(orgs: u32, per_org: u32, details: bool) -> OrgStates {
        (0..orgs)
            .map(|o| {
                let invitations = (0..per_org)
                    .map(|n| seen(o * per_org + n, details))
                    .collect();
                let seen = OrgSeen {
                    source: ActiveSource::Invites,
                    at: 1_800_000_000,
                    invitations,
                };
                (format!("5f0c0a1b2c3d4e5f607{o:05}"), seen)
            })
            .collect()
    }

    fn entries(dir: &Path) -> Vec<String> {
        let mut names: Vec<_> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let file = StateFile::new(dir.path().join("audit-state.json"));
        let mut expected = state(3, 4, true);
        let empty = OrgSeen {
            source: ActiveSource::OrgUsers,
            at: 0,
            invitations: Vec::new(),
        };
        expected.insert("5f0c0a1b2c3d4e5f6071ffff".to_owned(), empty);
        expected
            .get_mut("5f0c0a1b2c3d4e5f60700000")
            .unwrap()
            .invitations
            .push(SeenInvitation {
                expires_at: None,
                ..seen(99, false)
            });
        file.save(&expected).unwrap();
        assert_eq!(file.load().unwrap(), Loaded::Found(expected.clone()));
        // A second save replaces the first.
        let smaller = state(1, 1, false);
        file.save(&smaller).unwrap();
        assert_eq!(file.load().unwrap(), Loaded::Found(smaller));
        // An empty state is found, not missing: every organisation starts without baseline.
        file.save(&OrgStates::new()).unwrap();
        assert_eq!(file.load().unwrap(), Loaded::Found(OrgStates::new()));
    }

    #[test]
    fn missing_is_not_an_error_and_not_an_empty_state() {
        let dir = tempfile::tempdir().unwrap();
        let file = StateFile::new(dir.path().join("audit-state.json"));
        assert_eq!(file.load().unwrap(), Loaded::Missing);
    }

    #[test]
    fn corrupt_files_are_errors_naming_the_path_never_a_value() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit-state.json");
        let file = StateFile::new(&path);
        let cases: [(&str, &[u8]); 9] = [
            ("invalid JSON", b"{not json"),
            ("truncated", br#"{"version":1,"orgs":{"o":[{"id":"a","#),
            ("truncated", b""),
            ("invalid JSON", b"\xff\xfe garbage"),
            ("unexpected structure", br#""a string""#),
            ("unexpected structure", b"[]"),
            ("unexpected structure", br#"{"orgs":{}}"#),
            ("unexpected structure", br#"{"version":"1","orgs":{}}"#),
            // A value of the wrong type, where serde_json's message would quote the address.
            (
                "unexpected structure",
                br#"{"version":1,"orgs":{"o":[{"id":"a","created_at":"leak@example.com","expires_at":null}]}}"#,
            ),
        ];
        for (problem, bytes) in cases {
            fs::write(&path, bytes).unwrap();
            let error = file.load().unwrap_err();
            let message = error.to_string();
            assert!(
                matches!(&error, LoadError::Corrupt { problem: p, .. } if *p == problem),
                "{:?}: {message}",
                String::from_utf8_lossy(bytes)
            );
            assert!(message.contains("audit-state.json"), "{message}");
            assert!(!message.contains("example.com"), "{message}");
        }
    }

    #[test]
    fn another_version_is_reported_as_such_whatever_its_shape() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit-state.json");
        let file = StateFile::new(&path);
        fs::write(&path, br#"{"version":2,"organisations":[]}"#).unwrap();
        let error = file.load().unwrap_err();
        assert!(
            matches!(error, LoadError::UnknownVersion { found: 2, .. }),
            "{error}"
        );
        assert!(error.to_string().contains("version 2"));
    }

    #[cfg(unix)]
    #[test]
    fn an_unreadable_file_is_an_error_not_a_missing_one() {
        // A directory at the path: reading fails with something other than NotFound, even as root.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit-state.json");
        fs::create_dir(&path).unwrap();
        let error = StateFile::new(&path).load().unwrap_err();
        assert!(matches!(error, LoadError::Unreadable { .. }), "{error}");
    }

    #[test]
    fn save_replaces_atomically_leaving_no_temporary_and_a_0600_target() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit-state.json");
        // An earlier, wider file is replaced, not rewritten in place: the new one is 0600.
        fs::write(&path, b"old").unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
        }
        let file = StateFile::new(&path);
        for n in 0..3 {
            file.save(&state(2, n, true)).unwrap();
        }
        assert_eq!(entries(dir.path()), vec!["audit-state.json".to_owned()]);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[test]
    fn concurrent_saves_leave_one_whole_file() {
        let dir = tempfile::tempdir().unwrap();
        let file = StateFile::new(dir.path().join("audit-state.json"));
        let states: Vec<_> = (1..=4).map(|n| state(n, 5, true)).collect();
        std::thread::scope(|scope| {
            for s in &states {
                let file = &file;
                scope.spawn(move || file.save(s).unwrap());
            }
        });
        let Loaded::Found(found) = file.load().unwrap() else {
            panic!("saved, then missing");
        };
        assert!(states.contains(&found));
        assert_eq!(entries(dir.path()), vec!["audit-state.json".to_owned()]);
    }

    #[test]
    fn load_removes_leftovers_of_an_interrupted_save_and_nothing_else() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit-state.json");
        for name in [
            ".audit-state.json.1.0.tmp",
            ".audit-state.json.1.7.tmp",
            ".audit-state.json.notes.tmp",
            ".other.json.1.0.tmp",
            "audit-state.json.1.0.tmp",
        ] {
            fs::write(dir.path().join(name), b"{").unwrap();
        }
        let file = StateFile::new(&path);
        assert_eq!(file.load().unwrap(), Loaded::Missing);
        assert_eq!(
            entries(dir.path()),
            vec![
                ".audit-state.json.notes.tmp",
                ".other.json.1.0.tmp",
                "audit-state.json.1.0.tmp"
            ]
        );
        // Leftovers holding the names a save would take next (a restarted container has the same
        // pid) do not stop the save.
        let next = COUNTER.load(Ordering::Relaxed);
        let pid = std::process::id();
        for n in next..next + 4 {
            fs::write(
                dir.path().join(format!(".audit-state.json.{pid}.{n}.tmp")),
                b"{",
            )
            .unwrap();
        }
        file.save(&state(1, 1, false)).unwrap();
        assert_eq!(file.load().unwrap(), Loaded::Found(state(1, 1, false)));
    }

    #[test]
    fn save_into_a_missing_directory_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let file = StateFile::new(dir.path().join("no/such/dir/audit-state.json"));
        let error = file.save(&state(1, 1, true)).unwrap_err();
        assert!(
            matches!(error, SaveError::CreateTemporary { .. }),
            "{error}"
        );
        assert!(error.to_string().contains("audit-state.json"), "{error}");
        // And a path without a file name.
        assert!(StateFile::new("/").save(&OrgStates::new()).is_err());
        assert!(StateFile::new("..").save(&OrgStates::new()).is_err());
    }

    #[test]
    fn a_relative_path_without_directory_is_in_the_working_directory() {
        let file = StateFile::new("audit-state.json");
        assert_eq!(file.directory(), Path::new("."));
    }

    /// The figures in the module's documentation, and a bound that catches a format grown by
    /// accident (every save writes every organisation).
    #[test]
    fn size_per_invitation() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit-state.json");
        let file = StateFile::new(&path);
        let size = |orgs, per_org, details| {
            file.save(&state(orgs, per_org, details)).unwrap();
            fs::metadata(&path).unwrap().len()
        };
        let empty_org = size(1, 0, false) - size(0, 0, false);
        let bare = (size(1, 1000, false) - size(1, 0, false)) / 1000;
        let detailed = (size(1, 1000, true) - size(1, 0, true)) / 1000;
        println!(
            "per organisation {empty_org} B, per invitation {bare} B bare, {detailed} B with details"
        );
        assert!(empty_org <= 90, "{empty_org}");
        assert!(bare <= 90, "{bare}");
        assert!(detailed <= 450, "{detailed}");
    }
}
