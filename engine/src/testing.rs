//! A small in-process harness for driving a [`Node`] in tests: one clock
//! under the test's control, clients that send commands and read frames.

use crate::client::{ClientId, ClientInfo};
use crate::config::Config;
use crate::node::{Input, Node, Output};
use crate::resp::frame::{read_frame, Frame};
use crate::time::Now;
use bytes::BytesMut;
use std::collections::HashMap;

pub struct Harness {
    pub node: Node,
    pub now: Now,
    inbox: HashMap<ClientId, BytesMut>,
    closed: Vec<ClientId>,
    pub shutdown: bool,
}

/// Encodes arguments as a RESP multibulk request.
pub fn request(args: &[&[u8]]) -> Vec<u8> {
    let mut out = format!("*{}\r\n", args.len()).into_bytes();
    for a in args {
        out.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
        out.extend_from_slice(a);
        out.extend_from_slice(b"\r\n");
    }
    out
}

impl Harness {
    /// A node with `config`, at Unix time 1_700_000_000_000 ms.
    pub fn new(config: Config) -> Self {
        let now = Now::new(0, 1_700_000_000_000);
        Harness {
            node: Node::new(config, now),
            now,
            inbox: HashMap::new(),
            closed: Vec::new(),
            shutdown: false,
        }
    }

    pub fn connect(&mut self) -> ClientId {
        let info = ClientInfo {
            addr: "127.0.0.1:50000".into(),
            laddr: "127.0.0.1:6379".into(),
            fd: 8,
        };
        let id = self.node.accept_client(self.now, info);
        self.drain();
        id
    }

    /// Moves both clocks forward by `ms` and runs due timers.
    pub fn advance(&mut self, ms: u64) {
        self.now.mono_ms += ms;
        self.now.unix_ms += ms;
        while let Some(t) = self.node.poll_timeout() {
            if t > self.now.mono_ms {
                break;
            }
            self.node.handle_timeout(self.now);
            self.drain();
        }
    }

    pub fn send_raw(&mut self, client: ClientId, data: &[u8]) {
        self.node
            .handle_input(self.now, Input::ClientData { client, data });
        self.drain();
    }

    fn drain(&mut self) {
        while let Some(out) = self.node.poll_output() {
            match out {
                Output::Write { client, data } => self
                    .inbox
                    .entry(client)
                    .or_default()
                    .extend_from_slice(&data),
                Output::Close { client } => self.closed.push(client),
                Output::Shutdown => self.shutdown = true,
            }
        }
    }

    /// The next complete reply frame for `client`, if any.
    pub fn read(&mut self, client: ClientId) -> Option<Frame> {
        let buf = self.inbox.entry(client).or_default();
        read_frame(buf).expect("well-formed reply")
    }

    /// Sends one command and returns its reply.
    pub fn call(&mut self, client: ClientId, args: &[&str]) -> Frame {
        let args: Vec<&[u8]> = args.iter().map(|a| a.as_bytes()).collect();
        self.send_raw(client, &request(&args));
        self.read(client).expect("a reply")
    }

    pub fn is_closed(&self, client: ClientId) -> bool {
        self.closed.contains(&client)
    }

    /// Bytes received by `client` and not yet read as frames.
    pub fn pending_bytes(&mut self, client: ClientId) -> Vec<u8> {
        self.inbox.entry(client).or_default().to_vec()
    }
}

impl Frame {
    /// Shorthand for assertions: a bulk or simple string's text.
    pub fn text(&self) -> Option<String> {
        match self {
            Frame::Bulk(b) => Some(String::from_utf8_lossy(b).into_owned()),
            Frame::Simple(s) | Frame::Error(s) => Some(s.clone()),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ping_hello_and_unknown_command() {
        let mut h = Harness::new(Config::default());
        let c = h.connect();
        assert_eq!(h.call(c, &["PING"]), Frame::Simple("PONG".into()));
        assert_eq!(h.call(c, &["ping", "hi"]), Frame::Bulk("hi".into()));
        assert_eq!(
            h.call(c, &["NOPE", "a", "b"]),
            Frame::Error("ERR unknown command 'NOPE', with args beginning with: 'a' 'b' ".into())
        );
        let Frame::Map(m) = h.call(c, &["HELLO", "3"]) else {
            panic!("RESP3 map")
        };
        assert_eq!(m[2], (Frame::Bulk("proto".into()), Frame::Int(3)));
        assert_eq!(
            h.call(c, &["HELLO", "4"]),
            Frame::Error("NOPROTO unsupported protocol version".into())
        );
        assert_eq!(
            h.call(c, &["echo"]),
            Frame::Error("ERR wrong number of arguments for 'echo' command".into())
        );
        assert!(!h.is_closed(c));
    }

    #[test]
    fn auth_gates_commands() {
        let mut h = Harness::new(Config {
            requirepass: Some("secret".into()),
            ..Config::default()
        });
        let c = h.connect();
        assert_eq!(
            h.call(c, &["PING"]),
            Frame::Error("NOAUTH Authentication required.".into())
        );
        assert_eq!(
            h.call(c, &["AUTH", "wrong"]),
            Frame::Error("WRONGPASS invalid username-password pair or user is disabled.".into())
        );
        assert_eq!(h.call(c, &["AUTH", "secret"]), Frame::Simple("OK".into()));
        assert_eq!(h.call(c, &["PING"]), Frame::Simple("PONG".into()));
    }

    #[test]
    fn protocol_error_closes_after_reply() {
        let mut h = Harness::new(Config::default());
        let c = h.connect();
        h.send_raw(c, b"*1\r\nxx\r\n");
        assert_eq!(
            h.read(c),
            Some(Frame::Error(
                "ERR Protocol error: expected '$', got 'x'".into()
            ))
        );
        assert!(h.is_closed(c));
    }

    #[test]
    fn pipelines_of_thousands_in_one_read() {
        let mut h = Harness::new(Config::default());
        let c = h.connect();
        let mut batch = Vec::new();
        for _ in 0..5000 {
            batch.extend_from_slice(&request(&[b"PING"]));
        }
        h.send_raw(c, &batch);
        for _ in 0..5000 {
            assert_eq!(h.read(c), Some(Frame::Simple("PONG".into())));
        }
        assert_eq!(h.read(c), None);
    }
}
