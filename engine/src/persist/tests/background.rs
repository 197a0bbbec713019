//! The background save is a point-in-time snapshot: whatever runs between
//! its steps, the file holds exactly the data as of BGSAVE.

use super::*;
use proptest::prelude::*;

#[derive(Debug, Clone)]
enum Op {
    Set(u8, u8),
    Append(u8),
    Del(u8),
    Incr(u8),
    Push(u8, u8),
    Pop(u8),
    Sadd(u8, u8),
    Hset(u8, u8),
    Expire(u8, u16),
    Persist(u8),
    Rename(u8, u8),
    Move(u8),
    Select(u8),
    SwapDb,
    FlushDb,
    FlushAll,
    Get(u8),
    /// Time passes (keys expire) without running the timers.
    Sleep(u16),
    /// One timer run: a snapshot step, and the cron when due.
    Tick,
}

fn op() -> impl Strategy<Value = Op> {
    let k = 0u8..24;
    prop_oneof![
        6 => (k.clone(), any::<u8>()).prop_map(|(k, v)| Op::Set(k, v)),
        2 => k.clone().prop_map(Op::Append),
        3 => k.clone().prop_map(Op::Del),
        2 => k.clone().prop_map(Op::Incr),
        3 => (k.clone(), any::<u8>()).prop_map(|(k, v)| Op::Push(k, v)),
        2 => k.clone().prop_map(Op::Pop),
        2 => (k.clone(), any::<u8>()).prop_map(|(k, v)| Op::Sadd(k, v)),
        2 => (k.clone(), any::<u8>()).prop_map(|(k, v)| Op::Hset(k, v)),
        3 => (k.clone(), 1u16..3000).prop_map(|(k, ms)| Op::Expire(k, ms)),
        1 => k.clone().prop_map(Op::Persist),
        1 => (k.clone(), k.clone()).prop_map(|(a, b)| Op::Rename(a, b)),
        1 => k.clone().prop_map(Op::Move),
        1 => (0u8..3).prop_map(Op::Select),
        1 => Just(Op::SwapDb),
        1 => Just(Op::FlushDb),
        1 => Just(Op::FlushAll),
        2 => k.prop_map(Op::Get),
        2 => (1u16..2000).prop_map(Op::Sleep),
        8 => Just(Op::Tick),
    ]
}

fn key(k: u8) -> String {
    format!("key:{k}")
}

fn apply(h: &mut Harness, c: crate::ClientId, op: &Op) {
    let args: Vec<String> = match op {
        Op::Set(k, v) => vec!["SET".into(), key(*k), v.to_string()],
        Op::Append(k) => vec!["APPEND".into(), key(*k), "+".into()],
        Op::Del(k) => vec!["DEL".into(), key(*k)],
        Op::Incr(k) => vec!["INCR".into(), key(*k)],
        Op::Push(k, v) => vec!["RPUSH".into(), key(*k), v.to_string()],
        Op::Pop(k) => vec!["LPOP".into(), key(*k)],
        Op::Sadd(k, v) => vec!["SADD".into(), key(*k), v.to_string()],
        Op::Hset(k, v) => vec!["HSET".into(), key(*k), v.to_string(), "x".into()],
        Op::Expire(k, ms) => vec!["PEXPIRE".into(), key(*k), ms.to_string()],
        Op::Persist(k) => vec!["PERSIST".into(), key(*k)],
        Op::Rename(a, b) => vec!["RENAME".into(), key(*a), key(*b)],
        Op::Move(k) => vec!["MOVE".into(), key(*k), "2".into()],
        Op::Select(db) => vec!["SELECT".into(), db.to_string()],
        Op::SwapDb => vec!["SWAPDB".into(), "0".into(), "1".into()],
        Op::FlushDb => vec!["FLUSHDB".into()],
        Op::FlushAll => vec!["FLUSHALL".into()],
        Op::Get(k) => vec!["GET".into(), key(*k)],
        Op::Sleep(ms) => {
            h.now.mono_ms += u64::from(*ms);
            h.now.unix_ms += u64::from(*ms);
            return;
        }
        Op::Tick => return h.tick(),
    };
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    h.call(c, &args);
}

/// Small steps, so that a snapshot spans many operations.
fn run(before: &[Op], during: &[Op]) -> (Dataset, Dataset) {
    let mut h = Harness::new(config_with_saves(&[]));
    let c = h.connect();
    // Enough keys that the walk takes several steps.
    for i in 0..3_000 {
        h.call(c, &["SET", &format!("bulk:{i}"), "v"]);
    }
    for op in before {
        apply(&mut h, c, op);
    }
    let expected = dataset(&mut h);
    assert_eq!(
        h.call(c, &["BGSAVE"]),
        Frame::Simple("Background saving started".into())
    );
    for op in during {
        apply(&mut h, c, op);
    }
    h.advance(0);
    assert_eq!(info_field(&mut h, c, "rdb_bgsave_in_progress"), "0");
    assert_eq!(info_field(&mut h, c, "rdb_last_bgsave_status"), "ok");
    let saved = file_dataset(h.disk.read(DUMP).expect("saved"));
    (expected, saved)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn bgsave_file_is_the_data_at_its_start(
        before in proptest::collection::vec(op(), 0..60),
        during in proptest::collection::vec(op(), 0..200),
    ) {
        let (expected, saved) = run(&before, &during);
        for (k, v) in &expected {
            prop_assert_eq!(saved.get(k), Some(v), "key {:?}", k);
        }
        prop_assert_eq!(saved.len(), expected.len());
    }
}

#[test]
fn writes_during_the_walk_are_not_in_the_file() {
    let ops = [
        Op::Tick,
        Op::Set(1, 9),
        Op::FlushAll,
        Op::Tick,
        Op::Set(2, 1),
        Op::Tick,
    ];
    let before = [Op::Set(1, 1), Op::Expire(1, 500), Op::Push(3, 3)];
    let (expected, saved) = run(&before, &ops);
    assert_eq!(saved, expected);
    assert_eq!(saved.len(), 3_002);
}

#[test]
fn keys_expiring_during_the_walk_are_written_as_of_the_start() {
    let before = [Op::Set(5, 1), Op::Expire(5, 100), Op::Set(6, 2)];
    let during = [Op::Sleep(1000), Op::Get(5), Op::Tick, Op::Tick];
    let (expected, saved) = run(&before, &during);
    assert_eq!(saved, expected);
    let (_, expire) = &saved[&(0, b"key:5".to_vec())];
    assert!(expire.is_some());
}

#[test]
fn swapdb_during_the_walk_keeps_each_database_its_number() {
    let before = [Op::Select(1), Op::Set(7, 7), Op::Select(0)];
    let during = [Op::Tick, Op::SwapDb, Op::Set(8, 8), Op::Tick, Op::SwapDb];
    let (expected, saved) = run(&before, &during);
    assert_eq!(saved, expected);
}
