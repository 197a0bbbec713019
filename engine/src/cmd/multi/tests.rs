//! MULTI/EXEC/DISCARD/WATCH/UNWATCH through the node, with Redis 7.0.15's
//! exact replies (checked against the real server).

use crate::config::Config;
use crate::resp::frame::Frame;
use crate::testing::Harness;

mod effects;
mod model;
mod watching;

fn ok() -> Frame {
    Frame::Simple("OK".into())
}

fn queued() -> Frame {
    Frame::Simple("QUEUED".into())
}

fn err(text: &str) -> Frame {
    Frame::Error(text.into())
}

fn bulk(text: &str) -> Frame {
    Frame::Bulk(bytes::Bytes::copy_from_slice(text.as_bytes()))
}

const EXECABORT: &str = "EXECABORT Transaction discarded because of previous errors.";

fn setup() -> (Harness, u64) {
    let mut h = Harness::new(Config::default());
    let c = h.connect();
    (h, c)
}

/// The raw bytes of the reply to one command (for RESP2/RESP3 shapes).
fn raw(h: &mut Harness, c: u64, args: &[&str]) -> Vec<u8> {
    let args: Vec<&[u8]> = args.iter().map(|a| a.as_bytes()).collect();
    let before = h.pending_bytes(c).len();
    h.send_raw(c, &crate::testing::request(&args));
    let all = h.pending_bytes(c);
    while h.read(c).is_some() {}
    all[before..].to_vec()
}

/// The CLIENT LIST line of client `id`, as seen by `observer`.
fn client_line(h: &mut Harness, observer: u64, id: u64) -> String {
    let Frame::Bulk(text) = h.call(observer, &["CLIENT", "LIST"]) else {
        panic!("CLIENT LIST is a bulk in RESP2");
    };
    String::from_utf8_lossy(&text)
        .lines()
        .find(|l| l.starts_with(&format!("id={id} ")))
        .expect("the client is listed")
        .to_string()
}

fn field<'a>(line: &'a str, name: &str) -> &'a str {
    line.split(' ')
        .find_map(|kv| kv.strip_prefix(&format!("{name}=")))
        .expect("field present")
}

#[test]
fn commands_are_queued_and_run_at_exec_in_order() {
    let (mut h, c) = setup();
    assert_eq!(h.call(c, &["MULTI"]), ok());
    assert_eq!(h.call(c, &["SET", "k", "1"]), queued());
    assert_eq!(h.call(c, &["INCR", "k"]), queued());
    assert_eq!(h.call(c, &["GET", "k"]), queued());
    assert_eq!(
        h.call(c, &["EXEC"]),
        Frame::Array(vec![ok(), Frame::Int(2), bulk("2")])
    );
    assert_eq!(h.call(c, &["GET", "k"]), bulk("2"));
}

#[test]
fn nothing_runs_before_exec_and_discard_drops_the_queue() {
    let (mut h, c) = setup();
    let other = h.connect();
    h.call(c, &["MULTI"]);
    h.call(c, &["SET", "k", "1"]);
    assert_eq!(h.call(other, &["EXISTS", "k"]), Frame::Int(0));
    assert_eq!(h.call(c, &["DISCARD"]), ok());
    assert_eq!(h.call(c, &["EXISTS", "k"]), Frame::Int(0));
    assert_eq!(h.call(c, &["DISCARD"]), err("ERR DISCARD without MULTI"));
}

#[test]
fn exec_replies_in_resp2_and_resp3() {
    let (mut h, c) = setup();
    h.call(c, &["MULTI"]);
    assert_eq!(raw(&mut h, c, &["EXEC"]), b"*0\r\n");
    h.call(c, &["MULTI"]);
    h.call(c, &["SET", "a", "1"]);
    h.call(c, &["GET", "nope"]);
    assert_eq!(raw(&mut h, c, &["EXEC"]), b"*2\r\n+OK\r\n$-1\r\n");
    h.call(c, &["HELLO", "3"]);
    h.call(c, &["MULTI"]);
    h.call(c, &["GET", "nope"]);
    assert_eq!(raw(&mut h, c, &["EXEC"]), b"*1\r\n_\r\n");
}

#[test]
fn a_watched_key_that_changed_makes_exec_reply_a_null_array() {
    for (hello, expected) in [("2", &b"*-1\r\n"[..]), ("3", &b"_\r\n"[..])] {
        let (mut h, c) = setup();
        let other = h.connect();
        h.call(c, &["HELLO", hello]);
        h.call(other, &["SET", "k", "1"]);
        h.call(c, &["WATCH", "k"]);
        h.call(other, &["FLUSHDB"]);
        h.call(c, &["MULTI"]);
        h.call(c, &["SET", "x", "1"]);
        assert_eq!(raw(&mut h, c, &["EXEC"]), expected, "RESP{hello}");
        assert_eq!(h.call(c, &["EXISTS", "x"]), Frame::Int(0), "nothing ran");
    }
}

#[test]
fn runtime_errors_take_their_slot_and_the_rest_runs() {
    let (mut h, c) = setup();
    h.call(c, &["MULTI"]);
    h.call(c, &["SET", "a", "x"]);
    h.call(c, &["INCR", "a"]);
    h.call(c, &["LPUSH", "a", "1"]);
    h.call(c, &["SET", "b", "2"]);
    assert_eq!(
        h.call(c, &["EXEC"]),
        Frame::Array(vec![
            ok(),
            err("ERR value is not an integer or out of range"),
            err("WRONGTYPE Operation against a key holding the wrong kind of value"),
            ok(),
        ])
    );
    assert_eq!(h.call(c, &["GET", "b"]), bulk("2"));
}

#[test]
fn queue_time_errors_abort_the_transaction() {
    let cases: &[(&[&str], &str)] = &[
        (
            &["NOSUCH", "a"],
            "ERR unknown command 'NOSUCH', with args beginning with: 'a' ",
        ),
        (
            &["SET", "a"],
            "ERR wrong number of arguments for 'set' command",
        ),
        (
            &["CLIENT", "NOSUCH"],
            "ERR unknown subcommand 'NOSUCH'. Try CLIENT HELP.",
        ),
        (
            &["CLIENT"],
            "ERR wrong number of arguments for 'client' command",
        ),
        (
            &["WATCH"],
            "ERR wrong number of arguments for 'watch' command",
        ),
        (
            &["SHUTDOWN"],
            "ERR Command not allowed inside a transaction",
        ),
    ];
    for (command, error) in cases {
        let (mut h, c) = setup();
        h.call(c, &["MULTI"]);
        h.call(c, &["SET", "before", "1"]);
        assert_eq!(h.call(c, command), err(error), "{command:?}");
        assert_eq!(h.call(c, &["SET", "after", "1"]), queued());
        assert_eq!(h.call(c, &["EXEC"]), err(EXECABORT), "{command:?}");
        assert_eq!(h.call(c, &["EXISTS", "before", "after"]), Frame::Int(0));
        assert_eq!(h.call(c, &["PING"]), Frame::Simple("PONG".into()));
    }
}

#[test]
fn errors_of_commands_that_run_inside_multi_do_not_abort() {
    let (mut h, c) = setup();
    assert_eq!(h.call(c, &["MULTI"]), ok());
    assert_eq!(
        h.call(c, &["MULTI"]),
        err("ERR MULTI calls can not be nested")
    );
    assert_eq!(h.call(c, &["SET", "a", "1"]), queued());
    assert_eq!(
        h.call(c, &["WATCH", "x"]),
        err("ERR WATCH inside MULTI is not allowed")
    );
    assert_eq!(h.call(c, &["EXEC"]), Frame::Array(vec![ok()]));
}

#[test]
fn exec_and_discard_outside_multi_are_errors() {
    let (mut h, c) = setup();
    assert_eq!(h.call(c, &["EXEC"]), err("ERR EXEC without MULTI"));
    assert_eq!(h.call(c, &["DISCARD"]), err("ERR DISCARD without MULTI"));
    assert_eq!(
        h.call(c, &["MULTI", "x"]),
        err("ERR wrong number of arguments for 'multi' command")
    );
    assert_eq!(
        h.call(c, &["UNWATCH", "x"]),
        err("ERR wrong number of arguments for 'unwatch' command")
    );
}

#[test]
fn a_refused_exec_discards_the_transaction_with_its_reason() {
    let (mut h, c) = setup();
    h.call(c, &["MULTI"]);
    h.call(c, &["SET", "a", "1"]);
    assert_eq!(
        h.call(c, &["EXEC", "extra"]),
        err("EXECABORT Transaction discarded because of: wrong number of arguments for 'exec' command")
    );
    assert_eq!(h.call(c, &["EXEC"]), err("ERR EXEC without MULTI"));
    assert_eq!(h.call(c, &["EXISTS", "a"]), Frame::Int(0));
}

#[test]
fn quit_and_reset_run_inside_multi() {
    let (mut h, c) = setup();
    h.call(c, &["MULTI"]);
    h.call(c, &["SET", "a", "1"]);
    assert_eq!(h.call(c, &["RESET"]), Frame::Simple("RESET".into()));
    assert_eq!(h.call(c, &["EXEC"]), err("ERR EXEC without MULTI"));
    h.call(c, &["WATCH", "k"]);
    assert_eq!(h.node.server_mut().watches.keys_of(c), 1);
    h.call(c, &["RESET"]);
    assert_eq!(h.node.server_mut().watches.keys_of(c), 0, "RESET unwatches");
    h.call(c, &["MULTI"]);
    assert_eq!(h.call(c, &["QUIT"]), ok());
    assert!(h.is_closed(c));
    let other = h.connect();
    assert_eq!(h.call(other, &["EXISTS", "a"]), Frame::Int(0));
}

#[test]
fn client_list_shows_the_transaction() {
    let (mut h, c) = setup();
    let observer = h.connect();
    let line = client_line(&mut h, observer, c);
    assert_eq!(
        (
            field(&line, "flags"),
            field(&line, "multi"),
            field(&line, "multi-mem")
        ),
        ("N", "-1", "0")
    );
    h.call(c, &["MULTI"]);
    let line = client_line(&mut h, observer, c);
    assert_eq!(
        (
            field(&line, "flags"),
            field(&line, "multi"),
            field(&line, "multi-mem")
        ),
        ("x", "0", "0")
    );
    h.call(c, &["SET", "x", "1"]);
    h.call(c, &["SET", "y", "12345678901234567890"]);
    // Redis: each queued argument's length plus a pointer (29 + 48).
    let line = client_line(&mut h, observer, c);
    assert_eq!(
        (field(&line, "multi"), field(&line, "multi-mem")),
        ("2", "77")
    );
    assert_eq!(field(&line, "cmd"), "set");
    h.call(c, &["NOSUCH"]);
    h.call(c, &["SET", "z", "1"]);
    let line = client_line(&mut h, observer, c);
    assert_eq!(
        field(&line, "multi"),
        "2",
        "a failed transaction stops storing"
    );
    h.call(c, &["EXEC"]);
    let line = client_line(&mut h, observer, c);
    assert_eq!(
        (
            field(&line, "flags"),
            field(&line, "multi"),
            field(&line, "cmd")
        ),
        ("N", "-1", "exec")
    );
}

#[test]
fn client_list_shows_d_once_a_watched_key_changed() {
    let (mut h, c) = setup();
    let observer = h.connect();
    h.call(observer, &["SET", "k", "1"]);
    h.call(c, &["WATCH", "k"]);
    assert_eq!(field(&client_line(&mut h, observer, c), "flags"), "N");
    h.call(observer, &["FLUSHALL"]);
    assert_eq!(field(&client_line(&mut h, observer, c), "flags"), "d");
    h.call(c, &["MULTI"]);
    h.call(c, &["SET", "q", "1"]);
    let line = client_line(&mut h, observer, c);
    assert_eq!((field(&line, "flags"), field(&line, "multi")), ("xd", "0"));
    assert_eq!(h.call(c, &["EXEC"]), Frame::Null);
    assert_eq!(field(&client_line(&mut h, observer, c), "flags"), "N");
}

#[test]
fn commandstats_count_exec_and_each_queued_command_once() {
    let (mut h, c) = setup();
    h.call(c, &["MULTI"]);
    h.call(c, &["SET", "a", "x"]);
    h.call(c, &["INCR", "a"]);
    h.call(c, &["SET", "b"]);
    h.call(c, &["EXEC"]);
    h.call(c, &["MULTI"]);
    h.call(c, &["SET", "a", "x"]);
    h.call(c, &["INCR", "a"]);
    h.call(c, &["GET", "a"]);
    h.call(c, &["EXEC"]);
    h.call(c, &["MULTI"]);
    h.call(c, &["MULTI"]);
    h.call(c, &["EXEC", "x"]);
    let stats = h.node.server_mut().stats.clone();
    let get = |name: &str| stats.commands.get(name).copied().unwrap_or_default();
    assert_eq!((get("set").calls, get("set").rejected_calls), (1, 1));
    assert_eq!((get("incr").calls, get("incr").failed_calls), (1, 1));
    assert_eq!(get("get").calls, 1);
    let exec = get("exec");
    assert_eq!(
        (exec.calls, exec.failed_calls, exec.rejected_calls),
        (2, 1, 1)
    );
    assert_eq!((get("multi").calls, get("multi").failed_calls), (4, 1));
    // multi ×4, exec ×2, set, incr, get (queued ones count when they run).
    assert_eq!(stats.total_commands_processed, 9);
    assert_eq!(stats.errors.get("EXECABORT"), Some(&2));
}

/// A queued command keeps what it resolved to when queued (a
/// subcommand, a container's own handler): EXEC runs and counts it the
/// same, under its full name.
#[test]
fn queued_subcommands_run_and_count_under_their_full_names() {
    let (mut h, c) = setup();
    let observer = h.connect();
    h.call(c, &["MULTI"]);
    assert_eq!(h.call(c, &["CLIENT", "SETNAME", "txn"]), queued());
    assert_eq!(h.call(c, &["client", "GetName"]), queued());
    assert_eq!(h.call(c, &["COMMAND", "COUNT"]), queued());
    assert_eq!(h.call(c, &["OBJECT", "ENCODING", "nokey"]), queued());
    let count = h.node.server().table.len() as i64;
    assert_eq!(
        h.call(c, &["EXEC"]),
        Frame::Array(vec![ok(), bulk("txn"), Frame::Int(count), Frame::Null])
    );
    let stats = h.node.server_mut().stats.clone();
    let calls = |name: &str| stats.commands.get(name).map(|s| s.calls);
    assert_eq!(calls("client|setname"), Some(1));
    assert_eq!(calls("client|getname"), Some(1));
    assert_eq!(calls("command|count"), Some(1));
    assert_eq!(calls("object|encoding"), Some(1));
    assert_eq!(calls("client"), None);
    assert_eq!(field(&client_line(&mut h, observer, c), "cmd"), "exec");
}

#[test]
fn debug_sleep_inside_exec_answers_in_its_slot() {
    let mut h = Harness::new(Config {
        enable_debug_command: "yes".into(),
        ..Config::default()
    });
    let c = h.connect();
    h.call(c, &["MULTI"]);
    h.call(c, &["DEBUG", "SLEEP", "0.5"]);
    h.call(c, &["PING"]);
    assert_eq!(
        h.call(c, &["EXEC"]),
        Frame::Array(vec![ok(), Frame::Simple("PONG".into())])
    );
    h.advance(600);
    assert_eq!(h.read(c), None, "no second answer after the pause");
}

#[test]
fn watch_and_unwatch_answer_ok_and_fill_the_registry() {
    let (mut h, c) = setup();
    assert_eq!(h.call(c, &["WATCH", "a", "b", "a"]), ok());
    assert_eq!(h.call(c, &["WATCH", "b", "c"]), ok());
    assert_eq!(h.node.server_mut().watches.keys_of(c), 3);
    assert_eq!(h.call(c, &["UNWATCH"]), ok());
    assert!(h.node.server_mut().watches.is_empty());
    h.call(c, &["WATCH", "a"]);
    h.call(c, &["MULTI"]);
    h.call(c, &["EXEC"]);
    assert!(h.node.server_mut().watches.is_empty(), "EXEC unwatches");
    h.call(c, &["WATCH", "a"]);
    h.call(c, &["MULTI"]);
    h.call(c, &["DISCARD"]);
    assert!(h.node.server_mut().watches.is_empty(), "DISCARD unwatches");
}

#[test]
fn a_closed_or_killed_client_leaves_no_watches() {
    let (mut h, c) = setup();
    let victim = h.connect();
    h.call(victim, &["WATCH", "a"]);
    h.node
        .handle_input(h.now, crate::node::Input::ClientClosed { client: victim });
    assert!(h.node.server_mut().watches.is_empty());
    let victim = h.connect();
    h.call(victim, &["WATCH", "a"]);
    let kill = format!("{victim}");
    assert_eq!(h.call(c, &["CLIENT", "KILL", "ID", &kill]), Frame::Int(1));
    h.advance_by_ticks(1);
    assert!(h.node.server_mut().watches.is_empty(), "swept by the cron");
}
