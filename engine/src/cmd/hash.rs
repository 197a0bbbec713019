//! Commands of the hash type (being built).

use super::CommandSpec;

pub const COMMANDS: &[CommandSpec] = &[];
