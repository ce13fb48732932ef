//! Rebuilds the exporter when a file is added to (or removed from) a folder whose files are found by
//! `automod::dir!` at compile time (`src/metrics/facts`, `src/poll/facts`): cargo otherwise only
//! watches the files the last build read, so a new fact file alone would leave the build "fresh".

fn main() {
    // A directory here makes cargo watch everything in it, new files included.
    println!("cargo::rerun-if-changed=src/metrics/facts");
    println!("cargo::rerun-if-changed=src/poll/facts");
}
