//! Commands of the set type (being built).

use super::CommandSpec;

pub const COMMANDS: &[CommandSpec] = &[];
