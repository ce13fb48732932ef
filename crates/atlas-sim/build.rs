//! Rebuilds the simulator when a file is added to (or removed from) `src/handler/endpoints`: the
//! endpoints are found there by `automod::dir!` at compile time, and cargo otherwise only watches the
//! files the last build read, so a new endpoint file alone would leave the old build "fresh".

fn main() {
    // A directory here makes cargo watch everything in it, new files included.
    println!("cargo::rerun-if-changed=src/handler/endpoints");
}
