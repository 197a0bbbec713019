//! Random interleavings of pushes, pops, blocking pops, disconnects,
//! CLIENT UNBLOCK and time against the one rule that matters: an element
//! is delivered to exactly one client or stays in a list. After every
//! step, no blocked client waits on a key that holds data.

use super::*;
use proptest::prelude::*;
use std::collections::BTreeMap;

const KEYS: [&str; 2] = ["k0", "k1"];
const SLOTS: usize = 3;

#[derive(Debug, Clone)]
enum Op {
    Push {
        key: usize,
        count: usize,
        tail: bool,
    },
    Pop {
        key: usize,
    },
    Block {
        slot: usize,
        kind: Kind,
        keys: usize,
        timeout_ms: u64,
    },
    Disconnect {
        slot: usize,
    },
    Unblock {
        slot: usize,
        error: bool,
    },
    Advance {
        ms: u64,
    },
}

#[derive(Debug, Clone, Copy)]
enum Kind {
    Blpop,
    Brpop,
    Blmpop,
    /// BLMOVE from the first key to the other one: the element stays.
    Blmove,
}

fn op() -> impl Strategy<Value = Op> {
    let kind = prop_oneof![
        Just(Kind::Blpop),
        Just(Kind::Brpop),
        Just(Kind::Blmpop),
        Just(Kind::Blmove)
    ];
    prop_oneof![
        3 => (0..2usize, 1..4usize, any::<bool>())
            .prop_map(|(key, count, tail)| Op::Push { key, count, tail }),
        1 => (0..2usize).prop_map(|key| Op::Pop { key }),
        4 => (0..SLOTS, kind, 1..4usize, prop_oneof![Just(0u64), 1..40u64])
            .prop_map(|(slot, kind, keys, timeout_ms)| Op::Block { slot, kind, keys, timeout_ms }),
        1 => (0..SLOTS).prop_map(|slot| Op::Disconnect { slot }),
        1 => (0..SLOTS, any::<bool>()).prop_map(|(slot, error)| Op::Unblock { slot, error }),
        2 => (1..30u64).prop_map(|ms| Op::Advance { ms }),
    ]
}

struct World {
    h: Harness,
    admin: u64,
    slots: Vec<(u64, Option<Vec<usize>>)>,
    next_element: usize,
    pushed: Vec<String>,
    /// Elements taken out of the lists, with how many times each was.
    delivered: BTreeMap<String, usize>,
}

impl World {
    fn new() -> Self {
        let mut h = harness();
        let admin = h.connect();
        let slots = (0..SLOTS).map(|_| (h.connect(), None)).collect();
        World {
            h,
            admin,
            slots,
            next_element: 0,
            pushed: Vec::new(),
            delivered: BTreeMap::new(),
        }
    }

    fn deliver(&mut self, element: &Frame) {
        let text = element.text().expect("an element");
        *self.delivered.entry(text).or_default() += 1;
    }

    /// Reads what a client received: a reply ends its wait.
    fn collect(&mut self, slot: usize) {
        let id = self.slots[slot].0;
        while let Some(frame) = self.h.read(id) {
            self.slots[slot].1 = None;
            match frame {
                Frame::Array(items) => match items.as_slice() {
                    [_, Frame::Array(elements)] => elements.iter().for_each(|e| self.deliver(e)),
                    [_, element] => self.deliver(element),
                    other => panic!("unexpected reply {other:?}"),
                },
                // A move's element stays in the other list.
                Frame::Bulk(_) | Frame::Null => {}
                Frame::Error(e) if e.starts_with("UNBLOCKED") => {}
                other => panic!("unexpected reply {other:?}"),
            }
        }
    }

    fn apply(&mut self, op: &Op) {
        match *op {
            Op::Push { key, count, tail } => {
                let mut args = vec![if tail { "RPUSH" } else { "LPUSH" }.to_string()];
                args.push(KEYS[key].to_string());
                for _ in 0..count {
                    let element = format!("e{}", self.next_element);
                    self.next_element += 1;
                    self.pushed.push(element.clone());
                    args.push(element);
                }
                let args: Vec<&str> = args.iter().map(String::as_str).collect();
                assert!(matches!(self.h.call(self.admin, &args), Frame::Int(_)));
            }
            Op::Pop { key } => match self.h.call(self.admin, &["LPOP", KEYS[key]]) {
                Frame::Null => {}
                element => self.deliver(&element),
            },
            Op::Block {
                slot,
                kind,
                keys,
                timeout_ms,
            } => self.block(slot, kind, keys, timeout_ms),
            Op::Disconnect { slot } => {
                let id = self.slots[slot].0;
                self.h
                    .node
                    .handle_input(self.h.now, crate::node::Input::ClientClosed { client: id });
                self.slots[slot] = (self.h.connect(), None);
            }
            Op::Unblock { slot, error } => {
                let id = self.slots[slot].0.to_string();
                let reason = if error { "ERROR" } else { "TIMEOUT" };
                let expected = i64::from(self.slots[slot].1.is_some());
                let reply = self.h.call(self.admin, &["CLIENT", "UNBLOCK", &id, reason]);
                assert_eq!(reply, Frame::Int(expected));
            }
            Op::Advance { ms } => self.h.advance(ms),
        }
        for slot in 0..SLOTS {
            self.collect(slot);
        }
    }

    fn block(&mut self, slot: usize, kind: Kind, keys: usize, timeout_ms: u64) {
        if self.slots[slot].1.is_some() {
            return;
        }
        let waited: Vec<usize> = (0..2).filter(|k| keys & (1 << k) != 0).collect();
        let names: Vec<&str> = waited.iter().map(|k| KEYS[*k]).collect();
        let timeout = format!("{}", timeout_ms as f64 / 1000.0);
        let mut args: Vec<String> = match kind {
            Kind::Blpop | Kind::Brpop => {
                let name = if matches!(kind, Kind::Blpop) {
                    "BLPOP"
                } else {
                    "BRPOP"
                };
                let mut args = vec![name.to_string()];
                args.extend(names.iter().map(|s| s.to_string()));
                args.push(timeout);
                args
            }
            Kind::Blmpop => {
                let mut args = vec!["BLMPOP".to_string(), timeout, names.len().to_string()];
                args.extend(names.iter().map(|s| s.to_string()));
                args.extend(["LEFT".to_string(), "COUNT".to_string(), "2".to_string()]);
                args
            }
            Kind::Blmove => {
                let (from, to) = (waited[0], 1 - waited[0]);
                let mut args = vec!["BLMOVE".to_string(), KEYS[from].into(), KEYS[to].into()];
                args.extend(["RIGHT".to_string(), "LEFT".to_string(), timeout]);
                args
            }
        };
        if matches!(kind, Kind::Blmove) {
            args.truncate(6);
        }
        let source_only = if matches!(kind, Kind::Blmove) {
            vec![waited[0]]
        } else {
            waited
        };
        self.slots[slot].1 = Some(source_only);
        send(
            &mut self.h,
            self.slots[slot].0,
            &args.iter().map(String::as_str).collect::<Vec<_>>(),
        );
    }

    /// No blocked client waits on a key that holds data.
    fn check_nobody_waits_on_data(&mut self) {
        for slot in 0..SLOTS {
            let Some(keys) = self.slots[slot].1.clone() else {
                continue;
            };
            for key in keys {
                let len = self.h.call(self.admin, &["LLEN", KEYS[key]]);
                assert_eq!(
                    len,
                    Frame::Int(0),
                    "slot {slot} waits on {} which has data",
                    KEYS[key]
                );
            }
        }
    }

    /// Every element pushed was delivered once or is still in a list.
    fn check_conservation(&mut self) {
        let mut seen = self.delivered.clone();
        for key in KEYS {
            let Frame::Array(items) = self.h.call(self.admin, &["LRANGE", key, "0", "-1"]) else {
                panic!("LRANGE replies an array");
            };
            for item in items {
                *seen.entry(item.text().expect("an element")).or_default() += 1;
            }
        }
        for (element, n) in &seen {
            assert_eq!(*n, 1, "{element} delivered or kept {n} times");
        }
        let mut pushed = self.pushed.clone();
        pushed.sort();
        assert_eq!(seen.keys().cloned().collect::<Vec<_>>(), pushed);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn no_element_is_lost_or_delivered_twice(ops in prop::collection::vec(op(), 1..60)) {
        let mut world = World::new();
        for op in &ops {
            world.apply(op);
            world.check_nobody_waits_on_data();
        }
        world.check_conservation();
        for slot in 0..SLOTS {
            let id = world.slots[slot].0.to_string();
            world.h.call(world.admin, &["CLIENT", "UNBLOCK", &id]);
            world.collect(slot);
        }
        prop_assert_eq!(world.h.node.queued_waiters(), 0);
        world.check_conservation();
    }
}
