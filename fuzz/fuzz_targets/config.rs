//! Fuzzes the configuration loader: the input is a TOML file, optionally followed by a line `%%` and
//! environment variables (`NAME=value` per line), which the loader layers over the file as it does
//! the process environment. Every outcome is a configuration or errors naming a key and a source.

#![no_main]

use std::io::{Seek as _, Write as _};
use std::sync::{Mutex, OnceLock};

use atlas_invites_exporter::config::{Overrides, load_from};
use libfuzzer_sys::fuzz_target;

/// One file, rewritten per input: creating a file per run would dominate the time spent.
static FILE: OnceLock<Mutex<tempfile::NamedTempFile>> = OnceLock::new();

fuzz_target!(|input: &[u8]| {
    let Ok(text) = std::str::from_utf8(input) else {
        return;
    };
    let (toml, env) = text.split_once("\n%%\n").unwrap_or((text, ""));
    let env: Vec<(String, String)> = env
        .lines()
        .filter_map(|line| line.split_once('='))
        .map(|(name, value)| (name.to_owned(), value.to_owned()))
        .collect();

    let file = FILE.get_or_init(|| Mutex::new(tempfile::NamedTempFile::new().expect("temp file")));
    let mut file = file.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    let handle = file.as_file_mut();
    handle.set_len(0).expect("truncate");
    handle.rewind().expect("rewind");
    handle.write_all(toml.as_bytes()).expect("write");
    handle.flush().expect("flush");

    let overrides = Overrides {
        config_file: Some(file.path().to_owned()),
        ..Overrides::default()
    };
    if let Err(errors) = load_from(&overrides, false, env) {
        assert!(!errors.0.is_empty());
        for error in &errors.0 {
            assert!(
                !error.key.is_empty() && !error.source_name.is_empty(),
                "{error:?}"
            );
        }
    }
});
