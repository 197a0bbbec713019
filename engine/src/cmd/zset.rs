//! Commands of the zset type (being built).

use super::CommandSpec;

pub const COMMANDS: &[CommandSpec] = &[];
