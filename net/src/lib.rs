//! The tokio driver (being built).
