//! Lua scripting: one Lua 5.1 state per node (created on first use,
//! replaced by SCRIPT FLUSH), the sandbox Redis 7.0 gives scripts, the
//! script cache, and the run of one script against a [`Host`] that
//! executes the commands it calls.
//!
//! The Lua side is set up by `prelude.lua` (read-only globals and
//! libraries, Redis's `pcall`, the removed functions); the libraries are
//! Rust: `redis` ([`redis_lib`]), `cjson`, `cmsgpack`, `bit`, `struct`.
//!
//! Long-running scripts: a run is a Lua coroutine ([`ScriptRun`]) resumed
//! in slices. Every [`HOOK_PERIOD`] VM instructions a count hook
//! ([`keel_luahook`]) yields it where Lua 5.1 allows (not inside `pcall`,
//! a metamethod or a sort comparator: there it goes on to the next hook),
//! so the node can hand control back to its driver, answer other clients
//! (`-BUSY` past `busy-reply-threshold`, SCRIPT KILL) and resume it later.
//! `redis.call`, `redis.pcall` and `redis.acl_check_cmd` are permanent C
//! functions ([`keel_luahook::bridged`]) that reach the [`Host`] each
//! slice lends them ([`keel_luahook::lend`]), so a script may keep them in
//! locals across slices and a slice sets up nothing; they read their
//! arguments from the Lua stack and push the common replies directly.

mod argbuf;
mod args;
mod bit;
mod cjson;
mod cmsgpack;
pub mod convert;
pub mod functions;
mod numfmt;
mod raise;
pub mod rand48;
mod redis_lib;
pub mod running;
pub mod sha1;
mod structlib;

use crate::resp::Reply;
use bytes::Bytes;
use keel_luahook::{Answer, Arg, Bridge, Runner, Slice};
use mlua::{ChunkMode, Function, Lua, LuaOptions, StdLib, Table, Value};
use std::cell::Cell;
use std::collections::{HashMap, VecDeque};
use std::rc::Rc;

/// VM instructions between two yields of a running script (a slice).
pub const HOOK_PERIOD: u32 = 100_000;

/// The chunk name of Keel's own Lua code (skipped when locating errors).
const PRELUDE_NAME: &str = "=[keel]";
/// The chunk name of EVAL scripts, as in Redis (`@user_script:1:`).
pub const SCRIPT_CHUNK: &str = "@user_script";

/// A line written with `redis.log`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogLine {
    /// 0 debug, 1 verbose, 2 notice, 3 warning.
    pub level: u8,
    pub text: String,
}

/// What a running script has chosen, kept in the Lua state's app data so
/// the native functions reach it.
#[derive(Debug, Default)]
pub struct RunState {
    pub rand: rand48::Rand48,
    pub log: VecDeque<LogLine>,
    /// What every run and every `redis.call` reads (shared with the host
    /// side of runs, see [`RunShared`]).
    pub shared: Rc<RunShared>,
}

/// The part of a state's run data that every run and every `redis.call`
/// reads or writes: the host side of a run holds it directly (an `Rc`),
/// where the state's app data would be a lookup by type behind a lock
/// each time (several per EVALSHA). The natives reach it through
/// [`RunState::shared`].
pub struct RunShared {
    /// `redis.setresp(3)` was called.
    pub resp3: Cell<bool>,
    /// `redis.set_repl` flags (REPL_ALL by default).
    pub repl: Cell<u8>,
    /// A coroutine whose script returned, to run the next one.
    spare_thread: Cell<Option<mlua::Thread>>,
    /// The buffer of `redis.call`'s arguments, kept between slices (taken
    /// out for a slice; boxed, so taking it moves a pointer and leaves
    /// nothing to build and drop).
    call_args: Cell<Option<Box<argbuf::ArgBuffer>>>,
}

impl Default for RunShared {
    fn default() -> Self {
        RunShared {
            resp3: Cell::new(false),
            repl: Cell::new(REPL_ALL),
            spare_thread: Cell::new(None),
            call_args: Cell::new(Some(Box::default())),
        }
    }
}

impl std::fmt::Debug for RunShared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunShared")
            .field("resp3", &self.resp3.get())
            .field("repl", &self.repl.get())
            .finish_non_exhaustive()
    }
}

impl RunShared {
    /// The environment the commands a script calls now run with.
    fn call_env(&self) -> CallEnv {
        CallEnv {
            resp3: self.resp3.get(),
            repl: self.repl.get(),
        }
    }
}

/// What the commands a script calls need to know about it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CallEnv {
    /// The script's protocol (`redis.setresp`).
    pub resp3: bool,
    /// `redis.set_repl` flags: bit 0 AOF, bit 1 replicas.
    pub repl: u8,
}

/// Runs the commands a script calls.
pub trait Host {
    /// `redis.call` / `redis.pcall` with these arguments (checked to be
    /// at least one, all strings).
    fn call(&mut self, args: &[Bytes], env: CallEnv) -> Reply;
    /// Whether `args` names a command (and subcommand) that exists
    /// (`redis.acl_check_cmd`).
    fn command_exists(&self, args: &[Bytes]) -> bool;
}

/// Flags a script declares in its `#!lua flags=...` line (Redis 7.0).
pub mod script_flags {
    pub const NO_WRITES: u32 = 1 << 0;
    pub const ALLOW_OOM: u32 = 1 << 1;
    pub const ALLOW_STALE: u32 = 1 << 2;
    pub const NO_CLUSTER: u32 = 1 << 3;
    pub const ALLOW_CROSS_SLOT_KEYS: u32 = 1 << 4;
    /// No shebang: the script runs in compatibility mode (EVAL of 6.x).
    pub const EVAL_COMPAT_MODE: u32 = 1 << 5;

    pub const NAMES: &[(&str, u32)] = &[
        ("no-writes", NO_WRITES),
        ("allow-oom", ALLOW_OOM),
        ("allow-stale", ALLOW_STALE),
        ("no-cluster", NO_CLUSTER),
        ("allow-cross-slot-keys", ALLOW_CROSS_SLOT_KEYS),
    ];
}

/// A cached script.
pub struct Script {
    pub body: Bytes,
    pub flags: u32,
    func: Rc<Function>,
    /// Its sha, as error messages name it.
    name: Rc<str>,
}

/// The Lua state and what was built in it.
struct State {
    lua: Lua,
    /// Runs the slices of scripts (see [`keel_luahook::Runner`]).
    runner: Rc<Runner>,
    /// The state's [`RunShared`] (also in its [`RunState`]).
    shared: Rc<RunShared>,
    /// The real `redis` table.
    redis: Table,
    /// The read-only view of the globals scripts run in.
    env: Table,
    scripts: HashMap<String, Script>,
    /// The script prepared last, found again without hashing its sha (a
    /// client usually runs the same script again and again). Scripts
    /// leave the cache only with the whole state (SCRIPT FLUSH).
    recent: Option<Recent>,
}

/// A cached script's key and what a run of it needs.
struct Recent {
    key: CacheKey,
    func: Rc<Function>,
    name: Rc<str>,
    flags: u32,
}

impl Recent {
    fn of(key: CacheKey, script: &Script) -> Self {
        Recent {
            key,
            func: Rc::clone(&script.func),
            name: Rc::clone(&script.name),
            flags: script.flags,
        }
    }
}

/// The scripting state of a node.
#[derive(Default)]
pub struct Scripting {
    state: Option<State>,
    /// Kept across SCRIPT FLUSH, which replaces the Lua state.
    rand: rand48::Rand48,
    log: VecDeque<LogLine>,
    /// The script running now may not write (EVAL_RO, `no-writes`).
    pub read_only_run: bool,
    /// The script suspended between two slices, if any (the node resumes
    /// it; see [`running`]).
    pub running: Option<Box<running::RunningScript>>,
    /// SIGTERM came while a script ran: the node stops once it ends, as
    /// Redis, whose cron (where it acts on the signal) waits for the script.
    pub shutdown_after_script: bool,
    /// Set by the node around a client's top-level command: a script it
    /// starts may be suspended (not inside EXEC, a replicated stream or an
    /// AOF replay, which must finish at once).
    pub may_suspend: bool,
    /// FUNCTION libraries, in a Lua state of their own.
    pub functions: functions::Functions,
}

impl std::fmt::Debug for Scripting {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Scripting")
            .field(
                "scripts",
                &self.state.as_ref().map_or(0, |s| s.scripts.len()),
            )
            .finish()
    }
}

impl Scripting {
    /// SCRIPT FLUSH: forgets every script and starts a fresh Lua state
    /// (lazily, on next use). The random generator goes on where it was.
    pub fn flush(&mut self) {
        if let Some(state) = self.state.take() {
            if let Some(run) = state.lua.remove_app_data::<RunState>() {
                self.rand = run.rand;
                self.log.extend(run.log);
            }
        }
    }

    /// The number of cached scripts (INFO number_of_cached_scripts).
    pub fn script_count(&self) -> usize {
        self.state.as_ref().map_or(0, |s| s.scripts.len())
    }

    /// Bytes of the cached scripts' bodies (INFO used_memory_scripts).
    pub fn scripts_bytes(&self) -> usize {
        self.state
            .as_ref()
            .map_or(0, |s| s.scripts.values().map(|x| x.body.len()).sum())
    }

    /// Memory the Lua state uses (INFO used_memory_lua).
    pub fn lua_memory(&self) -> usize {
        self.state.as_ref().map_or(0, |s| s.lua.used_memory())
    }

    pub fn exists(&self, sha: &[u8]) -> bool {
        self.script(sha).is_some()
    }

    /// The cached script of sha `sha` (in lower or upper case).
    fn script(&self, sha: &[u8]) -> Option<&Script> {
        let key = CacheKey::of(sha)?;
        self.state.as_ref()?.scripts.get(key.as_str())
    }

    /// The lines scripts wrote with `redis.log`, oldest first.
    pub fn drain_log(&mut self) -> Vec<LogLine> {
        let mut out: Vec<LogLine> = self.log.drain(..).collect();
        if let Some(state) = &self.state {
            if let Some(mut run) = state.lua.app_data_mut::<RunState>() {
                out.extend(run.log.drain(..));
            }
        }
        out
    }

    fn state(&mut self) -> Result<&mut State, Reply> {
        if self.state.is_none() {
            let rand = std::mem::take(&mut self.rand);
            let state = new_state(rand)
                .map_err(|e| Reply::error(format!("ERR Error creating the Lua state: {e}")))?;
            self.state = Some(state);
        }
        Ok(self.state.as_mut().expect("just created"))
    }

    /// Compiles and caches an EVAL script (SCRIPT LOAD, EVAL): its sha.
    pub fn load(&mut self, body: &[u8]) -> Result<String, Reply> {
        let sha = sha1::sha1_hex(body);
        let state = self.state()?;
        if state.scripts.contains_key(&sha) {
            return Ok(sha);
        }
        let (flags, code) = parse_shebang(body)?;
        let func = state
            .lua
            .load(&code[..])
            .set_name(SCRIPT_CHUNK)
            .set_mode(ChunkMode::Text)
            .set_environment(state.env.clone())
            .into_function()
            .map_err(compile_error)?;
        let script = Script {
            body: Bytes::copy_from_slice(body),
            flags,
            func: Rc::new(func),
            name: Rc::from(sha.as_str()),
        };
        state.scripts.insert(sha.clone(), script);
        Ok(sha)
    }

    /// Readies cached script `sha` (lower or upper case) to run: the
    /// handles the run needs, so the caller may lend the server to the
    /// [`Host`] meanwhile, and the script's flags. `None`: no such script.
    pub fn prepare(&mut self, sha: &[u8]) -> Option<(PreparedRun, u32)> {
        let key = CacheKey::of(sha)?;
        let state = self.state.as_mut()?;
        if state.recent.as_ref().is_none_or(|r| r.key != key) {
            let script = state.scripts.get(key.as_str())?;
            state.recent = Some(Recent::of(key, script));
        }
        let script = state.recent.as_ref()?;
        let run = PreparedRun {
            lua: state.lua.clone(),
            runner: Rc::clone(&state.runner),
            shared: Rc::clone(&state.shared),
            func: Rc::clone(&script.func),
            name: Rc::clone(&script.name),
            takes_args: false,
        };
        Some((run, script.flags))
    }
}

/// A sha as the cache keys it, lower case, in a buffer of its own (no
/// allocation per EVALSHA).
#[derive(PartialEq, Eq)]
struct CacheKey([u8; 40]);

impl CacheKey {
    /// `None` for anything but 40 ASCII characters (no cached sha).
    fn of(sha: &[u8]) -> Option<Self> {
        let mut key = [0u8; 40];
        if sha.len() != key.len() || !sha.is_ascii() {
            return None;
        }
        for (k, b) in key.iter_mut().zip(sha) {
            *k = b.to_ascii_lowercase();
        }
        Some(CacheKey(key))
    }

    fn as_str(&self) -> &str {
        // ASCII only (checked in `of`): always valid UTF-8.
        std::str::from_utf8(&self.0).unwrap_or_default()
    }
}

/// What a script run needs, cloned out of the state (Lua handles are
/// reference-counted) so the host may borrow the server meanwhile.
pub struct PreparedRun {
    lua: Lua,
    runner: Rc<Runner>,
    shared: Rc<RunShared>,
    func: Rc<Function>,
    /// What error messages call the script (its sha, or a function's name).
    name: Rc<str>,
    /// A function takes its keys and arguments as its two arguments; an
    /// EVAL script reads them from the globals KEYS and ARGV.
    takes_args: bool,
}

impl PreparedRun {
    /// The run, on a coroutine (the spare one, or a new one), not started:
    /// [`ScriptRun::first_slice`] starts it with its keys and arguments.
    pub fn start(self) -> Result<ScriptRun, Reply> {
        self.shared.resp3.set(false);
        self.shared.repl.set(REPL_ALL);
        let thread = match self.shared.spare_thread.take() {
            Some(thread) => thread,
            None => keel_luahook::new_thread(&self.lua)
                .map_err(|e| Reply::error(format!("ERR Error running script: {e}")))?,
        };
        Ok(ScriptRun {
            lua: self.lua,
            runner: self.runner,
            shared: self.shared,
            thread: Some(thread),
            pending: Some(Pending {
                func: self.func,
                takes_args: self.takes_args,
            }),
            name: self.name,
            at: None,
        })
    }
}

/// What a run not started yet starts with.
struct Pending {
    func: Rc<Function>,
    takes_args: bool,
}

/// How a slice of a run ended.
#[derive(Debug)]
pub enum Step {
    /// Suspended: resume it to go on.
    Yielded,
    /// Finished, with the script's reply (or error).
    Done(Reply),
}

/// A started script or function: a coroutine resumed slice by slice.
pub struct ScriptRun {
    lua: Lua,
    runner: Rc<Runner>,
    shared: Rc<RunShared>,
    /// Its coroutine (given back to the state's spare once its
    /// script returned).
    thread: Option<mlua::Thread>,
    /// The function to start `thread` with, until the first slice.
    pending: Option<Pending>,
    name: Rc<str>,
    /// Where the last slice stopped the script.
    at: Option<keel_luahook::Location>,
}

impl std::fmt::Debug for ScriptRun {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScriptRun")
            .field("name", &self.name)
            .finish()
    }
}

impl ScriptRun {
    /// The script's sha, or the function's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Starts the run with `keys` and `argv` and runs its first slice
    /// (about [`HOOK_PERIOD`] VM instructions, more when the script cannot
    /// yield), calling commands through `host`.
    pub fn first_slice(&mut self, host: &mut dyn Host, keys: &[Bytes], argv: &[Bytes]) -> Step {
        self.slice(host, keys, argv)
    }

    /// Runs the next slice, calling commands through `host`.
    pub fn resume(&mut self, host: &mut dyn Host) -> Step {
        self.slice(host, &[], &[])
    }

    /// A slice: the first one (with `keys` and `argv`) or the next one.
    fn slice(&mut self, host: &mut dyn Host, keys: &[Bytes], argv: &[Bytes]) -> Step {
        let pending = self.pending.take();
        let (lua, runner) = (&self.lua, &*self.runner);
        let Some(thread) = self.thread.as_mut() else {
            return Step::Done(Reply::err("ERR Error running script: the run has ended"));
        };
        let mut bridge = HostBridge {
            lua,
            host,
            reply: Reply::NoReply,
            text: String::new(),
            args: self.shared.call_args.take().unwrap_or_default(),
            shared: &self.shared,
        };
        let slice = keel_luahook::lend(&mut bridge, || match &pending {
            Some(pending) => start_slice(lua, runner, thread, pending, keys, argv),
            None => runner.resume(thread, HOOK_PERIOD, PRELUDE_NAME),
        });
        self.shared.call_args.set(Some(bridge.args));
        let resp3 = self.shared.resp3.get();
        let reply = match slice {
            Ok(Slice::Yielded { at }) => {
                self.at = at;
                return Step::Yielded;
            }
            Ok(Slice::Returned(value)) => {
                self.spare_coroutine();
                convert::lua_to_reply(&value, resp3)
            }
            Ok(Slice::ReturnedBytes(bytes)) => {
                self.spare_coroutine();
                Reply::Bulk(Bytes::from(bytes))
            }
            Ok(Slice::Failed { error, location }) => {
                let text = error_text(error);
                located_error(&text, &self.name, location.as_ref())
            }
            Ok(Slice::ScriptYield { location }) => located_error(
                "ERR attempt to yield across metamethod/C-call boundary",
                &self.name,
                location.as_ref(),
            ),
            Err(e) => Reply::error(
                format!("ERR Error running script: {}", raise::root_message(&e))
                    .replace(['\r', '\n'], " "),
            ),
        };
        Step::Done(reply)
    }

    /// Keeps the coroutine, whose script returned, for the next run.
    fn spare_coroutine(&mut self) {
        let spare = self.shared.spare_thread.take();
        self.shared
            .spare_thread
            .set(spare.or_else(|| self.thread.take()));
    }

    /// The error its caller gets when the run is killed (SCRIPT KILL,
    /// FUNCTION KILL) where it stands.
    pub fn killed_reply(&self) -> Reply {
        located_error(
            "ERR Script killed by user with SCRIPT KILL...",
            &self.name,
            self.at.as_ref(),
        )
    }
}

const REPL_ALL: u8 = 3;

/// Starts `thread` with the pending function and runs its first slice:
/// KEYS and ARGV set for a script, passed as arguments to a function. A
/// new coroutine replaces `thread` if it cannot be restarted.
fn start_slice(
    lua: &Lua,
    runner: &Runner,
    thread: &mut mlua::Thread,
    pending: &Pending,
    keys: &[Bytes],
    argv: &[Bytes],
) -> mlua::Result<Slice> {
    let (args, globals) = ([keys, argv], [("KEYS", keys), ("ARGV", argv)]);
    let run = if pending.takes_args {
        keel_luahook::Start {
            args: &args,
            globals: &[],
            reuse_globals: false,
        }
    } else {
        // KEYS and ARGV of the last run are refilled: no script can keep
        // them past its run (the globals and libraries are read-only).
        keel_luahook::Start {
            args: &[],
            globals: &globals,
            reuse_globals: true,
        }
    };
    let start = |thread: &mlua::Thread| {
        runner.start(thread, &pending.func, &run, HOOK_PERIOD, PRELUDE_NAME)
    };
    if let Some(slice) = start(thread)? {
        return Ok(slice);
    }
    *thread = keel_luahook::new_thread(lua)?;
    start(thread)?.ok_or_else(|| mlua::Error::runtime("a new coroutine is not idle"))
}

/// `<err> script: <name>, on <source>:<line>.`
fn located_error(text: &str, name: &str, at: Option<&keel_luahook::Location>) -> Reply {
    let message = match at {
        Some(at) => format!("{text} script: {name}, on {}:{}.", at.source, at.line),
        None => format!("{text} script: {name}"),
    };
    Reply::error(message.replace(['\r', '\n'], " "))
}

/// The text of what a script raised, as Redis's error handler makes it: an
/// `{err=...}` table's `err`, a string with the `ERR` code.
fn error_text(err: Value) -> String {
    match err {
        Value::Table(t) => match t.raw_get::<Value>("err") {
            Ok(Value::String(s)) => s.to_string_lossy(),
            _ => "ERR Error object is not a string or an error table".into(),
        },
        Value::Error(e) if matches!(raise::find(&e), Some(raise::Raise::Table(_))) => {
            raise::root_message(&e)
        }
        other => format!("ERR {}", redis_lib::describe(&other)),
    }
}

const CALL: i64 = 1;
const PCALL: i64 = 2;
const ACL_CHECK: i64 = 3;

/// The host a slice lends to the bridged functions.
struct HostBridge<'h> {
    lua: &'h Lua,
    host: &'h mut dyn Host,
    /// The last command's reply (an answer borrows it).
    reply: Reply,
    /// The last error text (an answer borrows it).
    text: String,
    /// The last command's arguments (the buffer is reused for the next).
    args: Box<argbuf::ArgBuffer>,
    /// The run's protocol and replication flags.
    shared: &'h RunShared,
}

impl Bridge for HostBridge<'_> {
    /// `redis.call` (tag 1), `redis.pcall` (2) and `redis.acl_check_cmd` (3).
    fn call(&mut self, tag: i64, args: &[Arg<'_>]) -> Answer<'_> {
        match tag {
            CALL => self.command(args, true),
            PCALL => self.command(args, false),
            _ => self.acl_check(args),
        }
    }
}

impl HostBridge<'_> {
    /// `redis.call` (`raise`: an error reply is raised as an `{err=...}`
    /// table) and `redis.pcall` (it is returned as one).
    fn command(&mut self, args: &[Arg<'_>], raise: bool) -> Answer<'_> {
        if let Err(message) = self.args.fill(args) {
            return if raise {
                Answer::Raise("err", message.as_bytes())
            } else {
                Answer::Field("err", message.as_bytes())
            };
        }
        let env = self.shared.call_env();
        self.reply = self.host.call(self.args.argv(), env);
        self.answer(raise, env.resp3)
    }

    /// The last reply as Lua sees it (see [`convert::reply_to_lua`]; the
    /// common shapes are pushed directly).
    fn answer(&mut self, raise: bool, resp3: bool) -> Answer<'_> {
        if let Reply::Error(text) = &self.reply {
            self.text = convert::normalize_error(text);
            let text = self.text.as_bytes();
            return if raise {
                Answer::Raise("err", text)
            } else {
                Answer::Field("err", text)
            };
        }
        match &self.reply {
            Reply::Int(n) => Answer::Number(*n as f64),
            Reply::Bulk(b) => Answer::Str(b),
            Reply::Status(s) => Answer::Field("ok", s.as_bytes()),
            Reply::Null | Reply::NullArray | Reply::NoReply if resp3 => Answer::Nil,
            Reply::Null | Reply::NullArray | Reply::NoReply => Answer::Boolean(false),
            other => match convert::reply_to_lua(self.lua, other, resp3) {
                Ok(value) => Answer::Value(self.lua, value),
                Err(e) => {
                    self.text = format!("ERR {}", raise::root_message(&e));
                    Answer::RaiseMessage(&self.text)
                }
            },
        }
    }

    /// `redis.acl_check_cmd`: every user may run every command (no ACLs
    /// yet), so true for any existing command.
    fn acl_check(&mut self, args: &[Arg<'_>]) -> Answer<'_> {
        let found = self.args.fill(args).and_then(|()| {
            self.host
                .command_exists(self.args.argv())
                .then_some(())
                .ok_or("ERR Invalid command passed to redis.acl_check_cmd()")
        });
        match found {
            Ok(()) => Answer::Boolean(true),
            Err(message) => Answer::Raise("err", message.as_bytes()),
        }
    }
}

/// Splits a `#!lua flags=a,b` first line from `body`: the flags and the
/// code to compile (the shebang commented out, so line numbers stay).
pub fn parse_shebang(body: &[u8]) -> Result<(u32, Vec<u8>), Reply> {
    if !body.starts_with(b"#!") {
        return Ok((script_flags::EVAL_COMPAT_MODE, body.to_vec()));
    }
    let Some(end) = body.iter().position(|&b| b == b'\n') else {
        return Err(Reply::err("ERR Invalid script shebang"));
    };
    let line = String::from_utf8_lossy(&body[..end]).into_owned();
    let mut words = line.split(' ').filter(|w| !w.is_empty());
    let engine = words.next().unwrap_or("#!");
    if engine != "#!lua" {
        return Err(Reply::error(format!(
            "ERR Unexpected engine in script shebang: {engine}"
        )));
    }
    let mut flags = 0;
    for option in words {
        let Some(list) = option.strip_prefix("flags=") else {
            return Err(Reply::error(format!(
                "ERR Unknown lua shebang option: {option}"
            )));
        };
        for flag in list.split(',').filter(|f| !f.is_empty()) {
            match script_flags::NAMES.iter().find(|(n, _)| *n == flag) {
                Some((_, bit)) => flags |= bit,
                None => {
                    return Err(Reply::error(format!(
                        "ERR Unexpected flag in script shebang: {flag}"
                    )))
                }
            }
        }
    }
    let mut code = b"--".to_vec();
    code.extend_from_slice(body);
    Ok((flags, code))
}

fn compile_error(e: mlua::Error) -> Reply {
    let message = match &e {
        mlua::Error::SyntaxError { message, .. } => message.clone(),
        other => raise::root_message(other),
    };
    Reply::error(
        format!("ERR Error compiling script (new function): {message}").replace(['\r', '\n'], " "),
    )
}

/// `7.0.15` → 0x07000f, as `redis.REDIS_VERSION_NUM`.
fn version_num(version: &str) -> i64 {
    version
        .split('.')
        .take(3)
        .fold(0, |acc, part| (acc << 8) | part.parse::<i64>().unwrap_or(0))
}

/// A new Lua state with the libraries and the sandbox.
fn new_state(rand: rand48::Rand48) -> mlua::Result<State> {
    let libs = StdLib::TABLE | StdLib::STRING | StdLib::MATH; // base (with coroutine) always
    let lua = Lua::new_with(libs, LuaOptions::default())?;
    let shared = Rc::new(RunShared::default());
    lua.set_app_data(RunState {
        rand,
        log: VecDeque::new(),
        shared: Rc::clone(&shared),
    });
    let globals = lua.globals();
    let native = lua.create_table()?;
    native.raw_set("version", crate::cmd::connection::REDIS_VERSION)?;
    native.raw_set(
        "version_num",
        version_num(crate::cmd::connection::REDIS_VERSION),
    )?;
    native.raw_set("error_text", lua.create_function(raise::error_text)?)?;
    native.raw_set("error_object", lua.create_function(raise::error_object)?)?;
    let redis_native = redis_lib::redis_functions(&lua)?;
    for (name, tag) in [
        ("call", CALL),
        ("pcall", PCALL),
        ("acl_check_cmd", ACL_CHECK),
    ] {
        redis_native.raw_set(name, keel_luahook::bridged(&lua, tag)?)?;
    }
    native.raw_set("redis", redis_native)?;
    native.raw_set("math", redis_lib::math_functions(&lua)?)?;
    let libs = lua.create_table()?;
    libs.raw_set("bit", bit::library(&lua)?)?;
    libs.raw_set("struct", structlib::library(&lua)?)?;
    libs.raw_set("cjson", cjson::library(&lua)?)?;
    libs.raw_set("cmsgpack", cmsgpack::library(&lua)?)?;
    native.raw_set("libs", libs)?;
    let (env, redis): (Table, Table) = lua
        .load(include_str!("prelude.lua"))
        .set_name(PRELUDE_NAME)
        .call(native)?;
    // Redis has its message handler as a global of this name; scripts can
    // see it (Keel's runs locate errors from the coroutine's stack).
    let handler = lua.create_function(error_handler)?;
    globals.raw_set("__redis__err__handler", handler)?;
    Ok(State {
        runner: Rc::new(Runner::new(&lua)?),
        shared,
        lua,
        redis,
        env,
        scripts: HashMap::new(),
        recent: None,
    })
}

/// Redis's message handler, `__redis__err__handler` (a global scripts can
/// call; Keel's runs locate errors from the coroutine's stack instead):
/// makes the error an `{err=...}` table (a string error gets the code
/// `ERR`) and records where it happened: the innermost frame of script
/// code, skipping C functions and Keel's prelude.
fn error_handler(lua: &Lua, err: Value) -> mlua::Result<Table> {
    let table = match err {
        Value::Table(t) if matches!(t.raw_get::<Value>("err")?, Value::String(_)) => t,
        Value::Table(_) => {
            convert::error_table(lua, "ERR Error object is not a string or an error table")?
        }
        Value::Error(e) if matches!(raise::find(&e), Some(raise::Raise::Table(_))) => {
            let t = lua.create_table()?;
            t.raw_set("err", raise::root_message(&e))?;
            t
        }
        other => {
            let t = lua.create_table()?;
            t.raw_set(
                "err",
                lua.create_string(format!("ERR {}", redis_lib::describe(&other)))?,
            )?;
            t
        }
    };
    if let Some((source, line)) = error_location(lua) {
        table.raw_set("source", lua.create_string(source)?)?;
        table.raw_set("line", line)?;
    }
    Ok(table)
}

fn error_location(lua: &Lua) -> Option<(String, i64)> {
    for level in 1..64 {
        let debug = lua.inspect_stack(level)?;
        let source = debug.source();
        if source.what == "C" || source.what == "tail" {
            continue;
        }
        let name = source.source.as_deref().unwrap_or("?");
        if name == PRELUDE_NAME {
            continue;
        }
        return Some((name.to_string(), i64::from(debug.curr_line())));
    }
    None
}

#[cfg(test)]
mod tests;
