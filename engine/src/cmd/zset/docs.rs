//! COMMAND DOCS data for this group: arguments, history and
//! deprecation, as Redis 7.0.15 reports them (ZRANK and ZREVRANK: as
//! Redis 7.2, whose WITHSCORE option Keel has).

use crate::cmd::docs::*;

pub(super) const ZADD: Docs = Docs::args(&[
    key("key", 0),
    oneof("condition", &[
        pure_token("nx", "NX"),
        pure_token("xx", "XX"),
    ]).since("3.0.2").optional(),
    oneof("comparison", &[
        pure_token("gt", "GT"),
        pure_token("lt", "LT"),
    ]).since("6.2.0").optional(),
    pure_token("change", "CH").since("3.0.2").optional(),
    pure_token("increment", "INCR").since("3.0.2").optional(),
    block("score_member", &[
        double("score"),
        string("member"),
    ]).multiple(),
])
.history(&[
    ("2.4.0", "Accepts multiple elements."),
    ("3.0.2", "Added the `XX`, `NX`, `CH` and `INCR` options."),
    ("6.2.0", "Added the `GT` and `LT` options."),
]);

pub(super) const ZCARD: Docs = Docs::args(&[
    key("key", 0),
]);

pub(super) const ZCOUNT: Docs = Docs::args(&[
    key("key", 0),
    double("min"),
    double("max"),
]);

pub(super) const ZDIFF: Docs = Docs::args(&[
    integer("numkeys"),
    key("key", 0).multiple(),
    pure_token("withscores", "WITHSCORES").optional(),
]);

pub(super) const ZDIFFSTORE: Docs = Docs::args(&[
    key("destination", 0),
    integer("numkeys"),
    key("key", 1).multiple(),
]);

pub(super) const ZINCRBY: Docs = Docs::args(&[
    key("key", 0),
    integer("increment"),
    string("member"),
]);

pub(super) const ZINTER: Docs = Docs::args(&[
    integer("numkeys"),
    key("key", 0).multiple(),
    integer("weight").token("WEIGHTS").optional().multiple(),
    oneof("aggregate", &[
        pure_token("sum", "SUM"),
        pure_token("min", "MIN"),
        pure_token("max", "MAX"),
    ]).token("AGGREGATE").optional(),
    pure_token("withscores", "WITHSCORES").optional(),
]);

pub(super) const ZINTERCARD: Docs = Docs::args(&[
    integer("numkeys"),
    key("key", 0).multiple(),
    integer("limit").token("LIMIT").optional(),
]);

pub(super) const ZINTERSTORE: Docs = Docs::args(&[
    key("destination", 0),
    integer("numkeys"),
    key("key", 1).multiple(),
    integer("weight").token("WEIGHTS").optional().multiple(),
    oneof("aggregate", &[
        pure_token("sum", "SUM"),
        pure_token("min", "MIN"),
        pure_token("max", "MAX"),
    ]).token("AGGREGATE").optional(),
]);

pub(super) const ZLEXCOUNT: Docs = Docs::args(&[
    key("key", 0),
    string("min"),
    string("max"),
]);

pub(super) const ZMPOP: Docs = Docs::args(&[
    integer("numkeys"),
    key("key", 0).multiple(),
    oneof("where", &[
        pure_token("min", "MIN"),
        pure_token("max", "MAX"),
    ]),
    integer("count").token("COUNT").optional(),
]);

pub(super) const ZMSCORE: Docs = Docs::args(&[
    key("key", 0),
    string("member").multiple(),
]);

pub(super) const ZPOPMAX: Docs = Docs::args(&[
    key("key", 0),
    integer("count").optional(),
]);

pub(super) const ZPOPMIN: Docs = Docs::args(&[
    key("key", 0),
    integer("count").optional(),
]);

pub(super) const ZRANDMEMBER: Docs = Docs::args(&[
    key("key", 0),
    block("options", &[
        integer("count"),
        pure_token("withscores", "WITHSCORES").optional(),
    ]).optional(),
]);

pub(super) const ZRANGE: Docs = Docs::args(&[
    key("key", 0),
    string("start"),
    string("stop"),
    oneof("sortby", &[
        pure_token("byscore", "BYSCORE"),
        pure_token("bylex", "BYLEX"),
    ]).since("6.2.0").optional(),
    pure_token("rev", "REV").since("6.2.0").optional(),
    block("offset_count", &[
        integer("offset"),
        integer("count"),
    ]).token("LIMIT").since("6.2.0").optional(),
    pure_token("withscores", "WITHSCORES").optional(),
])
.history(&[
    ("6.2.0", "Added the `REV`, `BYSCORE`, `BYLEX` and `LIMIT` options."),
]);

pub(super) const ZRANGEBYLEX: Docs = Docs::args(&[
    key("key", 0),
    string("min"),
    string("max"),
    block("offset_count", &[
        integer("offset"),
        integer("count"),
    ]).token("LIMIT").optional(),
])
.deprecated("6.2.0", "`ZRANGE` with the `BYLEX` argument");

pub(super) const ZRANGEBYSCORE: Docs = Docs::args(&[
    key("key", 0),
    double("min"),
    double("max"),
    pure_token("withscores", "WITHSCORES").since("2.0.0").optional(),
    block("offset_count", &[
        integer("offset"),
        integer("count"),
    ]).token("LIMIT").optional(),
])
.history(&[
    ("2.0.0", "Added the `WITHSCORES` modifier."),
])
.deprecated("6.2.0", "`ZRANGE` with the `BYSCORE` argument");

pub(super) const ZRANGESTORE: Docs = Docs::args(&[
    key("dst", 0),
    key("src", 1),
    string("min"),
    string("max"),
    oneof("sortby", &[
        pure_token("byscore", "BYSCORE"),
        pure_token("bylex", "BYLEX"),
    ]).optional(),
    pure_token("rev", "REV").optional(),
    block("offset_count", &[
        integer("offset"),
        integer("count"),
    ]).token("LIMIT").optional(),
]);

pub(super) const ZRANK: Docs = Docs::args(&[
    key("key", 0),
    string("member"),
    pure_token("withscore", "WITHSCORE").since("7.2.0").optional(),
])
.history(&[
    ("7.2.0", "Added the optional `WITHSCORE` argument."),
]);

pub(super) const ZREM: Docs = Docs::args(&[
    key("key", 0),
    string("member").multiple(),
])
.history(&[
    ("2.4.0", "Accepts multiple elements."),
]);

pub(super) const ZREMRANGEBYLEX: Docs = Docs::args(&[
    key("key", 0),
    string("min"),
    string("max"),
]);

pub(super) const ZREMRANGEBYRANK: Docs = Docs::args(&[
    key("key", 0),
    integer("start"),
    integer("stop"),
]);

pub(super) const ZREMRANGEBYSCORE: Docs = Docs::args(&[
    key("key", 0),
    double("min"),
    double("max"),
]);

pub(super) const ZREVRANGE: Docs = Docs::args(&[
    key("key", 0),
    integer("start"),
    integer("stop"),
    pure_token("withscores", "WITHSCORES").optional(),
])
.deprecated("6.2.0", "`ZRANGE` with the `REV` argument");

pub(super) const ZREVRANGEBYLEX: Docs = Docs::args(&[
    key("key", 0),
    string("max"),
    string("min"),
    block("offset_count", &[
        integer("offset"),
        integer("count"),
    ]).token("LIMIT").optional(),
])
.deprecated("6.2.0", "`ZRANGE` with the `REV` and `BYLEX` arguments");

pub(super) const ZREVRANGEBYSCORE: Docs = Docs::args(&[
    key("key", 0),
    double("max"),
    double("min"),
    pure_token("withscores", "WITHSCORES").optional(),
    block("offset_count", &[
        integer("offset"),
        integer("count"),
    ]).token("LIMIT").optional(),
])
.history(&[
    ("2.1.6", "`min` and `max` can be exclusive."),
])
.deprecated("6.2.0", "`ZRANGE` with the `REV` and `BYSCORE` arguments");

pub(super) const ZREVRANK: Docs = Docs::args(&[
    key("key", 0),
    string("member"),
    pure_token("withscore", "WITHSCORE").since("7.2.0").optional(),
])
.history(&[
    ("7.2.0", "Added the optional `WITHSCORE` argument."),
]);

pub(super) const ZSCAN: Docs = Docs::args(&[
    key("key", 0),
    integer("cursor"),
    pattern("pattern").token("MATCH").optional(),
    integer("count").token("COUNT").optional(),
]);

pub(super) const ZSCORE: Docs = Docs::args(&[
    key("key", 0),
    string("member"),
]);

pub(super) const ZUNION: Docs = Docs::args(&[
    integer("numkeys"),
    key("key", 0).multiple(),
    integer("weight").token("WEIGHTS").optional().multiple(),
    oneof("aggregate", &[
        pure_token("sum", "SUM"),
        pure_token("min", "MIN"),
        pure_token("max", "MAX"),
    ]).token("AGGREGATE").optional(),
    pure_token("withscores", "WITHSCORES").optional(),
]);

pub(super) const ZUNIONSTORE: Docs = Docs::args(&[
    key("destination", 0),
    integer("numkeys"),
    key("key", 1).multiple(),
    integer("weight").token("WEIGHTS").optional().multiple(),
    oneof("aggregate", &[
        pure_token("sum", "SUM"),
        pure_token("min", "MIN"),
        pure_token("max", "MAX"),
    ]).token("AGGREGATE").optional(),
]);

