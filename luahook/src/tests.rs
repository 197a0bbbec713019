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
        Slice::Returned(values) => match values.front() {
            Some(Value::Integer(n)) => *n as f64,
            Some(Value::Number(n)) => *n,
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
fn a_forwarder_reaches_the_slot_s_function_of_the_moment() {
    let lua = Lua::new();
    let slot = lua.create_table().expect("table");
    let call = forwarder(&lua, &slot, 7).expect("forwarder");
    lua.globals().set("call", call).expect("set");
    let add = lua
        .create_function(|_, (tag, a, b): (i64, i64, i64)| Ok((tag, a + b)))
        .expect("function");
    slot.raw_set(1, add).expect("slot");
    let (tag, sum): (i64, i64) = lua.load("return call(2, 3)").eval().expect("eval");
    assert_eq!((tag, sum), (7, 5));
    let times = lua
        .create_function(|_, (_tag, a, b): (i64, i64, i64)| Ok(a * b))
        .expect("function");
    slot.raw_set(1, times).expect("slot");
    let product: i64 = lua
        .load("local c = call return c(2, 3)")
        .eval()
        .expect("eval");
    assert_eq!(product, 6);
}

#[test]
fn an_error_through_a_forwarder_is_located_at_the_caller_even_in_a_tail_call() {
    let lua = Lua::new();
    let slot = lua.create_table().expect("table");
    let fail = lua
        .create_function(|_, _: mlua::MultiValue| {
            Err::<(), _>(mlua::Error::RuntimeError("no".into()))
        })
        .expect("function");
    slot.raw_set(1, fail).expect("slot");
    lua.globals()
        .set("call", forwarder(&lua, &slot, 1).expect("forwarder"))
        .expect("set");
    let (slice, _) = run(&lua, "for i = 1, 20000 do end\n\nreturn call('x')", 1_000);
    let Slice::Failed { error, location } = slice else {
        panic!("{slice:?}")
    };
    assert!(matches!(error, Value::Error(_)), "{error:?}");
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

/// A bridge that counts its calls and answers their first argument doubled.
struct Doubler {
    calls: usize,
}

impl Bridge for Doubler {
    fn call(&mut self, _lua: &Lua, args: MultiValue) -> mlua::Result<Value> {
        self.calls += 1;
        match args.front() {
            Some(Value::Integer(n)) => Ok(Value::Integer(n * 2)),
            _ => Ok(Value::Nil),
        }
    }
}

fn slot_function(lua: &Lua, slot: &std::rc::Rc<BridgeSlot>) -> mlua::Function {
    let slot = slot.clone();
    lua.create_function(move |lua, args: MultiValue| {
        slot.with(|bridge| bridge.call(lua, args))
            .unwrap_or_else(|| Err(mlua::Error::RuntimeError("no bridge".into())))
    })
    .expect("function")
}

#[test]
fn a_lent_bridge_is_reached_only_while_lent() {
    let lua = Lua::new();
    let slot = std::rc::Rc::new(BridgeSlot::default());
    let f = slot_function(&lua, &slot);
    let mut doubler = Doubler { calls: 0 };
    let got: i64 = slot.lend(&mut doubler, || f.call(21).expect("call"));
    assert_eq!(got, 42);
    assert_eq!(doubler.calls, 1);
    assert!(!slot.is_lent(), "cleared after lend");
    let err = f.call::<i64>(1).expect_err("no bridge outside lend");
    assert!(err.to_string().contains("no bridge"), "{err}");
}

#[test]
fn a_lent_bridge_is_cleared_when_the_closure_unwinds() {
    let slot = BridgeSlot::default();
    let mut doubler = Doubler { calls: 0 };
    let unwound = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        slot.lend(&mut doubler, || panic!("boom"))
    }));
    assert!(unwound.is_err());
    assert!(!slot.is_lent());
}

#[test]
fn a_re_entrant_use_finds_no_bridge_and_nested_lends_restore() {
    let slot = BridgeSlot::default();
    let (mut outer, mut inner) = (Doubler { calls: 0 }, Doubler { calls: 0 });
    let lua = Lua::new();
    slot.lend(&mut outer, || {
        let nested = slot.with(|_| slot.with(|_| ()));
        assert_eq!(nested, Some(None), "re-entry sees no bridge");
        slot.lend(&mut inner, || {
            let answer = slot.with(|b| b.call(&lua, MultiValue::new()));
            assert!(matches!(answer, Some(Ok(Value::Nil))), "inner: {answer:?}");
        });
        let answer = slot.with(|b| b.call(&lua, MultiValue::new()));
        assert!(matches!(answer, Some(Ok(Value::Nil))), "outer: {answer:?}");
    });
    assert_eq!((outer.calls, inner.calls), (1, 1));
    assert!(!slot.is_lent());
}

#[test]
fn a_slice_of_a_script_reaches_the_bridge_through_a_forwarder() {
    let lua = Lua::new();
    let slot = std::rc::Rc::new(BridgeSlot::default());
    let table = lua.create_table().expect("table");
    table.raw_set(1, slot_function(&lua, &slot)).expect("set");
    let call = forwarder(&lua, &table, 5).expect("forwarder");
    lua.globals().set("call", call).expect("global");
    let func = lua
        .load("local n = 0 for i = 1, 3000 do n = n + call() end return n")
        .into_function()
        .expect("compiles");
    let thread = lua.create_thread(func).expect("thread");
    let mut doubler = Doubler { calls: 0 };
    let mut slices = 0;
    let total = loop {
        slices += 1;
        let slice = slot.lend(&mut doubler, || {
            resume(&lua, &thread, 1_000, SKIP).expect("resume")
        });
        if let Slice::Returned(values) = slice {
            break returned_number(&Slice::Returned(values));
        }
    };
    assert_eq!(total, 30_000.0, "the tag 5 doubled, 3000 times");
    assert_eq!(doubler.calls, 3000);
    assert!(slices > 3, "{slices} slices");
}

#[test]
fn a_start_passes_argument_tables_and_sets_global_tables() {
    let lua = Lua::new();
    let keys: [&[u8]; 2] = [b"k1", b"a\0b"];
    let argv: [&[u8]; 1] = [b"v"];
    let func = lua
        .load("local k, a = ... return #k, k[2], #a, a[1], #G1, G1[1], #G2")
        .into_function()
        .expect("compiles");
    let thread = new_thread(&lua).expect("thread");
    let run = Start {
        args: &[&keys[..], &argv[..]],
        globals: &[("G1", &argv[..]), ("G2", &[][..])],
    };
    let slice = start(&lua, &thread, &func, &run, 1_000, SKIP).expect("start");
    let Some(Slice::Returned(values)) = slice else {
        panic!("not returned: {slice:?}");
    };
    let got: Vec<String> = values
        .iter()
        .map(|v| v.to_string().expect("printable"))
        .collect();
    assert_eq!(got, ["2", "a\0b", "1", "v", "1", "v", "0"]);
    // Idle again: it starts the next run; a new table each time.
    let again = start(&lua, &thread, &func, &run, 1_000, SKIP).expect("again");
    assert!(matches!(again, Some(Slice::Returned(_))), "{again:?}");
    let suspended = lua
        .load("for i = 1, 100000 do end")
        .into_function()
        .expect("loop");
    let long = start(&lua, &thread, &suspended, &run, 1_000, SKIP).expect("long");
    assert!(matches!(long, Some(Slice::Yielded { .. })), "{long:?}");
    let busy = start(&lua, &thread, &func, &run, 1_000, SKIP).expect("busy");
    assert!(busy.is_none(), "a suspended coroutine is not restarted");
}
