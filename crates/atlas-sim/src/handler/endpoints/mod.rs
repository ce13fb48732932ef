//! The endpoints, one file each: every file of this folder is a module (`automod`), and each declares
//! its own route entry into `super::ORG_PATHS` or `super::FIXED_PATHS` (`linkme`), so a new endpoint
//! touches no other file. What endpoints share lives one folder up.

automod::dir!(pub(super) "src/handler/endpoints");
