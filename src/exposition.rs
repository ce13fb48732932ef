//! TODO-owner: exposition
