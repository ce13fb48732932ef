//! The endpoints declared one file each: every file of this folder is a module of its own, with no
//! `mod` line (`automod`), and registers its [`Endpoint`](crate::Endpoint) itself (`linkme`); how to
//! add one is in `call.rs`. A file's types are reached as `atlas_client::endpoints::<file>::<Type>`.
//!
//! The two invitation listings are not here: they share the page walk, the sinks and the scanner
//! with the rest of `client/mod.rs`, where they are declared the same way.

// Cargo rebuilds when a file here is added or removed because build.rs watches this folder:
// automod reads the folder at compile time, which Cargo alone would not notice.
automod::dir!(pub "src/endpoints");
