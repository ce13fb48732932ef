//! TODO-owner: app
