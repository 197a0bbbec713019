//! The simulation harness (being built).
