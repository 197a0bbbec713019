//! The primary side: replicas (clients that sent PSYNC or SYNC), their
//! full syncs, acknowledgements, WAIT, and the periodic PING.
//!
//! A full sync, as Redis 7.0 runs it (see [`FullSync`]): the replica waits
//! for a snapshot to start (`WaitStart`: while another snapshot or AOF
//! rewrite walks the data, or during `repl-diskless-sync-delay` so that
//! more replicas share one transfer); at the start it gets `+FULLRESYNC
//! <replid> <offset>`, the offset of the snapshot instant, and from then
//! on the stream is held for it ([`feed_syncing`]). The snapshot is the
//! forkless walk of [`crate::persist`]: disk-less (`repl-diskless-sync
//! yes` and every waiting replica announced `capa eof`), it is streamed
//! to the replicas as `$EOF:<mark>\r\n<rdb><mark>` while it is produced,
//! then the held stream follows the replica's first `REPLCONF ACK`;
//! disk-backed, it is a BGSAVE whose file is then sent as
//! `$<len>\r\n<rdb>`, the held stream right after. Replicas arriving while
//! a disk-backed save for replicas runs attach to it.

use super::{encode_command, feed_stream, CronWork};
use crate::client::{Client, ClientId, ReplyMode};
use crate::cmd::Ctx;
use crate::disk::{DiskReply, DiskResult};
use crate::node::{Clients, LogLevel};
use crate::persist::encoder::Header;
use crate::persist::snapshot::{Conns, REPLICA_PENDING_MAX};
use crate::resp::{encode, Reply};
use crate::server::Server;
use crate::util::{eq_ic, parse_i64};
use bytes::Bytes;

/// Length of the `$EOF:<mark>` delimiter (Redis's RDB_EOF_MARK_SIZE).
const EOF_MARK_LEN: usize = 40;
/// Bytes of a saved file handed to a replica's connection at a time.
const FILE_CHUNK_BYTES: usize = 1 << 20;
/// Replicas waiting for a snapshot get a newline this often, so their
/// `repl-timeout` does not fire (Redis does the same).
const KEEPALIVE_MS: u64 = 1000;

/// Where a replica's full sync stands.
#[derive(Debug, Clone, PartialEq)]
pub enum SyncPhase {
    /// Waiting for a snapshot to start, since `since_ms` (monotonic).
    WaitStart { since_ms: u64 },
    /// In the running snapshot: receiving it (`socket`), or waiting for
    /// the file to be saved.
    WaitEnd { socket: bool },
    /// Disk-backed: the saved file (with its `$<len>` header) is being sent.
    SendFile { data: Bytes, sent: usize },
    /// Disk-less payload sent: the stream starts with its first ACK.
    WaitAck,
    /// The sync failed: the cron closes the connection.
    Failed,
}

/// A replica's full sync in progress.
#[derive(Debug, Clone, PartialEq)]
pub struct FullSync {
    pub phase: SyncPhase,
    /// PSYNC (answered `+FULLRESYNC`), or the old SYNC.
    psync: bool,
    /// The stream offset at the snapshot instant.
    offset: u64,
    /// The stream since the snapshot instant, sent once it is online.
    held: Vec<u8>,
    /// Since when `held` has been over the soft output limit.
    soft_since_ms: Option<u64>,
    last_keepalive_ms: u64,
}

/// Longest `REPLCONF ip-address` Redis takes (NET_HOST_STR_LEN).
const MAX_ANNOUNCED_IP_LEN: usize = 256;

/// One replica as the primary sees it.
#[derive(Debug, Clone, Default)]
pub struct ReplicaLink {
    /// REPLCONF listening-port (INFO `port=`).
    pub listening_port: u64,
    /// REPLCONF ip-address, else the connection's address (INFO `ip=`).
    pub ip: String,
    /// REPLCONF capa eof / psync2.
    pub capa_eof: bool,
    pub capa_psync2: bool,
    /// Completed PSYNC or SYNC: it receives the stream.
    pub online: bool,
    /// The last offset it acknowledged, and when (monotonic ms).
    pub ack_offset: u64,
    pub ack_time_ms: u64,
    /// The full sync in progress, until it is online.
    pub sync: Option<FullSync>,
}

/// A client blocked in WAIT.
#[derive(Debug, Clone)]
pub struct Waiter {
    pub client: ClientId,
    /// The stream offset its writes reached.
    pub offset: u64,
    pub numreplicas: u64,
    /// Monotonic deadline; None waits forever (timeout 0).
    pub deadline_ms: Option<u64>,
}

/// The link of the calling client, created on its first REPLCONF/PSYNC.
fn link_of<'a>(ctx: &'a mut Ctx) -> &'a mut ReplicaLink {
    let ip = peer_ip(&ctx.client.info.addr);
    ctx.srv
        .repl
        .replicas
        .entry(ctx.client.id)
        .or_insert_with(|| ReplicaLink {
            ip,
            ..ReplicaLink::default()
        })
}

/// The IP part of an `ip:port` address (`[v6]:port` included).
fn peer_ip(addr: &str) -> String {
    match addr.rsplit_once(':') {
        Some((ip, _)) => ip.trim_start_matches('[').trim_end_matches(']').to_string(),
        None => addr.to_string(),
    }
}

/// REPLCONF <option> <value> ...
pub fn replconf(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    if args.len().is_multiple_of(2) {
        return Reply::syntax_error();
    }
    for pair in args[1..].chunks(2) {
        let (option, value) = (&pair[0], &pair[1]);
        if eq_ic(option, "ack") {
            return replconf_ack(ctx, value);
        }
        if eq_ic(option, "getack") {
            return super::replica::send_ack_to_master(ctx);
        }
        if let Err(reply) = replconf_option(ctx, option, value) {
            return reply;
        }
    }
    Reply::OK
}

fn replconf_option(ctx: &mut Ctx, option: &[u8], value: &[u8]) -> Result<(), Reply> {
    if eq_ic(option, "listening-port") {
        let port = parse_i64(value).ok_or_else(Reply::not_integer)?;
        link_of(ctx).listening_port = port.max(0) as u64;
    } else if eq_ic(option, "ip-address") {
        if value.len() >= MAX_ANNOUNCED_IP_LEN {
            return Err(Reply::error(format!(
                "ERR REPLCONF ip-address provided by replica instance is too long: {} bytes",
                value.len()
            )));
        }
        link_of(ctx).ip = String::from_utf8_lossy(value).into_owned();
    } else if eq_ic(option, "capa") {
        let link = link_of(ctx);
        link.capa_eof |= eq_ic(value, "eof");
        link.capa_psync2 |= eq_ic(value, "psync2");
    } else if eq_ic(option, "rdb-only") {
        // Redis's redis-cli --rdb asks for a snapshot without the stream;
        // Keel streams anyway after the snapshot, which such a tool ignores.
        if !matches!(value, b"0" | b"1") {
            return Err(Reply::syntax_error());
        }
    } else {
        return Err(Reply::error(format!(
            "ERR Unrecognized REPLCONF option: {}",
            String::from_utf8_lossy(option)
        )));
    }
    Ok(())
}

/// REPLCONF ACK <offset>: from an online replica, recorded; never answered.
fn replconf_ack(ctx: &mut Ctx, value: &[u8]) -> Reply {
    let now = ctx.now().mono_ms;
    let Some(offset) = parse_i64(value) else {
        return Reply::NoReply;
    };
    let waits_ack = ctx
        .srv
        .repl
        .replicas
        .get(&ctx.client.id)
        .and_then(|l| l.sync.as_ref())
        .is_some_and(|s| s.phase == SyncPhase::WaitAck);
    if waits_ack {
        finish_sync(ctx.srv, ctx.client);
    }
    if let Some(link) = ctx.srv.repl.replicas.get_mut(&ctx.client.id) {
        if link.online {
            link.ack_offset = link.ack_offset.max(offset.max(0) as u64);
            link.ack_time_ms = now;
        }
    }
    Reply::NoReply
}

/// PSYNC <replid> <offset>: a partial resync when the backlog holds the
/// replica's gap in our history, else a full one.
pub fn psync(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    if let Some(refused) = sync_refusal(ctx) {
        return refused;
    }
    let Some(offset) = parse_i64(&args[2]) else {
        return Reply::not_integer();
    };
    let replid = String::from_utf8_lossy(&args[1]).into_owned();
    if try_partial(ctx, &replid, offset) {
        ctx.srv.repl.stats.sync_partial_ok += 1;
        return Reply::NoReply;
    }
    if replid != "?" {
        ctx.srv.repl.stats.sync_partial_err += 1;
    }
    full_sync(ctx, true);
    Reply::NoReply
}

/// SYNC: the old protocol, always a full sync, without the FULLRESYNC line.
pub fn sync(ctx: &mut Ctx, _args: &[Bytes]) -> Reply {
    if let Some(refused) = sync_refusal(ctx) {
        return refused;
    }
    full_sync(ctx, false);
    Reply::NoReply
}

/// Why a PSYNC/SYNC is not served: already a replica (ignored silently),
/// a replica not synced with its own master, replies still pending.
fn sync_refusal(ctx: &mut Ctx) -> Option<Reply> {
    if ctx
        .srv
        .repl
        .replicas
        .get(&ctx.client.id)
        .is_some_and(|l| l.online || l.sync.is_some())
    {
        return Some(Reply::NoReply);
    }
    if ctx
        .srv
        .repl
        .link
        .as_ref()
        .is_some_and(|l| !l.is_connected())
    {
        return Some(Reply::err(
            "NOMASTERLINK Can't SYNC while not connected with my master",
        ));
    }
    if !ctx.client.out.is_empty() {
        return Some(Reply::err(
            "ERR SYNC and PSYNC are invalid with pending output",
        ));
    }
    None
}

/// `+CONTINUE` and the missing part of the stream, when `replid` is our
/// history (or the one before our promotion, up to where it is ours) and
/// the backlog still holds everything from `offset`.
fn try_partial(ctx: &mut Ctx, replid: &str, offset: i64) -> bool {
    let repl = &ctx.srv.repl;
    let ours = replid == ctx.srv.replid;
    let before_promotion = replid == repl.replid2 && offset <= repl.second_offset;
    if !(ours || before_promotion) || offset < 0 {
        return false;
    }
    let Some(missing) = repl.backlog.as_ref().and_then(|b| b.since(offset as u64)) else {
        return false;
    };
    let psync2 = link_of(ctx).capa_psync2;
    let line = if psync2 {
        format!("+CONTINUE {}\r\n", ctx.srv.replid)
    } else {
        "+CONTINUE\r\n".to_string()
    };
    ctx.client.out.extend_from_slice(line.as_bytes());
    ctx.client.out.extend_from_slice(&missing);
    go_online(ctx);
    true
}

/// A full sync: the replica waits for a snapshot, which starts now
/// unless another walk runs or the disk-less delay applies.
fn full_sync(ctx: &mut Ctx, psync: bool) {
    let size = ctx.srv.config.repl_backlog_size;
    if ctx.srv.repl.backlog.is_none() {
        ctx.srv.repl.ensure_backlog(size);
        ctx.srv.record_effects_for_replicas(true);
    }
    ctx.srv.repl.stats.sync_full += 1;
    // Replies would corrupt the payload and the stream that follow.
    ctx.client.reply_mode = ReplyMode::Off;
    let now = ctx.now().mono_ms;
    let id = ctx.client.id;
    let link = link_of(ctx);
    let capa_eof = link.capa_eof;
    link.sync = Some(FullSync {
        phase: SyncPhase::WaitStart { since_ms: now },
        psync,
        offset: 0,
        held: Vec::new(),
        soft_since_ms: None,
        last_keepalive_ms: now,
    });
    let srv = &mut *ctx.srv;
    let mut conns = Some(Conns {
        current: Some(&mut *ctx.client),
        others: &mut *ctx.others,
    });
    if srv.persist.walk_busy() {
        attach_to_disk_save(srv, &mut conns, id);
        return;
    }
    let config = &srv.config;
    if config.repl_diskless_sync && capa_eof && config.repl_diskless_sync_delay > 0 {
        // The cron starts it (see `start_due`), for every replica waiting by then.
        crate::persist::log(srv, LogLevel::Notice, "Delay next BGSAVE for diskless SYNC");
    } else {
        start_snapshot(srv, &mut conns);
    }
}

/// A snapshot runs already: a disk-backed save that other replicas wait
/// for takes this one too (with a copy of what they hold of the stream);
/// otherwise the replica waits for the next snapshot.
fn attach_to_disk_save(srv: &mut Server, conns: &mut Option<Conns>, id: ClientId) {
    let sibling = srv
        .repl
        .replicas
        .iter()
        .filter(|(other, _)| **other != id)
        .filter_map(|(_, l)| l.sync.as_ref())
        .find(|s| s.phase == SyncPhase::WaitEnd { socket: false })
        .cloned();
    let Some(sibling) = sibling else {
        let text =
            "Can't attach the replica to the current BGSAVE. Waiting for next BGSAVE for SYNC";
        crate::persist::log(srv, LogLevel::Notice, text);
        return;
    };
    let replid = srv.replid.clone();
    let Some(sync) = sync_of(srv, id) else {
        return;
    };
    sync.phase = SyncPhase::WaitEnd { socket: false };
    sync.offset = sibling.offset;
    sync.held = sibling.held;
    let line = fullresync_line(sync, &replid);
    write_to(srv, conns, id, line.as_bytes());
}

fn sync_of(srv: &mut Server, id: ClientId) -> Option<&mut FullSync> {
    srv.repl.replicas.get_mut(&id)?.sync.as_mut()
}

/// `+FULLRESYNC <replid> <offset>\r\n` for a PSYNC, nothing for a SYNC.
fn fullresync_line(sync: &FullSync, replid: &str) -> String {
    if sync.psync {
        format!("+FULLRESYNC {replid} {}\r\n", sync.offset)
    } else {
        String::new()
    }
}

/// Starts a snapshot for every replica waiting for one: disk-less when
/// `repl-diskless-sync yes` and all of them take `$EOF:`, else a BGSAVE.
fn start_snapshot(srv: &mut Server, conns: &mut Option<Conns>) {
    let waiting: Vec<ClientId> = srv
        .repl
        .replicas
        .iter()
        .filter(|(_, l)| {
            matches!(
                l.sync.as_ref().map(|s| &s.phase),
                Some(SyncPhase::WaitStart { .. })
            )
        })
        .map(|(id, _)| *id)
        .collect();
    if waiting.is_empty() || srv.persist.walk_busy() {
        return;
    }
    let all_eof = waiting
        .iter()
        .all(|id| srv.repl.replicas.get(id).is_some_and(|l| l.capa_eof));
    let socket = srv.config.repl_diskless_sync && all_eof;
    let offset = srv.repl.offset;
    let replid = srv.replid.clone();
    // The stream after the snapshot selects its database again.
    srv.repl.stream_db = None;
    let mark = socket.then(|| eof_mark(srv));
    for id in &waiting {
        let Some(sync) = sync_of(srv, *id) else {
            continue;
        };
        sync.phase = SyncPhase::WaitEnd { socket };
        sync.offset = offset;
        let mut head = fullresync_line(sync, &replid);
        if let Some(mark) = &mark {
            head.push_str(&format!("$EOF:{mark}\r\n"));
        }
        write_to(srv, conns, *id, head.as_bytes());
    }
    let header = Header::Replication { replid, offset };
    let started = match mark {
        Some(mark) => crate::persist::start_socket_save(srv, conns, waiting, mark, header),
        None => crate::persist::start_save_for_replicas(srv, header),
    };
    debug_assert!(started, "checked that no walk runs");
}

/// 40 random hex characters delimiting a disk-less payload.
fn eof_mark(srv: &mut Server) -> String {
    use rand_chacha::rand_core::RngCore;
    (0..EOF_MARK_LEN)
        .map(|_| char::from(b"0123456789abcdef"[(srv.rng.next_u32() % 16) as usize]))
        .collect()
}

/// Writes `data` to replica `id`'s connection, after its earlier output.
fn write_to(srv: &mut Server, conns: &mut Option<Conns>, id: ClientId, data: &[u8]) {
    if data.is_empty() {
        return;
    }
    if let Some(client) = conns.as_mut().and_then(|c| c.get_mut(id)) {
        client.out.extend_from_slice(data);
        crate::node::hand_over_replies(srv, client);
    }
}

/// Whether replica `id` receives the running disk-less snapshot.
pub fn is_receiving(srv: &Server, id: ClientId) -> bool {
    srv.repl
        .replicas
        .get(&id)
        .and_then(|l| l.sync.as_ref())
        .is_some_and(|s| s.phase == SyncPhase::WaitEnd { socket: true })
}

/// The stream grew by `data`: replicas in a full sync hold it until they
/// are online (one over the hard replica output limit fails its sync).
pub fn feed_syncing(srv: &mut Server, data: &[u8]) {
    let hard = srv.config.client_output_buffer_limit.replica.hard;
    for link in srv.repl.replicas.values_mut() {
        let Some(sync) = link.sync.as_mut() else {
            continue;
        };
        if matches!(sync.phase, SyncPhase::WaitStart { .. } | SyncPhase::Failed) {
            continue;
        }
        sync.held.extend_from_slice(data);
        if hard > 0 && sync.held.len() as u64 > hard {
            sync.phase = SyncPhase::Failed;
            sync.held = Vec::new();
        }
    }
}

/// The disk-less payload went to `ids` (or failed): they wait for their
/// first ACK to start the stream.
pub fn payload_sent(srv: &mut Server, ids: &[ClientId], ok: bool) {
    let now = srv.now.mono_ms;
    for id in ids {
        if let Some(link) = srv.repl.replicas.get_mut(id).filter(|_| ok) {
            // Online for INFO (as Redis puts it): its lag counts from now.
            link.ack_time_ms = now;
        }
        if let Some(sync) = sync_of(srv, *id) {
            sync.phase = if ok {
                SyncPhase::WaitAck
            } else {
                SyncPhase::Failed
            };
        }
    }
    let text = if ok {
        "Diskless rdb transfer, done reading from pipe"
    } else {
        "Diskless rdb transfer failed"
    };
    crate::persist::log(srv, LogLevel::Notice, text);
}

/// Whether replicas wait for the file of the running BGSAVE.
pub fn waiting_for_file(srv: &Server) -> bool {
    srv.repl
        .replicas
        .values()
        .filter_map(|l| l.sync.as_ref())
        .any(|s| s.phase == SyncPhase::WaitEnd { socket: false })
}

/// The saved file was read (or the save failed): the replicas waiting for
/// it start receiving it, with its length first.
pub fn file_read(srv: &mut Server, result: DiskResult) {
    let data = match result {
        Ok(DiskReply::Data(bytes)) => Some(bytes),
        _ => None,
    };
    let payload = data.map(|file| {
        let mut out = format!("${}\r\n", file.len()).into_bytes();
        out.extend_from_slice(&file);
        Bytes::from(out)
    });
    for link in srv.repl.replicas.values_mut() {
        let Some(sync) = link.sync.as_mut() else {
            continue;
        };
        if sync.phase != (SyncPhase::WaitEnd { socket: false }) {
            continue;
        }
        sync.phase = match &payload {
            Some(data) => SyncPhase::SendFile {
                data: data.clone(),
                sent: 0,
            },
            None => SyncPhase::Failed,
        };
    }
    if payload.is_none() {
        crate::persist::log(
            srv,
            LogLevel::Warning,
            "SYNC failed. BGSAVE child returned an error",
        );
    }
    srv.persist.files_sending = true;
    srv.persist.wake = true;
}

/// Sends the saved file to the replicas receiving it, a chunk at a time
/// while each one's pending output is under [`REPLICA_PENDING_MAX`]; a
/// replica that got all of it goes online.
pub fn send_files(srv: &mut Server, clients: &mut Clients) {
    if !srv.persist.files_sending {
        return;
    }
    let mut still_sending = false;
    let ids: Vec<ClientId> = srv.repl.replicas.keys().copied().collect();
    for id in ids {
        let Some(client) = clients.get_mut(&id) else {
            continue;
        };
        let Some(SyncPhase::SendFile { data, sent }) = sync_of(srv, id).map(|s| s.phase.clone())
        else {
            continue;
        };
        let mut sent = sent;
        while sent < data.len() && client.obuf_pending() < REPLICA_PENDING_MAX {
            let end = (sent + FILE_CHUNK_BYTES).min(data.len());
            client.out.extend_from_slice(&data[sent..end]);
            crate::node::hand_over_replies(srv, client);
            sent = end;
        }
        if sent == data.len() {
            finish_sync(srv, client);
        } else {
            still_sending = true;
            if let Some(sync) = sync_of(srv, id) {
                sync.phase = SyncPhase::SendFile { data, sent };
            }
        }
    }
    srv.persist.files_sending = still_sending;
}

/// The payload is in: the held stream follows and the replica is online.
fn finish_sync(srv: &mut Server, client: &mut Client) {
    let Some(sync) = srv
        .repl
        .replicas
        .get_mut(&client.id)
        .and_then(|l| l.sync.take())
    else {
        return;
    };
    client.out.extend_from_slice(&sync.held);
    crate::node::hand_over_replies(srv, client);
    put_online(srv, client, sync.offset);
}

/// `+CONTINUE`'s end: the replica receives the stream from now on.
fn go_online(ctx: &mut Ctx) {
    let offset = ctx.srv.repl.offset;
    put_online(ctx.srv, ctx.client, offset);
}

/// The replica receives the stream from now on. Anything it sends later
/// (REPLCONF ACK) gets no reply: replies would corrupt its stream.
fn put_online(srv: &mut Server, client: &mut Client, offset: u64) {
    let now = srv.now.mono_ms;
    let ip = peer_ip(&client.info.addr);
    let link = srv
        .repl
        .replicas
        .entry(client.id)
        .or_insert_with(|| ReplicaLink {
            ip,
            ..ReplicaLink::default()
        });
    link.ack_time_ms = now;
    link.ack_offset = link.ack_offset.min(offset);
    srv.repl.mark_online(client.id);
    client.reply_mode = ReplyMode::Off;
    if srv.repl.next_ping_ms == 0 {
        srv.repl.next_ping_ms = now + ping_period_ms(srv);
    }
}

fn ping_period_ms(srv: &Server) -> u64 {
    srv.config.repl_ping_replica_period.saturating_mul(1000)
}

/// Replicas whose last acknowledgement is at most `min-replicas-max-lag`
/// seconds old (Redis's good slaves).
pub fn good_replicas(srv: &Server) -> u64 {
    let now = srv.now.mono_ms;
    let max_lag = srv.config.min_replicas_max_lag;
    srv.repl
        .online_replicas()
        .filter(|(_, l)| now.saturating_sub(l.ack_time_ms) / 1000 <= max_lag)
        .count() as u64
}

/// INFO's `slave<N>` values, in client id order: every replica whose
/// SYNC/PSYNC was accepted, as Redis 7.0 lists its slaves (their count is
/// `connected_slaves`), with its state as Redis names it (`wait_bgsave`
/// until its snapshot is sent, `send_bulk` while a saved file is, then
/// `online`; a disk-less one waiting for its first ACK already counts as
/// online), its last acknowledged offset and, once online, the seconds
/// since (0 before, as Redis reports it).
pub fn info_replica_values(srv: &Server) -> Vec<String> {
    let now = srv.now.mono_ms;
    srv.repl
        .replicas
        .values()
        .filter_map(|link| {
            let state = info_state(link)?;
            let lag = if state == "online" {
                now.saturating_sub(link.ack_time_ms) / 1000
            } else {
                0
            };
            Some(format!(
                "ip={},port={},state={state},offset={},lag={lag}",
                link.ip, link.listening_port, link.ack_offset
            ))
        })
        .collect()
}

/// A replica's state in INFO, None for a client that only sent REPLCONF.
fn info_state(link: &ReplicaLink) -> Option<&'static str> {
    if link.online {
        return Some("online");
    }
    let phase = &link.sync.as_ref()?.phase;
    Some(match phase {
        SyncPhase::SendFile { .. } => "send_bulk",
        SyncPhase::WaitAck => "online",
        SyncPhase::WaitStart { .. } | SyncPhase::WaitEnd { .. } | SyncPhase::Failed => {
            "wait_bgsave"
        }
    })
}

/// Replicas that acknowledged `offset` or more.
pub fn acked_replicas(srv: &Server, offset: u64) -> u64 {
    srv.repl
        .online_replicas()
        .filter(|(_, l)| l.ack_offset >= offset)
        .count() as u64
}

/// WAIT numreplicas timeout.
pub fn wait(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    if ctx.srv.repl.is_replica() {
        return Reply::err("ERR WAIT cannot be used with replica instances. Please also note that since Redis 4.0 if a replica is configured to be writable (which is not the default) writes to replicas are just local and are not propagated.");
    }
    let Some(numreplicas) = parse_i64(&args[1]) else {
        return Reply::not_integer();
    };
    let timeout = match parse_i64(&args[2]) {
        None => return Reply::err("ERR timeout is not an integer or out of range"),
        Some(t) if t < 0 => return Reply::err("ERR timeout is negative"),
        Some(t) => t as u64,
    };
    let offset = ctx.client.repl_write_offset;
    let acked = acked_replicas(ctx.srv, offset);
    if numreplicas <= 0 || acked >= numreplicas as u64 || ctx.client.deny_blocking {
        return Reply::Int(acked as i64);
    }
    let deadline_ms = (timeout > 0).then(|| ctx.now().mono_ms.saturating_add(timeout));
    ctx.srv.repl.waiters.push(Waiter {
        client: ctx.client.id,
        offset,
        numreplicas: numreplicas as u64,
        deadline_ms,
    });
    ctx.srv.repl.getack_requested = true;
    Reply::NoReply
}

/// Answers the WAITs that have enough acknowledgements or timed out, and
/// sends the GETACK a WAIT asked for. Returns the clients unblocked (their
/// pipelined commands may run now).
pub fn serve_waiters(srv: &mut Server, clients: &mut Clients) -> Vec<ClientId> {
    if std::mem::take(&mut srv.repl.getack_requested) && !srv.repl.replicas.is_empty() {
        let mut getack = Vec::new();
        encode_command(&mut getack, &["REPLCONF", "GETACK", "*"]);
        feed_stream(srv, clients, &getack);
    }
    let now = srv.now.mono_ms;
    let mut done = Vec::new();
    let waiters = std::mem::take(&mut srv.repl.waiters);
    for w in waiters {
        let acked = acked_replicas(srv, w.offset);
        let timed_out = w.deadline_ms.is_some_and(|d| now >= d);
        if acked < w.numreplicas && !timed_out {
            srv.repl.waiters.push(w);
            continue;
        }
        if let Some(client) = clients.get_mut(&w.client) {
            if client.replies_enabled() {
                encode(&Reply::Int(acked as i64), client.protocol, &mut client.out);
            }
            crate::node::flush_output(srv, client);
        }
        done.push(w.client);
    }
    done
}

/// Answers every blocked WAIT with the error `text` (the node became a
/// replica). The unblocked clients' pipelines resume at the next input.
pub fn fail_waiters(srv: &mut Server, clients: &mut Clients, text: &'static str) {
    for w in std::mem::take(&mut srv.repl.waiters) {
        if let Some(client) = clients.get_mut(&w.client) {
            encode(&Reply::err(text), client.protocol, &mut client.out);
            crate::node::flush_output(srv, client);
        }
    }
}

/// The earliest WAIT deadline, for the node's timer.
pub fn next_deadline(srv: &Server) -> Option<u64> {
    srv.repl.waiters.iter().filter_map(|w| w.deadline_ms).min()
}

/// The primary's periodic work: a PING into the stream every
/// `repl-ping-replica-period` while replicas are attached, and replicas
/// silent for longer than `repl-timeout` are dropped.
pub fn cron(srv: &mut Server, clients: &mut Clients, work: &mut CronWork) {
    if srv.repl.is_replica() {
        return;
    }
    let now = srv.now.mono_ms;
    let timeout_ms = srv.config.repl_timeout.saturating_mul(1000);
    for (id, link) in srv.repl.online_replicas() {
        if now.saturating_sub(link.ack_time_ms) > timeout_ms {
            work.close.push(*id);
        }
    }
    let attached = srv.repl.online_replicas().next().is_some();
    if attached && now >= srv.repl.next_ping_ms {
        let mut ping = Vec::new();
        encode_command(&mut ping, &["ping"]);
        feed_stream(srv, clients, &ping);
        srv.repl.next_ping_ms = now + ping_period_ms(srv);
    }
    sync_cron(srv, clients, work);
}

/// Full syncs' periodic work: failed ones (or ones holding too much of
/// the stream) are closed, waiting replicas get a keepalive newline, and
/// the snapshot the waiting replicas need starts once it may.
fn sync_cron(srv: &mut Server, clients: &mut Clients, work: &mut CronWork) {
    let now = srv.now.mono_ms;
    let limit = srv.config.client_output_buffer_limit.replica;
    let mut keepalive = Vec::new();
    for (id, link) in srv.repl.replicas.iter_mut() {
        let Some(sync) = link.sync.as_mut() else {
            continue;
        };
        let held = sync.held.len() as u64;
        let over_soft = limit.soft > 0 && held > limit.soft;
        let since = *sync.soft_since_ms.get_or_insert(now);
        if !over_soft {
            sync.soft_since_ms = None;
        }
        let soft_expired = over_soft && now.saturating_sub(since) > limit.soft_seconds * 1000;
        if sync.phase == SyncPhase::Failed || soft_expired {
            work.close.push(*id);
            continue;
        }
        let quiet = matches!(
            sync.phase,
            SyncPhase::WaitStart { .. } | SyncPhase::WaitEnd { socket: false }
        );
        if quiet && now.saturating_sub(sync.last_keepalive_ms) >= KEEPALIVE_MS {
            sync.last_keepalive_ms = now;
            keepalive.push(*id);
        }
    }
    let mut conns = Some(Conns {
        current: None,
        others: clients,
    });
    for id in keepalive {
        write_to(srv, &mut conns, id, b"\n");
    }
    if start_due(srv) {
        start_snapshot(srv, &mut conns);
    }
}

/// Whether the replicas waiting for a snapshot should get one now, as
/// Redis's `replicationStartPendingFork`: nothing else walks the data,
/// and disk-backed, or enough replicas wait, or the first one waited
/// `repl-diskless-sync-delay` seconds.
fn start_due(srv: &Server) -> bool {
    if srv.persist.walk_busy() || srv.persist.blocks_commands() {
        return false;
    }
    let now = srv.now.mono_ms;
    let waits: Vec<u64> = srv
        .repl
        .replicas
        .values()
        .filter_map(|l| match l.sync.as_ref().map(|s| &s.phase) {
            Some(SyncPhase::WaitStart { since_ms }) => Some(now.saturating_sub(*since_ms)),
            _ => None,
        })
        .collect();
    let Some(longest) = waits.iter().max().copied() else {
        return false;
    };
    let config = &srv.config;
    let max_replicas = config.repl_diskless_sync_max_replicas;
    !config.repl_diskless_sync
        || (max_replicas > 0 && waits.len() as u64 >= max_replicas)
        || longest >= config.repl_diskless_sync_delay.saturating_mul(1000)
}

#[cfg(test)]
#[path = "master_tests.rs"]
mod tests;
