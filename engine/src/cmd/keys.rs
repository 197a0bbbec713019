//! Commands of this group (being built).

use super::CommandSpec;

pub const COMMANDS: &[CommandSpec] = &[];
