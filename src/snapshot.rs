//! TODO-owner: snapshot
