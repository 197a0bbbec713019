//! The command table and dispatch.
//!
//! Every command is a [`CommandSpec`]: name, arity, flags, key positions,
//! ACL categories, documentation, and the handler. One file per command
//! group, each exporting its `COMMANDS` table; [`all_groups`] lists them.
//! A handler takes the execution context and the arguments (the command
//! name included, as in Redis's argv) and returns the reply.

pub mod blocking;
pub mod client;
pub mod command;
pub mod connection;
pub mod docs;
pub mod dump;
pub mod expire;
pub mod functions;
pub mod hash;
pub mod info;
pub mod keys;
pub mod list;
pub mod multi;
pub mod pubsub;
pub mod repl;
pub mod scripting;
pub mod server;
pub mod set;
pub mod sort;
pub mod string;
pub mod zset;

use crate::client::Client;
use crate::db::{Db, Object};
use crate::resp::Reply;
use crate::server::Server;
use crate::time::Now;
use bytes::Bytes;
use std::borrow::Cow;

/// A command handler.
pub type Handler = fn(&mut Ctx, &[Bytes]) -> Reply;

/// Finds the keys of a command line whose keys key specs cannot find (as
/// Redis's `getkeys_proc`): positions in `argv` with their key-spec flags.
pub type GetKeysProc = fn(&[Bytes]) -> Vec<(usize, &'static [&'static str])>;

/// Command flags, as `COMMAND INFO` reports them.
pub mod flags {
    pub const WRITE: u32 = 1 << 0;
    pub const READONLY: u32 = 1 << 1;
    pub const DENYOOM: u32 = 1 << 2;
    pub const ADMIN: u32 = 1 << 3;
    pub const PUBSUB: u32 = 1 << 4;
    pub const NOSCRIPT: u32 = 1 << 5;
    pub const BLOCKING: u32 = 1 << 6;
    pub const LOADING: u32 = 1 << 7;
    pub const STALE: u32 = 1 << 8;
    pub const SKIP_MONITOR: u32 = 1 << 9;
    pub const SKIP_SLOWLOG: u32 = 1 << 10;
    pub const FAST: u32 = 1 << 11;
    pub const NO_AUTH: u32 = 1 << 12;
    pub const MAY_REPLICATE: u32 = 1 << 13;
    pub const NO_MANDATORY_KEYS: u32 = 1 << 14;
    pub const NO_MULTI: u32 = 1 << 15;
    pub const MOVABLE_KEYS: u32 = 1 << 16;
    pub const ALLOW_BUSY: u32 = 1 << 17;
    pub const NO_ASYNC_LOADING: u32 = 1 << 18;

    /// Names in the order Redis prints them.
    pub const NAMES: &[(u32, &str)] = &[
        (WRITE, "write"),
        (READONLY, "readonly"),
        (DENYOOM, "denyoom"),
        (ADMIN, "admin"),
        (PUBSUB, "pubsub"),
        (NOSCRIPT, "noscript"),
        (BLOCKING, "blocking"),
        (LOADING, "loading"),
        (STALE, "stale"),
        (SKIP_MONITOR, "skip_monitor"),
        (SKIP_SLOWLOG, "skip_slowlog"),
        (FAST, "fast"),
        (NO_AUTH, "no_auth"),
        (MAY_REPLICATE, "may_replicate"),
        (NO_MANDATORY_KEYS, "no_mandatory_keys"),
        (NO_ASYNC_LOADING, "no_async_loading"),
        (NO_MULTI, "no_multi"),
        (MOVABLE_KEYS, "movablekeys"),
        (ALLOW_BUSY, "allow_busy"),
    ];
}

/// How to find one group of key arguments (Redis 7 key specs).
#[derive(Debug)]
pub struct KeySpec {
    /// Redis's remark on the flags, when it has one (COMMAND INFO `notes`).
    pub notes: Option<&'static str>,
    /// `RO`, `RW`, `OW`, `RM`, `ACCESS`, `UPDATE`, `INSERT`, `DELETE`, ...
    pub flags: &'static [&'static str],
    /// Index of the first key (begin_search by index).
    pub begin_index: i32,
    pub find: FindKeys,
}

impl KeySpec {
    /// Keys from `begin_index` up to `lastkey` (relative to the first key;
    /// negative counts from the end), every `step`, without a limit: the
    /// shape almost every command's key spec has.
    pub const fn range(
        flags: &'static [&'static str],
        begin_index: i32,
        lastkey: i32,
        step: i32,
    ) -> KeySpec {
        KeySpec {
            notes: None,
            flags,
            begin_index,
            find: FindKeys::Range {
                lastkey,
                step,
                limit: 0,
            },
        }
    }
}

#[derive(Debug)]
pub enum FindKeys {
    /// Keys up to `lastkey` (relative to begin; negative counts from the end), every `step`.
    Range { lastkey: i32, step: i32, limit: i32 },
    /// The number of keys is at `keynumidx` (relative to begin).
    Keynum {
        keynumidx: i32,
        firstkey: i32,
        step: i32,
    },
    /// Keys Redis cannot locate from the arguments' positions (SORT's
    /// BY/GET patterns and STORE): both begin_search and find_keys are
    /// reported as `unknown`, and COMMAND GETKEYS finds none through it.
    Unknown,
}

/// One command or subcommand.
#[derive(Debug)]
pub struct CommandSpec {
    /// Lower-case name (`get`; for a subcommand, its own name: `list`).
    pub name: &'static str,
    /// Redis's arity: N means exactly N arguments (name included), -N at least N.
    pub arity: i32,
    pub flags: u32,
    /// Key positions (1-based; 0 when the command takes no keys; last may be negative).
    pub first_key: i32,
    pub last_key: i32,
    pub step: i32,
    /// ACL categories without the `@`, in the order COMMAND INFO lists them
    /// (implied ones included: `read`, `write`, `fast`, `slow`, ...).
    pub acl: &'static [&'static str],
    /// Command tips (`request_policy:all_shards`, `nondeterministic_output`, ...).
    pub tips: &'static [&'static str],
    /// Key specifications, as COMMAND INFO and COMMAND DOCS report them.
    pub key_specs: &'static [KeySpec],
    pub group: &'static str,
    pub since: &'static str,
    pub summary: &'static str,
    pub complexity: &'static str,
    /// None for a container whose subcommands do the work (CLIENT, CONFIG, ...).
    pub handler: Option<Handler>,
    pub subcommands: &'static [CommandSpec],
    /// Arguments, history and deprecation, for COMMAND DOCS.
    pub docs: docs::Docs,
    /// For commands whose keys the key specs cannot locate (SORT's STORE).
    pub getkeys: Option<GetKeysProc>,
}

impl KeySpec {
    pub const fn with_notes(mut self, notes: &'static str) -> KeySpec {
        self.notes = Some(notes);
        self
    }
}

impl CommandSpec {
    /// The base every group's table starts from: no keys, no ACL categories,
    /// no tips or key specs, O(1), no subcommands, no docs. Each group's
    /// builder sets what its commands share, with struct-update syntax.
    pub const fn base(
        name: &'static str,
        arity: i32,
        flags: u32,
        group: &'static str,
        handler: Option<Handler>,
    ) -> CommandSpec {
        CommandSpec {
            name,
            arity,
            flags,
            first_key: 0,
            last_key: 0,
            step: 0,
            acl: &[],
            tips: &[],
            key_specs: &[],
            group,
            since: "",
            summary: "",
            complexity: "O(1)",
            handler,
            subcommands: &[],
            docs: docs::Docs::NONE,
            getkeys: None,
        }
    }

    /// A command of a type group whose one key is at index 1 (most
    /// string, hash, set, list and sorted-set commands); the group's table
    /// overrides the rest with struct-update syntax.
    #[allow(clippy::too_many_arguments)]
    pub const fn keyed(
        group: &'static str,
        name: &'static str,
        arity: i32,
        flags: u32,
        acl: &'static [&'static str],
        key_specs: &'static [KeySpec],
        (since, summary): (&'static str, &'static str),
        handler: Handler,
    ) -> CommandSpec {
        CommandSpec {
            first_key: 1,
            last_key: 1,
            step: 1,
            acl,
            key_specs,
            since,
            summary,
            ..CommandSpec::base(name, arity, flags, group, Some(handler))
        }
    }

    pub const fn with_getkeys(mut self, getkeys: GetKeysProc) -> CommandSpec {
        self.getkeys = Some(getkeys);
        self
    }

    pub const fn with_docs(mut self, docs: docs::Docs) -> CommandSpec {
        self.docs = docs;
        self
    }

    pub fn has(&self, flag: u32) -> bool {
        self.flags & flag != 0
    }

    pub fn arity_ok(&self, argc: usize) -> bool {
        let argc = argc as i64;
        let arity = self.arity as i64;
        if arity >= 0 {
            argc == arity
        } else {
            argc >= -arity
        }
    }

    pub fn find_subcommand(&self, name: &[u8]) -> Option<&'static CommandSpec> {
        self.subcommands
            .iter()
            .find(|s| s.name.as_bytes().eq_ignore_ascii_case(name))
    }

    /// The key arguments of `args` according to first/last/step.
    pub fn key_positions(&self, argc: usize) -> Vec<usize> {
        if self.first_key <= 0 || argc as i32 <= self.first_key {
            return Vec::new();
        }
        let last = if self.last_key < 0 {
            argc as i32 + self.last_key
        } else {
            self.last_key.min(argc as i32 - 1)
        };
        let step = self.step.max(1) as usize;
        (self.first_key as usize..=last.max(0) as usize)
            .step_by(step)
            .collect()
    }
}

/// Every command group's table.
pub fn all_groups() -> &'static [&'static [CommandSpec]] {
    &[
        connection::COMMANDS,
        string::COMMANDS,
        keys::COMMANDS,
        expire::COMMANDS,
        server::COMMANDS,
        info::COMMANDS,
        client::COMMANDS,
        command::COMMANDS,
        list::COMMANDS,
        hash::COMMANDS,
        set::COMMANDS,
        zset::COMMANDS,
        sort::COMMANDS,
        dump::COMMANDS,
        pubsub::COMMANDS,
        multi::COMMANDS,
        blocking::COMMANDS,
        scripting::COMMANDS,
        repl::COMMANDS,
        functions::COMMANDS,
    ]
}

/// The lookup table from name (any case) to spec. Looked up once per
/// command, so it does not hash the name: a command's bucket is picked by
/// the name's length and first letter (`& 0x1f` folds the case), which
/// leaves a handful of candidates, each compared 8 lower-cased bytes at a
/// time.
pub struct CommandTable {
    /// Every command, sorted by name.
    sorted: Vec<&'static CommandSpec>,
    /// Candidates by [`CommandTable::bucket`].
    buckets: Vec<Vec<Candidate>>,
}

/// A command of a bucket with its name as [`lowered_words`] makes it.
#[derive(Clone)]
struct Candidate {
    words: NameWords,
    spec: &'static CommandSpec,
}

/// Longest command name the table holds (longer names are unknown).
const MAX_COMMAND_NAME: usize = 32;
/// Buckets per name length: one per value of the first byte's low 5 bits.
const FIRST_BYTE_CLASSES: usize = 32;

/// A name of at most [`MAX_COMMAND_NAME`] bytes, ASCII lower-cased, in
/// 8-byte words, zero past its end. Two names of the same length are equal
/// ignoring ASCII case exactly when their words are equal.
type NameWords = [u64; MAX_COMMAND_NAME / 8];

/// `name` (at most [`MAX_COMMAND_NAME`] bytes) as [`NameWords`].
fn lowered_words(name: &[u8]) -> NameWords {
    let mut words = [0u64; MAX_COMMAND_NAME / 8];
    // Only the words the name covers (most names fit one).
    for (word, bytes) in words.iter_mut().zip(name.chunks(8)) {
        let mut eight = [0u8; 8];
        eight[..bytes.len()].copy_from_slice(bytes);
        *word = ascii_lowercase_word(u64::from_le_bytes(eight));
    }
    words
}

/// [`u8::to_ascii_lowercase`] on each byte of `word` at once: a byte of
/// `A..=Z` gains 0x20, every other byte is unchanged.
fn ascii_lowercase_word(word: u64) -> u64 {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH_BITS: u64 = ONES * 0x80;
    // Each byte at most 0x7f: the sums below stay under 0x100 per byte, so
    // no carry crosses into the next byte, and a byte's high bit tells
    // whether it reached the bound.
    let low7 = word & !HIGH_BITS;
    let at_least_a = low7.wrapping_add(ONES * (0x80 - u64::from(b'A')));
    let above_z = low7.wrapping_add(ONES * (0x80 - u64::from(b'Z') - 1));
    // Bytes with their own high bit set are not ASCII: left alone.
    let upper = at_least_a & !above_z & !word & HIGH_BITS;
    word | (upper >> 2)
}

impl CommandTable {
    pub fn new() -> Self {
        let mut sorted: Vec<&'static CommandSpec> =
            all_groups().iter().flat_map(|group| group.iter()).collect();
        sorted.sort_by_key(|spec| spec.name);
        for pair in sorted.windows(2) {
            assert!(
                pair[0].name != pair[1].name,
                "command {} defined twice",
                pair[0].name
            );
        }
        let mut buckets = vec![Vec::new(); (MAX_COMMAND_NAME + 1) * FIRST_BYTE_CLASSES];
        for &spec in &sorted {
            let name = spec.name.as_bytes();
            let bucket = Self::bucket(name).expect("command names are short");
            buckets[bucket].push(Candidate {
                words: lowered_words(name),
                spec,
            });
        }
        CommandTable { sorted, buckets }
    }

    /// The bucket of a name: by length, then by the first byte's low 5
    /// bits (the same for both cases of a letter). None when too long.
    fn bucket(name: &[u8]) -> Option<usize> {
        let first = *name.first()?;
        if name.len() > MAX_COMMAND_NAME {
            return None;
        }
        Some(name.len() * FIRST_BYTE_CLASSES + usize::from(first & 0x1f))
    }

    /// The command called `name`, in any case.
    pub fn lookup(&self, name: &[u8]) -> Option<&'static CommandSpec> {
        // bucket() is None past MAX_COMMAND_NAME: the name fits the words.
        let candidates = &self.buckets[Self::bucket(name)?];
        let words = lowered_words(name);
        candidates
            .iter()
            .find(|candidate| candidate.words == words)
            .map(|candidate| candidate.spec)
    }

    pub fn len(&self) -> usize {
        self.sorted.len()
    }

    pub fn is_empty(&self) -> bool {
        self.sorted.is_empty()
    }

    /// All commands, sorted by name (for deterministic COMMAND output).
    pub fn sorted(&self) -> Vec<&'static CommandSpec> {
        self.sorted.clone()
    }
}

impl Default for CommandTable {
    fn default() -> Self {
        Self::new()
    }
}

/// A command as dispatch found it: the spec that runs and, for a
/// subcommand, its container (`client` for `CLIENT LIST`). Resolved once:
/// a command queued in MULTI keeps it for EXEC.
#[derive(Debug, Clone, Copy)]
pub struct Resolved {
    pub spec: &'static CommandSpec,
    pub parent: Option<&'static CommandSpec>,
}

impl Resolved {
    pub fn command(spec: &'static CommandSpec) -> Self {
        Resolved { spec, parent: None }
    }

    /// The full name Redis reports (`get`, `client|list`): borrowed for a
    /// command, so the common case allocates nothing.
    pub fn full_name(&self) -> Cow<'static, str> {
        match self.parent {
            None => Cow::Borrowed(self.spec.name),
            Some(parent) => Cow::Owned(format!("{}|{}", parent.name, self.spec.name)),
        }
    }

    /// Whether this is the command (not a subcommand) called `name`.
    pub fn is(&self, name: &str) -> bool {
        self.parent.is_none() && self.spec.name == name
    }
}

/// Everything a handler may touch: the server, the calling client, and the
/// other clients (the caller is taken out of `others` while it runs).
pub struct Ctx<'a> {
    pub srv: &'a mut Server,
    pub client: &'a mut Client,
    pub others: &'a mut crate::node::Clients,
}

impl Ctx<'_> {
    pub fn now(&self) -> Now {
        self.srv.now
    }

    /// The client's selected database.
    pub fn db(&mut self) -> &mut Db {
        &mut self.srv.dbs[self.client.db]
    }

    /// Looks a key up for reading: lazy expiry, keyspace hit/miss counting,
    /// and access tracking (unless the client set CLIENT NO-TOUCH).
    pub fn lookup_read(&mut self, key: &[u8]) -> Option<&mut Object> {
        let now = self.srv.now;
        let touch = !self.client.no_touch;
        let policy = crate::db::access::Policy::of(&self.srv.config);
        let db = &mut self.srv.dbs[self.client.db];
        match db.get_for_read(key, now.unix_ms) {
            Some(obj) => {
                self.srv.stats.keyspace_hits += 1;
                if touch {
                    crate::db::access::touch_with_rng(
                        obj,
                        now,
                        policy,
                        &self.srv.config,
                        &mut self.srv.rng,
                    );
                }
                Some(obj)
            }
            None => {
                self.srv.stats.keyspace_misses += 1;
                let db = self.client.db;
                crate::notify::key_missed(&mut self.srv.pubsub, &self.srv.config, db, key);
                None
            }
        }
    }

    /// Looks a key up for writing: lazy expiry and access tracking, no hit/miss counting.
    pub fn lookup_write(&mut self, key: &[u8]) -> Option<&mut Object> {
        let now = self.srv.now;
        let policy = crate::db::access::Policy::of(&self.srv.config);
        let db = &mut self.srv.dbs[self.client.db];
        let obj = db.get_mut(key, now.unix_ms)?;
        crate::db::access::touch_with_rng(obj, now, policy, &self.srv.config, &mut self.srv.rng);
        Some(obj)
    }

    /// The access field for a newly created object.
    pub fn new_access(&self) -> u32 {
        crate::db::access::initial(
            self.srv.now,
            crate::db::access::Policy::of(&self.srv.config),
            &self.srv.config,
        )
    }

    /// Records that the dataset changed (`dirty` counter, as Redis's server.dirty).
    /// A command that made the dataset dirty propagates to the AOF and
    /// replicas (see [`crate::effects`]).
    pub fn dirty(&mut self, n: u64) {
        self.srv.dirty += n;
    }

    /// A key's value changed (Redis's `signalModifiedKey`): transactions
    /// that WATCH it will fail. Called by every write, once per key it
    /// changed, only when it changed something.
    pub fn key_modified(&mut self, key: &[u8]) {
        let db = self.client.db;
        self.srv.touch_watched_key(db, key);
    }

    /// Publishes keyspace event `event` (Redis's name for it: `set`,
    /// `lpush`, `expire`, `del`, ...) of class `class`
    /// ([`crate::notify::class`]) on `key` in the client's database.
    pub fn notify(&mut self, class: u32, event: &str, key: &[u8]) {
        let db = self.client.db;
        crate::notify::keyspace_event(self.srv, self.client, self.others, class, event, key, db);
    }

    /// This command propagates as `argv` (in the client's database) instead
    /// of as it was sent: a deterministic equivalent (SPOP → SREM, relative
    /// TTL → absolute, a served blocking pop → the non-blocking pop).
    pub fn propagate_as(&mut self, argv: Vec<Bytes>) {
        self.srv.effects.rewrite(argv);
    }

    /// Adds an effect before this command's own (in the client's database).
    pub fn also_propagate(&mut self, argv: Vec<Bytes>) {
        self.srv.stage_expired();
        let db = self.client.db;
        self.srv.effects.push(db, argv);
    }

    /// This command's arguments do not propagate (its effects, if it has
    /// any, were added with [`Ctx::also_propagate`]).
    pub fn prevent_propagation(&mut self) {
        self.srv.effects.prevent();
    }
}

/// The unknown-command error, with Redis's truncation and newline scrubbing.
pub fn unknown_command(args: &[Bytes]) -> Reply {
    use crate::limits::{UNKNOWN_ARGS_ECHO_LEN, UNKNOWN_COMMAND_ECHO_LEN};
    let name = String::from_utf8_lossy(&args[0][..args[0].len().min(UNKNOWN_COMMAND_ECHO_LEN)])
        .into_owned();
    let mut echoed = String::new();
    for arg in &args[1..] {
        if echoed.len() >= UNKNOWN_ARGS_ECHO_LEN {
            break;
        }
        let room = UNKNOWN_ARGS_ECHO_LEN - echoed.len();
        let shown = String::from_utf8_lossy(&arg[..arg.len().min(room)]).into_owned();
        echoed.push_str(&format!("'{shown}' "));
    }
    scrubbed(format!(
        "ERR unknown command '{name}', with args beginning with: {echoed}"
    ))
}

/// The unknown-subcommand error for container `parent`.
pub fn unknown_subcommand(parent: &str, sub: &[u8]) -> Reply {
    let sub =
        String::from_utf8_lossy(&sub[..sub.len().min(crate::limits::UNKNOWN_COMMAND_ECHO_LEN)])
            .into_owned();
    scrubbed(format!(
        "ERR unknown subcommand '{sub}'. Try {} HELP.",
        parent.to_ascii_uppercase()
    ))
}

/// Error texts echo client input; newlines would break the protocol.
fn scrubbed(text: String) -> Reply {
    Reply::error(text.replace(['\r', '\n'], " "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_command_is_found_by_its_name_in_any_case() {
        let table = CommandTable::new();
        let names: Vec<&str> = all_groups()
            .iter()
            .flat_map(|g| g.iter())
            .map(|s| s.name)
            .collect();
        assert_eq!(table.len(), names.len());
        for name in names {
            let mixed: String = name
                .chars()
                .enumerate()
                .map(|(i, c)| {
                    if i % 2 == 0 {
                        c.to_ascii_uppercase()
                    } else {
                        c
                    }
                })
                .collect();
            for form in [name.to_string(), name.to_ascii_uppercase(), mixed] {
                let found = table.lookup(form.as_bytes()).map(|s| s.name);
                assert_eq!(found, Some(name), "{form}");
            }
        }
    }

    #[test]
    fn lowercase_word_matches_each_bytes_ascii_lowercase() {
        for lane in 0..8 {
            for byte in 0..=255u8 {
                for filler in [0u8, b'Q', b'q', 0x80, 0xc1, 0xff, b'@', b'['] {
                    let mut bytes = [filler; 8];
                    bytes[lane] = byte;
                    let expected = bytes.map(|b| b.to_ascii_lowercase());
                    let lowered = ascii_lowercase_word(u64::from_le_bytes(bytes));
                    assert_eq!(lowered.to_le_bytes(), expected, "{bytes:?}");
                }
            }
        }
    }

    #[test]
    fn lowered_words_pack_each_8_bytes_little_endian_zero_padded() {
        let name = b"Abcdefgh-IJ";
        let words = lowered_words(name);
        assert_eq!(words[0], u64::from_le_bytes(*b"abcdefgh"));
        assert_eq!(words[1], u64::from_le_bytes(*b"-ij\0\0\0\0\0"));
        assert_eq!(&words[2..], &[0, 0]);
    }

    #[test]
    fn lookup_agrees_with_a_case_insensitive_scan() {
        let table = CommandTable::new();
        let scan = |name: &[u8]| {
            table
                .sorted()
                .into_iter()
                .find(|spec| spec.name.as_bytes().eq_ignore_ascii_case(name))
                .map(|spec| spec.name)
        };
        // Both cases of every letter, the bytes a 0x20 apart from them and
        // from the names' punctuation, and non-ASCII ones.
        let mut bytes: Vec<u8> = (b'A'..=b'Z').chain(b'a'..=b'z').collect();
        bytes.extend(b"@[`{\0\r -_|\x7f");
        bytes.extend([0x80, 0xc1, 0xc5, 0xe1, 0xff]);
        for spec in table.sorted() {
            let name = spec.name.as_bytes();
            for at in 0..name.len() {
                for &byte in &bytes {
                    let mut changed = name.to_vec();
                    changed[at] = byte;
                    let found = table.lookup(&changed).map(|s| s.name);
                    assert_eq!(found, scan(&changed), "{changed:?}");
                }
            }
        }
    }

    #[test]
    fn other_names_are_unknown() {
        let table = CommandTable::new();
        let long = "g".repeat(MAX_COMMAND_NAME + 1);
        for name in ["", "se", "sett", "s3t", "gét", "get\0", "@et", "`et", &long] {
            assert!(table.lookup(name.as_bytes()).is_none(), "{name:?}");
        }
        assert!(table.lookup(&[0xff, b'e', b't']).is_none());
    }

    #[test]
    fn full_names_are_borrowed_for_commands_and_joined_for_subcommands() {
        let table = CommandTable::new();
        let get = Resolved::command(table.lookup(b"GET").expect("get"));
        assert!(matches!(get.full_name(), Cow::Borrowed("get")));
        assert!(get.is("get") && !get.is("set"));
        let client = table.lookup(b"client").expect("client");
        let list = Resolved {
            spec: client.find_subcommand(b"LIST").expect("client list"),
            parent: Some(client),
        };
        assert_eq!(list.full_name(), "client|list");
        assert!(!list.is("list"));
    }

    #[test]
    fn sorted_lists_every_command_once_by_name() {
        let table = CommandTable::new();
        let names: Vec<&str> = table.sorted().iter().map(|s| s.name).collect();
        let mut expected = names.clone();
        expected.sort_unstable();
        expected.dedup();
        assert_eq!(names, expected);
    }
}
