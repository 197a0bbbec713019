//! Suspendable Lua 5.1 runs: a function runs as a coroutine that a count
//! hook yields every `period` VM instructions, so the caller regains
//! control (Keel's sans-IO core returns to its driver between slices of a
//! long script) and resumes it later where it stopped.
//!
//! Lua 5.1's VM supports yielding from a count hook (`lvm.c` checks "did
//! hook yield?" after the hook and saves the pc; `ldo.c`'s resume "yielded
//! inside a hook: just continue its execution"), but mlua 0.10 refuses a
//! hook's `VmState::Yield` for Lua 5.1, and the rest of the workspace
//! forbids `unsafe`. This crate is the small unsafe bridge:
//!
//! - the hook ([`yield_hook`]) yields only where Lua 5.1 allows it: when no
//!   C call is open inside the coroutine (`nCcalls <= baseCcalls`; inside
//!   `pcall`, a metamethod or `table.sort`'s comparator it would raise
//!   "attempt to yield across metamethod/C-call boundary"), and only the
//!   coroutine being resumed by [`resume`] (not a coroutine the script
//!   created itself, which inherits the hook);
//! - [`resume`] runs one slice and reports how it ended. When the function
//!   fails, the error *value* is kept as raised (an `{err=...}` table stays
//!   a table: mlua's own `Thread::resume` turns it into a string), with the
//!   location of the innermost frame of Lua code, read from the dead
//!   coroutine's stack (Lua 5.1 does not unwind it after an error);
//! - [`bridged`] C functions (`redis.call` and its siblings) reach the
//!   host's [`Bridge`] that [`lend`] lends for the span of a slice: they
//!   read their arguments off the Lua stack and push the answer, with no
//!   per-slice function and no per-call conversion through mlua values;
//! - [`start`] starts a coroutine with argument and global string tables
//!   (KEYS, ARGV) and runs its first slice in one call into Lua.
//!
//! The two `lua_State` fields the hook reads are not in the C API: they
//! are read through [`StateHead`], a `#[repr(C)]` mirror of the start of
//! Lua 5.1.5's `struct lua_State` (`lstate.h` of the vendored, pinned
//! sources), checked against the C API on every [`resume`].

#![deny(unsafe_op_in_unsafe_fn)]

use mlua::{ffi, Lua, Thread, Value};
use std::cell::{Cell, RefCell};
use std::ffi::{c_int, c_void, CStr};
use std::ptr::NonNull;

/// How one slice of a run ended.
#[derive(Debug)]
pub enum Slice {
    /// The hook yielded: [`resume`] again to go on. `at` is where the
    /// script stands (read in the hook: once suspended, Lua 5.1 reports
    /// the innermost frame one instruction early).
    Yielded { at: Option<Location> },
    /// The function called `coroutine.yield` itself, outside any coroutine
    /// of its own (a script written for a VM where that is an error). The
    /// coroutine is suspended there; it should not be resumed. `location`
    /// is the script line that yielded.
    ScriptYield { location: Option<Location> },
    /// The function returned: its first value (nil when none), the one
    /// a script's reply is made of. A string comes as [`Slice::ReturnedBytes`].
    Returned(Value),
    /// The function returned a string first: its bytes, read off the
    /// stack without an mlua value (the most common script reply).
    ReturnedBytes(Vec<u8>),
    /// The function raised `error`. The coroutine is dead.
    Failed {
        error: Value,
        location: Option<Location>,
    },
}

/// Where an error happened: a chunk name (`@user_script`) and a line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    pub source: String,
    pub line: i64,
}

/// The start of Lua 5.1.5's `struct lua_State` (lstate.h), up to the hook
/// fields. Only read, and only through a pointer to a live `lua_State`,
/// which is larger.
#[repr(C)]
struct StateHead {
    // CommonHeader: GCObject *next; lu_byte tt; lu_byte marked
    next: *mut c_void,
    tt: u8,
    marked: u8,
    status: u8,
    top: *mut c_void,
    base: *mut c_void,
    l_g: *mut c_void,
    ci: *mut c_void,
    savedpc: *const u32,
    stack_last: *mut c_void,
    stack: *mut c_void,
    end_ci: *mut c_void,
    base_ci: *mut c_void,
    stacksize: c_int,
    size_ci: c_int,
    /// Number of nested C calls.
    n_ccalls: u16,
    /// Nested C calls when the coroutine was resumed.
    base_ccalls: u16,
    hookmask: u8,
    allowhook: u8,
    basehookcount: c_int,
    hookcount: c_int,
}

thread_local! {
    /// The coroutine [`resume`] is running (the only one the hook yields).
    static RESUMING: Cell<*mut ffi::lua_State> = const { Cell::new(std::ptr::null_mut()) };
    /// Set by the hook when it yields, so [`resume`] tells its yields from
    /// the script's own `coroutine.yield`.
    static HOOK_YIELDED: Cell<bool> = const { Cell::new(false) };
    /// Where the hook's last yield stopped the script.
    static YIELD_AT: RefCell<Option<Location>> = const { RefCell::new(None) };
    /// The chunk [`resume`] was told to skip when locating.
    static SKIP: RefCell<String> = const { RefCell::new(String::new()) };
}

/// The count hook: yields the coroutine [`resume`] runs, when Lua allows.
///
/// # Safety
/// Called by Lua with a live `lua_State` (the one whose count ran out).
unsafe extern "C-unwind" fn yield_hook(state: *mut ffi::lua_State, _ar: *mut ffi::lua_Debug) {
    if RESUMING.with(Cell::get) != state {
        return;
    }
    // SAFETY: `state` is a live lua_State (Lua calls the hook with it) and
    // StateHead mirrors the beginning of its struct; the fields are only read.
    let head = unsafe { &*state.cast::<StateHead>() };
    if head.n_ccalls > head.base_ccalls {
        // A C call (pcall, a metamethod, sort's comparator) is open: a
        // yield would raise. The script is checked at a later hook.
        return;
    }
    // SAFETY: `state` is live (see above).
    let at = SKIP.with(|skip| unsafe { find_location(state, &skip.borrow()) });
    YIELD_AT.with(|y| *y.borrow_mut() = at);
    HOOK_YIELDED.with(|y| y.set(true));
    // SAFETY: `state` is the running coroutine and no C call is open in it
    // (checked above), so lua_yield only marks it suspended; the VM returns
    // to lua_resume right after the hook.
    unsafe { ffi::lua_yield(state, 0) };
}

/// One argument of a [`bridged`] call, as the Lua stack holds it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Arg<'a> {
    Str(&'a [u8]),
    Number(f64),
    /// Any other value: its Lua type name.
    Other(&'static str),
}

/// What a [`Bridge`] answers a call with, pushed on the caller's stack
/// (or raised) by the [`bridged`] function.
#[derive(Debug)]
pub enum Answer<'a> {
    Nil,
    Boolean(bool),
    Number(f64),
    Str(&'a [u8]),
    /// A table of one string field (`{ok='OK'}`, `{err='ERR ...'}`).
    Field(&'a str, &'a [u8]),
    /// Any other value, built with mlua in this state.
    Value(&'a Lua, Value),
    /// Raises a table of one string field (`{err='ERR ...'}`).
    Raise(&'a str, &'a [u8]),
    /// Raises a string.
    RaiseMessage(&'a str),
}

/// What a [`bridged`] function reaches while a host lends it ([`lend`]):
/// the host's side of `redis.call` and its siblings.
pub trait Bridge {
    /// Answers one call of the bridged function tagged `tag`.
    fn call(&mut self, tag: i64, args: &[Arg<'_>]) -> Answer<'_>;
}

thread_local! {
    /// The bridge a [`lend`] running on this thread lends, while not in use.
    static LENT: Cell<Option<NonNull<dyn Bridge + 'static>>> = const { Cell::new(None) };
}

/// Puts the lent bridge of before back when dropped (on return or unwind).
struct Restore(Option<NonNull<dyn Bridge + 'static>>);

impl Drop for Restore {
    fn drop(&mut self) {
        LENT.with(|lent| lent.set(self.0));
    }
}

/// Runs `f` with `bridge` reachable by the [`bridged`] functions (one
/// slice of a script), instead of a new scoped function per slice.
///
/// Soundness: the pointer is in the thread-local slot only during this
/// call, which holds the `&mut` borrow for its whole run and puts the
/// previous value back when it returns or unwinds, so it never outlives
/// the borrow. While [`with_lent`] uses it the slot is empty, so a
/// re-entrant call finds no bridge rather than a second `&mut`.
pub fn lend<R>(bridge: &mut dyn Bridge, f: impl FnOnce() -> R) -> R {
    let ptr: NonNull<dyn Bridge + '_> = NonNull::from(bridge);
    // SAFETY: only the trait object's lifetime bound is erased (same
    // fat-pointer layout). The pointer is dereferenced only by
    // `with_lent`, and only while it is in the slot: from here until
    // `_restore` drops at the end of this call, during which `bridge`
    // stays mutably borrowed by this function and is not otherwise used.
    let ptr: NonNull<dyn Bridge + 'static> = unsafe { std::mem::transmute(ptr) };
    let _restore = Restore(LENT.with(|lent| lent.replace(Some(ptr))));
    f()
}

/// Runs `f` on the lent bridge; `None` when none is lent (outside a
/// [`lend`], or re-entered from inside `f`).
pub fn with_lent<R>(f: impl FnOnce(&mut dyn Bridge) -> R) -> Option<R> {
    let ptr = LENT.with(Cell::take)?;
    let _restore = Restore(Some(ptr));
    // SAFETY: the pointer was in the slot, so the `lend` that put it there
    // is still running and its borrow is live; it was taken out of the
    // slot, so no other `with_lent` makes a second reference until
    // `_restore` puts it back after `f`. `f` cannot keep the reference:
    // its lifetime ends with this call.
    let bridge = unsafe { &mut *ptr.as_ptr() };
    Some(f(bridge))
}

/// Whether a bridge is lent now (and not in use).
pub fn is_lent() -> bool {
    LENT.with(|lent| lent.get().is_some())
}

/// The message a [`bridged`] function raises when no bridge is lent.
pub const NOT_LENT: &str = "attempt to call a nil value";

/// A permanent C function that answers through the lent [`Bridge`]:
/// `bridge.call(tag, args)`. A script may keep it (`local call =
/// redis.call`): it reaches whatever bridge is lent at call time. Being a
/// C function, it leaves the caller's frame on the stack even when called
/// as `return f(...)`, so errors are located at the caller's line.
pub fn bridged(lua: &Lua, tag: i64) -> mlua::Result<mlua::Function> {
    // SAFETY: the closure pushes one C closure over the value exec_raw
    // pushed (the tag), which it consumes.
    unsafe {
        lua.exec_raw(tag, |state| {
            ffi::lua_pushcclosure(state, bridged_call, 1);
        })
    }
}

/// How [`answer_call`] left the stack.
enum Pushed {
    /// This many results on top.
    Results(c_int),
    /// An error value on top, to raise.
    Error,
}

/// The body of a [`bridged`] function: upvalue 1 is the tag.
///
/// # Safety
/// Called by Lua as a C closure made by [`bridged`].
unsafe extern "C-unwind" fn bridged_call(state: *mut ffi::lua_State) -> c_int {
    // SAFETY: `state` is the calling state (Lua's contract).
    match unsafe { answer_call(state) } {
        Pushed::Results(n) => n,
        // SAFETY: the error value is on top, and no Rust value that needs
        // dropping lives in this frame (answer_call has returned).
        Pushed::Error => unsafe { ffi::lua_error(state) },
    }
}

/// Arguments a bridged call reads without allocating.
const INLINE_ARGS: usize = 8;

/// Reads the arguments, asks the lent bridge and pushes its answer (at
/// most three values: a C function has LUA_MINSTACK free slots).
///
/// # Safety
/// `state` is a live state running a [`bridged`] closure.
unsafe fn answer_call(state: *mut ffi::lua_State) -> Pushed {
    // SAFETY: the upvalue is the tag the closure was made with; the
    // arguments are read in place (strings stay anchored on the stack
    // for the whole call); pushes stay within LUA_MINSTACK.
    unsafe {
        let tag = ffi::lua_tointeger(state, ffi::lua_upvalueindex(1));
        let count = ffi::lua_gettop(state);
        // Up to INLINE_ARGS arguments (most commands) are read into an
        // array on the stack, more into a vector.
        let mut inline = [Arg::Other("nil"); INLINE_ARGS];
        let spilled: Vec<Arg<'_>>;
        let args = match usize::try_from(count) {
            Ok(n) if n <= INLINE_ARGS => {
                for (slot, index) in inline.iter_mut().zip(1..=count) {
                    *slot = read_arg(state, index);
                }
                &inline[..n]
            }
            _ => {
                spilled = (1..=count).map(|index| read_arg(state, index)).collect();
                &spilled[..]
            }
        };
        // A panic must not unwind through Lua's C frames: it becomes an error.
        let asked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            with_lent(|bridge| {
                let answer = bridge.call(tag, args);
                push_answer(state, answer)
            })
        }));
        let failure = match asked {
            Ok(Some(pushed)) => return pushed,
            Ok(None) => NOT_LENT,
            Err(_) => "keel-luahook: the bridge panicked",
        };
        push_bytes(state, failure.as_bytes());
        Pushed::Error
    }
}

/// Argument `index` of the running C function.
///
/// # Safety
/// `index` is a valid stack index of `state`; a string argument's bytes
/// are borrowed for as long as it stays on the stack.
unsafe fn read_arg<'a>(state: *mut ffi::lua_State, index: c_int) -> Arg<'a> {
    // SAFETY: the caller's contract; lua_tolstring does not convert a
    // string (its type was checked) and returns its length.
    unsafe {
        match ffi::lua_type(state, index) {
            ffi::LUA_TSTRING => {
                let mut len = 0usize;
                let ptr = ffi::lua_tolstring(state, index, &mut len);
                Arg::Str(std::slice::from_raw_parts(ptr.cast::<u8>(), len))
            }
            ffi::LUA_TNUMBER => Arg::Number(ffi::lua_tonumber(state, index)),
            other => {
                let name = CStr::from_ptr(ffi::lua_typename(state, other));
                Arg::Other(name.to_str().unwrap_or("?"))
            }
        }
    }
}

/// Pushes `answer` on `state` (an error value for the raising answers).
///
/// # Safety
/// `state` has room for three values.
unsafe fn push_answer(state: *mut ffi::lua_State, answer: Answer<'_>) -> Pushed {
    // SAFETY: at most three pushes (the caller's contract); the strings
    // are copied by Lua.
    unsafe {
        match answer {
            Answer::Nil => ffi::lua_pushnil(state),
            Answer::Boolean(b) => ffi::lua_pushboolean(state, c_int::from(b)),
            Answer::Number(n) => ffi::lua_pushnumber(state, n),
            Answer::Str(bytes) => push_bytes(state, bytes),
            Answer::Field(key, value) => push_field_table(state, key, value),
            Answer::Value(lua, value) => return push_value(state, lua, value),
            Answer::Raise(key, value) => {
                push_field_table(state, key, value);
                return Pushed::Error;
            }
            Answer::RaiseMessage(text) => {
                push_bytes(state, text.as_bytes());
                return Pushed::Error;
            }
        }
    }
    Pushed::Results(1)
}

/// # Safety
/// `state` has room for one value.
unsafe fn push_bytes(state: *mut ffi::lua_State, bytes: &[u8]) {
    // SAFETY: the caller's contract; Lua copies the bytes.
    unsafe { ffi::lua_pushlstring(state, bytes.as_ptr().cast(), bytes.len()) };
}

/// Pushes `{[key] = value}`.
///
/// # Safety
/// `state` has room for three values.
unsafe fn push_field_table(state: *mut ffi::lua_State, key: &str, value: &[u8]) {
    // SAFETY: the caller's contract; the key and value are popped into
    // the table by lua_rawset.
    unsafe {
        ffi::lua_createtable(state, 0, 1);
        push_bytes(state, key.as_bytes());
        push_bytes(state, value);
        ffi::lua_rawset(state, -3);
    }
}

/// The registry field an mlua-built answer passes through.
const ANSWER_FIELD: &str = "keel_luahook.answer";
const ANSWER_FIELD_C: &CStr = c"keel_luahook.answer";

/// Pushes a value built with mlua: handed over through the registry
/// (shared by every coroutine of the state), then cleared there.
///
/// # Safety
/// `state` belongs to `lua` and has room for two values.
unsafe fn push_value(state: *mut ffi::lua_State, lua: &Lua, value: Value) -> Pushed {
    if let Err(e) = lua.set_named_registry_value(ANSWER_FIELD, value) {
        let text = e.to_string();
        // SAFETY: room for one value (the caller's contract).
        unsafe { push_bytes(state, text.as_bytes()) };
        return Pushed::Error;
    }
    // SAFETY: the field was just set; it is read, then cleared.
    unsafe {
        ffi::lua_getfield(state, ffi::LUA_REGISTRYINDEX, ANSWER_FIELD_C.as_ptr());
        ffi::lua_pushnil(state);
        ffi::lua_setfield(state, ffi::LUA_REGISTRYINDEX, ANSWER_FIELD_C.as_ptr());
    }
    Pushed::Results(1)
}

/// Pushes a new table of `items` (one value more on the stack).
///
/// # Safety
/// `state` is live with room for two more values.
unsafe fn push_string_array<T: AsRef<[u8]>>(state: *mut ffi::lua_State, items: &[T]) {
    let size = c_int::try_from(items.len()).unwrap_or(c_int::MAX);
    // SAFETY: the caller's contract; each item is pushed, then popped into
    // the table by lua_rawseti.
    unsafe {
        ffi::lua_createtable(state, size, 0);
        for (index, item) in (1..=size).zip(items) {
            let item = item.as_ref();
            ffi::lua_pushlstring(state, item.as_ptr().cast(), item.len());
            ffi::lua_rawseti_(state, -2, index);
        }
    }
}

/// The start of Lua 5.1.5's `struct Table` (lobject.h), up to the size
/// of its array part. Only read (copied out), through a pointer to a live
/// table.
#[repr(C)]
#[derive(Clone, Copy)]
struct TableHead {
    // CommonHeader: GCObject *next; lu_byte tt; lu_byte marked
    next: *mut c_void,
    tt: u8,
    marked: u8,
    flags: u8,
    /// log2 of the size of the hash part.
    lsizenode: u8,
    metatable: *mut c_void,
    array: *mut c_void,
    /// The hash part: Lua's shared empty node when there is none.
    node: *mut c_void,
    lastfree: *mut c_void,
    gclist: *mut c_void,
    /// Size of the array part.
    sizearray: c_int,
}

/// A reused global table keeps its parts: only one this small is reused
/// (a script that grew it leaves a new table to the next run).
const MAX_REUSED_ARRAY: c_int = 64;
const MAX_REUSED_LOG_NODES: u8 = 4;

thread_local! {
    /// What [`TableHead`] read from a table just created with no hash
    /// part, when it read back the sizes it was created with: Lua's
    /// shared empty node (None: not checked yet, or it did not match).
    /// Tables are reused only once it matched.
    static EMPTY_NODE: Cell<Option<*mut c_void>> = const { Cell::new(None) };
    /// Whether the check was made.
    static TABLE_LAYOUT_CHECKED: Cell<bool> = const { Cell::new(false) };
}

/// A copy of the head of the table at `index`.
///
/// # Safety
/// The value at `index` of `state` is a table.
unsafe fn table_head(state: *mut ffi::lua_State, index: c_int) -> TableHead {
    // SAFETY: lua_topointer gives a table's `Table *`, alive while it is
    // on the stack; TableHead mirrors the start of the struct and is
    // read by copy (Lua may change the table afterwards).
    unsafe { std::ptr::read(ffi::lua_topointer(state, index).cast::<TableHead>()) }
}

/// Checks the mirror once against the table at the top of `state`, just
/// created with room for `size` array items and no hash part.
///
/// # Safety
/// The value at the top of `state` is such a table.
unsafe fn check_table_layout(state: *mut ffi::lua_State, size: c_int) {
    if TABLE_LAYOUT_CHECKED.with(|checked| checked.replace(true)) {
        return;
    }
    // SAFETY: the caller's contract.
    let head = unsafe { table_head(state, -1) };
    let matches = c_int::from(head.tt) == ffi::LUA_TTABLE
        && head.sizearray == size
        && head.lsizenode == 0
        && head.metatable.is_null()
        && !head.node.is_null();
    EMPTY_NODE.with(|empty| empty.set(matches.then_some(head.node)));
}

/// Pushes a table of `items` for a global whose name is on top of the
/// stack: the global's current table, emptied and refilled, when it is a
/// small plain table (no metatable, array part of at most
/// [`MAX_REUSED_ARRAY`], hash part of at most 2^[`MAX_REUSED_LOG_NODES`]),
/// else a new one (see [`Start::reuse_globals`]). Emptied, it reads as a
/// new table: the same entries in the same order, the same length.
/// Whether it was the global's table (the global needs no setting then).
///
/// # Safety
/// `state` is live with the name on top and room for five more values.
unsafe fn push_global_array<T: AsRef<[u8]>>(state: *mut ffi::lua_State, items: &[T]) -> bool {
    // SAFETY: the caller's contract; the table stays on the stack while
    // it is read through the mirror, emptied and refilled.
    unsafe {
        ffi::lua_pushvalue(state, -1);
        ffi::lua_rawget(state, ffi::LUA_GLOBALSINDEX);
        let table = ffi::lua_gettop(state);
        let Some(head) = reusable(state, table) else {
            ffi::lua_settop(state, -2);
            push_string_array(state, items);
            let size = c_int::try_from(items.len()).unwrap_or(c_int::MAX);
            check_table_layout(state, size);
            return false;
        };
        if EMPTY_NODE.with(Cell::get) == Some(head.node) {
            // No hash part: only the array part holds entries.
            for index in 1..=head.sizearray {
                ffi::lua_pushnil(state);
                ffi::lua_rawseti_(state, table, index);
            }
        } else {
            // Setting a field to nil while traversing is allowed in Lua.
            ffi::lua_pushnil(state);
            while ffi::lua_next(state, table) != 0 {
                ffi::lua_settop(state, -2);
                ffi::lua_pushvalue(state, -1);
                ffi::lua_pushnil(state);
                ffi::lua_rawset(state, table);
            }
        }
        for (index, item) in (1..=c_int::MAX).zip(items) {
            let item = item.as_ref();
            ffi::lua_pushlstring(state, item.as_ptr().cast(), item.len());
            ffi::lua_rawseti_(state, table, index);
        }
        true
    }
}

/// The head of the value at `index` when it is a table
/// [`push_global_array`] may reuse.
///
/// # Safety
/// `index` is a valid index of `state`.
unsafe fn reusable(state: *mut ffi::lua_State, index: c_int) -> Option<TableHead> {
    EMPTY_NODE.with(Cell::get)?;
    // SAFETY: the caller's contract; the mirror is read only for a table,
    // and only once it was checked (EMPTY_NODE is set).
    unsafe {
        if ffi::lua_type(state, index) != ffi::LUA_TTABLE {
            return None;
        }
        let head = table_head(state, index);
        let small = head.metatable.is_null()
            && head.sizearray <= MAX_REUSED_ARRAY
            && head.lsizenode <= MAX_REUSED_LOG_NODES;
        small.then_some(head)
    }
}

/// Runs `thread` (a coroutine created with `Lua::create_thread`, new or
/// yielded by the hook) for one slice: until it returns, fails, or has run
/// about `period` more VM instructions at a point where it may yield.
/// Frames of chunk `skip_source` (a runtime's own Lua code) and C frames
/// are skipped when locating an error.
pub fn resume(lua: &Lua, thread: &Thread, period: u32, skip_source: &str) -> mlua::Result<Slice> {
    Runner::new(lua)?.resume(thread, period, skip_source)
}

/// Restarts `thread`, a coroutine whose function returned normally, with
/// `func` from its start (sparing the allocation of a new coroutine per
/// run, as a coroutine pool does), and runs its first slice as [`resume`]
/// does. `None`, and nothing changes, when the thread is not in that state
/// (not started, suspended, or dead after an error).
pub fn restart(
    lua: &Lua,
    thread: &Thread,
    func: &mlua::Function,
    period: u32,
    skip_source: &str,
) -> mlua::Result<Option<Slice>> {
    let run = Start::<&[u8]> {
        args: &[],
        globals: &[],
        reuse_globals: false,
    };
    start(lua, thread, func, &run, period, skip_source)
}

/// What a run of [`start`] begins with: the function's arguments and
/// globals to set first, each a table of strings `1..=n` (Redis's KEYS
/// and ARGV), built in the same call into Lua as the first slice.
pub struct Start<'a, T> {
    pub args: &'a [&'a [T]],
    pub globals: &'a [(&'a str, &'a [T])],
    /// The global's table of the last run may be emptied and refilled
    /// instead of a new table (no garbage per run), when it is small and
    /// plain (no metatable, small array and hash parts). Only where no
    /// code can keep a reference to it past its run: Keel's EVAL scripts,
    /// whose globals and libraries are read-only.
    pub reuse_globals: bool,
}

/// [`restart`] with arguments and globals: `thread` (idle: new from
/// [`new_thread`], or its last function returned) runs `func` with
/// `run.args` after `run.globals` are set, for a first slice. `None`, and
/// nothing changes, when the thread is not idle.
pub fn start<T: AsRef<[u8]>>(
    lua: &Lua,
    thread: &Thread,
    func: &mlua::Function,
    run: &Start<'_, T>,
    period: u32,
    skip_source: &str,
) -> mlua::Result<Option<Slice>> {
    Runner::new(lua)?.start(thread, func, run, period, skip_source)
}

/// Runs slices through a permanent C function of the state, called as
/// any Lua function: [`Runner::resume`] and [`Runner::start`] are
/// [`resume`] and [`start`] without the two C closures that `exec_raw`
/// allocates per call under Lua 5.1 (garbage for the collector on every
/// script run).
#[derive(Debug, Clone)]
pub struct Runner {
    func: mlua::Function,
}

/// What [`run_slice`] is asked to do, passed as a light userdata that
/// points to this, on the caller's stack for the span of the call.
struct Params<'a> {
    period: c_int,
    skip_source: &'a str,
    /// For a start: the [`Start`] (erased) and the function that pushes it.
    start: Option<(*const c_void, StartFn)>,
    /// How the slice ended, set by [`run_slice`] (the value it leaves, if
    /// any, is the one returned or raised).
    outcome: Cell<Option<Outcome>>,
}

/// How a slice ended, as the raw part tells it to [`Runner::call`].
enum Outcome {
    /// The coroutine was not idle: nothing ran.
    NotIdle,
    /// Not a coroutine, or the state's layout is not the one mirrored.
    NotRunnable,
    /// Returned: the first value is left on the stack.
    Returned,
    /// Returned a string first: its bytes.
    ReturnedBytes(Vec<u8>),
    Yielded,
    ScriptYield(Option<Location>),
    /// Failed: the error value is left on the stack.
    Failed(Option<Location>),
}

/// [`start_raw`] for one `T`, with the [`Start`] behind a pointer.
type StartFn = unsafe fn(*mut ffi::lua_State, *const c_void, c_int, &str) -> Outcome;

/// # Safety
/// `run` points to a live `Start<'_, T>`; as [`start_raw`] otherwise.
unsafe fn start_erased<T: AsRef<[u8]>>(
    state: *mut ffi::lua_State,
    run: *const c_void,
    period: c_int,
    skip_source: &str,
) -> Outcome {
    // SAFETY: the caller's contract.
    unsafe { start_raw(state, &*run.cast::<Start<'_, T>>(), period, skip_source) }
}

impl Runner {
    /// The runner of `lua`'s state (make it once per state: this call
    /// creates its C function).
    pub fn new(lua: &Lua) -> mlua::Result<Self> {
        // SAFETY: pushes the names, then the C closure that takes them as
        // its upvalues (room for three values is always there:
        // LUA_MINSTACK); exec_raw returns the value it leaves.
        let func = unsafe {
            lua.exec_raw((), |state| {
                for name in INTERNED_NAMES {
                    ffi::lua_pushlstring(state, name.as_ptr().cast(), name.len());
                }
                ffi::lua_pushcclosure(state, run_slice, INTERNED_NAMES.len() as c_int);
            })
        }?;
        Ok(Runner { func })
    }

    /// [`resume`].
    pub fn resume(&self, thread: &Thread, period: u32, skip_source: &str) -> mlua::Result<Slice> {
        let params = Params {
            period: c_int::try_from(period.max(1)).unwrap_or(c_int::MAX),
            skip_source,
            start: None,
            outcome: Cell::new(None),
        };
        self.call((thread, Value::Nil), &params)?
            .ok_or_else(|| internal("a resume without a start"))
    }

    /// [`start`].
    pub fn start<T: AsRef<[u8]>>(
        &self,
        thread: &Thread,
        func: &mlua::Function,
        run: &Start<'_, T>,
        period: u32,
        skip_source: &str,
    ) -> mlua::Result<Option<Slice>> {
        let erased: StartFn = start_erased::<T>;
        let params = Params {
            period: c_int::try_from(period.max(1)).unwrap_or(c_int::MAX),
            skip_source,
            start: Some((std::ptr::from_ref(run).cast(), erased)),
            outcome: Cell::new(None),
        };
        self.call((thread, func), &params)
    }

    /// Calls the C function with `(thread, function)` and `params`: the
    /// slice it ran (None: the thread was not idle).
    fn call(
        &self,
        (thread, func): (&Thread, impl mlua::IntoLua),
        params: &Params<'_>,
    ) -> mlua::Result<Option<Slice>> {
        let pointer = mlua::LightUserData(std::ptr::from_ref(params).cast_mut().cast());
        let value: Value = self.func.call((thread, func, pointer))?;
        let Some(outcome) = params.outcome.take() else {
            return Err(internal("no resume status"));
        };
        let slice = match outcome {
            Outcome::NotIdle => return Ok(None),
            Outcome::NotRunnable => {
                return Err(internal(
                    "not a coroutine, or the Lua state layout is not Lua 5.1.5's",
                ))
            }
            Outcome::Returned => Slice::Returned(value),
            Outcome::ReturnedBytes(bytes) => Slice::ReturnedBytes(bytes),
            Outcome::Yielded => Slice::Yielded {
                at: YIELD_AT.with(|y| y.borrow_mut().take()),
            },
            Outcome::ScriptYield(location) => Slice::ScriptYield { location },
            Outcome::Failed(location) => Slice::Failed {
                error: value,
                location,
            },
        };
        Ok(Some(slice))
    }
}

/// The runner's C function: `(thread, function or nil, params)`; sets
/// the params' outcome and leaves what [`resume_raw`] leaves.
///
/// # Safety
/// Called by Lua, only by [`Runner::call`] (scripts never see it), whose
/// third argument points to a [`Params`] alive for the call.
unsafe extern "C-unwind" fn run_slice(state: *mut ffi::lua_State) -> c_int {
    // SAFETY: the arguments are as Runner::call passes them; the
    // pointed-to Params (and the Start it points to) outlive this call.
    unsafe {
        let params = &*ffi::lua_touserdata(state, 3).cast::<Params<'_>>();
        let outcome = match params.start {
            Some((run, start)) => {
                ffi::lua_settop(state, 2);
                start(state, run, params.period, params.skip_source)
            }
            None => {
                ffi::lua_settop(state, 1);
                resume_raw(state, 0, params.period, params.skip_source)
            }
        };
        params.outcome.set(Some(outcome));
        ffi::lua_gettop(state)
    }
}

/// An idle coroutine (no function yet) for [`start`].
pub fn new_thread(lua: &Lua) -> mlua::Result<Thread> {
    // SAFETY: lua_newthread pushes one value (room for one is always
    // there: LUA_MINSTACK); exec_raw returns the value it leaves.
    unsafe {
        lua.exec_raw((), |state| {
            ffi::lua_newthread(state);
        })
    }
}

/// Global names [`run_slice`] keeps as its upvalues, in order: a start
/// pushes these from there instead of making (hashing and finding) the
/// string again.
const INTERNED_NAMES: [&str; 2] = ["KEYS", "ARGV"];

/// Pushes the string `name`: from [`run_slice`]'s upvalues when it is one
/// of [`INTERNED_NAMES`] (the same Lua string: strings are interned).
///
/// # Safety
/// `state` is in a call of [`run_slice`], with room for one more value.
unsafe fn push_name(state: *mut ffi::lua_State, name: &str) {
    // SAFETY: the caller's contract; run_slice has one upvalue per name.
    unsafe {
        match (1..)
            .zip(INTERNED_NAMES)
            .find(|(_, interned)| *interned == name)
        {
            Some((upvalue, _)) => ffi::lua_pushvalue(state, ffi::lua_upvalueindex(upvalue)),
            None => {
                ffi::lua_pushlstring(state, name.as_ptr().cast(), name.len());
            }
        }
    }
}

/// Stack room [`start_raw`] checks for each global: its name and table,
/// and what [`push_global_array`] or [`push_string_array`] pushes above
/// them (at most five values in all at once).
const GLOBAL_ROOM: c_int = 6;

/// The raw part of [`start`]: `state`'s stack holds the thread and the
/// function; leaves what [`resume_raw`] leaves (nothing when not idle).
///
/// # Safety
/// `state` is a live state whose stack holds a thread, then a function,
/// in a call of [`run_slice`].
unsafe fn start_raw<T: AsRef<[u8]>>(
    state: *mut ffi::lua_State,
    run: &Start<'_, T>,
    period: c_int,
    skip_source: &str,
) -> Outcome {
    // SAFETY: index 1 is the thread exec_raw pushed, 2 the function. Each
    // push is preceded by a check that the stack has room; the globals go
    // to the table shared by the state and its coroutines.
    unsafe {
        let co = ffi::lua_tothread(state, 1);
        let idle = !co.is_null() && ffi::lua_status(co) == ffi::LUA_OK && ffi::lua_gettop(co) == 0;
        if !idle {
            ffi::lua_settop(state, 0);
            return Outcome::NotIdle;
        }
        // One check for the whole start: each global leaves the stack as
        // it found it, needing at most GLOBAL_ROOM values on the way.
        let nargs = c_int::try_from(run.args.len()).unwrap_or(c_int::MAX);
        let room = nargs.saturating_add(2).max(GLOBAL_ROOM);
        ffi::luaL_checkstack(state, room, std::ptr::null());
        for (name, items) in run.globals {
            push_name(state, name);
            let reused = if run.reuse_globals {
                push_global_array(state, items)
            } else {
                push_string_array(state, items);
                false
            };
            if reused {
                // The global holds that table already.
                ffi::lua_settop(state, -3);
            } else {
                ffi::lua_rawset(state, ffi::LUA_GLOBALSINDEX);
            }
        }
        for items in run.args {
            push_string_array(state, items);
        }
        // The function and its arguments, in order, to the coroutine.
        ffi::lua_xmove(state, co, nargs.saturating_add(1));
        ffi::lua_settop(state, 1);
        resume_raw(state, nargs, period, skip_source)
    }
}

/// The raw part of [`resume`] and [`start`]: resumes the coroutine at
/// index 1 of `state` (the function and its `nargs` arguments already on
/// its stack for a start): how it ended, with the returned value (unless
/// read as bytes) or the error value left on `state`'s stack.
///
/// # Safety
/// `state` is a live state whose stack holds a thread at index 1, with
/// `nargs` values on top of its stack when it starts.
unsafe fn resume_raw(
    state: *mut ffi::lua_State,
    nargs: c_int,
    period: c_int,
    skip_source: &str,
) -> Outcome {
    // SAFETY: index 1 is the thread.
    let co = unsafe { ffi::lua_tothread(state, 1) };
    // SAFETY: `state` is live; its values are no longer needed (the
    // caller's Thread handle keeps the coroutine alive).
    unsafe { ffi::lua_settop(state, 0) };
    if co.is_null() {
        return Outcome::NotRunnable;
    }
    // SAFETY: `co` is a live coroutine (kept by the caller's handle).
    unsafe { ffi::lua_sethook(co, Some(yield_hook), ffi::LUA_MASKCOUNT, period) };
    // SAFETY: `co` is live; StateHead mirrors the start of its struct.
    if !unsafe { layout_matches(co, period) } {
        return Outcome::NotRunnable;
    }
    SKIP.with(|skip| {
        if *skip.borrow() != skip_source {
            *skip.borrow_mut() = skip_source.to_string();
        }
    });
    let previous = RESUMING.with(|r| r.replace(co));
    HOOK_YIELDED.with(|y| y.set(false));
    // SAFETY: `co` is a new coroutine with its function (and arguments)
    // pushed, or one suspended by a yield.
    let status = unsafe { ffi::lua_resume_(co, nargs) };
    RESUMING.with(|r| r.set(previous));
    let by_hook = HOOK_YIELDED.with(|y| y.replace(false));
    // SAFETY: the helpers only read `co` and move one value between two
    // live states (room for one is always there: LUA_MINSTACK).
    unsafe {
        match status {
            ffi::LUA_YIELD => {
                ffi::lua_settop(co, 0);
                if by_hook {
                    Outcome::Yielded
                } else {
                    Outcome::ScriptYield(find_location(co, skip_source))
                }
            }
            ffi::LUA_OK => returned(co, state),
            _ => {
                ffi::lua_xmove(co, state, 1);
                Outcome::Failed(find_location(co, skip_source))
            }
        }
    }
}

/// What `co`, whose function returned, gave back: its first value, as
/// bytes when a string, else moved to `state`'s stack. `co` is left
/// empty (idle).
///
/// # Safety
/// `co` returned from a resume; `state` is live with room for one value.
unsafe fn returned(co: *mut ffi::lua_State, state: *mut ffi::lua_State) -> Outcome {
    // SAFETY: the caller's contract; a string's bytes are copied before
    // it leaves the stack.
    unsafe {
        if ffi::lua_gettop(co) == 0 {
            return Outcome::Returned;
        }
        if ffi::lua_type(co, 1) == ffi::LUA_TSTRING {
            let mut len = 0usize;
            let ptr = ffi::lua_tolstring(co, 1, &mut len);
            let bytes = std::slice::from_raw_parts(ptr.cast::<u8>(), len).to_vec();
            ffi::lua_settop(co, 0);
            return Outcome::ReturnedBytes(bytes);
        }
        ffi::lua_settop(co, 1);
        ffi::lua_xmove(co, state, 1);
        Outcome::Returned
    }
}

/// Whether the mirror reads back the hook just set through the C API.
///
/// # Safety
/// `co` is a live lua_State.
unsafe fn layout_matches(co: *mut ffi::lua_State, period: c_int) -> bool {
    // SAFETY: `co` is live and StateHead mirrors the start of its struct.
    let head = unsafe { &*co.cast::<StateHead>() };
    // SAFETY: `co` is live.
    let (mask, count) = unsafe { (ffi::lua_gethookmask(co), ffi::lua_gethookcount(co)) };
    c_int::from(head.hookmask) == mask && head.basehookcount == count && count == period
}

/// The innermost frame of Lua code in `co`'s stack, skipping C frames,
/// tail-call markers and chunk `skip_source`.
///
/// # Safety
/// `co` is a live lua_State.
unsafe fn find_location(co: *mut ffi::lua_State, skip_source: &str) -> Option<Location> {
    for level in 0..64 {
        // SAFETY: lua_Debug is a plain C struct (integers, pointers, chars):
        // all zeroes is a valid value.
        let mut ar: ffi::lua_Debug = unsafe { std::mem::zeroed() };
        // SAFETY: `co` is live and `ar` is a valid lua_Debug.
        if unsafe { ffi::lua_getstack(co, level, &mut ar) } == 0 {
            return None;
        }
        // SAFETY: `ar` was filled by lua_getstack for this state.
        if unsafe { ffi::lua_getinfo(co, c"Sl".as_ptr(), &mut ar) } == 0 {
            continue;
        }
        // SAFETY: after lua_getinfo "S", `what` and `source` point to
        // NUL-terminated strings owned by Lua (alive while `co` is).
        let (what, source) = unsafe { (c_text(ar.what), c_text(ar.source)) };
        if what == "C" || what == "tail" || source == skip_source {
            continue;
        }
        return Some(Location {
            source,
            line: i64::from(ar.currentline),
        });
    }
    None
}

/// A C string as text ("" for null).
///
/// # Safety
/// `p` is null or points to a NUL-terminated string.
unsafe fn c_text(p: *const std::ffi::c_char) -> String {
    if p.is_null() {
        return String::new();
    }
    // SAFETY: non-null and NUL-terminated (the caller's contract).
    unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned()
}

fn internal(what: &str) -> mlua::Error {
    mlua::Error::RuntimeError(format!("keel-luahook: {what}"))
}

#[cfg(test)]
mod tests;
