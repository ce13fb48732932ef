//! TODO-owner: cli
