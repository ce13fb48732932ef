//! Label values that come from Atlas (organisation names, roles, project ids), bounded in length.
//!
//! A Prometheus server with `label_value_length_limit` set fails the whole scrape when one value is
//! longer, so one organisation renamed to 200 KB would blank every series of the exporter. Longer
//! values are cut at a character boundary and marked with `…`, and each is logged once.

use std::collections::HashSet;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::Mutex;

/// The longest label value exported, in bytes, the marker included.
pub const MAX_LABEL_VALUE_BYTES: usize = 256;

/// Appended to a value that was cut.
pub const CUT_MARKER: &str = "…";

/// Distinct cut values logged over the process's life; past it they are cut without a log line, so
/// a hostile listing cannot flood the log either.
const MAX_LOGGED: usize = 1024;

static LOGGED: Mutex<Option<HashSet<u64>>> = Mutex::new(None);

/// The part of `value` a label keeps, and whether it was cut: two values with the same answer
/// export as the same label value.
pub(crate) fn kept(value: &[u8]) -> (&[u8], bool) {
    if value.len() <= MAX_LABEL_VALUE_BYTES {
        return (value, false);
    }
    let mut end = MAX_LABEL_VALUE_BYTES - CUT_MARKER.len();
    // Back to the first byte of a character: continuation bytes are 0b10xx_xxxx.
    while end > 0 && value[end] & 0xC0 == 0x80 {
        end -= 1;
    }
    (&value[..end], true)
}

/// `value` as a label value: as it is, or cut and marked (and logged once as `what`).
pub(crate) fn bounded(what: &'static str, value: &[u8]) -> String {
    let (kept, cut) = kept(value);
    let mut label = String::from_utf8_lossy(kept).into_owned();
    if cut {
        label.push_str(CUT_MARKER);
        log_once(what, value, &label);
    }
    label
}

/// As [`bounded`], reusing the allocation when nothing is cut.
pub(crate) fn bounded_owned(what: &'static str, value: String) -> String {
    if value.len() <= MAX_LABEL_VALUE_BYTES {
        value
    } else {
        bounded(what, value.as_bytes())
    }
}

fn log_once(what: &'static str, value: &[u8], label: &str) {
    let mut hasher = DefaultHasher::new();
    value.hash(&mut hasher);
    let digest = hasher.finish();
    let mut logged = LOGGED.lock().unwrap_or_else(|p| p.into_inner());
    let logged = logged.get_or_insert_with(HashSet::new);
    if logged.len() >= MAX_LOGGED || !logged.insert(digest) {
        return;
    }
    tracing::warn!(
        what,
        bytes = value.len(),
        exported = label,
        "a value from Atlas is longer than {MAX_LABEL_VALUE_BYTES} bytes: its label value is cut (marked {CUT_MARKER})"
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_values_are_kept_whole_and_long_ones_cut_at_a_character_boundary() {
        assert_eq!(bounded("role", b"ORG_OWNER"), "ORG_OWNER");
        let exact = "a".repeat(MAX_LABEL_VALUE_BYTES);
        assert_eq!(bounded("role", exact.as_bytes()), exact);

        // "Ω" is two bytes: a cut in the middle of one must step back, never split it.
        for prefix in 0..3 {
            let value = format!("{}{}", "x".repeat(prefix), "Ω".repeat(500));
            let label = bounded("org_name", value.as_bytes());
            assert!(label.len() <= MAX_LABEL_VALUE_BYTES, "{}", label.len());
            assert!(label.len() >= MAX_LABEL_VALUE_BYTES - CUT_MARKER.len() - 1);
            assert!(label.ends_with(CUT_MARKER));
            assert!(value.starts_with(label.trim_end_matches(CUT_MARKER)));
        }
    }

    #[test]
    fn values_differing_only_past_the_cut_share_a_label() {
        let base = "p".repeat(400);
        let (a, b) = (format!("{base}a"), format!("{base}b"));
        assert_eq!(kept(a.as_bytes()), kept(b.as_bytes()));
        assert_eq!(
            bounded("project_id", a.as_bytes()),
            bounded("project_id", b.as_bytes())
        );
        // A value that was not cut never equals one that was, even with the same bytes kept.
        let short = &a[..kept(a.as_bytes()).0.len()];
        assert_ne!(kept(short.as_bytes()), kept(a.as_bytes()));
    }
}
