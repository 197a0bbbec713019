//! COMMAND DOCS data for this group: arguments, history and
//! deprecation, as Redis 7.0.15 reports them.

use crate::cmd::docs::*;

pub(super) const WATCH: Docs = Docs::args(&[
    key("key", 0).multiple(),
]);
