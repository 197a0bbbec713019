//! Command scripts with the replies the real redis-server 7.0.15 gave,
//! byte for byte, in RESP2 and RESP3 (regenerated from a running server
//! with the same lines; see the module above for how they run).

use super::{both, same, script};

#[test]
fn zadd_options_and_errors() {
    script(&[
        same("ZADD k xx nx 1 a", "-ERR XX and NX options at the same time are not compatible\r\n"),
        same("ZADD k gt nx 1 a", "-ERR GT, LT, and/or NX options at the same time are not compatible\r\n"),
        same("ZADD k lt gt 1 a", "-ERR GT, LT, and/or NX options at the same time are not compatible\r\n"),
        same("ZADD k incr 1 a 2 b", "-ERR INCR option supports a single increment-element pair\r\n"),
        same("ZADD k 1 a 2", "-ERR syntax error\r\n"),
        same("ZADD k abc a", "-ERR value is not a valid float\r\n"),
        same("ZADD k nan a", "-ERR value is not a valid float\r\n"),
        same("ZADD k \"\" a", "-ERR value is not a valid float\r\n"),
        same("ZADD k nx", "-ERR wrong number of arguments for 'zadd' command\r\n"),
        same("ZADD k 1 a 2 b 3 c", ":3\r\n"),
        same("ZADD k nx 5 a 4 d", ":1\r\n"),
        same("ZADD k xx 5 a 4 e", ":0\r\n"),
        same("ZADD k xx ch 5 a 9 b", ":1\r\n"),
        same("ZADD k gt ch 0 a 10 c", ":1\r\n"),
        same("ZADD k lt ch 0 a 10 d", ":1\r\n"),
        same("ZADD k ch 1 a 1 a 2 a", ":2\r\n"),
        same("ZADD k 2 a", ":0\r\n"),
        same("ZADD k CH GT XX 100 a 100 zz", ":1\r\n"),
        both("ZRANGE k 0 -1 WITHSCORES", "*8\r\n$1\r\nd\r\n$1\r\n4\r\n$1\r\nb\r\n$1\r\n9\r\n$1\r\nc\r\n$2\r\n10\r\n$1\r\na\r\n$3\r\n100\r\n", "*4\r\n*2\r\n$1\r\nd\r\n,4\r\n*2\r\n$1\r\nb\r\n,9\r\n*2\r\n$1\r\nc\r\n,10\r\n*2\r\n$1\r\na\r\n,100\r\n"),
        same("ZADD nokey xx 1 a", ":0\r\n"),
        same("EXISTS nokey", ":0\r\n"),
        both("ZADD nokey xx incr 1 a", "$-1\r\n", "_\r\n"),
        same("SET s x", "+OK\r\n"),
        same("ZADD s 1 a", "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"),
        same("ZADD s xx nx 1 a", "-ERR XX and NX options at the same time are not compatible\r\n"),
        same("ZADD s abc a", "-ERR value is not a valid float\r\n"),
    ]);
}

#[test]
fn zadd_incr_and_zincrby() {
    script(&[
        both("ZADD k incr 1.5 a", "$3\r\n1.5\r\n", ",1.5\r\n"),
        both("ZADD k incr 1.5 a", "$1\r\n3\r\n", ",3\r\n"),
        both("ZADD k nx incr 1 a", "$-1\r\n", "_\r\n"),
        both("ZADD k xx incr 1 b", "$-1\r\n", "_\r\n"),
        both("ZADD k gt incr -1 a", "$-1\r\n", "_\r\n"),
        both("ZADD k lt incr -1 a", "$1\r\n2\r\n", ",2\r\n"),
        both("ZADD k incr inf a", "$3\r\ninf\r\n", ",inf\r\n"),
        same("ZADD k incr -inf a", "-ERR resulting score is not a number (NaN)\r\n"),
        same("ZINCRBY k -inf a", "-ERR resulting score is not a number (NaN)\r\n"),
        both("ZINCRBY k 1 b", "$1\r\n1\r\n", ",1\r\n"),
        same("ZINCRBY k abc b", "-ERR value is not a valid float\r\n"),
        same("ZINCRBY k nx b", "-ERR syntax error\r\n"),
        same("ZINCRBY k incr b", "-ERR syntax error\r\n"),
        same("ZINCRBY k 1e400 b", "-ERR value is not a valid float\r\n"),
        both("ZINCRBY k 0x10 b", "$2\r\n17\r\n", ",17\r\n"),
        same("ZADD k -0 z", ":1\r\n"),
        both("ZINCRBY k 0 z", "$1\r\n0\r\n", ",0\r\n"),
        both("ZSCORE k z", "$1\r\n0\r\n", ",0\r\n"),
        same("ZADD k 1e308 big", ":1\r\n"),
        both("ZINCRBY k 1e308 big", "$3\r\ninf\r\n", ",inf\r\n"),
        both("ZRANGE k 0 -1 WITHSCORES", "*8\r\n$1\r\nz\r\n$1\r\n0\r\n$1\r\nb\r\n$2\r\n17\r\n$1\r\na\r\n$3\r\ninf\r\n$3\r\nbig\r\n$3\r\ninf\r\n", "*4\r\n*2\r\n$1\r\nz\r\n,0\r\n*2\r\n$1\r\nb\r\n,17\r\n*2\r\n$1\r\na\r\n,inf\r\n*2\r\n$3\r\nbig\r\n,inf\r\n"),
        same("SET s x", "+OK\r\n"),
        same("ZINCRBY s 1 a", "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"),
    ]);
}

#[test]
fn scores_parse_and_format() {
    script(&[
        same("ZADD k 0.1 a 1e17 b 0x1p-2 c -0 d 1e-5 e 123456789012345678 f +inf g -inf h 4.9e-324 i", ":9\r\n"),
        both("ZSCORE k a", "$19\r\n0.10000000000000001\r\n", ",0.10000000000000001\r\n"),
        both("ZSCORE k b", "$5\r\n1e+17\r\n", ",1e+17\r\n"),
        both("ZSCORE k c", "$4\r\n0.25\r\n", ",0.25\r\n"),
        both("ZSCORE k d", "$1\r\n0\r\n", ",0\r\n"),
        both("ZSCORE k e", "$22\r\n1.0000000000000001e-05\r\n", ",1.0000000000000001e-05\r\n"),
        both("ZSCORE k f", "$22\r\n1.2345678901234568e+17\r\n", ",1.2345678901234568e+17\r\n"),
        both("ZSCORE k g", "$3\r\ninf\r\n", ",inf\r\n"),
        both("ZSCORE k h", "$4\r\n-inf\r\n", ",-inf\r\n"),
        both("ZSCORE k i", "$23\r\n4.9406564584124654e-324\r\n", ",4.9406564584124654e-324\r\n"),
        both("ZSCORE k nosuch", "$-1\r\n", "_\r\n"),
        both("ZSCORE nokey a", "$-1\r\n", "_\r\n"),
        both("ZMSCORE k a nosuch h", "*3\r\n$19\r\n0.10000000000000001\r\n$-1\r\n$4\r\n-inf\r\n", "*3\r\n,0.10000000000000001\r\n_\r\n,-inf\r\n"),
        both("ZMSCORE nokey a b", "*2\r\n$-1\r\n$-1\r\n", "*2\r\n_\r\n_\r\n"),
        same("ZADD k \" 1\" x", "-ERR value is not a valid float\r\n"),
        same("ZADD k \"1 \" x", "-ERR value is not a valid float\r\n"),
        same("ZADD k 1e-400 x", "-ERR value is not a valid float\r\n"),
        same("ZADD k 0x x", "-ERR value is not a valid float\r\n"),
        same("ZADD k 1e x", "-ERR value is not a valid float\r\n"),
        same("ZADD k inf1 x", "-ERR value is not a valid float\r\n"),
        same("ZADD k infinity x", ":1\r\n"),
        both("ZSCORE k x", "$3\r\ninf\r\n", ",inf\r\n"),
        same("ZSCAN k 0", "*2\r\n$1\r\n0\r\n*20\r\n$1\r\nh\r\n$4\r\n-inf\r\n$1\r\nd\r\n$1\r\n0\r\n$1\r\ni\r\n$23\r\n4.9406564584124654e-324\r\n$1\r\ne\r\n$22\r\n1.0000000000000001e-05\r\n$1\r\na\r\n$19\r\n0.10000000000000001\r\n$1\r\nc\r\n$4\r\n0.25\r\n$1\r\nb\r\n$18\r\n100000000000000000\r\n$1\r\nf\r\n$18\r\n123456789012345680\r\n$1\r\ng\r\n$3\r\ninf\r\n$1\r\nx\r\n$3\r\ninf\r\n"),
    ]);
}

#[test]
fn zrem_and_empty_keys() {
    script(&[
        same("ZADD k 1 a 2 b 3 c", ":3\r\n"),
        same("ZREM k a zz", ":1\r\n"),
        same("ZCARD k", ":2\r\n"),
        same("ZREM k b c d", ":2\r\n"),
        same("EXISTS k", ":0\r\n"),
        same("ZCARD k", ":0\r\n"),
        same("ZREM k a", ":0\r\n"),
        same("ZREM nokey a", ":0\r\n"),
        same("SET s x", "+OK\r\n"),
        same(
            "ZREM s a",
            "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n",
        ),
        same(
            "ZCARD s",
            "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n",
        ),
    ]);
}

#[test]
fn zcount_and_zlexcount() {
    script(&[
        same("ZADD k 1 a 2 b 3 c 4 d", ":4\r\n"),
        same("ZCOUNT k -inf +inf", ":4\r\n"),
        same("ZCOUNT k (1 (3", ":1\r\n"),
        same("ZCOUNT k (1 3", ":2\r\n"),
        same("ZCOUNT k 3 1", ":0\r\n"),
        same("ZCOUNT k (2 (2", ":0\r\n"),
        same("ZCOUNT k [2 3", "-ERR min or max is not a float\r\n"),
        same("ZCOUNT k 1 x", "-ERR min or max is not a float\r\n"),
        same("ZCOUNT k \"\" 2", ":2\r\n"),
        same("ZCOUNT k ( (3", ":2\r\n"),
        same("ZCOUNT nokey x 1", "-ERR min or max is not a float\r\n"),
        same("ZCOUNT k 0x2 inf", ":3\r\n"),
        same("ZADD l 0 a 0 b 0 c 0 d 0 e", ":5\r\n"),
        same("ZLEXCOUNT l - +", ":5\r\n"),
        same("ZLEXCOUNT l [b (d", ":2\r\n"),
        same("ZLEXCOUNT l (b [d", ":2\r\n"),
        same("ZLEXCOUNT l + -", ":0\r\n"),
        same("ZLEXCOUNT l - -", ":0\r\n"),
        same("ZLEXCOUNT l [c [c", ":1\r\n"),
        same("ZLEXCOUNT l (c [c", ":0\r\n"),
        same(
            "ZLEXCOUNT l a b",
            "-ERR min or max not valid string range item\r\n",
        ),
        same(
            "ZLEXCOUNT l -a +",
            "-ERR min or max not valid string range item\r\n",
        ),
        same(
            "ZLEXCOUNT nokey a b",
            "-ERR min or max not valid string range item\r\n",
        ),
        same("ZLEXCOUNT nokey [a [b", ":0\r\n"),
        same("SET s x", "+OK\r\n"),
        same(
            "ZCOUNT s 0 1",
            "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n",
        ),
        same(
            "ZLEXCOUNT s - +",
            "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n",
        ),
    ]);
}

#[test]
fn zrange_by_rank() {
    script(&[
        same("ZADD k 1 a 2 b 3 c 4 d", ":4\r\n"),
        same("ZRANGE k 0 -1", "*4\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n$1\r\nd\r\n"),
        both("ZRANGE k 0 -1 WITHSCORES", "*8\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\nb\r\n$1\r\n2\r\n$1\r\nc\r\n$1\r\n3\r\n$1\r\nd\r\n$1\r\n4\r\n", "*4\r\n*2\r\n$1\r\na\r\n,1\r\n*2\r\n$1\r\nb\r\n,2\r\n*2\r\n$1\r\nc\r\n,3\r\n*2\r\n$1\r\nd\r\n,4\r\n"),
        both("ZRANGE k 1 2 REV WITHSCORES", "*4\r\n$1\r\nc\r\n$1\r\n3\r\n$1\r\nb\r\n$1\r\n2\r\n", "*2\r\n*2\r\n$1\r\nc\r\n,3\r\n*2\r\n$1\r\nb\r\n,2\r\n"),
        same("ZRANGE k -2 -1", "*2\r\n$1\r\nc\r\n$1\r\nd\r\n"),
        same("ZRANGE k -100 100", "*4\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n$1\r\nd\r\n"),
        same("ZRANGE k 2 1", "*0\r\n"),
        same("ZRANGE k 4 10", "*0\r\n"),
        same("ZRANGE k 0 -1 limit 0 -1", "*4\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n$1\r\nd\r\n"),
        same("ZRANGE k 0 -1 limit 5 -1", "*4\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n$1\r\nd\r\n"),
        same("ZRANGE k 0 -1 limit 0 1", "-ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX\r\n"),
        same("ZRANGE k 0 1 rev rev", "-ERR syntax error\r\n"),
        both("ZRANGE k 0 1 withscores withscores", "*4\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\nb\r\n$1\r\n2\r\n", "*2\r\n*2\r\n$1\r\na\r\n,1\r\n*2\r\n$1\r\nb\r\n,2\r\n"),
        same("ZRANGE k 0 1 foo", "-ERR syntax error\r\n"),
        same("ZRANGE k x 1", "-ERR value is not an integer or out of range\r\n"),
        same("ZRANGE k 0 1 limit", "-ERR syntax error\r\n"),
        same("ZRANGE k 0 1 limit 0 x", "-ERR value is not an integer or out of range\r\n"),
        same("ZREVRANGE k 0 1", "*2\r\n$1\r\nd\r\n$1\r\nc\r\n"),
        both("ZREVRANGE k 0 1 WITHSCORES", "*4\r\n$1\r\nd\r\n$1\r\n4\r\n$1\r\nc\r\n$1\r\n3\r\n", "*2\r\n*2\r\n$1\r\nd\r\n,4\r\n*2\r\n$1\r\nc\r\n,3\r\n"),
        same("ZREVRANGE k 0 1 rev", "-ERR syntax error\r\n"),
        same("ZREVRANGE k 0 1 byscore", "-ERR syntax error\r\n"),
        same("ZREVRANGE k 0 1 limit 0 1", "-ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX\r\n"),
        same("ZRANGE nokey 0 -1", "*0\r\n"),
        same("ZRANGE nokey x y", "-ERR value is not an integer or out of range\r\n"),
        same("SET s x", "+OK\r\n"),
        same("ZRANGE s 0 -1", "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"),
    ]);
}

#[test]
fn zrange_by_score() {
    script(&[
        same("ZADD k 1 a 2 b 3 c 4 d -inf m +inf p", ":6\r\n"),
        same("ZRANGE k -inf +inf byscore", "*6\r\n$1\r\nm\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n$1\r\nd\r\n$1\r\np\r\n"),
        both("ZRANGE k (1 (4 byscore withscores", "*4\r\n$1\r\nb\r\n$1\r\n2\r\n$1\r\nc\r\n$1\r\n3\r\n", "*2\r\n*2\r\n$1\r\nb\r\n,2\r\n*2\r\n$1\r\nc\r\n,3\r\n"),
        both("ZRANGE k 4 1 byscore rev withscores", "*8\r\n$1\r\nd\r\n$1\r\n4\r\n$1\r\nc\r\n$1\r\n3\r\n$1\r\nb\r\n$1\r\n2\r\n$1\r\na\r\n$1\r\n1\r\n", "*4\r\n*2\r\n$1\r\nd\r\n,4\r\n*2\r\n$1\r\nc\r\n,3\r\n*2\r\n$1\r\nb\r\n,2\r\n*2\r\n$1\r\na\r\n,1\r\n"),
        same("ZRANGE k 1 4 byscore rev", "*0\r\n"),
        same("ZRANGE k -inf +inf byscore limit 1 2", "*2\r\n$1\r\na\r\n$1\r\nb\r\n"),
        same("ZRANGE k -inf +inf byscore rev limit 1 2", "*0\r\n"),
        same("ZRANGE k -inf +inf byscore limit -1 2", "*0\r\n"),
        same("ZRANGE k -inf +inf byscore limit 10 2", "*0\r\n"),
        same("ZRANGE k -inf +inf byscore limit 2 0", "*0\r\n"),
        same("ZRANGE k -inf +inf byscore limit 2 -5", "*4\r\n$1\r\nb\r\n$1\r\nc\r\n$1\r\nd\r\n$1\r\np\r\n"),
        same("ZRANGE k (1 x byscore", "-ERR min or max is not a float\r\n"),
        same("ZRANGE k 0 1 byscore bylex", "-ERR syntax error\r\n"),
        same("ZRANGE k 0 1 byscore byscore", "-ERR syntax error\r\n"),
        same("ZRANGEBYSCORE k 1 3", "*3\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n"),
        both("ZRANGEBYSCORE k 1 3 withscores limit 1 1", "*2\r\n$1\r\nb\r\n$1\r\n2\r\n", "*1\r\n*2\r\n$1\r\nb\r\n,2\r\n"),
        same("ZRANGEBYSCORE k 1 3 limit 0 1 withscores foo", "-ERR syntax error\r\n"),
        same("ZRANGEBYSCORE k 1 3 byscore", "-ERR syntax error\r\n"),
        same("ZRANGEBYSCORE k 1 3 rev", "-ERR syntax error\r\n"),
        same("ZRANGEBYSCORE k 1 3 limit 0", "-ERR syntax error\r\n"),
        both("ZREVRANGEBYSCORE k 3 1 withscores", "*6\r\n$1\r\nc\r\n$1\r\n3\r\n$1\r\nb\r\n$1\r\n2\r\n$1\r\na\r\n$1\r\n1\r\n", "*3\r\n*2\r\n$1\r\nc\r\n,3\r\n*2\r\n$1\r\nb\r\n,2\r\n*2\r\n$1\r\na\r\n,1\r\n"),
        same("ZREVRANGEBYSCORE k 1 3", "*0\r\n"),
        same("ZREVRANGEBYSCORE k +inf -inf limit 0 2", "*2\r\n$1\r\np\r\n$1\r\nd\r\n"),
        same("ZRANGEBYSCORE k x 1", "-ERR min or max is not a float\r\n"),
        same("ZRANGEBYSCORE nokey x 1", "-ERR min or max is not a float\r\n"),
        same("ZRANGEBYSCORE nokey 0 1", "*0\r\n"),
    ]);
}

#[test]
fn zrange_by_lex() {
    script(&[
        same("ZADD l 0 a 0 b 0 bb 0 c 0 d", ":5\r\n"),
        same(
            "ZRANGE l - + bylex",
            "*5\r\n$1\r\na\r\n$1\r\nb\r\n$2\r\nbb\r\n$1\r\nc\r\n$1\r\nd\r\n",
        ),
        same(
            "ZRANGE l [b (d bylex",
            "*3\r\n$1\r\nb\r\n$2\r\nbb\r\n$1\r\nc\r\n",
        ),
        same(
            "ZRANGE l (d [b bylex rev",
            "*3\r\n$1\r\nc\r\n$2\r\nbb\r\n$1\r\nb\r\n",
        ),
        same(
            "ZRANGE l - + bylex limit 1 2",
            "*2\r\n$1\r\nb\r\n$2\r\nbb\r\n",
        ),
        same(
            "ZRANGE l + - bylex rev limit 1 2",
            "*2\r\n$1\r\nc\r\n$2\r\nbb\r\n",
        ),
        same(
            "ZRANGE l - + bylex withscores",
            "-ERR syntax error, WITHSCORES not supported in combination with BYLEX\r\n",
        ),
        same(
            "ZRANGE l a b bylex",
            "-ERR min or max not valid string range item\r\n",
        ),
        same(
            "ZRANGEBYLEX l [b [c",
            "*3\r\n$1\r\nb\r\n$2\r\nbb\r\n$1\r\nc\r\n",
        ),
        same(
            "ZRANGEBYLEX l - + withscores",
            "-ERR syntax error, WITHSCORES not supported in combination with BYLEX\r\n",
        ),
        same(
            "ZRANGEBYLEX l - + limit 0 1 limit 1 2",
            "*2\r\n$1\r\nb\r\n$2\r\nbb\r\n",
        ),
        same("ZRANGEBYLEX l (a (c limit -2 5", "*0\r\n"),
        same(
            "ZREVRANGEBYLEX l + -",
            "*5\r\n$1\r\nd\r\n$1\r\nc\r\n$2\r\nbb\r\n$1\r\nb\r\n$1\r\na\r\n",
        ),
        same(
            "ZREVRANGEBYLEX l [c [b",
            "*3\r\n$1\r\nc\r\n$2\r\nbb\r\n$1\r\nb\r\n",
        ),
        same("ZREVRANGEBYLEX l - +", "*0\r\n"),
        same(
            "ZRANGEBYLEX nokey a b",
            "-ERR min or max not valid string range item\r\n",
        ),
        same("ZRANGEBYLEX nokey [a [b", "*0\r\n"),
        same("ZRANGEBYLEX l [ (", "*0\r\n"),
        same(
            "ZRANGEBYLEX l \"\" +",
            "-ERR min or max not valid string range item\r\n",
        ),
    ]);
}

#[test]
fn zrangestore() {
    script(&[
        same("ZADD k 1 a 2 b 3 c 4 d", ":4\r\n"),
        same("ZRANGESTORE d k 0 1", ":2\r\n"),
        both("ZRANGE d 0 -1 WITHSCORES", "*4\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\nb\r\n$1\r\n2\r\n", "*2\r\n*2\r\n$1\r\na\r\n,1\r\n*2\r\n$1\r\nb\r\n,2\r\n"),
        same("ZRANGESTORE d k 0 -1 rev", ":4\r\n"),
        same("ZRANGESTORE d k 3 1 byscore rev limit 0 2", ":2\r\n"),
        both("ZRANGE d 0 -1 WITHSCORES", "*4\r\n$1\r\nb\r\n$1\r\n2\r\n$1\r\nc\r\n$1\r\n3\r\n", "*2\r\n*2\r\n$1\r\nb\r\n,2\r\n*2\r\n$1\r\nc\r\n,3\r\n"),
        same("ZRANGESTORE d k [b [c bylex", ":2\r\n"),
        same("ZRANGE d 0 -1", "*2\r\n$1\r\nb\r\n$1\r\nc\r\n"),
        same("ZRANGESTORE d k 0 -1 withscores", "-ERR syntax error\r\n"),
        same("ZRANGESTORE d k 5 6", ":0\r\n"),
        same("EXISTS d", ":0\r\n"),
        same("ZRANGESTORE d nokey 0 -1", ":0\r\n"),
        same("SET d x", "+OK\r\n"),
        same("EXPIRE d 100", ":1\r\n"),
        same("ZRANGESTORE d k 0 0", ":1\r\n"),
        same("TTL d", ":-1\r\n"),
        same("TYPE d", "+zset\r\n"),
        same("SET s x", "+OK\r\n"),
        same("ZRANGESTORE d s 0 -1", "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"),
        same("ZRANGESTORE d k 0 -1 limit 0 1", "-ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX\r\n"),
    ]);
}

#[test]
fn zremrange() {
    script(&[
        same("ZADD k 1 a 2 b 3 c 4 d 5 e", ":5\r\n"),
        same("ZREMRANGEBYRANK k 0 0", ":1\r\n"),
        same("ZREMRANGEBYRANK k -1 -1", ":1\r\n"),
        same("ZREMRANGEBYRANK k 5 10", ":0\r\n"),
        same(
            "ZREMRANGEBYRANK k x 1",
            "-ERR value is not an integer or out of range\r\n",
        ),
        same("ZREMRANGEBYSCORE k (2 3", ":1\r\n"),
        same(
            "ZREMRANGEBYSCORE k x 1",
            "-ERR min or max is not a float\r\n",
        ),
        same("ZRANGE k 0 -1", "*2\r\n$1\r\nb\r\n$1\r\nd\r\n"),
        same("ZREMRANGEBYSCORE k -inf +inf", ":2\r\n"),
        same("EXISTS k", ":0\r\n"),
        same("ZADD l 0 a 0 b 0 c", ":3\r\n"),
        same("ZREMRANGEBYLEX l [a (c", ":2\r\n"),
        same(
            "ZREMRANGEBYLEX l a b",
            "-ERR min or max not valid string range item\r\n",
        ),
        same("ZRANGE l 0 -1", "*1\r\n$1\r\nc\r\n"),
        same("ZREMRANGEBYLEX l - +", ":1\r\n"),
        same("EXISTS l", ":0\r\n"),
        same("ZREMRANGEBYRANK nokey 0 -1", ":0\r\n"),
        same(
            "ZREMRANGEBYSCORE nokey x y",
            "-ERR min or max is not a float\r\n",
        ),
        same("SET s x", "+OK\r\n"),
        same(
            "ZREMRANGEBYRANK s 0 -1",
            "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n",
        ),
        same(
            "ZREMRANGEBYLEX s - +",
            "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n",
        ),
    ]);
}

#[test]
fn pops() {
    script(&[
        same("ZADD k 1 a 2 b 3 c 4 d 5 e", ":5\r\n"),
        both(
            "ZPOPMIN k",
            "*2\r\n$1\r\na\r\n$1\r\n1\r\n",
            "*2\r\n$1\r\na\r\n,1\r\n",
        ),
        both(
            "ZPOPMAX k",
            "*2\r\n$1\r\ne\r\n$1\r\n5\r\n",
            "*2\r\n$1\r\ne\r\n,5\r\n",
        ),
        both(
            "ZPOPMIN k 2",
            "*4\r\n$1\r\nb\r\n$1\r\n2\r\n$1\r\nc\r\n$1\r\n3\r\n",
            "*2\r\n*2\r\n$1\r\nb\r\n,2\r\n*2\r\n$1\r\nc\r\n,3\r\n",
        ),
        same("ZPOPMIN k 0", "*0\r\n"),
        both(
            "ZPOPMAX k 10",
            "*2\r\n$1\r\nd\r\n$1\r\n4\r\n",
            "*1\r\n*2\r\n$1\r\nd\r\n,4\r\n",
        ),
        same("EXISTS k", ":0\r\n"),
        same("ZPOPMIN k", "*0\r\n"),
        same("ZPOPMIN k 1", "*0\r\n"),
        same(
            "ZPOPMIN k -1",
            "-ERR value is out of range, must be positive\r\n",
        ),
        same(
            "ZPOPMIN k x",
            "-ERR value is out of range, must be positive\r\n",
        ),
        same("ZPOPMIN k 1 2", "-ERR syntax error\r\n"),
        same("SET s x", "+OK\r\n"),
        same(
            "ZPOPMIN s",
            "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n",
        ),
        same(
            "ZPOPMIN s 0",
            "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n",
        ),
        same("ZADD k 1 a 2 b 3 c", ":3\r\n"),
        both(
            "ZMPOP 1 k min",
            "*2\r\n$1\r\nk\r\n*1\r\n*2\r\n$1\r\na\r\n$1\r\n1\r\n",
            "*2\r\n$1\r\nk\r\n*1\r\n*2\r\n$1\r\na\r\n,1\r\n",
        ),
        both(
            "ZMPOP 2 nokey k max count 10",
            "*2\r\n$1\r\nk\r\n*2\r\n*2\r\n$1\r\nc\r\n$1\r\n3\r\n*2\r\n$1\r\nb\r\n$1\r\n2\r\n",
            "*2\r\n$1\r\nk\r\n*2\r\n*2\r\n$1\r\nc\r\n,3\r\n*2\r\n$1\r\nb\r\n,2\r\n",
        ),
        same("EXISTS k", ":0\r\n"),
        both("ZMPOP 1 k min", "*-1\r\n", "_\r\n"),
        same("ZMPOP 0 k min", "-ERR numkeys should be greater than 0\r\n"),
        same(
            "ZMPOP -1 k min",
            "-ERR numkeys should be greater than 0\r\n",
        ),
        same("ZMPOP x k min", "-ERR numkeys should be greater than 0\r\n"),
        same("ZMPOP 2 k min", "-ERR syntax error\r\n"),
        same("ZMPOP 1 k foo", "-ERR syntax error\r\n"),
        same(
            "ZMPOP 1 k min count 0",
            "-ERR count should be greater than 0\r\n",
        ),
        same(
            "ZMPOP 1 k min count -1",
            "-ERR count should be greater than 0\r\n",
        ),
        same(
            "ZMPOP 1 k min count x",
            "-ERR count should be greater than 0\r\n",
        ),
        same("ZMPOP 1 k min count 1 count 2", "-ERR syntax error\r\n"),
        same("ZMPOP 1 k min count", "-ERR syntax error\r\n"),
        same(
            "ZMPOP 1 s min",
            "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n",
        ),
        same(
            "ZMPOP 2 nokey s min",
            "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n",
        ),
        same("ZMPOP 1 s foo", "-ERR syntax error\r\n"),
        same("ZMPOP 9223372036854775807 k min", "-ERR syntax error\r\n"),
    ]);
}

#[test]
fn setops() {
    script(&[
        same("ZADD k 1 a 2 b 3 c", ":3\r\n"),
        same("ZADD k2 10 b 20 c 30 d", ":3\r\n"),
        same("ZUNION 2 k k2", "*4\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n$1\r\nd\r\n"),
        both("ZUNION 2 k k2 WITHSCORES", "*8\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\nb\r\n$2\r\n12\r\n$1\r\nc\r\n$2\r\n23\r\n$1\r\nd\r\n$2\r\n30\r\n", "*4\r\n*2\r\n$1\r\na\r\n,1\r\n*2\r\n$1\r\nb\r\n,12\r\n*2\r\n$1\r\nc\r\n,23\r\n*2\r\n$1\r\nd\r\n,30\r\n"),
        both("ZUNION 2 k k2 weights 2 -1 withscores", "*8\r\n$1\r\nd\r\n$3\r\n-30\r\n$1\r\nc\r\n$3\r\n-14\r\n$1\r\nb\r\n$2\r\n-6\r\n$1\r\na\r\n$1\r\n2\r\n", "*4\r\n*2\r\n$1\r\nd\r\n,-30\r\n*2\r\n$1\r\nc\r\n,-14\r\n*2\r\n$1\r\nb\r\n,-6\r\n*2\r\n$1\r\na\r\n,2\r\n"),
        both("ZUNION 2 k k2 aggregate min withscores", "*8\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\nb\r\n$1\r\n2\r\n$1\r\nc\r\n$1\r\n3\r\n$1\r\nd\r\n$2\r\n30\r\n", "*4\r\n*2\r\n$1\r\na\r\n,1\r\n*2\r\n$1\r\nb\r\n,2\r\n*2\r\n$1\r\nc\r\n,3\r\n*2\r\n$1\r\nd\r\n,30\r\n"),
        both("ZUNION 2 k k2 aggregate max withscores", "*8\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\nb\r\n$2\r\n10\r\n$1\r\nc\r\n$2\r\n20\r\n$1\r\nd\r\n$2\r\n30\r\n", "*4\r\n*2\r\n$1\r\na\r\n,1\r\n*2\r\n$1\r\nb\r\n,10\r\n*2\r\n$1\r\nc\r\n,20\r\n*2\r\n$1\r\nd\r\n,30\r\n"),
        both("ZUNION 2 k k2 aggregate max aggregate sum withscores", "*8\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\nb\r\n$2\r\n12\r\n$1\r\nc\r\n$2\r\n23\r\n$1\r\nd\r\n$2\r\n30\r\n", "*4\r\n*2\r\n$1\r\na\r\n,1\r\n*2\r\n$1\r\nb\r\n,12\r\n*2\r\n$1\r\nc\r\n,23\r\n*2\r\n$1\r\nd\r\n,30\r\n"),
        both("ZUNION 2 k k2 weights 1 2 weights 3 4 withscores", "*8\r\n$1\r\na\r\n$1\r\n3\r\n$1\r\nb\r\n$2\r\n46\r\n$1\r\nc\r\n$2\r\n89\r\n$1\r\nd\r\n$3\r\n120\r\n", "*4\r\n*2\r\n$1\r\na\r\n,3\r\n*2\r\n$1\r\nb\r\n,46\r\n*2\r\n$1\r\nc\r\n,89\r\n*2\r\n$1\r\nd\r\n,120\r\n"),
        both("ZINTER 2 k k2 withscores", "*4\r\n$1\r\nb\r\n$2\r\n12\r\n$1\r\nc\r\n$2\r\n23\r\n", "*2\r\n*2\r\n$1\r\nb\r\n,12\r\n*2\r\n$1\r\nc\r\n,23\r\n"),
        both("ZINTER 2 k k2 weights inf -inf withscores", "*4\r\n$1\r\nb\r\n$1\r\n0\r\n$1\r\nc\r\n$1\r\n0\r\n", "*2\r\n*2\r\n$1\r\nb\r\n,0\r\n*2\r\n$1\r\nc\r\n,0\r\n"),
        same("ZINTER 2 k nokey", "*0\r\n"),
        both("ZDIFF 2 k k2 withscores", "*2\r\n$1\r\na\r\n$1\r\n1\r\n", "*1\r\n*2\r\n$1\r\na\r\n,1\r\n"),
        same("ZDIFF 2 k2 k", "*1\r\n$1\r\nd\r\n"),
        same("ZDIFF 1 nokey", "*0\r\n"),
        same("ZINTERCARD 2 k k2", ":2\r\n"),
        same("ZINTERCARD 2 k k2 limit 1", ":1\r\n"),
        same("ZINTERCARD 2 k k2 limit 0", ":2\r\n"),
        same("ZUNIONSTORE d 2 k k2", ":4\r\n"),
        both("ZRANGE d 0 -1 WITHSCORES", "*8\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\nb\r\n$2\r\n12\r\n$1\r\nc\r\n$2\r\n23\r\n$1\r\nd\r\n$2\r\n30\r\n", "*4\r\n*2\r\n$1\r\na\r\n,1\r\n*2\r\n$1\r\nb\r\n,12\r\n*2\r\n$1\r\nc\r\n,23\r\n*2\r\n$1\r\nd\r\n,30\r\n"),
        same("ZINTERSTORE d 2 k k2 weights 1 0", ":2\r\n"),
        both("ZRANGE d 0 -1 WITHSCORES", "*4\r\n$1\r\nb\r\n$1\r\n2\r\n$1\r\nc\r\n$1\r\n3\r\n", "*2\r\n*2\r\n$1\r\nb\r\n,2\r\n*2\r\n$1\r\nc\r\n,3\r\n"),
        same("ZDIFFSTORE d 2 k k2", ":1\r\n"),
        both("ZRANGE d 0 -1 WITHSCORES", "*2\r\n$1\r\na\r\n$1\r\n1\r\n", "*1\r\n*2\r\n$1\r\na\r\n,1\r\n"),
        same("ZDIFFSTORE d 2 k k", ":0\r\n"),
        same("EXISTS d", ":0\r\n"),
        same("ZUNIONSTORE k 2 k k", ":3\r\n"),
        both("ZRANGE k 0 -1 WITHSCORES", "*6\r\n$1\r\na\r\n$1\r\n2\r\n$1\r\nb\r\n$1\r\n4\r\n$1\r\nc\r\n$1\r\n6\r\n", "*3\r\n*2\r\n$1\r\na\r\n,2\r\n*2\r\n$1\r\nb\r\n,4\r\n*2\r\n$1\r\nc\r\n,6\r\n"),
        same("ZUNION 0 k", "-ERR at least 1 input key is needed for 'zunion' command\r\n"),
        same("ZUNION -1 k", "-ERR at least 1 input key is needed for 'zunion' command\r\n"),
        same("ZUNION x k", "-ERR value is not an integer or out of range\r\n"),
        same("ZUNION 2 k", "-ERR syntax error\r\n"),
        same("ZUNION 9999999999 k", "-ERR syntax error\r\n"),
        same("ZUNION 1 k weights 1 2", "-ERR syntax error\r\n"),
        same("ZUNION 1 k weights x", "-ERR weight value is not a float\r\n"),
        same("ZUNION 1 k weights nan", "-ERR weight value is not a float\r\n"),
        same("ZUNION 1 k aggregate foo", "-ERR syntax error\r\n"),
        same("ZUNION 1 k weights", "-ERR syntax error\r\n"),
        same("ZUNION 1 k foo", "-ERR syntax error\r\n"),
        same("ZUNIONSTORE d 0 k", "-ERR at least 1 input key is needed for 'zunionstore' command\r\n"),
        same("ZUNIONSTORE d 1 k withscores", "-ERR syntax error\r\n"),
        same("ZDIFF 1 k weights 1", "-ERR syntax error\r\n"),
        same("ZDIFF 1 k aggregate sum", "-ERR syntax error\r\n"),
        same("ZINTERCARD 0 k", "-ERR at least 1 input key is needed for 'zintercard' command\r\n"),
        same("ZINTERCARD 1 k limit -1", "-ERR LIMIT can't be negative\r\n"),
        same("ZINTERCARD 1 k limit x", "-ERR LIMIT can't be negative\r\n"),
        same("ZINTERCARD 1 k limit 1 foo", "-ERR syntax error\r\n"),
        same("ZINTERCARD 1 k withscores", "-ERR syntax error\r\n"),
        same("ZINTERCARD x k", "-ERR value is not an integer or out of range\r\n"),
        same("SET s x", "+OK\r\n"),
        same("ZUNION 1 s", "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"),
        same("ZUNION 1 s weights x", "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"),
        same("ZINTER 2 k s withscores foo", "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"),
        same("ZINTERCARD 1 s limit x", "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"),
        same("ZDIFFSTORE d 1 s", "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"),
        same("ZUNION 2 nokey nokey2", "*0\r\n"),
    ]);
}

#[test]
fn zscan() {
    script(&[
        same("ZADD k 1 a 2 b 3.5 c", ":3\r\n"),
        same("ZSCAN k 0", "*2\r\n$1\r\n0\r\n*6\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\nb\r\n$1\r\n2\r\n$1\r\nc\r\n$3\r\n3.5\r\n"),
        same("ZSCAN k 0 MATCH a*", "*2\r\n$1\r\n0\r\n*2\r\n$1\r\na\r\n$1\r\n1\r\n"),
        same("ZSCAN k 0 COUNT 1", "*2\r\n$1\r\n0\r\n*6\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\nb\r\n$1\r\n2\r\n$1\r\nc\r\n$3\r\n3.5\r\n"),
        same("ZSCAN k 0 COUNT 0", "-ERR syntax error\r\n"),
        same("ZSCAN k 0 MATCH", "-ERR syntax error\r\n"),
        same("ZSCAN k x", "-ERR invalid cursor\r\n"),
        same("ZSCAN k 0 foo bar", "-ERR syntax error\r\n"),
        same("ZSCAN nokey 0", "*2\r\n$1\r\n0\r\n*0\r\n"),
        same("ZSCAN nokey 0 foo", "*2\r\n$1\r\n0\r\n*0\r\n"),
        same("SET s x", "+OK\r\n"),
        same("ZSCAN s 0", "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"),
        same("ZSCAN s 0 foo", "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"),
        same("ZSCAN s x", "-ERR invalid cursor\r\n"),
    ]);
}

#[test]
fn zrandmember_errors() {
    script(&[
        same("ZADD k 1 a 2 b 3 c", ":3\r\n"),
        same("ZRANDMEMBER k x", "-ERR value is not an integer or out of range\r\n"),
        same("ZRANDMEMBER k 1 foo", "-ERR syntax error\r\n"),
        same("ZRANDMEMBER k 1 withscores foo", "-ERR syntax error\r\n"),
        same("ZRANDMEMBER k 0", "*0\r\n"),
        same("ZRANDMEMBER k 0 withscores", "*0\r\n"),
        same("ZRANDMEMBER k -9223372036854775808", "-ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807\r\n"),
        same("ZRANDMEMBER k 4611686018427387904 withscores", "-ERR value is out of range\r\n"),
        same("ZRANDMEMBER k -4611686018427387904 withscores", "-ERR value is out of range\r\n"),
        both("ZRANDMEMBER nokey", "$-1\r\n", "_\r\n"),
        same("ZRANDMEMBER nokey 5", "*0\r\n"),
        same("ZRANDMEMBER nokey 5 withscores", "*0\r\n"),
        same("SET s x", "+OK\r\n"),
        same("ZRANDMEMBER s", "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"),
        same("ZRANDMEMBER s 0", "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"),
    ]);
}
