//! TODO-owner: telemetry
