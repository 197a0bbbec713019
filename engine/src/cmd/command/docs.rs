//! COMMAND DOCS data for this group: arguments, history and
//! deprecation, as Redis 7.0.15 reports them.

use crate::cmd::docs::*;

pub(super) const COMMAND_DOCS: Docs = Docs::args(&[
    string("command-name").optional().multiple(),
]);

pub(super) const COMMAND_INFO: Docs = Docs::args(&[
    string("command-name").optional().multiple(),
])
.history(&[
    ("7.0.0", "Allowed to be called with no argument to get info on all commands."),
]);

pub(super) const COMMAND_LIST: Docs = Docs::args(&[
    oneof("filterby", &[
        string("module-name").token("MODULE"),
        string("category").token("ACLCAT"),
        pattern("pattern").token("PATTERN"),
    ]).token("FILTERBY").optional(),
]);
