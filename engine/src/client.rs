//! Per-connection state held by the core.

use crate::resp::{Protocol, RequestParser};
use crate::server::Server;
use bytes::{Bytes, BytesMut};
use std::fmt::Write;

/// The size of the blocks Redis queues a client's pending replies in
/// (`PROTO_REPLY_CHUNK_BYTES`): CLIENT LIST's `oll` counts the bytes
/// handed to the connection and not yet written (`omem`) in such blocks.
const REPLY_BLOCK_BYTES: u64 = 16 * 1024;

/// A client's id: unique for the life of the node, never reused (`CLIENT ID`).
pub type ClientId = u64;

/// What the driver knows about a new connection.
#[derive(Debug, Clone, Default)]
pub struct ClientInfo {
    /// Peer address, `ip:port`.
    pub addr: String,
    /// Local address, `ip:port`.
    pub laddr: String,
    /// The socket's file descriptor, or -1 where there is none (simulation).
    pub fd: i64,
}

/// `CLIENT REPLY` mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ReplyMode {
    #[default]
    On,
    Off,
    /// Skip the reply to the next command only.
    SkipNext,
    /// Skipping the reply to the command being executed now.
    Skipping,
}

/// A connection's part in replication, for CLIENT LIST's `flags` and
/// CLIENT LIST/KILL `TYPE` (Redis's `CLIENT_SLAVE` and `CLIENT_MASTER`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ReplLink {
    #[default]
    None,
    /// A replica that completed PSYNC/SYNC, as its primary sees it.
    Replica,
    /// The link to the master, on a replica.
    Master,
}

#[derive(Debug)]
pub struct Client {
    pub id: ClientId,
    pub info: ClientInfo,
    pub name: Option<Bytes>,
    pub lib_name: Option<Bytes>,
    pub lib_ver: Option<Bytes>,
    pub db: usize,
    pub protocol: Protocol,
    pub authenticated: bool,
    /// The user name shown by CLIENT LIST (ACLs are not built: always `default`).
    pub user: &'static str,
    pub reply_mode: ReplyMode,
    pub no_evict: bool,
    pub no_touch: bool,
    /// Unparsed bytes received from the client.
    pub query: BytesMut,
    pub parser: RequestParser,
    /// Encoded replies not yet handed to the driver.
    pub out: BytesMut,
    /// The most reply bytes ever pending at once (CLIENT LIST rbp).
    pub out_peak: usize,
    /// The flush round ([`crate::pubsub::PubSub::take_pending_flush`]) in
    /// whose list the client last went, so that it goes there once.
    pub flush_round: Option<u64>,
    /// Monotonic ms when the connection opened and when it last sent a command.
    pub created_ms: u64,
    pub last_interaction_ms: u64,
    /// Full name of the last command run (`client|list`), for CLIENT LIST.
    pub last_cmd: String,
    /// The connection is to be closed once its pending replies are written.
    pub close_after_reply: bool,
    /// Condemned for passing its output buffer limits: the connection is
    /// closed without further replies (Redis's `CLIENT_CLOSE_ASAP`).
    pub killed: bool,
    /// Blocking commands must not block now (inside EXEC or a script, as
    /// Redis's CLIENT_DENY_BLOCKING): they answer as if the timeout passed.
    pub deny_blocking: bool,
    /// The replication offset just after this client's last write that
    /// reached the stream (what its WAIT waits for; 0 before any).
    pub repl_write_offset: u64,
    /// Pub/sub subscriptions, kept with the server's index by [`crate::pubsub`].
    pub subs: crate::pubsub::Subscriptions,
    /// Reply bytes handed to the driver that it has not reported written
    /// yet (`Input::ClientWritten`): with [`Client::out`], the pending
    /// output the buffer limits apply to.
    pub obuf_unsent: u64,
    /// Monotonic ms since when the pending output is over the soft limit.
    pub obuf_soft_since: Option<u64>,
    /// The transaction being queued since MULTI; None outside one.
    pub multi: Option<crate::cmd::multi::Transaction>,
    /// What the client waits for while a blocking command (BLPOP, ...) holds
    /// it: it runs nothing else until served, timed out or unblocked.
    pub blocked: Option<Box<Blocked>>,
    /// CLIENT UNBLOCK requests this client's command made, for the node to
    /// carry out once the command returns (the targets' wait queues are
    /// the node's).
    pub unblock_requests: Vec<(ClientId, UnblockReason)>,
}

/// A blocked client's wait: where, until when, and what serving it does.
#[derive(Debug, Clone, PartialEq)]
pub struct Blocked {
    /// The database the keys are in (the client's, when it blocked).
    pub db: usize,
    /// The keys waited on, in the command's order, without repeats.
    pub keys: Vec<Bytes>,
    /// Monotonic ms after which it times out; None waits forever.
    pub deadline_ms: Option<u64>,
    pub op: BlockedOp,
}

/// What a blocked command does with the first of its keys that becomes
/// ready.
#[derive(Debug, Clone, PartialEq)]
pub enum BlockedOp {
    /// BLPOP, BRPOP: one element.
    Pop(crate::types::list::End),
    /// BLMPOP: up to `count` elements.
    MultiPop {
        end: crate::types::list::End,
        count: usize,
    },
    /// BLMOVE, BRPOPLPUSH (`rpoplpush` for how it propagates).
    Move {
        destination: Bytes,
        from: crate::types::list::End,
        to: crate::types::list::End,
        rpoplpush: bool,
    },
    /// BZPOPMIN, BZPOPMAX: one member (`max` for the highest score).
    ZPop { max: bool },
    /// BZMPOP: up to `count` members.
    ZMultiPop { max: bool, count: usize },
}

impl BlockedOp {
    /// Whether this operation is served by a key holding a sorted set
    /// (else by a list); a key of the other type leaves the client waiting.
    pub fn wants_zset(&self) -> bool {
        matches!(self, BlockedOp::ZPop { .. } | BlockedOp::ZMultiPop { .. })
    }
}

/// How CLIENT UNBLOCK ends the wait.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnblockReason {
    /// The reply the command gives when its timeout passes.
    Timeout,
    /// `-UNBLOCKED client unblocked via CLIENT UNBLOCK`.
    Error,
}

impl Client {
    pub fn new(id: ClientId, info: ClientInfo, now_ms: u64, authenticated: bool) -> Self {
        Client {
            id,
            info,
            name: None,
            lib_name: None,
            lib_ver: None,
            db: 0,
            protocol: Protocol::Resp2,
            authenticated,
            user: "default",
            reply_mode: ReplyMode::On,
            no_evict: false,
            no_touch: false,
            query: BytesMut::new(),
            parser: RequestParser::new(),
            out: BytesMut::new(),
            out_peak: 0,
            flush_round: None,
            created_ms: now_ms,
            last_interaction_ms: now_ms,
            last_cmd: "NULL".to_string(),
            close_after_reply: false,
            killed: false,
            deny_blocking: false,
            repl_write_offset: 0,
            subs: Default::default(),
            obuf_unsent: 0,
            obuf_soft_since: None,
            multi: None,
            blocked: None,
            unblock_requests: Vec::new(),
        }
    }

    /// Restores the state a fresh connection has (RESET), keeping id and addresses.
    pub fn reset(&mut self, authenticated: bool) {
        self.name = None;
        self.db = 0;
        self.protocol = Protocol::Resp2;
        self.authenticated = authenticated;
        self.reply_mode = ReplyMode::On;
        self.no_evict = false;
        self.no_touch = false;
        self.multi = None;
    }

    /// Whether replies are currently sent to this client.
    pub fn replies_enabled(&self) -> bool {
        matches!(self.reply_mode, ReplyMode::On)
    }

    /// Reply bytes produced for this client and not yet written out.
    pub fn obuf_pending(&self) -> u64 {
        self.obuf_unsent.saturating_add(self.out.len() as u64)
    }

    /// Estimated bytes this client holds: its structure, buffers and names
    /// (CLIENT LIST tot-mem, INFO memory).
    pub fn mem_usage(&self) -> u64 {
        let names = [&self.name, &self.lib_name, &self.lib_ver]
            .iter()
            .map(|n| n.as_ref().map_or(0, Bytes::len))
            .sum::<usize>();
        (std::mem::size_of::<Client>()
            + self.query.capacity()
            + self.out.capacity()
            + names
            + self.last_cmd.capacity()
            + self.multi_mem()) as u64
    }

    /// Commands queued in the transaction, -1 outside one (CLIENT LIST `multi`).
    pub fn multi_count(&self) -> i64 {
        self.multi.as_ref().map_or(-1, |t| t.len() as i64)
    }

    /// What the queued commands hold (CLIENT LIST `multi-mem`).
    pub fn multi_mem(&self) -> usize {
        self.multi.as_ref().map_or(0, |t| t.mem())
    }

    /// The CLIENT LIST `flags` field: one letter per flag, `N` for none,
    /// in Redis's order. `cas_failed`: a key the client WATCHes was
    /// touched (`d`; the registry holding that is the server's, see
    /// [`crate::watch`]). `link`: the connection's replication role (`S`
    /// a replica on its primary, `M` the master link on a replica), which
    /// the replication state knows.
    pub fn flags(&self, cas_failed: bool, link: ReplLink) -> String {
        let mut flags = String::new();
        match link {
            ReplLink::Replica => flags.push('S'),
            ReplLink::Master => flags.push('M'),
            ReplLink::None => {}
        }
        if self.subs.any() {
            flags.push('P');
        }
        if self.multi.is_some() {
            flags.push('x');
        }
        if self.blocked.is_some() {
            flags.push('b');
        }
        if cas_failed {
            flags.push('d');
        }
        if self.close_after_reply {
            flags.push('c');
        }
        if self.no_evict {
            flags.push('e');
        }
        if self.no_touch {
            flags.push('T');
        }
        if flags.is_empty() {
            flags.push('N');
        }
        flags
    }

    /// The client's info line (without a newline), as CLIENT LIST, CLIENT
    /// INFO and the output-limit warning print it (Redis's
    /// `catClientInfoString`). `argv_mem` is the size of the command being
    /// run, for the client running one; 0 for the others.
    pub fn info_line(&self, srv: &Server, argv_mem: usize) -> String {
        let now_ms = srv.now.mono_ms;
        let link = srv.repl.link_role(self.id);
        // Redis's master client has no user: it runs as the superuser.
        let user = if link == ReplLink::Master {
            "(superuser)"
        } else {
            self.user
        };
        let cas_failed = srv.watches.flagged(self.id, &srv.dbs, srv.now.unix_ms);
        let text = |b: &Option<Bytes>| {
            b.as_ref()
                .map(|b| String::from_utf8_lossy(b).into_owned())
                .unwrap_or_default()
        };
        let events = if self.out.is_empty() { "r" } else { "rw" };
        let mut line = String::new();
        // Writing to a String cannot fail.
        let _ = write!(
            line,
            "id={} addr={} laddr={} fd={} name={} age={} idle={} flags={} db={} \
             sub={} psub={} ssub={} multi={} qbuf={} qbuf-free={} argv-mem={argv_mem} multi-mem={} \
             rbs={} rbp={} obl={} oll={} omem={} tot-mem={} events={events} cmd={} user={} \
             redir=-1 resp={} lib-name={} lib-ver={}",
            self.id,
            self.info.addr,
            self.info.laddr,
            self.info.fd,
            text(&self.name),
            now_ms.saturating_sub(self.created_ms) / 1000,
            now_ms.saturating_sub(self.last_interaction_ms) / 1000,
            self.flags(cas_failed, link),
            self.db,
            self.subs.channels.len(),
            self.subs.patterns.len(),
            self.subs.shard_channels.len(),
            self.multi_count(),
            self.query.len(),
            self.query.capacity() - self.query.len(),
            self.multi_mem(),
            self.out.capacity(),
            self.out_peak,
            self.out.len(),
            self.obuf_unsent.div_ceil(REPLY_BLOCK_BYTES),
            self.obuf_unsent,
            self.mem_usage() + argv_mem as u64,
            self.last_cmd,
            user,
            self.protocol.version(),
            text(&self.lib_name),
            text(&self.lib_ver),
        );
        line
    }

    /// Whether the peer is on this machine (loopback or a Unix socket), as
    /// `enable-debug-command local` requires.
    pub fn is_local(&self) -> bool {
        let addr = self.info.addr.as_str();
        if addr.starts_with('/') {
            return true;
        }
        let ip = addr.rsplit_once(':').map_or(addr, |(ip, _)| ip);
        let ip = ip.trim_start_matches('[').trim_end_matches(']');
        ip == "127.0.0.1" || ip == "::1"
    }
}
