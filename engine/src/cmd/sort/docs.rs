//! COMMAND DOCS data for SORT and SORT_RO: arguments, as Redis 7.0.15
//! reports them. BY and GET patterns point at key spec 1 (the keys they
//! name derive from the sorted elements); STORE's destination at spec 2.

use crate::cmd::docs::*;

const BY: Arg = key_pattern("pattern", 1).token("BY").optional();

const LIMIT: Arg = block("offset_count", &[
    integer("offset"),
    integer("count"),
])
.token("LIMIT")
.optional();

const GET: Arg = key_pattern("pattern", 1)
    .token("GET")
    .optional()
    .multiple()
    .multiple_token();

const ORDER: Arg = oneof("order", &[
    pure_token("asc", "ASC"),
    pure_token("desc", "DESC"),
])
.optional();

const ALPHA: Arg = pure_token("sorting", "ALPHA").optional();

pub(super) const SORT: Docs = Docs::args(&[
    key("key", 0),
    BY,
    LIMIT,
    GET,
    ORDER,
    ALPHA,
    key("destination", 2).token("STORE").optional(),
]);

pub(super) const SORT_RO: Docs = Docs::args(&[
    key("key", 0),
    BY,
    LIMIT,
    GET,
    ORDER,
    ALPHA,
]);
