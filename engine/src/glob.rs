//! Glob-style pattern matching, as Redis matches KEYS and SCAN MATCH patterns (being built).
