//! COMMAND DOCS data for this group: arguments, history and
//! deprecation, as Redis 7.0.15 reports them.

use crate::cmd::docs::*;

pub(super) const INFO: Docs = Docs::args(&[
    string("section").optional().multiple(),
])
.history(&[
    ("7.0.0", "Added support for taking multiple section arguments."),
]);
