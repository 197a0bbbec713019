//! Commands of the list type (being built).

use super::CommandSpec;

pub const COMMANDS: &[CommandSpec] = &[];
