//! Replication, Redis 7.0's protocol (PSYNC2), as a sans-IO state machine.
//!
//! - **Primary side** ([`master`]): a replica is an ordinary client that
//!   sent `PSYNC` (or `SYNC`). It gets `+FULLRESYNC <replid> <offset>` and
//!   the dataset as an RDB (`$<len>\r\n<bytes>`), or `+CONTINUE` and the
//!   part of the [`Backlog`] it lacks; then the stream: every write as its
//!   deterministic effect ([`crate::effects`]) in RESP, with `SELECT` when
//!   the database changes, a `PING` every `repl-ping-replica-period`.
//!   Replicas acknowledge with `REPLCONF ACK <offset>`: `WAIT` and
//!   `min-replicas-to-write` count those acknowledgements.
//! - **Replica side** ([`replica`]): `REPLICAOF host port` opens an
//!   outbound peer connection (`Output::Connect`), runs the handshake
//!   (PING, AUTH, REPLCONF listening-port, REPLCONF capa, PSYNC), loads the
//!   RDB, then applies the stream through the normal command path as the
//!   master client (replies suppressed), counting its offset, and sends
//!   `REPLCONF ACK` every second. A lost link is retried with backoff,
//!   partial resync first.
//!
//! Offsets: byte `n` of the stream is at offset `n`; `offset` is the last
//! byte produced (primary) or applied (replica). IDs: `replid` (in
//! [`Server::replid`]) names the current history; `replid2` the one before
//! the last promotion, valid up to `second_offset`, so replicas of the old
//! primary can `+CONTINUE` with the promoted replica.

pub mod backlog;
pub mod master;
pub mod replica;
pub mod snapshot;

pub use backlog::Backlog;

use crate::client::{Client, ClientId, ReplLink};
use crate::cmd::{flags, CommandSpec};
use crate::db::ExpiryRule;
use crate::node::Clients;
use crate::pubsub::obuf;
use crate::resp::Reply;
use crate::server::Server;
use std::collections::BTreeMap;

/// A peer connection the node opened (its id shares the client id space).
pub type PeerId = ClientId;

/// Counters for INFO stats.
#[derive(Debug, Default, Clone, Copy)]
pub struct ReplStats {
    pub sync_full: u64,
    pub sync_partial_ok: u64,
    pub sync_partial_err: u64,
}

/// Replication state of the node, primary and replica sides.
#[derive(Debug)]
pub struct Repl {
    /// INFO master_replid2: the history before the last promotion.
    pub replid2: String,
    /// INFO second_repl_offset: the last offset valid for `replid2` + 1,
    /// -1 when there is none.
    pub second_offset: i64,
    /// INFO master_repl_offset.
    pub offset: u64,
    /// Created when the first replica attaches (or when this node follows
    /// a master); never dropped, as Redis keeps its backlog.
    pub backlog: Option<Backlog>,
    /// The database the stream last selected; None forces a `SELECT`.
    pub stream_db: Option<usize>,
    /// Clients that sent REPLCONF or PSYNC, by client id.
    pub replicas: BTreeMap<ClientId, master::ReplicaLink>,
    /// The online replicas' ids in id order (the ones the stream goes
    /// to), kept with `replicas` so that feeding the stream does not
    /// search for them on every write.
    online: Vec<ClientId>,
    /// Stream bytes were appended to the online replicas' output since the
    /// last [`flush_stream`].
    stream_unflushed: bool,
    /// The encoding of the last execution unit's effects (its capacity is
    /// kept from one write to the next).
    scratch: Vec<u8>,
    /// Clients blocked in WAIT.
    pub waiters: Vec<master::Waiter>,
    /// WAIT asked for fresh acknowledgements: `REPLCONF GETACK *` goes to
    /// the replicas once the current batch of input is done.
    pub getack_requested: bool,
    /// Next monotonic time the replicas get a PING.
    pub next_ping_ms: u64,
    /// This node follows a master (REPLICAOF host port).
    pub link: Option<replica::MasterLink>,
    pub stats: ReplStats,
}

impl Default for Repl {
    fn default() -> Self {
        Repl {
            replid2: NO_REPLID.to_string(),
            second_offset: -1,
            offset: 0,
            backlog: None,
            stream_db: None,
            replicas: BTreeMap::new(),
            online: Vec::new(),
            stream_unflushed: false,
            scratch: Vec::new(),
            waiters: Vec::new(),
            getack_requested: false,
            next_ping_ms: 0,
            link: None,
            stats: ReplStats::default(),
        }
    }
}

/// The null replication id (INFO master_replid2 when there is none).
pub const NO_REPLID: &str = "0000000000000000000000000000000000000000";

impl Repl {
    pub fn is_replica(&self) -> bool {
        self.link.is_some()
    }

    /// The client applying the master's stream on this replica.
    pub fn is_master_client(&self, id: ClientId) -> bool {
        self.link
            .as_ref()
            .is_some_and(|l| l.master_client() == Some(id))
    }

    /// The part connection `id` plays in replication (CLIENT LIST flags
    /// and TYPE): a replica once its PSYNC/SYNC was accepted (in its full
    /// sync or online), as Redis marks its `CLIENT_SLAVE`s; the master
    /// client once the link is synced.
    pub fn link_role(&self, id: ClientId) -> ReplLink {
        if self.is_master_client(id) {
            ReplLink::Master
        } else if self.is_attached_replica(id) {
            ReplLink::Replica
        } else {
            ReplLink::None
        }
    }

    /// Whether `id` is blocked in WAIT (its further commands wait too).
    pub fn is_waiting(&self, id: ClientId) -> bool {
        self.waiters.iter().any(|w| w.client == id)
    }

    /// Replicas that completed PSYNC/SYNC, in client id order.
    pub fn online_replicas(&self) -> impl Iterator<Item = (&ClientId, &master::ReplicaLink)> {
        self.replicas.iter().filter(|(_, l)| l.online)
    }

    /// Replica `id` receives the stream from now on.
    pub(crate) fn mark_online(&mut self, id: ClientId) {
        if let Some(link) = self.replicas.get_mut(&id) {
            link.online = true;
        }
        if let Err(at) = self.online.binary_search(&id) {
            self.online.insert(at, id);
        }
    }

    /// Whether `id` is a replica (online, or in its full sync): Redis's
    /// `CLIENT_SLAVE`, set once SYNC/PSYNC is accepted.
    pub fn is_attached_replica(&self, id: ClientId) -> bool {
        self.replicas
            .get(&id)
            .is_some_and(|l| l.online || l.sync.is_some())
    }

    /// Whether the node consumes write effects (it has a backlog).
    pub fn consumes_effects(&self) -> bool {
        self.backlog.is_some()
    }

    /// A client is gone: it is no longer a replica or a waiter.
    pub fn forget_client(&mut self, id: ClientId) {
        self.replicas.remove(&id);
        self.online.retain(|online| *online != id);
        self.waiters.retain(|w| w.client != id);
    }

    /// Makes sure a backlog exists, its next byte at `offset + 1`.
    pub fn ensure_backlog(&mut self, size: u64) {
        if self.backlog.is_none() {
            let size = usize::try_from(size).unwrap_or(usize::MAX);
            self.backlog = Some(Backlog::new(size, self.offset + 1));
        }
    }
}

/// Sets how every database's lookups treat expired keys: a replica
/// hides them from reads and leaves their deletion to its master's `DEL`
/// (a replica that deleted on its own would diverge, its clock and its
/// master's being different), a primary deletes them.
pub fn set_expiry_rule(srv: &mut Server, replica: bool) {
    let rule = if replica {
        ExpiryRule::HideOnRead
    } else {
        ExpiryRule::Delete
    };
    for db in &mut srv.dbs {
        db.set_expiry_rule(rule);
    }
}

/// The master client's commands run with every database showing keys
/// whose TTL passed by this replica's clock as live (`on`), as Redis 7.0
/// does for its master client: the master decides when a key expires, and
/// its stream must apply to the values the master has. Off again, the
/// lookups follow the node's role (which the stream may have changed).
pub fn master_view(srv: &mut Server, on: bool) {
    if on {
        for db in &mut srv.dbs {
            db.set_expiry_rule(ExpiryRule::Keep);
        }
    } else {
        let replica = srv.repl.is_replica();
        set_expiry_rule(srv, replica);
    }
}

/// Seed mix for the replication id a node starts with.
const REPLID_MIX: u64 = 0x6869_7374_6f72_7931;

/// A fresh replication id for a node starting at `now`. The seed alone
/// would give a restarted node (same config, empty dataset) its previous
/// id back, and a replica of the old incarnation could then `+CONTINUE`
/// into a different history; the start time tells incarnations apart
/// while runs stay deterministic.
pub fn startup_replid(seed: u64, now: crate::time::Now) -> String {
    use rand_chacha::rand_core::{RngCore, SeedableRng};
    let mix = seed ^ REPLID_MIX ^ now.unix_ms.rotate_left(17) ^ now.mono_ms.rotate_left(41);
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(mix);
    (0..20)
        .map(|_| format!("{:02x}", rng.next_u32() as u8))
        .collect()
}

/// Encodes one command as a RESP multibulk, as it travels in the stream.
pub fn encode_command<A: AsRef<[u8]>>(out: &mut Vec<u8>, argv: &[A]) {
    push_header(out, b'*', argv.len());
    for arg in argv {
        let arg = arg.as_ref();
        push_header(out, b'$', arg.len());
        out.extend_from_slice(arg);
        out.extend_from_slice(b"\r\n");
    }
}

/// `<kind><n>\r\n` (a multibulk or bulk header), without formatting
/// machinery: this runs for every argument of every replicated write.
fn push_header(out: &mut Vec<u8>, kind: u8, n: usize) {
    let mut buf = [0u8; 20];
    out.push(kind);
    out.extend_from_slice(decimal(n, &mut buf));
    out.extend_from_slice(b"\r\n");
}

/// `n` in decimal, written at the end of `buf`.
fn decimal(n: usize, buf: &mut [u8; 20]) -> &[u8] {
    let mut at = buf.len();
    let mut rest = n;
    loop {
        at -= 1;
        buf[at] = b'0' + (rest % 10) as u8;
        rest /= 10;
        if rest == 0 {
            return &buf[at..];
        }
    }
}

/// The writes of the execution units that ended since the last call go
/// to the backlog and to the online replicas. A replica does not
/// propagate its own writes: what it passes on is its master's stream
/// ([`replica::applied`]).
pub fn propagate_pending(srv: &mut Server, clients: &mut Clients) {
    if !srv.effects.has_for_replicas() {
        return;
    }
    if srv.repl.is_replica() || srv.repl.backlog.is_none() {
        srv.effects.clear_for_replicas();
        return;
    }
    let mut bytes = std::mem::take(&mut srv.repl.scratch);
    bytes.clear();
    let mut stream_db = srv.repl.stream_db;
    srv.effects.for_each_for_replicas(|effect| {
        if stream_db != Some(effect.db) {
            encode_select(&mut bytes, effect.db);
            stream_db = Some(effect.db);
        }
        encode_command(&mut bytes, &effect.argv);
    });
    srv.repl.stream_db = stream_db;
    feed_stream(srv, clients, &bytes);
    srv.repl.scratch = bytes;
}

/// `SELECT <db>`, as the stream switches databases.
fn encode_select(out: &mut Vec<u8>, db: usize) {
    let mut buf = [0u8; 20];
    encode_command(out, &[&b"SELECT"[..], decimal(db, &mut buf)]);
}

/// Appends bytes to the replication stream: the offset moves, the backlog
/// keeps them, every online replica's output gets them. The node hands
/// that output to the driver once per batch of input ([`flush_stream`]),
/// as Redis writes to its replicas once per event-loop turn.
pub fn feed_stream(srv: &mut Server, clients: &mut Clients, data: &[u8]) {
    let Some(backlog) = srv.repl.backlog.as_mut() else {
        return;
    };
    backlog.feed(data);
    srv.repl.offset += data.len() as u64;
    master::feed_syncing(srv, data);
    for id in &srv.repl.online {
        if let Some(client) = clients.get_mut(id) {
            client.out.extend_from_slice(data);
            srv.repl.stream_unflushed = true;
        }
    }
}

/// Hands the stream fed since the last call to the driver, one write per
/// online replica. Returns the replicas whose output passed the replica
/// class's limits (`client-output-buffer-limit replica`: the hard one, or
/// the soft one for longer than its seconds): the node closes them (they
/// reconnect and resync, as with Redis).
#[must_use]
pub fn flush_stream(srv: &mut Server, clients: &mut Clients) -> Vec<ClientId> {
    if !std::mem::take(&mut srv.repl.stream_unflushed) {
        return Vec::new();
    }
    let limit = srv.config.client_output_buffer_limit.replica;
    let now = srv.now.mono_ms;
    let mut over = Vec::new();
    let online = std::mem::take(&mut srv.repl.online);
    for id in &online {
        let Some(client) = clients.get_mut(id) else {
            continue;
        };
        crate::node::flush_output(srv, client);
        if obuf::over_class_limit(client, limit, now) {
            obuf::log_closing(srv, client);
            over.push(*id);
        }
    }
    srv.repl.online = online;
    over
}

/// The output limit of connection `client`: the replica class for an
/// online replica, none for a replica in its full sync (what it holds of
/// the stream is limited by [`master::feed_syncing`] and the cron, and
/// its snapshot does not count, as in Redis), and the client's own class
/// otherwise (the master client counts as a normal client, as in Redis).
pub fn output_limit(srv: &Server, client: &Client) -> Option<obuf::ClassLimit> {
    let limits = &srv.config.client_output_buffer_limit;
    match srv.repl.replicas.get(&client.id) {
        Some(link) if link.online => Some(limits.replica),
        Some(link) if link.sync.is_some() => None,
        _ => Some(limits.of(client)),
    }
}

/// Whether `client` is over its output limit as of `now_ms` (see
/// [`output_limit`]).
pub fn over_output_limit(srv: &Server, client: &mut Client, now_ms: u64) -> bool {
    output_limit(srv, client).is_some_and(|limit| obuf::over_class_limit(client, limit, now_ms))
}

/// Why a command may not run now, as Redis's `processCommand` checks it:
/// too few good replicas (NOREPLICAS), a read-only replica (READONLY), a
/// replica whose link is down with `replica-serve-stale-data no` (MASTERDOWN).
pub fn refusal(srv: &Server, client: &Client, spec: &CommandSpec) -> Option<Reply> {
    if srv.repl.is_master_client(client.id) {
        return None;
    }
    let config = &srv.config;
    let writes = spec.has(flags::WRITE);
    match &srv.repl.link {
        None => {
            let needs_replicas =
                writes && config.min_replicas_to_write > 0 && config.min_replicas_max_lag > 0;
            (needs_replicas && master::good_replicas(srv) < config.min_replicas_to_write)
                .then(|| Reply::err("NOREPLICAS Not enough good replicas to write."))
        }
        Some(link) => {
            if writes && config.replica_read_only {
                return Some(Reply::err(
                    "READONLY You can't write against a read only replica.",
                ));
            }
            let stale = !link.is_connected() && !config.replica_serve_stale_data;
            (stale && !spec.has(flags::STALE)).then(|| {
                Reply::err(
                    "MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'.",
                )
            })
        }
    }
}

/// What the periodic replication work asks the node to do.
#[derive(Debug, Default)]
pub struct CronWork {
    /// Clients to close (replicas that timed out).
    pub close: Vec<ClientId>,
}

/// Periodic work: pings and timeouts on the primary side, connecting,
/// acknowledging and timeouts on the replica side.
pub fn cron(srv: &mut Server, clients: &mut Clients) -> CronWork {
    let mut work = CronWork::default();
    // CONFIG SET repl-backlog-size takes effect here.
    let size = usize::try_from(srv.config.repl_backlog_size).unwrap_or(usize::MAX);
    if let Some(backlog) = srv.repl.backlog.as_mut().filter(|b| b.size() != size) {
        backlog.resize(size);
    }
    master::cron(srv, clients, &mut work);
    replica::cron(srv, clients, &mut work);
    work
}

#[cfg(test)]
mod tests;
