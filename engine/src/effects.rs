//! Write effects: what each change to the dataset looks like as a command
//! that replays it deterministically, in the order the changes happened.
//! The AOF and the replication stream are built from them, never from the
//! commands as the clients sent them.
//!
//! The rules are Redis 7.0's:
//! - a command propagates when it made the dataset dirty (`Ctx::dirty`);
//!   it propagates as sent, unless its handler rewrote it
//!   ([`Effects::rewrite`]: SPOP becomes SREM, a blocking pop that was
//!   served becomes the non-blocking pop, relative TTLs become absolute)
//!   or prevented it;
//! - keys expired lazily while it ran propagate first, as `DEL`;
//! - an execution unit (one command from a client, a served blocked
//!   client, an EXEC, a script) that produced more than one effect is
//!   wrapped in `MULTI` ... `EXEC`, so a replica or a reloaded AOF never
//!   sees half of it;
//! - each key expired by the active expiry cycle is a unit of its own.
//!
//! Two consumers read them, each its own queue: the AOF
//! ([`Effects::set_recording`], [`Effects::drain`]) and the replication
//! stream ([`Effects::set_replicas`], [`Effects::drain_for_replicas`]).
//! Recording costs nothing unless a consumer is attached: with no AOF and
//! no replica nothing is kept.

use bytes::Bytes;

/// One command to replay, in database `db`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Effect {
    pub db: usize,
    pub argv: Vec<Bytes>,
}

impl Effect {
    pub fn new(db: usize, argv: Vec<Bytes>) -> Self {
        Effect { db, argv }
    }

    /// The effect as text, for tests and logs (`["SET", "k", "v"]`).
    pub fn words(&self) -> Vec<String> {
        self.argv
            .iter()
            .map(|a| String::from_utf8_lossy(a).into_owned())
            .collect()
    }
}

/// The effects of the unit running now, and the finished ones waiting for
/// their consumer.
#[derive(Debug, Default)]
pub struct Effects {
    /// The AOF is attached.
    recording: bool,
    /// The replication stream is attached.
    replicas: bool,
    /// Nesting depth of execution units (EXEC and scripts run commands
    /// inside the client's unit: only the outermost one flushes).
    depth: usize,
    pending: Vec<Effect>,
    /// Set by the running command's handler: what to propagate instead of
    /// its arguments (an empty vector propagates nothing).
    rewrite: Option<Vec<Bytes>>,
    /// Finished units, in order, MULTI/EXEC included; drained by the AOF.
    done: Vec<Effect>,
    /// The same, for the replication stream.
    done_for_replicas: Vec<Effect>,
    /// Emptied argument vectors of effects the replication stream
    /// consumed, reused by the next commands' effects (a write then costs
    /// no allocation for its effect), at most [`SPARE_ARGVS`].
    spare_argvs: Vec<Vec<Bytes>>,
}

/// Most argument vectors kept for reuse: a batch of writes' worth.
const SPARE_ARGVS: usize = 64;

/// Keeps `effect`'s emptied argument vector for the next command's
/// effect, unless enough are kept already.
fn keep_spare(spare: &mut Vec<Vec<Bytes>>, mut effect: Effect) {
    if spare.len() < SPARE_ARGVS {
        effect.argv.clear();
        spare.push(effect.argv);
    }
}

impl Effects {
    /// Whether any consumer is attached (effects are being recorded).
    pub fn is_recording(&self) -> bool {
        self.recording || self.replicas
    }

    /// Attaches the AOF (or detaches it, dropping what waits for it).
    pub fn set_recording(&mut self, on: bool) {
        self.recording = on;
        if !on {
            self.done.clear();
        }
        self.forget_pending_if_unused();
    }

    /// Attaches the replication stream (or detaches it, dropping what
    /// waits for it).
    pub fn set_replicas(&mut self, on: bool) {
        self.replicas = on;
        if !on {
            self.done_for_replicas.clear();
        }
        self.forget_pending_if_unused();
    }

    fn forget_pending_if_unused(&mut self) {
        if !self.is_recording() {
            self.pending.clear();
            self.rewrite = None;
        }
    }

    /// A unit starts (a client's command, a served blocked client, ...).
    pub fn begin_unit(&mut self) {
        self.depth += 1;
    }

    /// The unit ends: if it is the outermost, its effects become final,
    /// wrapped in MULTI/EXEC when there is more than one.
    pub fn end_unit(&mut self) {
        debug_assert!(self.depth > 0, "end_unit without begin_unit");
        self.depth = self.depth.saturating_sub(1);
        if self.depth > 0 || self.pending.is_empty() {
            return;
        }
        // `pending` is moved out element by element, so it keeps its
        // capacity for the next unit (no allocation per write).
        let unit = &mut self.pending;
        if unit.len() > 1 {
            let first_db = unit[0].db;
            let last_db = unit[unit.len() - 1].db;
            unit.insert(0, Effect::new(first_db, vec![Bytes::from_static(b"MULTI")]));
            unit.push(Effect::new(last_db, vec![Bytes::from_static(b"EXEC")]));
        }
        match (self.recording, self.replicas) {
            (true, true) => {
                self.done_for_replicas.extend_from_slice(unit);
                self.done.append(unit);
            }
            (true, false) => self.done.append(unit),
            (false, true) => self.done_for_replicas.append(unit),
            (false, false) => unit.clear(),
        }
    }

    /// Adds an effect to the running unit (a lazily expired key's DEL,
    /// a second write a command makes, ...).
    pub fn push(&mut self, db: usize, argv: Vec<Bytes>) {
        if self.is_recording() {
            self.pending.push(Effect::new(db, argv));
        }
    }

    /// The running command propagates as `argv` instead of its arguments.
    pub fn rewrite(&mut self, argv: Vec<Bytes>) {
        if self.is_recording() {
            self.rewrite = Some(argv);
        }
    }

    /// The running command propagates nothing itself (its effects, if
    /// any, were pushed explicitly).
    pub fn prevent(&mut self) {
        if self.is_recording() {
            self.rewrite = Some(Vec::new());
        }
    }

    /// A command finished in `db` having made the dataset dirty: its
    /// effect is its rewrite if it set one, else its arguments.
    pub fn command_done(&mut self, db: usize, args: &[Bytes], made_dirty: bool) {
        let rewrite = self.rewrite.take();
        if !self.is_recording() || !made_dirty {
            return;
        }
        match rewrite {
            Some(argv) if argv.is_empty() => {}
            Some(argv) => self.pending.push(Effect::new(db, argv)),
            None => {
                let mut argv = self.spare_argvs.pop().unwrap_or_default();
                argv.extend_from_slice(args);
                self.pending.push(Effect::new(db, argv));
            }
        }
    }

    /// Takes the finished effects for the AOF, oldest first.
    pub fn drain(&mut self) -> Vec<Effect> {
        std::mem::take(&mut self.done)
    }

    /// Passes the finished effects for the AOF to `f`, oldest first, and
    /// forgets them, as [`Effects::for_each_for_replicas`] does for the
    /// stream (the AOF consumes them after every client's batch).
    pub fn for_each_done(&mut self, mut f: impl FnMut(&Effect)) {
        for effect in self.done.drain(..) {
            f(&effect);
            keep_spare(&mut self.spare_argvs, effect);
        }
    }

    /// Takes the finished effects for the replication stream, oldest first.
    pub fn drain_for_replicas(&mut self) -> Vec<Effect> {
        std::mem::take(&mut self.done_for_replicas)
    }

    /// Whether finished effects wait for the replication stream.
    pub fn has_for_replicas(&self) -> bool {
        !self.done_for_replicas.is_empty()
    }

    /// Passes the finished effects for the replication stream to `f`,
    /// oldest first, and forgets them (keeping the queue's capacity: the
    /// stream's consumer runs after every write).
    pub fn for_each_for_replicas(&mut self, mut f: impl FnMut(&Effect)) {
        for effect in self.done_for_replicas.drain(..) {
            f(&effect);
            keep_spare(&mut self.spare_argvs, effect);
        }
    }

    /// Forgets the finished effects for the replication stream.
    pub fn clear_for_replicas(&mut self) {
        self.done_for_replicas.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn argv(words: &[&str]) -> Vec<Bytes> {
        words
            .iter()
            .map(|w| Bytes::copy_from_slice(w.as_bytes()))
            .collect()
    }

    fn words(effects: &[Effect]) -> Vec<Vec<String>> {
        effects.iter().map(Effect::words).collect()
    }

    #[test]
    fn nothing_is_kept_unless_recording() {
        let mut e = Effects::default();
        e.begin_unit();
        e.push(0, argv(&["DEL", "k"]));
        e.command_done(0, &argv(&["SET", "k", "v"]), true);
        e.end_unit();
        assert!(e.drain().is_empty());
    }

    #[test]
    fn one_effect_alone_and_several_wrapped_in_multi_exec() {
        let mut e = Effects::default();
        e.set_recording(true);
        e.begin_unit();
        e.command_done(0, &argv(&["SET", "k", "v"]), true);
        e.end_unit();
        e.begin_unit();
        e.push(3, argv(&["DEL", "old"]));
        e.command_done(3, &argv(&["SET", "old", "v"]), true);
        e.end_unit();
        assert_eq!(
            words(&e.drain()),
            vec![
                argv_words(&["SET", "k", "v"]),
                argv_words(&["MULTI"]),
                argv_words(&["DEL", "old"]),
                argv_words(&["SET", "old", "v"]),
                argv_words(&["EXEC"]),
            ]
        );
    }

    fn argv_words(w: &[&str]) -> Vec<String> {
        w.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn clean_commands_and_prevented_ones_propagate_nothing() {
        let mut e = Effects::default();
        e.set_recording(true);
        e.begin_unit();
        e.command_done(0, &argv(&["GET", "k"]), false);
        e.prevent();
        e.command_done(0, &argv(&["SET", "k", "v"]), true);
        e.end_unit();
        assert!(e.drain().is_empty());
    }

    #[test]
    fn a_rewrite_replaces_the_arguments_once() {
        let mut e = Effects::default();
        e.set_recording(true);
        e.begin_unit();
        e.rewrite(argv(&["SREM", "s", "a"]));
        e.command_done(0, &argv(&["SPOP", "s"]), true);
        e.command_done(0, &argv(&["SADD", "s", "b"]), true);
        e.end_unit();
        let done = e.drain();
        assert_eq!(done[1].words(), argv_words(&["SREM", "s", "a"]));
        assert_eq!(done[2].words(), argv_words(&["SADD", "s", "b"]));
    }

    #[test]
    fn nested_units_flush_only_at_the_outermost() {
        let mut e = Effects::default();
        e.set_recording(true);
        e.begin_unit();
        e.begin_unit();
        e.command_done(0, &argv(&["INCR", "a"]), true);
        e.end_unit();
        assert!(e.drain().is_empty(), "inner unit must not flush");
        e.command_done(0, &argv(&["INCR", "b"]), true);
        e.end_unit();
        assert_eq!(e.drain().len(), 4);
    }

    mod in_the_node {
        use crate::config::Config;
        use crate::testing::Harness;

        fn recording() -> (Harness, u64) {
            let mut h = Harness::new(Config::default());
            h.record_effects();
            let c = h.connect();
            (h, c)
        }

        fn w(words: &[&str]) -> Vec<String> {
            words.iter().map(|s| s.to_string()).collect()
        }

        #[test]
        fn writes_propagate_reads_and_failed_writes_do_not() {
            let (mut h, c) = recording();
            h.call(c, &["SET", "k", "1"]);
            h.call(c, &["GET", "k"]);
            h.call(c, &["LPUSH", "k", "x"]); // WRONGTYPE: nothing changed
            h.call(c, &["SELECT", "2"]);
            h.call(c, &["INCR", "n"]);
            assert_eq!(
                h.effects(),
                vec![w(&["db0", "SET", "k", "1"]), w(&["db2", "INCR", "n"])]
            );
        }

        #[test]
        fn a_lazily_expired_key_propagates_as_del_before_the_command() {
            let (mut h, c) = recording();
            h.call(c, &["SET", "k", "1", "PX", "100"]);
            h.effects();
            h.node.server_mut().active_expire_enabled = false;
            h.advance(200);
            h.call(c, &["GET", "k"]);
            assert_eq!(h.effects(), vec![w(&["db0", "DEL", "k"])]);
            h.call(c, &["SET", "j", "1", "PX", "100"]);
            h.effects();
            h.advance(200);
            h.call(c, &["SET", "j", "2"]);
            assert_eq!(
                h.effects(),
                vec![
                    w(&["db0", "MULTI"]),
                    w(&["db0", "DEL", "j"]),
                    w(&["db0", "SET", "j", "2"]),
                    w(&["db0", "EXEC"]),
                ]
            );
        }

        #[test]
        fn active_expiry_propagates_one_del_per_key() {
            let (mut h, c) = recording();
            h.call(c, &["SET", "a", "1", "PX", "50"]);
            h.call(c, &["SET", "b", "1", "PX", "50"]);
            h.effects();
            h.advance_ticking(1000);
            let mut effects = h.effects();
            effects.sort();
            assert_eq!(
                effects,
                vec![w(&["db0", "DEL", "a"]), w(&["db0", "DEL", "b"])]
            );
        }

        #[test]
        fn nothing_is_recorded_without_a_consumer() {
            let mut h = Harness::new(Config::default());
            let c = h.connect();
            h.call(c, &["SET", "k", "1", "PX", "10"]);
            h.advance(100);
            h.call(c, &["GET", "k"]);
            assert!(h.effects().is_empty());
        }
    }

    #[test]
    fn each_consumer_gets_every_effect_and_detaching_one_keeps_the_other() {
        let mut e = Effects::default();
        e.set_recording(true);
        e.set_replicas(true);
        e.begin_unit();
        e.command_done(0, &argv(&["SET", "k", "v"]), true);
        e.end_unit();
        assert_eq!(e.drain().len(), 1);
        assert_eq!(e.drain_for_replicas().len(), 1);
        e.set_recording(false);
        assert!(e.is_recording(), "replicas still attached");
        e.begin_unit();
        e.command_done(0, &argv(&["INCR", "a"]), true);
        e.command_done(0, &argv(&["INCR", "b"]), true);
        e.end_unit();
        assert!(e.drain().is_empty(), "the AOF is detached");
        assert_eq!(
            words(&e.drain_for_replicas()),
            vec![
                argv_words(&["MULTI"]),
                argv_words(&["INCR", "a"]),
                argv_words(&["INCR", "b"]),
                argv_words(&["EXEC"]),
            ]
        );
        e.set_replicas(false);
        assert!(!e.is_recording());
    }

    /// Three units of one SET each, consumed by `consume` after each unit:
    /// every effect is seen once, and one argument vector serves them all.
    fn check_consumer_reuses_vectors(
        setup: impl Fn(&mut Effects),
        consume: impl Fn(&mut Effects, &mut Vec<Vec<String>>),
    ) {
        let mut e = Effects::default();
        setup(&mut e);
        let mut seen = Vec::new();
        for round in 0..3 {
            e.begin_unit();
            let key = format!("k{round}");
            e.command_done(0, &argv(&["SET", &key, "v"]), true);
            e.end_unit();
            consume(&mut e, &mut seen);
            assert_eq!(e.spare_argvs.len(), 1, "one vector, in use in turn");
        }
        let expected: Vec<Vec<String>> = (0..3)
            .map(|round| argv_words(&["SET", &format!("k{round}"), "v"]))
            .collect();
        assert_eq!(seen, expected, "no argument left over from a reused vector");
    }

    #[test]
    fn the_aof_consumer_sees_each_effect_once_and_their_vectors_are_reused() {
        check_consumer_reuses_vectors(
            |e| e.set_recording(true),
            |e, seen| {
                e.for_each_done(|effect| seen.push(effect.words()));
                assert!(e.drain().is_empty(), "consumed");
            },
        );
    }

    #[test]
    fn the_stream_consumer_sees_each_effect_once_and_their_vectors_are_reused() {
        check_consumer_reuses_vectors(
            |e| e.set_replicas(true),
            |e, seen| {
                e.for_each_for_replicas(|effect| seen.push(effect.words()));
                assert!(!e.has_for_replicas());
            },
        );
    }
}
