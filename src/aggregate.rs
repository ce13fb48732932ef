//! TODO-owner: aggregate
