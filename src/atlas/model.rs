//! The Atlas JSON we read, as serde types: field names checked against the official OpenAPI spec.
