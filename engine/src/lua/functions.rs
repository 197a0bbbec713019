//! Redis 7.0 functions: libraries of named Lua functions, loaded with
//! FUNCTION LOAD and called with FCALL.
//!
//! Functions live in a Lua state of their own (as in Redis, separate from
//! EVAL's), built like EVAL's (same sandbox and libraries) plus
//! `functions_prelude.lua`'s library environment. Loading a library runs
//! its code once with only the load-time API visible (`redis.register_function`,
//! `redis.log`, the log levels and the version); the functions it
//! registers are kept as Lua closures and later run like EVAL scripts, with
//! KEYS and ARGV as their two arguments.
//!
//! The registry ([`Registry`]) is plain data over those closures: FUNCTION
//! RESTORE builds a new registry from a payload and joins it to the current
//! one under its policy, all or nothing.

use super::{
    args, error_text, new_state, raise, script_flags, PreparedRun, RunState, State, HOOK_PERIOD,
    PRELUDE_NAME,
};
use crate::resp::Reply;
use bytes::Bytes;
use keel_luahook::Slice;
use mlua::{ChunkMode, Function, Lua, MultiValue, Table, Value};
use std::collections::{BTreeMap, HashMap};

/// The chunk name of library code, as in Redis (`@user_function:2:`).
pub const LIBRARY_CHUNK: &str = "@user_function";

/// VM instructions a library's load-time code may run. Redis stops a
/// library whose loading runs past 500 ms of wall time; the core has no
/// wall clock, so the bound is in instructions (about 500 ms of a tight
/// Lua loop on a current core).
pub const LOAD_INSTRUCTION_BUDGET: u64 = 200_000_000;

/// The one engine Redis 7.0 has, as FUNCTION LIST and STATS name it.
pub const ENGINE_NAME: &str = "LUA";

const NAME_RULES: &str = "ERR Library names can only contain letters, numbers, or underscores(_) and must be at least one character long";

/// One registered function.
#[derive(Clone)]
pub struct FunctionDef {
    pub name: String,
    pub description: Option<Bytes>,
    /// [`script_flags`] bits.
    pub flags: u32,
    callback: Function,
}

/// A library: its code and the functions it registered.
#[derive(Clone)]
pub struct Library {
    pub name: String,
    pub code: Bytes,
    /// By name (case-sensitive within a library, as Redis).
    pub functions: BTreeMap<String, FunctionDef>,
}

/// Libraries by name, and which library holds each function (function
/// names are unique across libraries, case-insensitively).
#[derive(Clone, Default)]
pub struct Registry {
    libraries: BTreeMap<String, Library>,
    /// Lower-cased function name → library name.
    index: HashMap<String, String>,
}

/// What FUNCTION RESTORE does with the libraries that exist.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RestorePolicy {
    Flush,
    Append,
    Replace,
}

impl Registry {
    pub fn libraries(&self) -> impl Iterator<Item = &Library> {
        self.libraries.values()
    }

    pub fn library_count(&self) -> usize {
        self.libraries.len()
    }

    pub fn function_count(&self) -> usize {
        self.libraries.values().map(|l| l.functions.len()).sum()
    }

    pub fn contains(&self, library: &str) -> bool {
        self.libraries.contains_key(library)
    }

    /// The function named `name` (case-insensitively).
    pub fn function(&self, name: &str) -> Option<&FunctionDef> {
        let lower = name.to_ascii_lowercase();
        let library = self.libraries.get(self.index.get(&lower)?)?;
        library
            .functions
            .values()
            .find(|f| f.name.eq_ignore_ascii_case(name))
    }

    /// Adds `lib`; with `replace`, a library of the same name goes first.
    /// A function name another library has refuses the whole library.
    pub fn add(&mut self, lib: Library, replace: bool) -> Result<(), Reply> {
        if self.libraries.contains_key(&lib.name) && !replace {
            return Err(Reply::error(format!(
                "ERR Library '{}' already exists",
                lib.name
            )));
        }
        for name in lib.functions.keys() {
            match self.index.get(&name.to_ascii_lowercase()) {
                Some(owner) if *owner != lib.name => {
                    return Err(Reply::error(format!("ERR Function {name} already exists")))
                }
                _ => {}
            }
        }
        self.remove(&lib.name);
        for name in lib.functions.keys() {
            self.index
                .entry(name.to_ascii_lowercase())
                .or_insert_with(|| lib.name.clone());
        }
        self.libraries.insert(lib.name.clone(), lib);
        Ok(())
    }

    /// Removes a library and its functions; whether it existed.
    pub fn remove(&mut self, library: &str) -> bool {
        let Some(lib) = self.libraries.remove(library) else {
            return false;
        };
        for name in lib.functions.keys() {
            let lower = name.to_ascii_lowercase();
            if self.index.get(&lower) == Some(&lib.name) {
                self.index.remove(&lower);
            }
        }
        true
    }

    /// FUNCTION RESTORE's join of `incoming` (all or nothing): with
    /// Append a library name that exists is an error, with Replace the
    /// existing library goes; a function name held by a library that
    /// stays is an error either way.
    pub fn join(&mut self, incoming: Registry, policy: RestorePolicy) -> Result<(), Reply> {
        if policy == RestorePolicy::Flush {
            *self = incoming;
            return Ok(());
        }
        let mut joined = self.clone();
        for lib in incoming.libraries.into_values() {
            if joined.contains(&lib.name) && policy == RestorePolicy::Append {
                return Err(Reply::error(format!(
                    "ERR Library {} already exists",
                    lib.name
                )));
            }
            joined.add(lib, true)?;
        }
        *self = joined;
        Ok(())
    }

    /// Bytes the libraries take (INFO used_memory_functions): code and names.
    pub fn memory(&self) -> usize {
        self.libraries
            .values()
            .map(|l| {
                let functions: usize = l
                    .functions
                    .values()
                    .map(|f| f.name.len() + f.description.as_ref().map_or(0, |d| d.len()))
                    .sum();
                l.name.len() + l.code.len() + functions
            })
            .sum()
    }
}

/// A library's first line, `#!<engine> name=<name>`, split from its code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Metadata {
    pub engine: String,
    pub name: String,
}

/// Reads the shebang line as Redis 7.0 does; the errors are Redis's.
pub fn parse_metadata(code: &[u8]) -> Result<Metadata, Reply> {
    if !code.starts_with(b"#!") {
        return Err(Reply::err("ERR Missing library metadata"));
    }
    let Some(end) = code.iter().position(|&b| b == b'\n') else {
        return Err(Reply::err("ERR Invalid library metadata"));
    };
    let line = String::from_utf8_lossy(&code[2..end]).into_owned();
    let mut parts = line.split_ascii_whitespace();
    let engine = parts.next().unwrap_or("").to_string();
    let mut name = None;
    for part in parts {
        let is_name = part.len() >= 5 && part[..5].eq_ignore_ascii_case("name=");
        if !is_name {
            return Err(Reply::error(format!(
                "ERR Invalid metadata value given: {part}"
            )));
        }
        if name.is_some() {
            return Err(Reply::err(
                "ERR Invalid metadata value, name argument was given multiple times",
            ));
        }
        name = Some(part[5..].to_string());
    }
    let Some(name) = name else {
        return Err(Reply::err("ERR Library name was not given"));
    };
    if !engine.eq_ignore_ascii_case("lua") {
        return Err(Reply::error(format!("ERR Engine '{engine}' not found")));
    }
    if !valid_name(name.as_bytes()) {
        return Err(Reply::err(NAME_RULES));
    }
    Ok(Metadata { engine, name })
}

/// Library and function names: letters, digits and underscores, not empty.
fn valid_name(name: &[u8]) -> bool {
    !name.is_empty() && name.iter().all(|&b| b.is_ascii_alphanumeric() || b == b'_')
}

/// The functions' Lua state and what was built in it.
struct FnState {
    base: State,
    lib_meta: Table,
    lib_env: Table,
    load_api: Table,
}

/// What `redis.register_function` collects while a library loads (in the
/// Lua state's app data; absent outside FUNCTION LOAD).
#[derive(Default)]
struct LoadCtx {
    functions: BTreeMap<String, FunctionDef>,
}

/// The functions of a node: the registry and the Lua state behind it.
#[derive(Default)]
pub struct Functions {
    state: Option<FnState>,
    pub registry: Registry,
    rand: super::rand48::Rand48,
}

impl std::fmt::Debug for Functions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Functions")
            .field("libraries", &self.registry.library_count())
            .finish()
    }
}

impl Functions {
    /// Memory of the functions' Lua state (INFO used_memory_vm_functions).
    pub fn vm_memory(&self) -> usize {
        self.state.as_ref().map_or(0, |s| s.base.lua.used_memory())
    }

    /// Compiles library `code` and runs its load-time code: the library,
    /// not yet added to the registry.
    pub fn compile(&mut self, code: &[u8]) -> Result<Library, Reply> {
        let meta = parse_metadata(code)?;
        let state = self.state()?;
        let body = library_body(code);
        let chunk = state
            .base
            .lua
            .load(body)
            .set_name(LIBRARY_CHUNK)
            .set_mode(ChunkMode::Text)
            .set_environment(state.lib_env.clone())
            .into_function()
            .map_err(compile_error)?;
        let functions = run_load(state, chunk)?;
        if functions.is_empty() {
            return Err(Reply::err("ERR No functions registered"));
        }
        Ok(Library {
            name: meta.name,
            code: Bytes::copy_from_slice(code),
            functions,
        })
    }

    /// FUNCTION LOAD: compiles and adds a library; its name.
    pub fn load(&mut self, code: &[u8], replace: bool) -> Result<String, Reply> {
        let meta = parse_metadata(code)?;
        if self.registry.contains(&meta.name) && !replace {
            return Err(Reply::error(format!(
                "ERR Library '{}' already exists",
                meta.name
            )));
        }
        let lib = self.compile(code)?;
        let name = lib.name.clone();
        self.registry.add(lib, replace)?;
        Ok(name)
    }

    /// Compiles every library of a FUNCTION RESTORE payload into a new
    /// registry (names must not repeat within it).
    pub fn compile_all(&mut self, codes: &[Vec<u8>]) -> Result<Registry, Reply> {
        let mut registry = Registry::default();
        for code in codes {
            let lib = self.compile(code)?;
            registry.add(lib, false)?;
        }
        Ok(registry)
    }

    /// FUNCTION FLUSH: no libraries, and a fresh Lua state on next use.
    pub fn flush(&mut self) {
        self.registry = Registry::default();
        if let Some(state) = self.state.take() {
            if let Some(run) = state.base.lua.remove_app_data::<RunState>() {
                self.rand = run.rand;
            }
        }
    }

    /// Readies function `name` to run: the prepared run and its flags.
    pub fn prepare(&mut self, name: &str) -> Result<(PreparedRun, u32), Reply> {
        let Some(def) = self.registry.function(name).cloned() else {
            return Err(Reply::err("ERR Function not found"));
        };
        let state = self.state()?;
        let base = &state.base;
        let run = PreparedRun {
            lua: base.lua.clone(),
            runner: std::rc::Rc::clone(&base.runner),
            shared: std::rc::Rc::clone(&base.shared),
            func: std::rc::Rc::new(def.callback.clone()),
            name: std::rc::Rc::from(def.name.as_str()),
            takes_args: true,
        };
        Ok((run, def.flags))
    }

    /// The lines functions wrote with `redis.log`, oldest first.
    pub fn drain_log(&mut self) -> Vec<super::LogLine> {
        let Some(state) = &self.state else {
            return Vec::new();
        };
        let Some(mut run) = state.base.lua.app_data_mut::<RunState>() else {
            return Vec::new();
        };
        run.log.drain(..).collect()
    }

    fn state(&mut self) -> Result<&mut FnState, Reply> {
        if self.state.is_none() {
            let rand = std::mem::take(&mut self.rand);
            let state = new_fn_state(rand)
                .map_err(|e| Reply::error(format!("ERR Error creating the Lua state: {e}")))?;
            self.state = Some(state);
        }
        Ok(self.state.as_mut().expect("just created"))
    }
}

/// The code Lua compiles: the shebang line blanked (a comment), so line
/// numbers are the library's own.
fn library_body(code: &[u8]) -> Vec<u8> {
    let mut body = b"--".to_vec();
    body.extend_from_slice(code);
    body
}

fn compile_error(e: mlua::Error) -> Reply {
    let message = match &e {
        mlua::Error::SyntaxError { message, .. } => message.clone(),
        other => raise::root_message(other),
    };
    Reply::error(format!("ERR Error compiling function: {message}").replace(['\r', '\n'], " "))
}

/// Runs a library's load-time code with the load API visible: the
/// functions it registered.
fn run_load(state: &FnState, chunk: Function) -> Result<BTreeMap<String, FunctionDef>, Reply> {
    let lua = &state.base.lua;
    let set_api = |api: Value| state.lib_meta.raw_set("__index", api);
    let started = set_api(Value::Table(state.load_api.clone()));
    lua.set_app_data(LoadCtx::default());
    let outcome = started.and_then(|()| run_bounded(lua, chunk));
    let collected = lua.remove_app_data::<LoadCtx>().unwrap_or_default();
    let restored = set_api(Value::Table(state.base.env.clone()));
    let outcome = outcome.and_then(|v| restored.map(|()| v));
    match outcome {
        Ok(Ok(())) => Ok(collected.functions),
        Ok(Err(message)) => Err(registering_error(&message)),
        Err(e) => Err(registering_error(&raise::root_message(&e))),
    }
}

/// Runs load-time code as a coroutine, slice after slice, for at most
/// [`LOAD_INSTRUCTION_BUDGET`] instructions (Redis's FUNCTION LOAD
/// timeout); the load API has no `pcall` nor any C function that calls
/// back, so the code can always be stopped. `Ok(Err(text))`: it failed.
fn run_bounded(lua: &Lua, chunk: Function) -> mlua::Result<Result<(), String>> {
    let thread = lua.create_thread(chunk)?;
    let mut spent = 0u64;
    loop {
        match keel_luahook::resume(lua, &thread, HOOK_PERIOD, PRELUDE_NAME)? {
            Slice::Returned(_) | Slice::ReturnedBytes(_) => return Ok(Ok(())),
            Slice::Yielded { .. } => {
                spent = spent.saturating_add(u64::from(HOOK_PERIOD));
                if spent >= LOAD_INSTRUCTION_BUDGET {
                    return Ok(Err("ERR FUNCTION LOAD timeout".into()));
                }
            }
            Slice::Failed { error, .. } => return Ok(Err(error_text(error))),
            Slice::ScriptYield { .. } => {
                return Ok(Err(
                    "ERR attempt to yield across metamethod/C-call boundary".into(),
                ))
            }
        }
    }
}

fn registering_error(message: &str) -> Reply {
    Reply::error(format!("ERR Error registering functions: {message}").replace(['\r', '\n'], " "))
}

/// The functions' Lua state: EVAL's sandbox, plus the library environment.
fn new_fn_state(rand: super::rand48::Rand48) -> mlua::Result<FnState> {
    let base = new_state(rand)?;
    let lua = &base.lua;
    let load_redis = lua.create_table()?;
    load_redis.raw_set("register_function", lua.create_function(register_function)?)?;
    for name in [
        "log",
        "LOG_DEBUG",
        "LOG_VERBOSE",
        "LOG_NOTICE",
        "LOG_WARNING",
        "REDIS_VERSION",
        "REDIS_VERSION_NUM",
    ] {
        load_redis.raw_set(name, base.redis.raw_get::<Value>(name)?)?;
    }
    let (lib_env, lib_meta, load_api): (Table, Table, Table) = lua
        .load(include_str!("functions_prelude.lua"))
        .set_name(PRELUDE_NAME)
        .call((base.env.clone(), load_redis))?;
    Ok(FnState {
        base,
        lib_meta,
        lib_env,
        load_api,
    })
}

/// `redis.register_function(name, callback)` or
/// `redis.register_function{function_name=..., callback=..., flags=..., description=...}`.
fn register_function(lua: &Lua, args: MultiValue) -> mlua::Result<()> {
    let def = match args.len() {
        1 => match args.front() {
            Some(Value::Table(t)) => named_arguments(t)?,
            _ => return Err(raise::table(
                "ERR calling redis.register_function with a single argument is only applicable to Lua table (representing named arguments).",
            )),
        },
        2 => positional_arguments(&args[0], &args[1])?,
        _ => {
            return Err(raise::table(
                "ERR wrong number of arguments to redis.register_function",
            ))
        }
    };
    if !valid_name(def.name.as_bytes()) {
        return Err(raise::table(NAME_RULES));
    }
    let Some(mut ctx) = lua.app_data_mut::<LoadCtx>() else {
        return Err(raise::table(
            "ERR redis.register_function can only be called on FUNCTION LOAD command",
        ));
    };
    if ctx.functions.contains_key(&def.name) {
        return Err(raise::table("ERR Function already exists in the library"));
    }
    ctx.functions.insert(def.name.clone(), def);
    Ok(())
}

fn positional_arguments(name: &Value, callback: &Value) -> mlua::Result<FunctionDef> {
    let Some(name) = lua_string(name) else {
        return Err(raise::table(
            "ERR first argument to redis.register_function must be a string",
        ));
    };
    let Value::Function(callback) = callback else {
        return Err(raise::table(
            "ERR second argument to redis.register_function must be a function",
        ));
    };
    Ok(FunctionDef {
        name,
        description: None,
        flags: 0,
        callback: callback.clone(),
    })
}

fn named_arguments(t: &Table) -> mlua::Result<FunctionDef> {
    let (mut name, mut description, mut flags, mut callback) = (None, None, 0, None);
    for pair in t.clone().pairs::<Value, Value>() {
        let (key, value) = pair?;
        let key = match lua_string(&key) {
            Some(key) => key,
            None => {
                return Err(raise::table(
                    "ERR named argument key given to redis.register_function is not a string",
                ))
            }
        };
        match key.as_str() {
            "function_name" => {
                name = Some(lua_string(&value).ok_or_else(|| {
                    raise::table(
                "ERR function_name argument given to redis.register_function must be a string",
            )
                })?)
            }
            "description" => {
                description = Some(lua_string(&value).ok_or_else(|| {
                    raise::table(
                "ERR description argument given to redis.register_function must be a string",
            )
                })?)
            }
            "callback" => {
                match value {
                    Value::Function(f) => callback = Some(f),
                    _ => return Err(raise::table(
                        "ERR callback argument given to redis.register_function must be a function",
                    )),
                }
            }
            "flags" => flags = function_flags(&value)?,
            _ => {
                return Err(raise::table(
                    "ERR unknown argument given to redis.register_function",
                ))
            }
        }
    }
    let Some(name) = name else {
        return Err(raise::table(
            "ERR redis.register_function must get a function name argument",
        ));
    };
    let Some(callback) = callback else {
        return Err(raise::table(
            "ERR redis.register_function must get a callback argument",
        ));
    };
    Ok(FunctionDef {
        name,
        description: description.map(Bytes::from),
        flags,
        callback,
    })
}

/// The `flags` table: names of [`script_flags::NAMES`].
fn function_flags(value: &Value) -> mlua::Result<u32> {
    let Value::Table(t) = value else {
        return Err(raise::table(
            "ERR flags argument to redis.register_function must be a table representing function flags",
        ));
    };
    let mut flags = 0;
    for pair in t.clone().pairs::<Value, Value>() {
        let (_, flag) = pair?;
        let known = match &flag {
            Value::String(s) => {
                let s = s.to_string_lossy();
                script_flags::NAMES.iter().find(|(n, _)| *n == s)
            }
            _ => None,
        };
        match known {
            Some((_, bit)) => flags |= bit,
            None => return Err(raise::table("ERR unknown flag given")),
        }
    }
    Ok(flags)
}

/// A string, or a number as Lua prints it (`lua_tostring`'s coercion).
fn lua_string(value: &Value) -> Option<String> {
    match value {
        Value::String(_) | Value::Integer(_) | Value::Number(_) => {
            args::to_bytes(value).map(|b| String::from_utf8_lossy(&b).into_owned())
        }
        _ => None,
    }
}

// ---- persistence ----

/// Loads a library found in a snapshot (RDB's FUNCTION2 item, an AOF
/// preamble, a replica's sync): the RDB loader's `Item::Function { code }`
/// plugs in here, with `replace` true when the load replaces what is there.
pub fn load_library(
    srv: &mut crate::server::Server,
    code: &[u8],
    replace: bool,
) -> Result<String, Reply> {
    srv.scripting.functions.load(code, replace)
}

/// Writes every library as RDB's FUNCTION2 item: call between the
/// auxiliary fields and the first database, as Redis orders them.
pub fn write_libraries(srv: &crate::server::Server, w: &mut crate::rdb::writer::RdbWriter) {
    for lib in srv.scripting.functions.registry.libraries() {
        w.write_function(&lib.code);
    }
}

/// The commands that rebuild the libraries (`FUNCTION LOAD <code>`), for
/// a base written as commands.
pub fn load_commands(srv: &crate::server::Server) -> Vec<[Bytes; 3]> {
    srv.scripting
        .functions
        .registry
        .libraries()
        .map(|lib| {
            [
                Bytes::from_static(b"FUNCTION"),
                Bytes::from_static(b"LOAD"),
                lib.code.clone(),
            ]
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metadata_errors_are_redis_s() {
        let err = |code: &str| match parse_metadata(code.as_bytes()) {
            Err(Reply::Error(e)) => e.to_string(),
            other => panic!("{code:?}: {:?}", other.map(|m| m.name)),
        };
        assert_eq!(err("lua name=x"), "ERR Missing library metadata");
        assert_eq!(err("#!lua name=x"), "ERR Invalid library metadata");
        assert_eq!(err("#!lua\n"), "ERR Library name was not given");
        assert_eq!(err("#!lua a=b\n"), "ERR Invalid metadata value given: a=b");
        assert_eq!(
            err("#!lua name=a name=b\n"),
            "ERR Invalid metadata value, name argument was given multiple times"
        );
        assert_eq!(err("#!python name=x\n"), "ERR Engine 'python' not found");
        assert_eq!(err("#!lua name=\n"), NAME_RULES);
        assert_eq!(err("#!lua name=a-b\n"), NAME_RULES);
        let ok = parse_metadata(b"#!LUA NAME=up_2 \nreturn").expect("valid");
        assert_eq!(ok.name, "up_2");
    }
}
