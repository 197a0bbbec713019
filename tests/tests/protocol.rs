//! The wire protocol over real TCP, byte for byte: protocol errors close
//! the connection after `-ERR Protocol error: ...`, unknown commands do not,
//! inline commands, requests split across many writes, large pipelines.

use keel_engine::resp::frame::Frame;
use keel_tests::{KeelServer, RespConn};
use std::thread;

fn simple(s: &str) -> Frame {
    Frame::Simple(s.into())
}

fn bulk(s: &str) -> Frame {
    Frame::Bulk(s.as_bytes().to_vec().into())
}

/// Each malformed input, and the exact bytes the server answers before it
/// closes the connection (Redis 7.0's texts).
const PROTOCOL_ERRORS: &[(&[u8], &str)] = &[
    (b"*1\r\nxx\r\n", "expected '$', got 'x'"),
    (b"*abc\r\n", "invalid multibulk length"),
    (b"*1\r\n$-5\r\n", "invalid bulk length"),
    (b"*1\r\n$abc\r\n", "invalid bulk length"),
    (b"*2147483648\r\n", "invalid multibulk length"),
    (b"*1\r\n$536870913\r\n", "invalid bulk length"),
    (b"SET a \"b\r\n", "unbalanced quotes in request"),
    (b"SET a 'b'c\r\n", "unbalanced quotes in request"),
];

#[test]
fn protocol_errors_reply_then_close() {
    let server = KeelServer::start();
    for (input, text) in PROTOCOL_ERRORS {
        let mut conn = RespConn::connect(server.addr()).expect("connect");
        conn.send_raw(input).expect("send");
        let received = conn.read_bytes_until_close().expect("read until close");
        let expected = format!("-ERR Protocol error: {text}\r\n");
        assert_eq!(
            String::from_utf8_lossy(&received),
            expected,
            "input {:?}",
            String::from_utf8_lossy(input)
        );
    }
}

#[test]
fn commands_before_a_protocol_error_are_answered() {
    let server = KeelServer::start();
    let mut conn = RespConn::connect(server.addr()).expect("connect");
    conn.send_raw(b"PING\r\n*1\r\n$4\r\nPING\r\n*1\r\nxx\r\nPING\r\n")
        .expect("send");
    let frames = conn.read_until_close().expect("read until close");
    assert_eq!(
        frames,
        vec![
            simple("PONG"),
            simple("PONG"),
            Frame::Error("ERR Protocol error: expected '$', got 'x'".into()),
        ]
    );
}

#[test]
fn unknown_commands_and_arity_errors_keep_the_connection() {
    let server = KeelServer::start();
    let mut conn = RespConn::connect(server.addr()).expect("connect");
    assert_eq!(
        conn.call(&["FOOBAR", "x", "y"]).expect("reply"),
        Frame::Error("ERR unknown command 'FOOBAR', with args beginning with: 'x' 'y' ".into())
    );
    assert_eq!(
        conn.call(&["GET", "a", "b"]).expect("reply"),
        Frame::Error("ERR wrong number of arguments for 'get' command".into())
    );
    assert_eq!(conn.call(&["PING"]).expect("reply"), simple("PONG"));
}

#[test]
fn inline_commands() {
    let server = KeelServer::start();
    let mut conn = RespConn::connect(server.addr()).expect("connect");
    conn.send_raw(b"SET inline \"two words\"\r\nGET inline\r\n\r\nPING\n")
        .expect("send");
    assert_eq!(conn.read().expect("reply"), simple("OK"));
    assert_eq!(conn.read().expect("reply"), bulk("two words"));
    assert_eq!(conn.read().expect("reply"), simple("PONG"));
}

#[test]
fn a_request_split_into_single_bytes() {
    let server = KeelServer::start();
    let mut conn = RespConn::connect(server.addr()).expect("connect");
    let request = b"*3\r\n$3\r\nSET\r\n$5\r\nsplit\r\n$5\r\nbytes\r\n";
    for byte in request {
        conn.send_raw(&[*byte]).expect("send one byte");
    }
    assert_eq!(conn.read().expect("reply"), simple("OK"));
    assert_eq!(conn.call(&["GET", "split"]).expect("reply"), bulk("bytes"));
}

#[test]
fn ten_thousand_pipelined_commands_in_one_write() {
    const N: usize = 10_000;
    let server = KeelServer::start();
    let mut conn = RespConn::connect(server.addr()).expect("connect");
    let mut batch = Vec::new();
    for i in 0..N {
        let key = format!("k{i}");
        batch.extend_from_slice(&keel_engine::testing::request(&[
            b"SET",
            key.as_bytes(),
            key.as_bytes(),
        ]));
        batch.extend_from_slice(&keel_engine::testing::request(&[b"GET", key.as_bytes()]));
    }
    // Write from another thread: replies flow back while the batch is sent,
    // and neither side may block the other.
    let mut writer = conn.try_clone_stream().expect("clone");
    let sender = thread::spawn(move || std::io::Write::write_all(&mut writer, &batch));
    for i in 0..N {
        assert_eq!(conn.read().expect("SET reply"), simple("OK"), "command {i}");
        assert_eq!(conn.read().expect("GET reply"), bulk(&format!("k{i}")));
    }
    sender.join().expect("writer thread").expect("write batch");
    assert_eq!(conn.call(&["DBSIZE"]).expect("reply"), Frame::Int(N as i64));
}

#[test]
fn large_values_round_trip() {
    let server = KeelServer::start();
    let mut conn = RespConn::connect(server.addr()).expect("connect");
    let value: Vec<u8> = (0..4 * 1024 * 1024).map(|i| (i % 251) as u8).collect();
    assert_eq!(
        conn.call(&[&b"SET"[..], b"big", &value]).expect("reply"),
        simple("OK")
    );
    assert_eq!(
        conn.call(&["GET", "big"]).expect("reply"),
        Frame::Bulk(value.into())
    );
}

#[test]
fn quit_replies_ok_then_closes() {
    let server = KeelServer::start();
    let mut conn = RespConn::connect(server.addr()).expect("connect");
    conn.send(&["QUIT"]).expect("send");
    assert_eq!(conn.read_until_close().expect("read"), vec![simple("OK")]);
}

#[test]
fn resp3_after_hello() {
    let server = KeelServer::start();
    let mut conn = RespConn::connect(server.addr()).expect("connect");
    let Frame::Map(fields) = conn.call(&["HELLO", "3"]).expect("reply") else {
        panic!("HELLO 3 answers with a RESP3 map");
    };
    assert!(fields.contains(&(bulk("proto"), Frame::Int(3))));
    conn.send(&["GET", "missing"]).expect("send");
    assert_eq!(conn.read_raw().expect("reply"), b"_\r\n");
    conn.send(&["HELLO", "2"]).expect("send");
    conn.read().expect("HELLO 2 reply");
    conn.send(&["GET", "missing"]).expect("send");
    assert_eq!(conn.read_raw().expect("reply"), b"$-1\r\n");
}

#[test]
fn unauthenticated_clients_get_tighter_limits() {
    let server = KeelServer::with_config(keel_engine::Config {
        requirepass: Some("pw".into()),
        ..keel_engine::Config::default()
    });
    let limits: [(&[u8], &str); 2] = [
        (b"*11\r\n", "unauthenticated multibulk length"),
        (b"*1\r\n$16385\r\n", "unauthenticated bulk length"),
    ];
    for (input, text) in limits {
        let mut conn = RespConn::connect(server.addr()).expect("connect");
        conn.send_raw(input).expect("send");
        let received = conn.read_bytes_until_close().expect("read until close");
        assert_eq!(
            String::from_utf8_lossy(&received),
            format!("-ERR Protocol error: {text}\r\n")
        );
    }
    // Once authenticated, the same sizes are fine.
    let mut conn = RespConn::connect(server.addr()).expect("connect");
    assert_eq!(conn.call(&["AUTH", "pw"]).expect("reply"), simple("OK"));
    let big = vec![b'x'; 16385];
    assert_eq!(
        conn.call(&[&b"ECHO"[..], &big]).expect("reply"),
        Frame::Bulk(big.into())
    );
    let eleven: Vec<&str> = std::iter::once("MGET").chain(["k"; 10]).collect();
    let Frame::Array(values) = conn.call(&eleven).expect("reply") else {
        panic!("MGET answers an array");
    };
    assert_eq!(values.len(), 10);
}
