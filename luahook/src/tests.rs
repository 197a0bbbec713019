use super::*;

const SKIP: &str = "=[runtime]";

/// Runs `code` as a coroutine to its end: the last slice and the number
/// of hook yields before it.
fn run(lua: &Lua, code: &str, period: u32) -> (Slice, usize) {
    let func = lua
        .load(code)
        .set_name("@test_chunk")
        .into_function()
        .expect("compiles");
    let thread = lua.create_thread(func).expect("thread");
    let mut yields = 0;
    loop {
        match resume(lua, &thread, period, SKIP).expect("resume") {
            Slice::Yielded { .. } => yields += 1,
            other => return (other, yields),
        }
    }
}

fn returned_number(slice: &Slice) -> f64 {
    match slice {
        Slice::Returned(value) => match value {
            Value::Integer(n) => *n as f64,
            Value::Number(n) => *n,
            other => panic!("not a number: {other:?}"),
        },
        other => panic!("not returned: {other:?}"),
    }
}

#[test]
fn a_loop_yields_every_period_and_resumes_to_the_right_result() {
    let lua = Lua::new();
    let code = "local s = 0 for i = 1, 1000000 do s = s + i end return s";
    let (slice, yields) = run(&lua, code, 10_000);
    assert_eq!(returned_number(&slice), 500_000_500_000.0);
    // Two VM instructions per iteration (ADD, FORLOOP): 2M in slices of 10k.
    assert!((195..=205).contains(&yields), "{yields} yields");
    let (_, fewer) = run(&lua, code, 100_000);
    assert!(fewer * 8 < yields, "a longer period yields less: {fewer}");
}

#[test]
fn locals_and_upvalues_survive_the_yields() {
    let lua = Lua::new();
    let code = r#"
        local t, calls = {}, 0
        local function add(k) calls = calls + 1; t[k] = (t[k] or 0) + 1 end
        for i = 1, 200000 do add(i % 7) end
        return calls + t[0] * 1000000
    "#;
    let (slice, yields) = run(&lua, code, 1_000);
    assert!(yields > 100);
    assert_eq!(returned_number(&slice), 200_000.0 + 28_571.0 * 1_000_000.0);
}

#[test]
fn a_loop_inside_pcall_does_not_yield_and_completes() {
    let lua = Lua::new();
    let code = r#"
        local ok, v = pcall(function()
            local s = 0
            for i = 1, 300000 do s = s + i end
            return s
        end)
        assert(ok, v)
        return v
    "#;
    let (slice, yields) = run(&lua, code, 1_000);
    assert_eq!(returned_number(&slice), 45_000_150_000.0);
    assert!(yields <= 1, "no yield inside pcall ({yields})");
}

#[test]
fn loops_in_a_sort_comparator_and_a_metamethod_run_without_error() {
    let lua = Lua::new();
    let code = r#"
        local t = {}
        for i = 1, 300 do t[i] = (i * 7919) % 301 end
        table.sort(t, function(a, b)
            local x = 0
            for i = 1, 50 do x = x + i end
            return a < b
        end)
        local mt = setmetatable({}, { __index = function(_, k)
            local s = 0
            for i = 1, 100000 do s = s + 1 end
            return s + k
        end })
        for i = 2, #t do assert(t[i - 1] <= t[i]) end
        return mt[5] + t[1]
    "#;
    let (slice, _) = run(&lua, code, 100);
    assert_eq!(returned_number(&slice), 100_006.0);
}

#[test]
fn a_coroutine_of_the_script_is_not_yielded_by_the_hook() {
    let lua = Lua::new();
    let code = r#"
        local co = coroutine.wrap(function()
            for n = 1, 3 do
                local s = 0
                for i = 1, 100000 do s = s + 1 end
                coroutine.yield(n * s)
            end
        end)
        return co() + co() + co()
    "#;
    let (slice, _) = run(&lua, code, 1_000);
    assert_eq!(returned_number(&slice), 600_000.0);
}

#[test]
fn the_script_s_own_yield_is_told_apart() {
    let lua = Lua::new();
    let code = "for i = 1, 50000 do end\ncoroutine.yield(1) return 2";
    let (slice, yields) = run(&lua, code, 1_000);
    let Slice::ScriptYield { location } = slice else {
        panic!("{slice:?}")
    };
    assert_eq!(location.map(|l| l.line), Some(2));
    assert!(yields > 10);
}

#[test]
fn a_failure_keeps_its_value_and_the_location_of_the_script_frame() {
    let lua = Lua::new();
    let code = "local s = 0\nfor i = 1, 100000 do s = s + i end\nerror({err = 'boom'})\n";
    let (slice, yields) = run(&lua, code, 1_000);
    assert!(yields > 10);
    let Slice::Failed { error, location } = slice else {
        panic!("{slice:?}")
    };
    let Value::Table(t) = error else {
        panic!("a table error stays a table: {error:?}")
    };
    assert_eq!(t.get::<String>("err").expect("err"), "boom");
    let expected = Location {
        source: "@test_chunk".into(),
        line: 3,
    };
    assert_eq!(location, Some(expected));
}

#[test]
fn frames_of_the_skipped_chunk_and_of_c_functions_are_not_the_location() {
    let lua = Lua::new();
    let helper: mlua::Function = lua
        .load("return function(x) return string.rep(x) end")
        .set_name(SKIP)
        .call(())
        .expect("helper");
    lua.globals().set("helper", helper).expect("set");
    let (slice, _) = run(&lua, "local a = 1\n\nhelper(nil)\n", 1_000);
    let Slice::Failed { error, location } = slice else {
        panic!("{slice:?}")
    };
    assert!(matches!(error, Value::String(_)), "{error:?}");
    assert_eq!(location.map(|l| l.line), Some(3));
}

#[test]
fn a_rust_error_reaches_the_caller_as_an_error_value() {
    let lua = Lua::new();
    let fail = lua
        .create_function(|_, ()| Err::<(), _>(mlua::Error::RuntimeError("nope".into())))
        .expect("function");
    lua.globals().set("fail", fail).expect("set");
    let (slice, _) = run(&lua, "\nfail()", 1_000);
    let Slice::Failed { error, location } = slice else {
        panic!("{slice:?}")
    };
    assert!(matches!(error, Value::Error(_)), "{error:?}");
    assert_eq!(location.map(|l| l.line), Some(2));
}

#[test]
fn a_dropped_suspended_coroutine_is_collected() {
    let lua = Lua::new();
    let func = lua
        .load("while true do end")
        .into_function()
        .expect("compiles");
    for _ in 0..50 {
        let thread = lua.create_thread(func.clone()).expect("thread");
        for _ in 0..3 {
            assert!(matches!(
                resume(&lua, &thread, 1_000, SKIP).expect("resume"),
                Slice::Yielded { .. }
            ));
        }
    }
    lua.gc_collect().expect("gc");
    let before = lua.used_memory();
    lua.gc_collect().expect("gc");
    assert!(lua.used_memory() <= before);
}

#[test]
fn a_suspended_coroutine_tells_where_it_stands() {
    let lua = Lua::new();
    let func = lua
        .load("local i = 0\nwhile true do\n  i = i + 1\nend")
        .set_name("@spin")
        .into_function()
        .expect("compiles");
    let thread = lua.create_thread(func).expect("thread");
    let Slice::Yielded { at: Some(at) } = resume(&lua, &thread, 1_000, SKIP).expect("resume")
    else {
        panic!("a yield with a location")
    };
    assert_eq!(at.source, "@spin");
    assert!((2..=4).contains(&at.line), "inside the loop: {at:?}");
}

#[test]
fn an_error_raised_by_a_bridged_function_is_located_at_the_caller_even_in_a_tail_call() {
    let lua = Lua::new();
    with_bridged(&lua);
    let mut echo = Echo {
        lua: &lua,
        calls: 0,
        last: Vec::new(),
        text: Vec::new(),
    };
    let (slice, _) = lend(&mut echo, || {
        run(&lua, "for i = 1, 20000 do end\n\nreturn b3('x')", 1_000)
    });
    let Slice::Failed { error, location } = slice else {
        panic!("{slice:?}")
    };
    let Value::Table(error) = error else {
        panic!("{error:?}")
    };
    assert_eq!(error.raw_get::<String>("err").expect("err"), "ERR boom");
    assert_eq!(location.map(|l| l.line), Some(3));
}

#[test]
fn a_coroutine_that_returned_restarts_with_another_function() {
    let lua = Lua::new();
    let first = lua
        .load("for i = 1, 30000 do end return 1")
        .into_function()
        .expect("f");
    let second = lua
        .load("for i = 1, 30000 do end return 2")
        .into_function()
        .expect("g");
    let thread = lua.create_thread(first.clone()).expect("thread");
    let restarted = restart(&lua, &thread, &second, 1_000, SKIP).expect("restart");
    assert!(restarted.is_none(), "not started yet");
    let finish = |mut slice: Slice| loop {
        match slice {
            Slice::Yielded { .. } => slice = resume(&lua, &thread, 1_000, SKIP).expect("resume"),
            other => return other,
        }
    };
    let last = finish(resume(&lua, &thread, 1_000, SKIP).expect("resume"));
    assert_eq!(returned_number(&last), 1.0);
    let first_slice = restart(&lua, &thread, &second, 1_000, SKIP).expect("restart");
    assert!(
        matches!(first_slice, Some(Slice::Yielded { .. })),
        "{first_slice:?}"
    );
    let last = finish(first_slice.expect("restarted"));
    assert_eq!(returned_number(&last), 2.0);
    let failing = lua.load("error('x')").into_function().expect("h");
    let failed = restart(&lua, &thread, &failing, 1_000, SKIP).expect("restart");
    assert!(matches!(failed, Some(Slice::Failed { .. })), "{failed:?}");
    let dead = restart(&lua, &thread, &first, 1_000, SKIP).expect("restart");
    assert!(dead.is_none(), "a dead coroutine stays dead");
}

/// A bridge that counts its calls and answers after its arguments.
struct Echo<'l> {
    lua: &'l Lua,
    calls: usize,
    last: Vec<String>,
    text: Vec<u8>,
}

impl Bridge for Echo<'_> {
    fn call(&mut self, tag: i64, args: &[Arg<'_>]) -> Answer<'_> {
        self.calls += 1;
        self.last = args.iter().map(|a| format!("{a:?}")).collect();
        match (tag, args.first()) {
            (1, Some(Arg::Number(n))) => Answer::Number(n * 2.0),
            (1, Some(Arg::Str(s))) => {
                self.text = s.to_vec();
                Answer::Str(&self.text)
            }
            (2, _) => Answer::Field("ok", b"fine"),
            (3, _) => Answer::Raise("err", b"ERR boom"),
            (4, _) => Answer::RaiseMessage("plain"),
            (5, _) => {
                let t = self.lua.create_sequence_from([7, 8, 9]).expect("table");
                Answer::Value(self.lua, Value::Table(t))
            }
            (6, _) => Answer::Boolean(true),
            _ => Answer::Nil,
        }
    }
}

fn with_bridged(lua: &Lua) {
    for tag in [1, 2, 3, 4, 5, 6, 9] {
        let f = bridged(lua, tag).expect("bridged");
        lua.globals().set(format!("b{tag}"), f).expect("global");
    }
}

#[test]
fn a_bridged_function_answers_through_the_lent_bridge_only_while_lent() {
    let lua = Lua::new();
    with_bridged(&lua);
    let mut echo = Echo {
        lua: &lua,
        calls: 0,
        last: Vec::new(),
        text: Vec::new(),
    };
    let check = r#"
        local t = b5()
        local ok, e = pcall(b3)
        local ok2, e2 = pcall(b4)
        return b1(21), b1('s'), b2().ok, e.err, e2, t[1] + t[2] + t[3], b6(), b9(true, nil)
    "#;
    let got: (i64, String, String, String, String, i64, bool, Value) =
        lend(&mut echo, || lua.load(check).eval().expect("eval"));
    assert_eq!(
        (
            got.0,
            got.1.as_str(),
            got.2.as_str(),
            got.3.as_str(),
            got.4.as_str(),
            got.5,
            got.6
        ),
        (42, "s", "fine", "ERR boom", "plain", 24, true)
    );
    assert!(got.7.is_nil());
    assert_eq!(echo.last, ["Other(\"boolean\")", "Other(\"nil\")"]);
    assert_eq!(echo.calls, 8);
    // More arguments than are read without allocating.
    let many = "return b9(1, 2, 3, 4, 5, 6, 7, 8, 9, 'ten')";
    lend(&mut echo, || lua.load(many).exec().expect("many"));
    assert_eq!(echo.last.len(), 10);
    assert_eq!(echo.last[9], "Str([116, 101, 110])");
    assert!(!is_lent(), "cleared after lend");
    let err = lua
        .load("return b1(1)")
        .exec()
        .expect_err("no bridge outside lend");
    assert!(err.to_string().contains(NOT_LENT), "{err}");
}

#[test]
fn a_lent_bridge_is_cleared_when_the_closure_unwinds() {
    let lua = Lua::new();
    let mut echo = Echo {
        lua: &lua,
        calls: 0,
        last: Vec::new(),
        text: Vec::new(),
    };
    let unwound = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        lend(&mut echo, || panic!("boom"))
    }));
    assert!(unwound.is_err());
    assert!(!is_lent());
}

#[test]
fn a_re_entrant_use_finds_no_bridge_and_nested_lends_restore() {
    let lua = Lua::new();
    let new_echo = || Echo {
        lua: &lua,
        calls: 0,
        last: Vec::new(),
        text: Vec::new(),
    };
    let (mut outer, mut inner) = (new_echo(), new_echo());
    lend(&mut outer, || {
        let nested = with_lent(|_| with_lent(|_| ()));
        assert_eq!(nested, Some(None), "re-entry sees no bridge");
        lend(&mut inner, || {
            let answer = with_lent(|b| matches!(b.call(0, &[]), Answer::Nil));
            assert_eq!(answer, Some(true));
        });
        let answer = with_lent(|b| matches!(b.call(0, &[]), Answer::Nil));
        assert_eq!(answer, Some(true));
    });
    assert_eq!((outer.calls, inner.calls), (1, 1));
    assert!(!is_lent());
}

#[test]
fn a_suspended_script_reaches_the_bridge_lent_for_each_slice() {
    let lua = Lua::new();
    with_bridged(&lua);
    let func = lua
        .load("local call, n = b1, 0 for i = 1, 3000 do n = n + call(5) end return n")
        .into_function()
        .expect("compiles");
    let thread = lua.create_thread(func).expect("thread");
    let mut slices = 0;
    let mut calls = 0;
    let total = loop {
        slices += 1;
        let mut echo = Echo {
            lua: &lua,
            calls: 0,
            last: Vec::new(),
            text: Vec::new(),
        };
        let slice = lend(&mut echo, || {
            resume(&lua, &thread, 1_000, SKIP).expect("resume")
        });
        calls += echo.calls;
        if let Slice::Returned(values) = slice {
            break returned_number(&Slice::Returned(values));
        }
    };
    assert_eq!(total, 30_000.0, "5 doubled, 3000 times");
    assert_eq!(calls, 3000);
    assert!(slices > 3, "{slices} slices");
}

#[test]
fn a_start_passes_argument_tables_and_sets_global_tables() {
    let lua = Lua::new();
    let keys: [&[u8]; 2] = [b"k1", b"a\0b"];
    let argv: [&[u8]; 1] = [b"v"];
    let func = lua
        .load("local k, a = ... return table.concat({#k, k[2], #a, a[1], #G1, G1[1], #G2}, ','), 'more'")
        .into_function()
        .expect("compiles");
    let thread = new_thread(&lua).expect("thread");
    let run = Start {
        args: &[&keys[..], &argv[..]],
        globals: &[("G1", &argv[..]), ("G2", &[][..])],
        reuse_globals: false,
    };
    let slice = start(&lua, &thread, &func, &run, 1_000, SKIP).expect("start");
    let Some(Slice::ReturnedBytes(got)) = slice else {
        panic!("not returned: {slice:?}");
    };
    assert_eq!(&got[..], b"2,a\0b,1,v,1,v,0", "the first value only");
    // Idle again: it starts the next run; a new table each time.
    let again = start(&lua, &thread, &func, &run, 1_000, SKIP).expect("again");
    assert!(matches!(again, Some(Slice::ReturnedBytes(_))), "{again:?}");
    let suspended = lua
        .load("for i = 1, 100000 do end")
        .into_function()
        .expect("loop");
    let long = start(&lua, &thread, &suspended, &run, 1_000, SKIP).expect("long");
    assert!(matches!(long, Some(Slice::Yielded { .. })), "{long:?}");
    let busy = start(&lua, &thread, &func, &run, 1_000, SKIP).expect("busy");
    assert!(busy.is_none(), "a suspended coroutine is not restarted");
}

#[test]
fn a_returned_string_comes_as_bytes_and_other_values_as_values() {
    let lua = Lua::new();
    let (slice, _) = run(&lua, "return 'a\0b', 'ignored'", 1_000);
    assert!(
        matches!(&slice, Slice::ReturnedBytes(b) if b == b"a\0b"),
        "{slice:?}"
    );
    let (slice, _) = run(&lua, "return {1, 2}", 1_000);
    let Slice::Returned(Value::Table(table)) = slice else {
        panic!("not a table: {slice:?}");
    };
    assert_eq!(table.raw_len(), 2);
    let (slice, _) = run(&lua, "local x = 1", 1_000);
    assert!(matches!(slice, Slice::Returned(Value::Nil)), "{slice:?}");
    let (slice, _) = run(&lua, "return 7", 1_000);
    assert_eq!(returned_number(&slice), 7.0);
}

/// Starts `code` with global `G` set to `items` (reused when allowed) and
/// runs it to its end: the table `G` then holds.
fn start_with_global(lua: &Lua, code: &str, items: &[&[u8]], reuse: bool) -> mlua::Table {
    let func = lua.load(code).into_function().expect("compiles");
    let thread = new_thread(lua).expect("thread");
    let run = Start {
        args: &[],
        globals: &[("G", items)],
        reuse_globals: reuse,
    };
    let slice = start(lua, &thread, &func, &run, 1_000_000, SKIP).expect("start");
    assert!(
        matches!(slice, Some(Slice::Returned(_) | Slice::ReturnedBytes(_))),
        "{slice:?}"
    );
    lua.globals().raw_get("G").expect("G")
}

#[test]
fn a_small_plain_global_table_is_emptied_and_refilled() {
    let lua = Lua::new();
    let first = start_with_global(&lua, "return 1", &[b"a", b"b", b"c"], true);
    // The script adds a field, an element and changes one: all gone at the next start.
    let code = "G.extra = true; G[4] = 'd'; G[1] = 'z'; return 1";
    let again = start_with_global(&lua, code, &[b"x"], true);
    assert_eq!(again.to_pointer(), first.to_pointer(), "the same table");
    let next = start_with_global(&lua, "return 1", &[b"y", b"w"], true);
    assert_eq!(next.to_pointer(), first.to_pointer());
    let pairs: Vec<(mlua::Value, mlua::Value)> = next.pairs().map(|p| p.expect("pair")).collect();
    assert_eq!(pairs.len(), 2, "only the new items: {pairs:?}");
    assert_eq!(next.raw_len(), 2);
    assert_eq!(next.raw_get::<String>(1).expect("1"), "y");
    assert_eq!(next.raw_get::<String>(2).expect("2"), "w");
    // What the script sees: a plain table of the items, # included.
    let seen = lua
        .load("return #G .. ',' .. G[1] .. ',' .. G[2] .. ',' .. tostring(G[3]) .. ',' .. tostring(G.extra)")
        .eval::<String>()
        .expect("eval");
    assert_eq!(seen, "2,y,w,nil,nil");
}

#[test]
fn a_global_table_with_a_metatable_or_grown_is_replaced() {
    let lua = Lua::new();
    let first = start_with_global(&lua, "setmetatable(G, {}); return 1", &[b"a"], true);
    let second = start_with_global(&lua, "return 1", &[b"b"], true);
    assert_ne!(second.to_pointer(), first.to_pointer(), "had a metatable");
    assert!(second.metatable().is_none());
    let code = "for i = 1, 1000 do G[i] = i end for i = 1, 1000 do G[i] = nil end return 1";
    let grown = start_with_global(&lua, code, &[b"c"], true);
    assert_eq!(grown.to_pointer(), second.to_pointer(), "grown by this run");
    let third = start_with_global(&lua, "return 1", &[b"d"], true);
    assert_ne!(third.to_pointer(), grown.to_pointer(), "too big to keep");
    assert_eq!(third.raw_get::<String>(1).expect("1"), "d");
    let fourth = start_with_global(&lua, "return 1", &[b"e"], false);
    assert_ne!(
        fourth.to_pointer(),
        third.to_pointer(),
        "not asked to reuse"
    );
}

#[test]
fn a_reused_table_without_a_hash_part_reads_as_new() {
    let lua = Lua::new();
    let first = start_with_global(&lua, "return 1", &[b"a", b"b", b"c"], true);
    let func = lua
        .load("local n = 0 for _ in pairs(G) do n = n + 1 end return #G .. G[1] .. tostring(G[2]) .. n")
        .into_function()
        .expect("compiles");
    let thread = new_thread(&lua).expect("thread");
    let items: [&[u8]; 1] = [b"x"];
    let run = Start {
        args: &[],
        globals: &[("G", &items[..])],
        reuse_globals: true,
    };
    let slice = start(&lua, &thread, &func, &run, 1_000_000, SKIP).expect("start");
    assert!(
        matches!(&slice, Some(Slice::ReturnedBytes(b)) if b == b"1xnil1"),
        "{slice:?}"
    );
    let table: mlua::Table = lua.globals().raw_get("G").expect("G");
    assert_eq!(table.to_pointer(), first.to_pointer(), "the same table");
}
