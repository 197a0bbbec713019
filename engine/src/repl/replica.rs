//! The replica side: the link to the master, from the outbound connection
//! through the handshake and the snapshot transfer to the applied stream.
//!
//! During the handshake and the transfer the link's bytes are replies and
//! a snapshot, parsed here. Once synced, the connection becomes the
//! master client: an ordinary client in the node's table (replies off)
//! whose commands run through the normal dispatch; [`applied`] then
//! counts them into the offset, the backlog and the sub-replicas' stream.

use super::{encode_command, feed_stream, snapshot, Backlog, CronWork, PeerId, NO_REPLID};
use crate::client::ClientId;
use crate::cmd::Ctx;
use crate::node::{Clients, Output};
use crate::resp::Reply;
use crate::server::Server;
use bytes::Bytes;

/// First retry delay after a failed link; it doubles up to the cap.
const RETRY_FIRST_MS: u64 = 1000;
const RETRY_MAX_MS: u64 = 5000;
/// How often the replica acknowledges its offset.
pub const ACK_PERIOD_MS: u64 = 1000;
/// Longest handshake reply line accepted before the link is dropped.
const MAX_LINE: usize = 64 * 1024;
/// Capacity the master client's batch copy keeps between batches.
const BATCH_KEEP_MAX: usize = 1 << 20;
/// Length of the `$EOF:<mark>` delimiter of a disk-less transfer.
const EOF_MARK_LEN: usize = 40;

/// Where the link is (Redis's `repl_state`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkState {
    /// Waiting to (re)connect at `retry_at_ms`.
    Connect,
    /// The outbound connection is being opened.
    Connecting,
    /// Handshake: the reply awaited.
    Pong,
    Auth,
    Port,
    Ip,
    Capa,
    Psync,
    /// Receiving the snapshot.
    Transfer,
    /// Applying the stream.
    Connected,
}

/// How the snapshot's end is known.
#[derive(Debug, Clone)]
enum TransferLen {
    Bytes(usize),
    /// Disk-less: the data ends with this mark.
    Mark(Vec<u8>),
}

#[derive(Debug, Clone)]
pub struct MasterLink {
    pub host: String,
    pub port: u16,
    pub state: LinkState,
    peer: Option<PeerId>,
    /// Handshake and transfer bytes not parsed yet.
    buf: Vec<u8>,
    transfer_len: Option<TransferLen>,
    /// FULLRESYNC's replication id and offset, while the snapshot arrives.
    full_sync: Option<(String, u64)>,
    /// Monotonic ms of the last byte from the master, of the last state
    /// change, of the link going down (None: never up since REPLICAOF).
    pub last_io_ms: u64,
    state_since_ms: u64,
    pub down_since_ms: Option<u64>,
    retry_at_ms: u64,
    failures: u32,
    next_ack_ms: u64,
    /// Commands applied inside a MULTI from the master: they enter the
    /// offset and the backlog once its EXEC ran (as Redis counts them).
    unapplied: Vec<u8>,
    /// The master's stream as its client's commands are parsed from it:
    /// the bytes of its query buffer as the current batch began
    /// ([`batch_begins`]), after those the parser had already taken of a
    /// command still incomplete then. `cmd_start..parsed` are the bytes of
    /// the command being parsed. Each command passes on the bytes it was
    /// parsed from, as Redis feeds its backlog from the master's query
    /// buffer: no copy of the arguments, no re-encoding.
    batch: Vec<u8>,
    cmd_start: usize,
    parsed: usize,
    /// Stream bytes received (INFO slave_read_repl_offset).
    pub read_offset: u64,
    /// The database the master's stream had selected when the link
    /// dropped: a partial resync continues in it (as Redis's cached master).
    pub stream_db: usize,
    /// PSYNC offers this node's history (replid, offset): it was a master
    /// or synced before, or restarted from an RDB that saved it. A replica
    /// started from the config file with no history asks `PSYNC ? -1`, as
    /// Redis's does.
    offers_history: bool,
    /// The handshake is done but the dataset still loads at start: the
    /// PSYNC waits for the load (which may bring the history to offer).
    psync_held: bool,
}

impl MasterLink {
    fn new(host: String, port: u16, now_ms: u64, offers_history: bool) -> Self {
        MasterLink {
            host,
            port,
            state: LinkState::Connect,
            peer: None,
            buf: Vec::new(),
            transfer_len: None,
            full_sync: None,
            last_io_ms: now_ms,
            state_since_ms: now_ms,
            down_since_ms: None,
            retry_at_ms: now_ms,
            failures: 0,
            next_ack_ms: now_ms,
            unapplied: Vec::new(),
            batch: Vec::new(),
            cmd_start: 0,
            parsed: 0,
            read_offset: 0,
            stream_db: 0,
            offers_history,
            psync_held: false,
        }
    }

    /// A new connection: nothing of the old one's stream is pending.
    fn forget_stream_input(&mut self) {
        self.unapplied.clear();
        self.batch.clear();
        self.cmd_start = 0;
        self.parsed = 0;
    }

    pub fn is_connected(&self) -> bool {
        self.state == LinkState::Connected
    }

    /// The master client's id, once synced.
    pub fn master_client(&self) -> Option<ClientId> {
        self.peer.filter(|_| self.is_connected())
    }

    pub fn peer(&self) -> Option<PeerId> {
        self.peer
    }

    /// ROLE's name for the state.
    pub fn role_state(&self) -> &'static str {
        match self.state {
            LinkState::Connect => "connect",
            LinkState::Connecting => "connecting",
            LinkState::Transfer => "sync",
            LinkState::Connected => "connected",
            _ => "handshake",
        }
    }

    /// Snapshot bytes expected and received so far, during a transfer.
    pub fn transfer_progress(&self) -> Option<(u64, u64)> {
        if self.state != LinkState::Transfer {
            return None;
        }
        match &self.transfer_len {
            Some(TransferLen::Bytes(n)) => Some((*n as u64, self.buf.len() as u64)),
            Some(TransferLen::Mark(_)) => Some((0, self.buf.len() as u64)),
            None => Some((0, 0)),
        }
    }

    fn set_state(&mut self, state: LinkState, now_ms: u64) {
        self.state = state;
        self.state_since_ms = now_ms;
    }

    /// Whether the PSYNC waits for the dataset to load.
    pub fn psync_held(&self) -> bool {
        self.psync_held
    }

    /// The stream database an RDB saved now records, when this replica
    /// holds its master's history: synced (Redis's `server.master`) or
    /// between links with it (its cached master). None while a full sync
    /// replaces the history, or before any, as Redis saves no fields then.
    pub fn saved_stream_db(&self) -> Option<usize> {
        (self.offers_history && self.state != LinkState::Transfer).then_some(self.stream_db)
    }
}

// ---- commands ----

/// REPLICAOF host port: follow a new master (the old link, if any, is
/// dropped). Returns false when it is already the master followed.
pub fn follow(srv: &mut Server, clients: &mut Clients, host: &str, port: u16) -> bool {
    follow_with(srv, clients, host, port, true)
}

fn follow_with(
    srv: &mut Server,
    clients: &mut Clients,
    host: &str,
    port: u16,
    offers_history: bool,
) -> bool {
    if let Some(link) = &srv.repl.link {
        if link.host.eq_ignore_ascii_case(host) && link.port == port {
            return false;
        }
    }
    drop_link(srv, clients);
    let now = srv.now.mono_ms;
    srv.repl.link = Some(MasterLink::new(host.to_string(), port, now, offers_history));
    super::set_expiry_rule(srv, true);
    // As Redis: clients blocked in WAIT are told the role changed.
    super::master::fail_waiters(
        srv,
        clients,
        "UNBLOCKED force unblock from blocking operation, instance state changed (master -> replica?)",
    );
    connect(srv);
    true
}

/// REPLICAOF NO ONE: become a master. The history so far stays valid for
/// this node's replicas and siblings: it becomes `replid2`, valid up to
/// the current offset, and a fresh id names what follows.
pub fn promote(srv: &mut Server, clients: &mut Clients) {
    if srv.repl.link.is_none() {
        return;
    }
    drop_link(srv, clients);
    srv.repl.link = None;
    super::set_expiry_rule(srv, false);
    // The replicas must learn the new id: they reconnect and continue.
    let replicas: Vec<ClientId> = srv.repl.replicas.keys().copied().collect();
    for id in replicas {
        if let Some(mut replica) = clients.remove(&id) {
            srv.pubsub.forget(&mut replica);
            srv.outputs.push_back(Output::Close { client: id });
        }
        srv.repl.forget_client(id);
    }
    srv.repl.replid2 = srv.replid.clone();
    srv.repl.second_offset = srv.repl.offset as i64 + 1;
    srv.change_replid();
    let size = srv.config.repl_backlog_size;
    srv.repl.ensure_backlog(size);
    srv.record_effects_for_replicas(true);
    srv.repl.stream_db = None;
}

/// Closes the link's connection and forgets the master client.
fn drop_link(srv: &mut Server, clients: &mut Clients) {
    let Some(link) = srv.repl.link.as_mut() else {
        return;
    };
    let Some(peer) = link.peer.take() else {
        return;
    };
    if let Some(mut master) = clients.remove(&peer) {
        link.stream_db = master.db;
        srv.pubsub.forget(&mut master);
    }
    srv.watches.unwatch_all(peer);
    srv.outputs.push_back(Output::Close { client: peer });
}

/// REPLCONF GETACK from the master: acknowledge the offset applied so far.
pub fn send_ack_to_master(ctx: &mut Ctx) -> Reply {
    if ctx.srv.repl.is_master_client(ctx.client.id) {
        let ack = ack_command(ctx.srv.repl.offset);
        ctx.client.out.extend_from_slice(&ack);
    }
    Reply::NoReply
}

fn ack_command(offset: u64) -> Vec<u8> {
    let mut out = Vec::new();
    encode_command(&mut out, &["REPLCONF", "ACK", &offset.to_string()]);
    out
}

// ---- the connection ----

/// Opens a new outbound connection to the master.
fn connect(srv: &mut Server) {
    let peer = srv.next_client_id;
    srv.next_client_id += 1;
    let now = srv.now.mono_ms;
    let Some(link) = srv.repl.link.as_mut() else {
        return;
    };
    link.peer = Some(peer);
    link.psync_held = false;
    link.buf.clear();
    link.transfer_len = None;
    link.full_sync = None;
    link.forget_stream_input();
    link.set_state(LinkState::Connecting, now);
    let (host, port) = (link.host.clone(), link.port);
    srv.outputs.push_back(Output::Connect { peer, host, port });
}

fn write_to_master(srv: &mut Server, peer: PeerId, data: Vec<u8>) {
    srv.stats.total_net_output_bytes += data.len() as u64;
    srv.outputs.push_back(Output::Write {
        client: peer,
        data: Bytes::from(data),
    });
}

fn send_command(srv: &mut Server, peer: PeerId, argv: &[&str]) {
    let mut out = Vec::new();
    encode_command(&mut out, argv);
    write_to_master(srv, peer, out);
}

/// The link's connection is gone or failed: wait, then try again.
fn link_down(srv: &mut Server, clients: &mut Clients) {
    drop_link(srv, clients);
    let now = srv.now.mono_ms;
    let Some(link) = srv.repl.link.as_mut() else {
        return;
    };
    if link.state == LinkState::Connected {
        link.down_since_ms = Some(now);
    }
    let delay = RETRY_FIRST_MS
        .saturating_mul(1 << link.failures.min(8))
        .min(RETRY_MAX_MS);
    link.failures = link.failures.saturating_add(1);
    link.retry_at_ms = now + delay;
    link.buf.clear();
    link.set_state(LinkState::Connect, now);
}

/// The driver opened the connection: the handshake starts with PING.
pub fn on_peer_connected(srv: &mut Server, peer: PeerId) {
    let now = srv.now.mono_ms;
    let Some(link) = srv.repl.link.as_mut().filter(|l| l.peer == Some(peer)) else {
        // A connection we no longer want.
        srv.outputs.push_back(Output::Close { client: peer });
        return;
    };
    link.last_io_ms = now;
    link.set_state(LinkState::Pong, now);
    send_command(srv, peer, &["PING"]);
}

/// The connection closed, or could not be opened.
pub fn on_peer_closed(srv: &mut Server, clients: &mut Clients, peer: PeerId) {
    if srv.repl.link.as_ref().is_some_and(|l| l.peer == Some(peer)) {
        link_down(srv, clients);
    }
}

/// What the node does after bytes of the link were parsed here.
#[derive(Debug, PartialEq, Eq)]
pub enum Progress {
    /// Nothing more to do yet.
    Pending,
    /// Synced: the master client starts with these stream bytes; these
    /// sub-replicas must be dropped (their history changed).
    Synced {
        leftover: Vec<u8>,
        drop_replicas: Vec<ClientId>,
    },
}

/// Bytes from the master during the handshake or the transfer.
pub fn on_peer_data(
    srv: &mut Server,
    clients: &mut Clients,
    peer: PeerId,
    data: &[u8],
) -> Progress {
    let now = srv.now.mono_ms;
    let Some(link) = srv.repl.link.as_mut().filter(|l| l.peer == Some(peer)) else {
        return Progress::Pending;
    };
    link.last_io_ms = now;
    link.buf.extend_from_slice(data);
    match step(srv, peer) {
        Ok(progress) => progress,
        Err(why) => {
            tracing_note(&why);
            link_down(srv, clients);
            Progress::Pending
        }
    }
}

/// Failures are part of normal operation (the master restarts, refuses):
/// the link retries; the reason is kept for debugging builds.
fn tracing_note(_why: &str) {
    #[cfg(test)]
    eprintln!("replication link: {_why}");
}

/// Runs the handshake and transfer as far as the buffered bytes allow.
fn step(srv: &mut Server, peer: PeerId) -> Result<Progress, String> {
    loop {
        let state = srv.repl.link.as_ref().map(|l| l.state);
        match state {
            Some(LinkState::Transfer) => return transfer(srv),
            Some(
                LinkState::Pong
                | LinkState::Auth
                | LinkState::Port
                | LinkState::Ip
                | LinkState::Capa
                | LinkState::Psync,
            ) => {}
            _ => return Ok(Progress::Pending),
        }
        let Some(line) = take_line(srv)? else {
            return Ok(Progress::Pending);
        };
        if let Some(done) = handshake_reply(srv, peer, &line)? {
            return Ok(done);
        }
    }
}

/// The next reply line of the handshake, if complete. Bare newlines (the
/// master's keep-alives while it prepares the snapshot) are skipped.
fn take_line(srv: &mut Server) -> Result<Option<String>, String> {
    let link = srv.repl.link.as_mut().expect("link present");
    while link.buf.first() == Some(&b'\n') {
        link.buf.remove(0);
    }
    let Some(end) = link.buf.windows(2).position(|w| w == b"\r\n") else {
        if link.buf.len() > MAX_LINE {
            return Err("reply line too long".into());
        }
        return Ok(None);
    };
    let line = String::from_utf8_lossy(&link.buf[..end]).into_owned();
    link.buf.drain(..end + 2);
    Ok(Some(line))
}

/// Handles one handshake reply and sends the next command.
fn handshake_reply(srv: &mut Server, peer: PeerId, line: &str) -> Result<Option<Progress>, String> {
    let now = srv.now.mono_ms;
    let state = srv.repl.link.as_ref().map(|l| l.state);
    match state {
        Some(LinkState::Pong) => {
            let refused = ["-NOAUTH", "-NOPERM", "-ERR operation not permitted"];
            if line.starts_with('-') && !refused.iter().any(|r| line.starts_with(r)) {
                return Err(format!("error reply to PING: {line}"));
            }
            send_auth_or_port(srv, peer, now);
        }
        Some(LinkState::Auth) => {
            if line.starts_with('-') {
                return Err(format!("unable to AUTH to MASTER: {line}"));
            }
            send_port(srv, peer, now);
        }
        // Errors are fine from here: old masters do not know the options.
        Some(LinkState::Port) => send_ip_or_capa(srv, peer, now),
        Some(LinkState::Ip) => send_capa(srv, peer, now),
        Some(LinkState::Capa) => send_psync(srv, peer, now),
        Some(LinkState::Psync) => return psync_reply(srv, line).map(Some),
        _ => {}
    }
    Ok(None)
}

fn set_state(srv: &mut Server, state: LinkState, now: u64) {
    if let Some(link) = srv.repl.link.as_mut() {
        link.set_state(state, now);
    }
}

fn send_auth_or_port(srv: &mut Server, peer: PeerId, now: u64) {
    let Some(pass) = srv.config.masterauth.clone() else {
        return send_port(srv, peer, now);
    };
    match srv.config.masteruser.clone() {
        Some(user) => send_command(srv, peer, &["AUTH", &user, &pass]),
        None => send_command(srv, peer, &["AUTH", &pass]),
    }
    set_state(srv, LinkState::Auth, now);
}

fn send_port(srv: &mut Server, peer: PeerId, now: u64) {
    let port = match srv.config.replica_announce_port {
        0 => srv.config.port.to_string(),
        p => p.to_string(),
    };
    send_command(srv, peer, &["REPLCONF", "listening-port", &port]);
    set_state(srv, LinkState::Port, now);
}

/// After listening-port: the announced IP if one is set, else the capabilities.
fn send_ip_or_capa(srv: &mut Server, peer: PeerId, now: u64) {
    let ip = srv.config.replica_announce_ip.clone();
    if ip.is_empty() {
        return send_capa(srv, peer, now);
    }
    send_command(srv, peer, &["REPLCONF", "ip-address", &ip]);
    set_state(srv, LinkState::Ip, now);
}

fn send_capa(srv: &mut Server, peer: PeerId, now: u64) {
    send_command(srv, peer, &["REPLCONF", "capa", "eof", "capa", "psync2"]);
    set_state(srv, LinkState::Capa, now);
}

/// PSYNC with our history (replication id and the next offset we need):
/// a master that shares it answers +CONTINUE. While the dataset loads at
/// start the PSYNC is held (the link stays in `Capa`): Redis connects
/// only once loaded, and the load may bring the history to offer; the
/// load's end or the cron sends it ([`release_held_psync`]).
fn send_psync(srv: &mut Server, peer: PeerId, now: u64) {
    if loading_at_start(srv) {
        if let Some(link) = srv.repl.link.as_mut() {
            link.psync_held = true;
        }
        return;
    }
    let offers = srv.repl.link.as_ref().is_some_and(|l| l.offers_history);
    let (replid, next) = if offers {
        (srv.replid.clone(), (srv.repl.offset + 1).to_string())
    } else {
        ("?".to_string(), "-1".to_string())
    };
    send_command(srv, peer, &["PSYNC", &replid, &next]);
    set_state(srv, LinkState::Psync, now);
}

/// The dataset (RDB or AOF) is still loading at start.
fn loading_at_start(srv: &Server) -> bool {
    srv.persist.is_loading() || srv.aof.is_loading()
}

/// Sends the PSYNC held while the dataset loaded, once it has loaded.
pub fn release_held_psync(srv: &mut Server) {
    let now = srv.now.mono_ms;
    let loading = loading_at_start(srv);
    let Some(link) = srv.repl.link.as_mut() else {
        return;
    };
    let held = link.psync_held && link.state == LinkState::Capa;
    if !held || loading {
        return;
    }
    link.psync_held = false;
    let Some(peer) = link.peer else {
        return;
    };
    send_psync(srv, peer, now);
}

fn psync_reply(srv: &mut Server, line: &str) -> Result<Progress, String> {
    let now = srv.now.mono_ms;
    if let Some(rest) = line.strip_prefix("+FULLRESYNC ") {
        let mut words = rest.split_ascii_whitespace();
        let replid = words.next().unwrap_or_default().to_string();
        let offset = words
            .next()
            .and_then(|w| w.parse::<u64>().ok())
            .ok_or_else(|| format!("bad FULLRESYNC reply: {line}"))?;
        if replid.len() != NO_REPLID.len() {
            return Err(format!("bad FULLRESYNC replication id: {line}"));
        }
        let link = srv.repl.link.as_mut().expect("link present");
        link.full_sync = Some((replid, offset));
        link.transfer_len = None;
        link.set_state(LinkState::Transfer, now);
        return transfer(srv);
    }
    if let Some(rest) = line.strip_prefix("+CONTINUE") {
        let new_id = rest.trim();
        return Ok(continue_sync(srv, new_id));
    }
    Err(format!("PSYNC refused: {line}"))
}

/// +CONTINUE [<new replid>]: the master streams on from our offset. A new
/// id means it was promoted: our old id becomes replid2.
fn continue_sync(srv: &mut Server, new_id: &str) -> Progress {
    let mut drop_replicas = Vec::new();
    if !new_id.is_empty() && new_id != srv.replid {
        srv.repl.replid2 = std::mem::replace(&mut srv.replid, new_id.to_string());
        srv.repl.second_offset = srv.repl.offset as i64 + 1;
        // Sub-replicas must learn the new id: they reconnect and continue.
        drop_replicas = srv.repl.replicas.keys().copied().collect();
    }
    let size = srv.config.repl_backlog_size;
    srv.repl.ensure_backlog(size);
    let leftover = std::mem::take(&mut srv.repl.link.as_mut().expect("link").buf);
    synced(srv);
    Progress::Synced {
        leftover,
        drop_replicas,
    }
}

/// Reads the snapshot: `$<len>\r\n<bytes>` or `$EOF:<mark>\r\n<bytes><mark>`.
fn transfer(srv: &mut Server) -> Result<Progress, String> {
    let link = srv.repl.link.as_mut().expect("link present");
    if link.transfer_len.is_none() {
        let Some(line) = take_line(srv)? else {
            return Ok(Progress::Pending);
        };
        let len = parse_transfer_header(&line)?;
        srv.repl.link.as_mut().expect("link").transfer_len = Some(len);
    }
    let link = srv.repl.link.as_mut().expect("link present");
    let (rdb, leftover) = match link.transfer_len.as_ref().expect("header read") {
        TransferLen::Bytes(n) => {
            if link.buf.len() < *n {
                return Ok(Progress::Pending);
            }
            let leftover = link.buf.split_off(*n);
            (std::mem::take(&mut link.buf), leftover)
        }
        TransferLen::Mark(mark) => {
            if link.buf.len() < mark.len() || !link.buf.ends_with(mark) {
                return Ok(Progress::Pending);
            }
            let mut rdb = std::mem::take(&mut link.buf);
            rdb.truncate(rdb.len() - mark.len());
            (rdb, Vec::new())
        }
    };
    load_snapshot(srv, &rdb)?;
    let drop_replicas = srv.repl.replicas.keys().copied().collect();
    synced(srv);
    Ok(Progress::Synced {
        leftover,
        drop_replicas,
    })
}

fn parse_transfer_header(line: &str) -> Result<TransferLen, String> {
    if let Some(mark) = line.strip_prefix("$EOF:") {
        if mark.len() != EOF_MARK_LEN {
            return Err(format!("bad EOF mark: {line}"));
        }
        return Ok(TransferLen::Mark(mark.as_bytes().to_vec()));
    }
    if line.starts_with('-') {
        return Err(format!("master aborted the transfer: {line}"));
    }
    line.strip_prefix('$')
        .and_then(|n| n.parse::<usize>().ok())
        .map(TransferLen::Bytes)
        .ok_or_else(|| format!("bad bulk payload header: {line}"))
}

/// The snapshot replaces the dataset; the history is now the master's.
fn load_snapshot(srv: &mut Server, rdb: &[u8]) -> Result<(), String> {
    let (replid, offset) = srv
        .repl
        .link
        .as_mut()
        .and_then(|l| l.full_sync.take())
        .ok_or("snapshot without FULLRESYNC")?;
    snapshot::load_rdb(srv, rdb)?;
    srv.replid = replid;
    srv.repl.offset = offset;
    srv.repl.replid2 = NO_REPLID.to_string();
    srv.repl.second_offset = -1;
    let size = usize::try_from(srv.config.repl_backlog_size).unwrap_or(usize::MAX);
    srv.repl.backlog = Some(Backlog::new(size, offset + 1));
    if let Some(link) = srv.repl.link.as_mut() {
        link.stream_db = 0;
    }
    srv.dirty += 1;
    rebase_aof(srv);
    Ok(())
}

/// As Redis after a full sync (`restartAOFAfterSYNC`): the AOF described
/// the dataset the snapshot replaced, so a rewrite bases it on the loaded
/// one; the stream's writes go to the rewrite's new incr file. Known gap:
/// a rewrite already running keeps its older base (the AOF cannot abandon
/// it from here); a restart from the AOF then full-syncs anyway.
fn rebase_aof(srv: &mut Server) {
    if srv.aof.status() != crate::aof::Status::On {
        return;
    }
    let bgsave_running = srv.persist.bgsave_in_progress();
    if let Reply::Error(why) = crate::aof::bgrewriteaof(srv, bgsave_running) {
        tracing_note(&format!("AOF not rewritten after the full sync: {why}"));
    }
}

/// The link is up: acknowledge at once (a disk-less master starts the
/// stream on the first ACK), then once a second.
fn synced(srv: &mut Server) {
    let now = srv.now.mono_ms;
    let offset = srv.repl.offset;
    let link = srv.repl.link.as_mut().expect("link present");
    link.set_state(LinkState::Connected, now);
    link.offers_history = true;
    link.failures = 0;
    link.down_since_ms = None;
    link.read_offset = offset;
    link.next_ack_ms = now + ACK_PERIOD_MS;
    let peer = link.peer.expect("connected link has a peer");
    write_to_master(srv, peer, ack_command(offset));
}

/// Stream bytes arrived for the master client.
pub fn on_stream_data(srv: &mut Server, len: usize) {
    let now = srv.now.mono_ms;
    if let Some(link) = srv.repl.link.as_mut() {
        link.last_io_ms = now;
        link.read_offset += len as u64;
    }
}

/// The master client starts on the commands in its query buffer: their
/// bytes are kept until [`applied`] passes them on, behind what the
/// parser already took of an incomplete command (the buffer's capacity is
/// reused from one batch to the next).
pub fn batch_begins(srv: &mut Server, query: &[u8]) {
    let Some(link) = srv.repl.link.as_mut() else {
        return;
    };
    let started = link.cmd_start.min(link.parsed)..link.parsed.min(link.batch.len());
    let kept = started.len();
    link.batch.copy_within(started, 0);
    link.batch.truncate(kept);
    // A burst (the stream held while the replica was paused) does not
    // keep its memory for the ordinary batches after it.
    if link.batch.capacity() > BATCH_KEEP_MAX && kept + query.len() <= BATCH_KEEP_MAX {
        link.batch.shrink_to(BATCH_KEEP_MAX);
    }
    link.batch.extend_from_slice(query);
    link.cmd_start = 0;
    link.parsed = kept;
}

/// The parser took `n` more bytes of the master client's query buffer.
pub fn parsed(srv: &mut Server, n: usize) {
    if let Some(link) = srv.repl.link.as_mut() {
        link.parsed = link.parsed.saturating_add(n).min(link.batch.len());
    }
}

/// The master client ran the command it parsed last: outside a MULTI, it
/// (and the transaction it closed) enters the offset, the backlog and the
/// sub-replicas' stream, byte for byte as the master sent it.
pub fn applied(srv: &mut Server, clients: &mut Clients, db: usize, in_multi: bool) {
    let Some(link) = srv.repl.link.as_mut() else {
        return;
    };
    // Kept however the master client goes away (a kill, a protocol error).
    link.stream_db = db;
    let command = link.cmd_start.min(link.parsed)..link.parsed;
    link.cmd_start = link.parsed;
    if in_multi || !link.unapplied.is_empty() {
        link.unapplied.extend_from_slice(&link.batch[command]);
        if in_multi {
            return;
        }
        let bytes = std::mem::take(&mut link.unapplied);
        feed_stream(srv, clients, &bytes);
        restore_unapplied(srv, bytes);
        return;
    }
    // The common case: the command's bytes go on straight from the batch
    // (taken out of the link while the stream is fed, then put back).
    let batch = std::mem::take(&mut link.batch);
    feed_stream(srv, clients, &batch[command]);
    if let Some(link) = srv.repl.link.as_mut() {
        link.batch = batch;
    }
}

/// Gives the transaction buffer back, emptied, its capacity kept.
fn restore_unapplied(srv: &mut Server, mut bytes: Vec<u8>) {
    if let Some(link) = srv.repl.link.as_mut() {
        bytes.clear();
        link.unapplied = bytes;
    }
}

/// Connects when it is time, drops a link that went silent for
/// `repl-timeout`, acknowledges once a second.
pub fn cron(srv: &mut Server, clients: &mut Clients, _work: &mut CronWork) {
    let now = srv.now.mono_ms;
    let timeout_ms = srv.config.repl_timeout.saturating_mul(1000);
    let Some(link) = srv.repl.link.as_ref() else {
        return;
    };
    match link.state {
        LinkState::Connect if now >= link.retry_at_ms => connect(srv),
        LinkState::Connect => {}
        // The AOF loaded since (the cron does not run meanwhile).
        LinkState::Capa if link.psync_held => release_held_psync(srv),
        LinkState::Connected => {
            if now.saturating_sub(link.last_io_ms) > timeout_ms {
                link_down(srv, clients);
            } else if now >= link.next_ack_ms {
                let peer = link.peer.expect("connected link has a peer");
                let ack = ack_command(srv.repl.offset);
                write_to_master(srv, peer, ack);
                if let Some(link) = srv.repl.link.as_mut() {
                    link.next_ack_ms = now + ACK_PERIOD_MS;
                }
            }
        }
        _ => {
            let quiet = now.saturating_sub(link.last_io_ms.max(link.state_since_ms));
            if quiet > timeout_ms {
                link_down(srv, clients);
            }
        }
    }
}

/// A restarted replica's saved history (an RDB's `repl-id`,
/// `repl-offset` and `repl-stream-db`, see [`super::snapshot`]): its next
/// PSYNC offers it, and a partial resync continues in the saved stream
/// database, so that a master whose backlog covers the gap continues
/// instead of sending a whole snapshot (Redis's cached master made from
/// itself). Ignored once the link has sent its PSYNC (the history is then
/// the master's answer), for an id that is not one, and on a node that
/// follows no master. True if taken.
pub fn resume_saved_history(srv: &mut Server, history: &snapshot::SavedHistory) -> bool {
    let valid_id = snapshot::is_replid(&history.replid);
    let Some(link) = srv.repl.link.as_mut() else {
        return false;
    };
    let before_psync = matches!(
        link.state,
        LinkState::Connect
            | LinkState::Connecting
            | LinkState::Pong
            | LinkState::Auth
            | LinkState::Port
            | LinkState::Ip
            | LinkState::Capa
    );
    if !valid_id || !before_psync {
        return false;
    }
    link.offers_history = true;
    link.stream_db = history.stream_db;
    srv.replid = history.replid.clone();
    srv.repl.offset = history.offset;
    true
}

/// Starts following the master named in the config file, if any.
pub fn start_from_config(srv: &mut Server, clients: &mut Clients) {
    if let Some((host, port)) = srv.config.replicaof.clone() {
        follow_with(srv, clients, &host, port, false);
    }
}
