//! TODO-owner: scheduler
