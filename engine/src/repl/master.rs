//! The primary side: replicas (clients that sent PSYNC or SYNC), their
//! acknowledgements, WAIT, and the periodic PING.

use super::{encode_command, feed_stream, snapshot, CronWork};
use crate::client::{ClientId, ReplyMode};
use crate::cmd::Ctx;
use crate::node::Clients;
use crate::resp::{encode, Reply};
use crate::server::Server;
use crate::util::{eq_ic, parse_i64};
use bytes::Bytes;

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
        .is_some_and(|l| l.online)
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

/// `+FULLRESYNC <replid> <offset>` (PSYNC only), then the dataset as
/// `$<len>\r\n<rdb>`; the stream follows.
fn full_sync(ctx: &mut Ctx, psync: bool) {
    let size = ctx.srv.config.repl_backlog_size;
    if ctx.srv.repl.backlog.is_none() {
        ctx.srv.repl.ensure_backlog(size);
        ctx.srv.record_effects_for_replicas(true);
    }
    // The snapshot has no selected database: the stream selects again.
    ctx.srv.repl.stream_db = None;
    ctx.srv.repl.stats.sync_full += 1;
    if psync {
        let line = format!("+FULLRESYNC {} {}\r\n", ctx.srv.replid, ctx.srv.repl.offset);
        ctx.client.out.extend_from_slice(line.as_bytes());
    }
    let rdb = snapshot::build_rdb(ctx.srv);
    let out = &mut ctx.client.out;
    out.extend_from_slice(format!("${}\r\n", rdb.len()).as_bytes());
    out.extend_from_slice(&rdb);
    go_online(ctx);
}

/// The replica receives the stream from now on. Anything it sends later
/// (REPLCONF ACK) gets no reply: replies would corrupt its stream.
fn go_online(ctx: &mut Ctx) {
    let now = ctx.now().mono_ms;
    let offset = ctx.srv.repl.offset;
    let link = link_of(ctx);
    link.online = true;
    link.ack_time_ms = now;
    link.ack_offset = link.ack_offset.min(offset);
    ctx.client.reply_mode = ReplyMode::Off;
    if ctx.srv.repl.next_ping_ms == 0 {
        ctx.srv.repl.next_ping_ms = now + ping_period_ms(ctx.srv);
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
    let offset = ctx
        .srv
        .repl
        .write_offsets
        .get(&ctx.client.id)
        .copied()
        .unwrap_or(0);
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
}
