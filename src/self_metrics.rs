//! TODO-owner: self_metrics
