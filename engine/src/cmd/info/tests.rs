use super::bytes_to_human;
use crate::cmd::server::tests::{fill, info_field};
use crate::config::Config;
use crate::resp::frame::Frame;
use crate::testing::{request, Harness};

/// Fields whose values are size estimates of Rust structures (they vary
/// with the compiler and platform): masked in snapshots.
const SIZE_FIELDS: &[&str] = &[
    "used_memory",
    "used_memory_human",
    "used_memory_peak",
    "used_memory_peak_human",
    "used_memory_peak_perc",
    "used_memory_overhead",
    "used_memory_startup",
    "used_memory_dataset",
    "used_memory_dataset_perc",
    "mem_clients_normal",
    "client_recent_max_input_buffer",
];

fn masked(text: &str) -> String {
    text.split("\r\n")
        .map(|line| match line.split_once(':') {
            Some((name, _)) if SIZE_FIELDS.contains(&name) => format!("{name}:<size>"),
            _ => line.to_string(),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn info_text(h: &mut Harness, c: u64, args: &[&str]) -> String {
    let mut full = vec!["INFO"];
    full.extend(args);
    h.call(c, &full).text().expect("a bulk string")
}

fn headers(text: &str) -> Vec<&str> {
    text.split("\r\n").filter(|l| l.starts_with('#')).collect()
}

/// A node with some history: keys with and without TTLs, commands that
/// succeeded, failed and were refused.
fn busy_harness() -> (Harness, u64) {
    let mut h = Harness::new(Config::default());
    let c = h.connect();
    fill(&mut h, 0, 3, None);
    fill(&mut h, 2, 4, Some(50_000));
    h.call(c, &["PING"]);
    h.call(c, &["ECHO"]);
    h.call(c, &["NOSUCH"]);
    h.call(c, &["SWAPDB", "x", "0"]);
    h.advance(10_000);
    (h, c)
}

#[test]
fn default_info_layout() {
    let (mut h, c) = busy_harness();
    insta::assert_snapshot!(masked(&info_text(&mut h, c, &[])));
}

#[test]
fn everything_adds_commandstats() {
    let (mut h, c) = busy_harness();
    let text = info_text(&mut h, c, &["everything"]);
    assert_eq!(
        headers(&text),
        [
            "# Server",
            "# Clients",
            "# Memory",
            "# Persistence",
            "# Stats",
            "# Replication",
            "# Modules",
            "# Commandstats",
            "# Errorstats",
            "# Cluster",
            "# Keyspace",
        ]
    );
    assert_eq!(headers(&text), headers(&info_text(&mut h, c, &["ALL"])));
    insta::assert_snapshot!(info_text(&mut h, c, &["commandstats"]));
}

#[test]
fn sections_come_in_redis_order_whatever_the_argument_order() {
    let (mut h, c) = busy_harness();
    let text = info_text(&mut h, c, &["KEYSPACE", "server", "Server"]);
    assert_eq!(headers(&text), ["# Server", "# Keyspace"]);
    assert!(text.ends_with("\r\n"));
    assert!(!text.ends_with("\r\n\r\n"));
    let text = info_text(&mut h, c, &["default", "commandstats"]);
    assert_eq!(headers(&text).len(), 11);
    assert_eq!(info_text(&mut h, c, &["nosuch"]), "");
    assert_eq!(info_text(&mut h, c, &["modules"]), "# Modules\r\n");
}

#[test]
fn resp3_info_is_a_verbatim_string() {
    let (mut h, c) = busy_harness();
    h.call(c, &["HELLO", "3"]);
    assert_eq!(
        h.call(c, &["INFO", "cluster"]),
        Frame::Verbatim("txt".into(), "# Cluster\r\ncluster_enabled:0\r\n".into())
    );
    h.send_raw(c, &request(&[b"INFO", b"nosuch"]));
    assert_eq!(h.pending_bytes(c), b"=4\r\ntxt:\r\n");
}

#[test]
fn keyspace_lists_databases_with_keys() {
    let (mut h, c) = busy_harness();
    assert_eq!(
        info_text(&mut h, c, &["keyspace"]),
        "# Keyspace\r\ndb0:keys=3,expires=0,avg_ttl=0\r\ndb2:keys=4,expires=4,avg_ttl=40000\r\n"
    );
}

#[test]
fn errors_and_command_outcomes_are_counted() {
    let (mut h, c) = busy_harness();
    assert_eq!(info_field(&mut h, c, "stats", "total_error_replies"), "3");
    let text = info_text(&mut h, c, &["errorstats"]);
    assert_eq!(text, "# Errorstats\r\nerrorstat_ERR:count=3\r\n");
    let stats = info_text(&mut h, c, &["commandstats"]);
    assert!(stats.contains(
        "cmdstat_echo:calls=0,usec=0,usec_per_call=0.00,rejected_calls=1,failed_calls=0\r\n"
    ));
    assert!(stats.contains(
        "cmdstat_swapdb:calls=1,usec=0,usec_per_call=0.00,rejected_calls=0,failed_calls=1\r\n"
    ));
    assert!(!stats.contains("nosuch"), "unknown commands have no stats");
    // Only commands that ran count as processed: PING, SWAPDB and the INFOs.
    assert_eq!(
        info_field(&mut h, c, "stats", "total_commands_processed"),
        "5"
    );
}

#[test]
fn protocol_errors_count_as_error_replies() {
    let mut h = Harness::new(Config::default());
    let c = h.connect();
    let watcher = h.connect();
    h.send_raw(c, b"*1\r\nxx\r\n");
    assert!(h.is_closed(c));
    assert_eq!(
        info_field(&mut h, watcher, "stats", "total_error_replies"),
        "1"
    );
    assert_eq!(
        info_text(&mut h, watcher, &["errorstats"]),
        "# Errorstats\r\nerrorstat_ERR:count=1\r\n"
    );
}

#[test]
fn noauth_is_counted_under_its_code() {
    let config = Config {
        requirepass: Some("pw".into()),
        ..Config::default()
    };
    let mut h = Harness::new(config);
    let c = h.connect();
    h.call(c, &["PING"]);
    h.call(c, &["AUTH", "pw"]);
    let text = info_text(&mut h, c, &["errorstats"]);
    assert_eq!(text, "# Errorstats\r\nerrorstat_NOAUTH:count=1\r\n");
    let stats = info_text(&mut h, c, &["commandstats"]);
    assert!(stats.contains("cmdstat_ping:calls=0,usec=0,usec_per_call=0.00,rejected_calls=1"));
}

#[test]
fn instantaneous_rates_follow_traffic() {
    let mut h = Harness::new(Config::default());
    let c = h.connect();
    let ping = request(&[b"PING"]);
    for _ in 0..20 {
        for _ in 0..50 {
            h.send_raw(c, &ping);
            assert_eq!(h.read(c), Some(Frame::Simple("PONG".into())));
        }
        h.advance(100);
    }
    let ops: u64 = info_field(&mut h, c, "stats", "instantaneous_ops_per_sec")
        .parse()
        .unwrap();
    assert!((450..=550).contains(&ops), "about 500 ops/s, got {ops}");
    let input: f64 = info_field(&mut h, c, "stats", "instantaneous_input_kbps")
        .parse()
        .unwrap();
    // 50 PINGs of 14 bytes per 100 ms: 7000 bytes/s.
    assert!((6.0..=7.5).contains(&input), "input kbps {input}");
    for _ in 0..20 {
        h.advance(100);
    }
    assert_eq!(
        info_field(&mut h, c, "stats", "instantaneous_ops_per_sec"),
        "0"
    );
}

#[test]
fn used_memory_grows_with_the_dataset_and_keeps_a_peak() {
    let mut h = Harness::new(Config::default());
    let c = h.connect();
    let used =
        |h: &mut Harness| -> u64 { info_field(h, c, "memory", "used_memory").parse().unwrap() };
    let empty = used(&mut h);
    fill(&mut h, 0, 1000, None);
    let full = used(&mut h);
    assert!(full > empty + 1000 * 10, "{empty} -> {full}");
    h.call(c, &["FLUSHALL"]);
    assert!(used(&mut h) < full);
    let peak: u64 = info_field(&mut h, c, "memory", "used_memory_peak")
        .parse()
        .unwrap();
    assert!(peak >= full);
}

#[test]
fn connected_clients_and_totals() {
    let mut h = Harness::new(Config::default());
    let a = h.connect();
    let b = h.connect();
    h.node
        .handle_input(h.now, crate::node::Input::ClientClosed { client: b });
    let _c = h.connect();
    assert_eq!(info_field(&mut h, a, "clients", "connected_clients"), "2");
    assert_eq!(
        info_field(&mut h, a, "stats", "total_connections_received"),
        "3"
    );
}

#[test]
fn human_sizes_like_redis() {
    assert_eq!(bytes_to_human(0), "0B");
    assert_eq!(bytes_to_human(1023), "1023B");
    assert_eq!(bytes_to_human(1024), "1.00K");
    assert_eq!(bytes_to_human(965_648), "943.02K");
    assert_eq!(bytes_to_human(7_245_824), "6.91M");
    assert_eq!(bytes_to_human(25_276_502_016), "23.54G");
    assert_eq!(bytes_to_human(1 << 40), "1.00T");
    assert_eq!(bytes_to_human(1 << 50), "1.00P");
    assert_eq!(bytes_to_human(u64::MAX), "16384.00P");
}

/// INFO's dataset size is a running total (INFO must not walk every key):
/// after any mix of writes, in-place edits, expiries and flushes, it equals
/// a walk over every key of every database.
mod dataset_total {
    use super::*;
    use proptest::prelude::*;

    const KEYS: &[&str] = &["a", "b", "counter", "long:key:name"];

    fn command() -> impl Strategy<Value = Vec<String>> {
        let key = proptest::sample::select(KEYS).prop_map(str::to_string);
        let value = "[a-z0-9]{0,60}";
        prop_oneof![
            (key.clone(), value).prop_map(|(k, v)| vec!["SET".into(), k, v]),
            (key.clone(), value).prop_map(|(k, v)| vec!["APPEND".into(), k, v]),
            (key.clone(), 0u32..80, value).prop_map(|(k, at, v)| vec![
                "SETRANGE".into(),
                k,
                at.to_string(),
                v
            ]),
            key.clone().prop_map(|k| vec!["INCR".into(), k]),
            key.clone()
                .prop_map(|k| vec!["INCRBYFLOAT".into(), k, "1.5".into()]),
            (key.clone(), value).prop_map(|(k, v)| vec!["GETSET".into(), k, v]),
            key.clone().prop_map(|k| vec!["GETDEL".into(), k]),
            key.clone().prop_map(|k| vec!["UNLINK".into(), k]),
            (key.clone(), key.clone()).prop_map(|(a, b)| vec!["RENAME".into(), a, b]),
            (key.clone(), key.clone()).prop_map(|(a, b)| vec![
                "COPY".into(),
                a,
                b,
                "REPLACE".into()
            ]),
            key.clone().prop_map(|k| vec!["MOVE".into(), k, "1".into()]),
            (key.clone(), 1u32..300).prop_map(|(k, ms)| vec!["PEXPIRE".into(), k, ms.to_string()]),
            Just(vec!["SWAPDB".into(), "0".into(), "1".into()]),
            Just(vec!["FLUSHDB".into()]),
            Just(vec!["FLUSHALL".into(), "ASYNC".into()]),
        ]
    }

    fn walk(h: &mut Harness) -> u64 {
        let srv = h.node.server_mut();
        srv.dbs.iter().map(|db| db.dataset_bytes_by_walk()).sum()
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        #[test]
        fn used_memory_dataset_equals_a_walk(
            steps in proptest::collection::vec((command(), 0u64..150), 1..60),
        ) {
            let mut h = Harness::new(Config::default());
            let c = h.connect();
            for (args, ms) in steps {
                let args: Vec<&str> = args.iter().map(String::as_str).collect();
                h.call(c, &args);
                h.advance(ms);
                let reported: u64 = info_field(&mut h, c, "memory", "used_memory_dataset")
                    .parse()
                    .unwrap();
                prop_assert_eq!(reported, walk(&mut h), "after {:?}", args);
            }
        }
    }
}

#[test]
fn avg_ttl_is_an_estimate_from_active_expiry() {
    let mut h = Harness::new(Config::default());
    let c = h.connect();
    h.call(c, &["SET", "k", "v", "PX", "100000"]);
    // No active expiry pass yet: no estimate, as a fresh Redis reports.
    assert_eq!(
        info_text(&mut h, c, &["keyspace"]),
        "# Keyspace\r\ndb0:keys=1,expires=1,avg_ttl=0\r\n"
    );
    h.advance(0);
    assert_eq!(
        info_text(&mut h, c, &["keyspace"]),
        "# Keyspace\r\ndb0:keys=1,expires=1,avg_ttl=100000\r\n"
    );
    // Between passes the estimate stays as it was (INFO does not look at
    // the keys); the next pass folds in 2% of the sampled mean.
    h.advance(50);
    assert_eq!(
        info_field(&mut h, c, "keyspace", "db0"),
        "keys=1,expires=1,avg_ttl=100000"
    );
    h.advance(50);
    assert_eq!(
        info_field(&mut h, c, "keyspace", "db0"),
        format!("keys=1,expires=1,avg_ttl={}", 2000 * 49 + 99_900 / 50)
    );
    h.call(c, &["FLUSHDB"]);
    h.call(c, &["SET", "k", "v"]);
    assert_eq!(
        info_field(&mut h, c, "keyspace", "db0"),
        "keys=1,expires=0,avg_ttl=0"
    );
}
