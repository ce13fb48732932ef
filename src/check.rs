//! TODO-owner: check
