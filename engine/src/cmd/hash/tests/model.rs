//! A proptest model test of the commands: a Vec of pairs in insertion
//! order (what Redis's listpack keeps), with the thresholds changed by
//! CONFIG SET on the way to force conversions.

use super::*;

/// What Redis would hold: the pairs, and whether the hash is a table yet.
struct Model {
    pairs: Vec<(String, String)>,
    table: bool,
    max_entries: u64,
    max_value: u64,
}

impl Model {
    fn too_long(&self, text: &str) -> bool {
        text.len() as u64 > self.max_value
    }

    fn position(&self, field: &str) -> Option<usize> {
        self.pairs.iter().position(|(f, _)| f == field)
    }

    fn set(&mut self, field: String, value: String) {
        self.table |= self.too_long(&field) || self.too_long(&value);
        match self.position(&field) {
            Some(at) => self.pairs[at].1 = value,
            None => self.pairs.push((field, value)),
        }
        self.table |= self.pairs.len() as u64 > self.max_entries;
    }
}

#[derive(Debug, Clone)]
enum Op {
    Set(Vec<(u8, String)>),
    SetNx(u8, String),
    Del(Vec<u8>),
    IncrBy(u8, i64),
    Config(u64, u64),
}

fn field(i: u8) -> String {
    match i % 3 {
        0 => i.to_string(),
        1 => format!("f{i}"),
        _ => format!("long-field-name-{i}"),
    }
}

fn value() -> impl Strategy<Value = String> {
    prop_oneof![
        (-5i64..300).prop_map(|n| n.to_string()),
        "[a-z]{0,8}",
        "[a-z]{20,40}",
    ]
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => proptest::collection::vec((0u8..12, value()), 1..4).prop_map(Op::Set),
        1 => (0u8..12, value()).prop_map(|(f, v)| Op::SetNx(f, v)),
        2 => proptest::collection::vec(0u8..12, 1..3).prop_map(Op::Del),
        1 => (0u8..12, -3i64..3).prop_map(|(f, n)| Op::IncrBy(f, n)),
        1 => (0u64..10, 1u64..40).prop_map(|(e, v)| Op::Config(e, v)),
    ]
}

/// Runs `op` on the server and on the model; the server's reply must be
/// the one the model predicts.
fn apply(h: &mut Harness, c: ClientId, model: &mut Model, op: Op) -> Result<(), TestCaseError> {
    match op {
        Op::Set(pairs) => {
            let mut args = vec!["HSET".to_string(), "h".into()];
            for (f, v) in &pairs {
                args.extend([field(*f), v.clone()]);
            }
            let refs: Vec<&str> = args.iter().map(String::as_str).collect();
            let before = model.pairs.len();
            for (f, v) in pairs {
                model.set(field(f), v);
            }
            let added = (model.pairs.len() - before) as i64;
            prop_assert_eq!(h.call(c, &refs), int(added));
        }
        Op::SetNx(f, v) => {
            let exists = model.position(&field(f)).is_some();
            let reply = h.call(c, &["HSETNX", "h", &field(f), &v]);
            prop_assert_eq!(reply, int(i64::from(!exists)));
            if !exists {
                model.set(field(f), v);
            }
        }
        Op::Del(fields) => {
            let names: Vec<String> = fields.iter().map(|f| field(*f)).collect();
            let mut args = vec!["HDEL", "h"];
            args.extend(names.iter().map(String::as_str));
            let before = model.pairs.len();
            model.pairs.retain(|(k, _)| !names.contains(k));
            prop_assert_eq!(h.call(c, &args), int((before - model.pairs.len()) as i64));
            if model.pairs.is_empty() {
                // The key is gone: a new hash starts compact again.
                model.table = false;
            }
        }
        Op::IncrBy(f, n) => {
            let name = field(f);
            let current = model.position(&name).map(|at| model.pairs[at].1.clone());
            let parsed = current
                .as_deref()
                .map_or(Some(0), |v| v.parse::<i64>().ok());
            let reply = h.call(c, &["HINCRBY", "h", &name, &n.to_string()]);
            match parsed {
                Some(old) => {
                    prop_assert_eq!(reply, int(old + n));
                    model.set(name, (old + n).to_string());
                }
                None => prop_assert_eq!(reply, err("ERR hash value is not an integer")),
            }
        }
        Op::Config(entries, value) => {
            (model.max_entries, model.max_value) = (entries, value);
            let set = |h: &mut Harness, name: &str, n: u64| {
                h.call(c, &["CONFIG", "SET", name, &n.to_string()])
            };
            prop_assert_eq!(set(h, "hash-max-listpack-entries", entries), ok());
            prop_assert_eq!(set(h, "hash-max-listpack-value", value), ok());
        }
    }
    Ok(())
}

/// The server holds what the model does: same pairs, same order while
/// compact, same encoding, and the memory accounted for.
fn check(h: &mut Harness, c: ClientId, model: &Model) -> Result<(), TestCaseError> {
    prop_assert_eq!(h.call(c, &["HLEN", "h"]), int(model.pairs.len() as i64));
    // The keyspace's running size (fed by the O(1) `mem_usage`) stays
    // equal to a fresh walk after every change in place.
    let db = &h.node.server_mut().dbs[0];
    prop_assert_eq!(db.dataset_bytes(), db.dataset_bytes_by_walk());
    if model.pairs.is_empty() {
        prop_assert_eq!(h.call(c, &["EXISTS", "h"]), int(0));
        return Ok(());
    }
    let want = if model.table { "hashtable" } else { "listpack" };
    prop_assert_eq!(encoding(h, c, "h"), want);
    let flat = texts(&h.call(c, &["HGETALL", "h"]));
    let mut got: Vec<(String, String)> = flat
        .chunks(2)
        .map(|p| (p[0].clone(), p[1].clone()))
        .collect();
    let mut expected = model.pairs.clone();
    if model.table {
        got.sort();
        expected.sort();
    }
    prop_assert_eq!(got, expected);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn commands_behave_like_an_ordered_model(ops in proptest::collection::vec(op(), 1..40)) {
        let (mut h, c) = harness();
        let mut model = Model {
            pairs: Vec::new(),
            table: false,
            max_entries: 128,
            max_value: 64,
        };
        for op in ops {
            apply(&mut h, c, &mut model, op)?;
            check(&mut h, c, &model)?;
        }
    }
}
