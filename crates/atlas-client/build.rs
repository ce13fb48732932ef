//! Rebuilds the crate when a file is added to or removed from `src/endpoints/`, whose modules
//! `automod::dir!` lists at compile time: Cargo tracks the files a build read, not new ones.

fn main() {
    println!("cargo::rerun-if-changed=src/endpoints");
}
