//! The production driver over real TCP: replies, pipelining, closes, limits,
//! timers and shutdown.

use bytes::BytesMut;
use keel_engine::resp::frame::{read_frame, Frame};
use keel_engine::testing::request;
use keel_engine::Config;
use keel_net::{spawn_server, ServerHandle};
use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// A fresh scratch directory path under the system's temporary directory,
/// so that no server of these tests writes into the repository.
fn scratch_dir() -> PathBuf {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    std::env::temp_dir().join(format!("keel-net-driver-{}-{n}", std::process::id()))
}

fn config() -> Config {
    Config {
        port: 0,
        bind: vec!["127.0.0.1".into()],
        dir: scratch_dir().display().to_string(),
        ..Default::default()
    }
}

struct Client {
    stream: TcpStream,
    buf: BytesMut,
}

impl Client {
    fn connect(addr: SocketAddr) -> Client {
        let stream = TcpStream::connect(addr).expect("connect");
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        Client {
            stream,
            buf: BytesMut::new(),
        }
    }

    fn send(&mut self, args: &[&[u8]]) {
        self.stream.write_all(&request(args)).unwrap();
    }

    /// The next reply, or `None` when the server closed the connection.
    fn read(&mut self) -> Option<Frame> {
        loop {
            if let Some(frame) = read_frame(&mut self.buf).expect("well-formed reply") {
                return Some(frame);
            }
            let mut chunk = [0u8; 64 * 1024];
            match self.stream.read(&mut chunk) {
                Ok(0) => return None,
                Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
                Err(e) if e.kind() == ErrorKind::ConnectionReset => return None,
                Err(e) => panic!("read: {e}"),
            }
        }
    }

    fn call(&mut self, args: &[&str]) -> Frame {
        let args: Vec<&[u8]> = args.iter().map(|a| a.as_bytes()).collect();
        self.send(&args);
        self.read().expect("a reply")
    }
}

/// A server started by [`start`], with its scratch directory (removed
/// once the server stopped).
struct Running {
    handle: Option<ServerHandle>,
    dir: PathBuf,
}

impl Running {
    fn addr(&self) -> SocketAddr {
        self.handle.as_ref().expect("running").addr()
    }

    fn shutdown(mut self) {
        if let Some(handle) = self.handle.take() {
            handle.shutdown();
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        drop(self.handle.take());
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn start(config: Config) -> Running {
    let dir = PathBuf::from(&config.dir);
    std::fs::create_dir_all(&dir).expect("a scratch directory");
    Running {
        handle: Some(spawn_server(config).expect("server starts")),
        dir,
    }
}

#[test]
fn replies_and_pipelines() {
    let server = start(config());
    let mut c = Client::connect(server.addr());
    assert_eq!(c.call(&["PING"]), Frame::Simple("PONG".into()));
    assert_eq!(c.call(&["ECHO", "hello"]), Frame::Bulk("hello".into()));
    let mut batch = Vec::new();
    for i in 0..2000 {
        batch.extend_from_slice(&request(&[b"ECHO", i.to_string().as_bytes()]));
    }
    c.stream.write_all(&batch).unwrap();
    for i in 0..2000 {
        assert_eq!(c.read(), Some(Frame::Bulk(i.to_string().into())));
    }
    server.shutdown();
}

#[test]
fn many_clients_get_their_own_replies() {
    let server = start(config());
    let mut clients: Vec<Client> = (0..20).map(|_| Client::connect(server.addr())).collect();
    for round in 0..5 {
        for (i, c) in clients.iter_mut().enumerate() {
            c.send(&[b"ECHO", format!("{i}-{round}").as_bytes()]);
        }
        for (i, c) in clients.iter_mut().enumerate() {
            assert_eq!(c.read(), Some(Frame::Bulk(format!("{i}-{round}").into())));
        }
    }
    server.shutdown();
}

#[test]
fn big_requests_and_replies_cross_many_reads() {
    let server = start(config());
    let mut c = Client::connect(server.addr());
    let big = "x".repeat(3 * 1024 * 1024 + 17);
    assert_eq!(c.call(&["ECHO", &big]), Frame::Bulk(big.clone().into()));
    assert_eq!(c.call(&["PING"]), Frame::Simple("PONG".into()));
    server.shutdown();
}

#[test]
fn quit_and_protocol_errors_close_after_the_reply() {
    let server = start(config());
    let mut c = Client::connect(server.addr());
    assert_eq!(c.call(&["QUIT"]), Frame::Simple("OK".into()));
    assert_eq!(c.read(), None);
    let mut c = Client::connect(server.addr());
    c.stream.write_all(b"*1\r\nxx\r\n").unwrap();
    assert_eq!(
        c.read(),
        Some(Frame::Error(
            "ERR Protocol error: expected '$', got 'x'".into()
        ))
    );
    assert_eq!(c.read(), None);
    server.shutdown();
}

#[test]
fn maxclients_refuses_with_an_error() {
    let server = start(Config {
        maxclients: 1,
        ..config()
    });
    let mut first = Client::connect(server.addr());
    assert_eq!(first.call(&["PING"]), Frame::Simple("PONG".into()));
    let mut second = Client::connect(server.addr());
    assert_eq!(
        second.read(),
        Some(Frame::Error("ERR max number of clients reached".into()))
    );
    assert_eq!(second.read(), None);
    // The first client is unaffected, and its slot frees on close.
    assert_eq!(first.call(&["PING"]), Frame::Simple("PONG".into()));
    drop(first);
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let mut third = Client::connect(server.addr());
        third.send(&[b"PING"]);
        match third.read() {
            Some(Frame::Simple(s)) if s == "PONG" => break,
            _ if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(20)),
            other => panic!("the slot was not freed: {other:?}"),
        }
    }
    server.shutdown();
}

#[test]
fn idle_clients_are_closed_by_the_timer() {
    let server = start(Config {
        timeout: 1,
        ..config()
    });
    let mut c = Client::connect(server.addr());
    assert_eq!(c.call(&["PING"]), Frame::Simple("PONG".into()));
    // The driver's timer must fire for the close to happen at all; when it
    // happens is the engine's business, tested in virtual time
    // (engine/src/testing.rs idle_timeout_tests).
    assert_eq!(c.read(), None, "closed for idleness");
    server.shutdown();
}

#[test]
fn shutdown_closes_connections_and_frees_the_port() {
    let server = start(config());
    let addr = server.addr();
    let mut c = Client::connect(addr);
    assert_eq!(c.call(&["PING"]), Frame::Simple("PONG".into()));
    server.shutdown();
    assert_eq!(c.read(), None);
    assert!(TcpStream::connect(addr).is_err(), "nobody listens any more");
}

#[test]
fn optional_bind_addresses_may_be_missing() {
    // 192.0.2.1 is reserved for documentation: no machine has it.
    let server = start(Config {
        bind: vec!["127.0.0.1".into(), "-192.0.2.1".into()],
        ..config()
    });
    let mut c = Client::connect(server.addr());
    assert_eq!(c.call(&["PING"]), Frame::Simple("PONG".into()));
    server.shutdown();
    let err = spawn_server(Config {
        bind: vec!["192.0.2.1".into()],
        ..config()
    })
    .unwrap_err();
    assert!(err.to_string().contains("192.0.2.1"), "{err}");
    let err = spawn_server(Config {
        bind: vec!["not-an-address".into()],
        ..config()
    })
    .unwrap_err();
    assert_eq!(err.to_string(), "Invalid bind address 'not-an-address'");
}

#[test]
fn port_zero_gives_every_address_the_same_port() {
    let ipv6 = std::net::TcpListener::bind("[::1]:0").is_ok();
    let server = start(Config {
        bind: vec!["127.0.0.1".into(), "-::1".into()],
        ..config()
    });
    let port = server.addr().port();
    assert_ne!(port, 0);
    if ipv6 {
        let mut c = Client::connect(SocketAddr::from(([0u16, 0, 0, 0, 0, 0, 0, 1], port)));
        assert_eq!(c.call(&["PING"]), Frame::Simple("PONG".into()));
    }
    server.shutdown();
}

#[test]
fn a_taken_port_is_an_error() {
    let first = start(config());
    let err = spawn_server(Config {
        port: first.addr().port(),
        ..config()
    })
    .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::AddrInUse);
    first.shutdown();
}

#[test]
fn a_subscriber_over_its_hard_limit_is_cut_off_over_tcp() {
    let server = start(config());
    let addr = server.addr();
    let mut publisher = Client::connect(addr);
    publisher.call(&[
        "CONFIG",
        "SET",
        "client-output-buffer-limit",
        "pubsub 1mb 0 0",
    ]);
    let mut subscriber = Client::connect(addr);
    subscriber.call(&["SUBSCRIBE", "ch"]);
    // The subscriber reads nothing while 64 MiB are published to it: far
    // more than the socket buffers hold, so the driver is left with a
    // backlog when the node drops the client at 1 MiB.
    let message = "x".repeat(64 * 1024);
    for _ in 0..1024 {
        publisher.call(&["PUBLISH", "ch", &message]);
    }
    let mut received = 0usize;
    let mut chunk = [0u8; 64 * 1024];
    loop {
        match subscriber.stream.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => received += n,
            Err(e) if e.kind() == ErrorKind::ConnectionReset => break,
            Err(e) => panic!("read: {e}"),
        }
    }
    assert!(
        received < 16 << 20,
        "cut off long before the 64 MiB published: got {received} bytes"
    );
    let clients = publisher.call(&["CLIENT", "LIST"]);
    let text = clients.text().expect("a bulk string");
    assert_eq!(
        text.lines().count(),
        1,
        "only the publisher is left: {text}"
    );
}
