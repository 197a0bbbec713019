//! INFO: Redis 7.0's sections, field names and order, with the values Keel
//! can report truthfully. Fields about machinery Keel does not have (RDB
//! forks, AOF, allocator internals, CPU use, OS facts the engine cannot
//! see) are left out rather than made up; counters of things Keel does not
//! do yet (pub/sub, replicas, blocking) report their true value, zero.

use super::flags::*;
use super::{CommandSpec, Ctx};
use crate::client::Client;
use crate::cmd::connection::REDIS_VERSION;
use crate::resp::Reply;
use crate::server::{MemoryUsage, Server};
use bytes::Bytes;
use std::fmt::{Display, Write};

#[rustfmt::skip]
mod docs;

pub const COMMANDS: &[CommandSpec] = &[CommandSpec {
    name: "info",
    arity: -1,
    flags: LOADING | STALE,
    first_key: 0,
    last_key: 0,
    step: 0,
    acl: &["slow", "dangerous"],
    tips: &[
        "nondeterministic_output",
        "request_policy:all_shards",
        "response_policy:special",
    ],
    key_specs: &[],
    group: "server",
    since: "1.0.0",
    summary: "Get information and statistics about the server",
    complexity: "O(1)",
    handler: Some(info),
    subcommands: &[],
    docs: docs::INFO,
    getkeys: None,
}];

/// What a section renders from: the server and every client.
struct Snapshot<'a> {
    srv: &'a Server,
    clients: Vec<&'a Client>,
    memory: MemoryUsage,
}

type Render = fn(&Snapshot, &mut Section);

/// Every section in output order: name, header, whether INFO with no
/// argument (`default`) includes it, and its renderer.
const SECTIONS: &[(&str, &str, bool, Render)] = &[
    ("server", "Server", true, server),
    ("clients", "Clients", true, clients),
    ("memory", "Memory", true, memory),
    ("persistence", "Persistence", true, persistence),
    ("stats", "Stats", true, stats),
    ("replication", "Replication", true, replication),
    ("modules", "Modules", true, |_, _| {}),
    ("commandstats", "Commandstats", false, commandstats),
    ("errorstats", "Errorstats", true, errorstats),
    ("cluster", "Cluster", true, |_, s| {
        s.field("cluster_enabled", 0)
    }),
    ("keyspace", "Keyspace", true, keyspace),
];

/// The lines of one section, `name:value\r\n` each.
struct Section(String);

impl Section {
    fn field(&mut self, name: &str, value: impl Display) {
        // Writing to a String cannot fail.
        let _ = write!(self.0, "{name}:{value}\r\n");
    }
}

fn info(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    let wanted = selected_sections(&args[1..]);
    // Summing the clients' buffers walks the clients: only when asked for.
    let memory = if wanted.contains(&"memory") {
        let clients_mem =
            ctx.client.mem_usage() + ctx.others.values().map(|c| c.mem_usage()).sum::<u64>();
        ctx.srv.observe_memory(clients_mem)
    } else {
        MemoryUsage::default()
    };
    let mut clients: Vec<&Client> = ctx.others.values().map(|c| &**c).collect();
    clients.push(ctx.client);
    let snap = Snapshot {
        srv: ctx.srv,
        clients,
        memory,
    };
    let text = render(&snap, &wanted);
    Reply::Verbatim("txt", Bytes::from(text))
}

/// Section names to render, from INFO's arguments (case-insensitive;
/// unknown names are ignored, as in Redis).
fn selected_sections(args: &[Bytes]) -> Vec<&'static str> {
    let names: Vec<String> = args
        .iter()
        .map(|a| String::from_utf8_lossy(a).to_ascii_lowercase())
        .collect();
    let all = names.iter().any(|n| n == "all" || n == "everything");
    let default = names.is_empty() || names.iter().any(|n| n == "default");
    SECTIONS
        .iter()
        .filter(|(name, _, in_default, _)| {
            all || (default && *in_default) || names.iter().any(|n| n == name)
        })
        .map(|(name, ..)| *name)
        .collect()
}

fn render(snap: &Snapshot, wanted: &[&str]) -> String {
    let mut parts = Vec::new();
    for (name, header, _, render) in SECTIONS {
        if wanted.contains(name) {
            let mut section = Section(format!("# {header}\r\n"));
            render(snap, &mut section);
            parts.push(section.0);
        }
    }
    parts.join("\r\n")
}

/// Redis's `bytesToHuman`: B below 1 KiB, then K, M, G, T, P with two decimals.
pub fn bytes_to_human(n: u64) -> String {
    const UNITS: [&str; 5] = ["K", "M", "G", "T", "P"];
    if n < 1024 {
        return format!("{n}B");
    }
    let mut value = n as f64 / 1024.0;
    for unit in UNITS {
        if value < 1024.0 || unit == "P" {
            return format!("{value:.2}{unit}");
        }
        value /= 1024.0;
    }
    unreachable!("the loop returns at P")
}

fn server(snap: &Snapshot, s: &mut Section) {
    let srv = snap.srv;
    let uptime = srv.uptime_secs();
    s.field("redis_version", REDIS_VERSION);
    s.field("redis_git_sha1", "00000000");
    s.field("redis_git_dirty", 0);
    s.field("redis_mode", "standalone");
    s.field("arch_bits", 64);
    s.field("run_id", &srv.run_id);
    s.field("tcp_port", srv.config.port);
    s.field("server_time_usec", srv.now.unix_us());
    s.field("uptime_in_seconds", uptime);
    s.field("uptime_in_days", uptime / 86_400);
    s.field("hz", srv.config.hz);
    s.field("configured_hz", srv.config.hz);
    s.field("lru_clock", crate::db::access::lru_clock(srv.now));
    s.field("executable", &srv.config.executable);
    s.field(
        "config_file",
        srv.config.config_file.as_deref().unwrap_or(""),
    );
    s.field("io_threads_active", 0);
}

fn clients(snap: &Snapshot, s: &mut Section) {
    let max_in = snap.clients.iter().map(|c| c.query.capacity()).max();
    let max_out = snap.clients.iter().map(|c| c.out.len()).max();
    s.field("connected_clients", snap.clients.len());
    s.field("cluster_connections", 0);
    s.field("maxclients", snap.srv.config.maxclients);
    s.field("client_recent_max_input_buffer", max_in.unwrap_or(0));
    s.field("client_recent_max_output_buffer", max_out.unwrap_or(0));
    let blocked = snap.clients.iter().filter_map(|c| c.blocked.as_ref());
    let (blocked, timed) = blocked.fold((0, 0), |(n, t), b| {
        (n + 1, t + b.deadline_ms.is_some() as usize)
    });
    s.field("blocked_clients", blocked);
    s.field("tracking_clients", 0);
    s.field("clients_in_timeout_table", timed);
}

fn percent(part: u64, whole: u64) -> String {
    let perc = if whole == 0 {
        0.0
    } else {
        part as f64 * 100.0 / whole as f64
    };
    format!("{perc:.2}%")
}

fn memory(snap: &Snapshot, s: &mut Section) {
    let m = &snap.memory;
    let srv = snap.srv;
    let peak = srv.stats.peak_memory.max(m.total);
    s.field("used_memory", m.total);
    s.field("used_memory_human", bytes_to_human(m.total));
    s.field("used_memory_peak", peak);
    s.field("used_memory_peak_human", bytes_to_human(peak));
    s.field("used_memory_peak_perc", percent(m.total, peak));
    s.field("used_memory_overhead", m.overhead());
    s.field("used_memory_startup", m.startup);
    s.field("used_memory_dataset", m.dataset);
    s.field(
        "used_memory_dataset_perc",
        percent(m.dataset, m.total - m.startup),
    );
    scripting_memory(srv, s);
    s.field("maxmemory", srv.config.maxmemory);
    s.field("maxmemory_human", bytes_to_human(srv.config.maxmemory));
    s.field("maxmemory_policy", &srv.config.maxmemory_policy);
    s.field("mem_not_counted_for_evict", 0);
    s.field("mem_clients_slaves", 0);
    s.field("mem_clients_normal", m.clients);
    s.field("lazyfree_pending_objects", srv.lazyfree_pending());
    s.field("lazyfreed_objects", srv.stats.lazyfreed_objects);
}

/// The scripting lines of INFO memory, in Redis 7.0.15's order: EVAL's
/// Lua state and script cache, then the functions' state and libraries.
fn scripting_memory(srv: &crate::server::Server, s: &mut Section) {
    let scripting = &srv.scripting;
    let functions = &scripting.functions;
    let vm_eval = scripting.lua_memory() as u64;
    let vm_functions = functions.vm_memory() as u64;
    let scripts_eval = scripting.scripts_bytes() as u64;
    let functions_bytes = functions.registry.memory() as u64;
    s.field("used_memory_lua", vm_eval);
    s.field("used_memory_vm_eval", vm_eval);
    s.field("used_memory_lua_human", bytes_to_human(vm_eval));
    s.field("used_memory_scripts_eval", scripts_eval);
    s.field("number_of_cached_scripts", scripting.script_count());
    s.field("number_of_functions", functions.registry.function_count());
    s.field("number_of_libraries", functions.registry.library_count());
    s.field("used_memory_vm_functions", vm_functions);
    s.field("used_memory_vm_total", vm_eval + vm_functions);
    s.field(
        "used_memory_vm_total_human",
        bytes_to_human(vm_eval + vm_functions),
    );
    s.field("used_memory_functions", functions_bytes);
    s.field("used_memory_scripts", scripts_eval + functions_bytes);
    s.field(
        "used_memory_scripts_human",
        bytes_to_human(scripts_eval + functions_bytes),
    );
}

/// Redis 7.0.15's fields, from [`crate::persist::info_fields`].
fn persistence(snap: &Snapshot, s: &mut Section) {
    for (name, value) in crate::persist::info_fields(snap.srv) {
        s.field(name, value);
    }
}

fn kbps(bytes_per_sec: f64) -> String {
    format!("{:.2}", bytes_per_sec / 1024.0)
}

fn stats(snap: &Snapshot, s: &mut Section) {
    let srv = snap.srv;
    let st = &srv.stats;
    s.field("total_connections_received", st.total_connections_received);
    s.field("total_commands_processed", st.total_commands_processed);
    s.field("instantaneous_ops_per_sec", st.instantaneous_ops_per_sec());
    s.field("total_net_input_bytes", st.total_net_input_bytes);
    s.field("total_net_output_bytes", st.total_net_output_bytes);
    s.field("instantaneous_input_kbps", kbps(st.net_input.per_sec()));
    s.field("instantaneous_output_kbps", kbps(st.net_output.per_sec()));
    s.field("rejected_connections", st.rejected_connections);
    s.field("sync_full", srv.repl.stats.sync_full);
    s.field("sync_partial_ok", srv.repl.stats.sync_partial_ok);
    s.field("sync_partial_err", srv.repl.stats.sync_partial_err);
    s.field("expired_keys", srv.expired_keys());
    s.field(
        "expired_stale_perc",
        format!("{:.2}", st.expired_stale_perc * 100.0),
    );
    s.field(
        "expired_time_cap_reached_count",
        st.expired_time_cap_reached_count,
    );
    s.field("evicted_keys", st.evicted_keys);
    s.field("evicted_clients", 0);
    s.field("keyspace_hits", st.keyspace_hits);
    s.field("keyspace_misses", st.keyspace_misses);
    s.field("pubsub_channels", srv.pubsub.channel_count());
    s.field("pubsub_patterns", srv.pubsub.pattern_count());
    s.field("pubsubshard_channels", srv.pubsub.shard_channel_count());
    s.field("latest_fork_usec", 0);
    s.field("total_forks", 0);
    s.field("unexpected_error_replies", st.unexpected_error_replies);
    s.field("total_error_replies", st.total_error_replies);
    s.field("total_reads_processed", st.total_reads_processed);
    s.field("total_writes_processed", st.total_writes_processed);
}

/// Redis 7.0's replication section: the role's own fields, then the
/// replicas, then the history (ids, offsets, backlog).
fn replication(snap: &Snapshot, s: &mut Section) {
    let srv = snap.srv;
    let repl = &srv.repl;
    match &repl.link {
        None => s.field("role", "master"),
        Some(link) => replica_link_fields(srv, link, s),
    }
    let listed = crate::repl::master::info_replica_values(srv);
    s.field("connected_slaves", listed.len());
    for (i, value) in listed.into_iter().enumerate() {
        s.field(&format!("slave{i}"), value);
    }
    if srv.config.min_replicas_to_write > 0 && srv.config.min_replicas_max_lag > 0 {
        s.field(
            "min_slaves_good_slaves",
            crate::repl::master::good_replicas(srv),
        );
    }
    s.field("master_failover_state", "no-failover");
    s.field("master_replid", &srv.replid);
    s.field("master_replid2", &repl.replid2);
    s.field("master_repl_offset", repl.offset);
    s.field("second_repl_offset", repl.second_offset);
    let backlog = repl.backlog.as_ref();
    s.field("repl_backlog_active", u8::from(backlog.is_some()));
    s.field(
        "repl_backlog_size",
        backlog.map_or(srv.config.repl_backlog_size, |b| b.size() as u64),
    );
    s.field(
        "repl_backlog_first_byte_offset",
        backlog.map_or(0, |b| b.first_offset()),
    );
    s.field("repl_backlog_histlen", backlog.map_or(0, |b| b.histlen()));
}

/// A replica's view of its link to the master.
fn replica_link_fields(srv: &Server, link: &crate::repl::replica::MasterLink, s: &mut Section) {
    let now = srv.now.mono_ms;
    let up = link.is_connected();
    s.field("role", "slave");
    s.field("master_host", &link.host);
    s.field("master_port", link.port);
    s.field("master_link_status", if up { "up" } else { "down" });
    let last_io = if up {
        (now.saturating_sub(link.last_io_ms) / 1000) as i64
    } else {
        -1
    };
    s.field("master_last_io_seconds_ago", last_io);
    let progress = link.transfer_progress();
    s.field("master_sync_in_progress", u8::from(progress.is_some()));
    s.field(
        "slave_read_repl_offset",
        link.read_offset.max(srv.repl.offset),
    );
    s.field("slave_repl_offset", srv.repl.offset);
    if let Some((total, read)) = progress {
        let perc = if total > 0 {
            read as f64 * 100.0 / total as f64
        } else {
            0.0
        };
        s.field("master_sync_total_bytes", total as i64);
        s.field("master_sync_read_bytes", read);
        s.field("master_sync_left_bytes", total as i64 - read as i64);
        s.field("master_sync_perc", format!("{perc:.2}"));
        s.field(
            "master_sync_last_io_seconds_ago",
            now.saturating_sub(link.last_io_ms) / 1000,
        );
    }
    if !up {
        let down = link
            .down_since_ms
            .map_or(-1, |t| (now.saturating_sub(t) / 1000) as i64);
        s.field("master_link_down_since_seconds", down);
    }
    s.field("slave_priority", srv.config.replica_priority);
    s.field("slave_read_only", u8::from(srv.config.replica_read_only));
    s.field("replica_announced", u8::from(srv.config.replica_announced));
}

/// Calls and outcomes per command. Keel's engine has no clock of its own
/// while a command runs, so the time fields are 0.
fn commandstats(snap: &Snapshot, s: &mut Section) {
    let mut names: Vec<_> = snap.srv.stats.commands.iter().collect();
    names.sort_unstable_by(|a, b| a.0.cmp(b.0));
    for (name, c) in names {
        let value = format!(
            "calls={},usec=0,usec_per_call=0.00,rejected_calls={},failed_calls={}",
            c.calls, c.rejected_calls, c.failed_calls
        );
        s.field(&format!("cmdstat_{name}"), value);
    }
}

fn errorstats(snap: &Snapshot, s: &mut Section) {
    for (code, count) in &snap.srv.stats.errors {
        s.field(&format!("errorstat_{code}"), format!("count={count}"));
    }
}

/// One line per database holding keys. avg_ttl is Redis's running
/// estimate from active expiry samples ([`crate::db::Db::avg_ttl`]), not a
/// walk over the keys: O(databases).
fn keyspace(snap: &Snapshot, s: &mut Section) {
    for (i, db) in snap.srv.dbs.iter().enumerate() {
        if db.is_empty() {
            continue;
        }
        let value = format!(
            "keys={},expires={},avg_ttl={}",
            db.len(),
            db.expires().len(),
            db.avg_ttl
        );
        s.field(&format!("db{i}"), value);
    }
}

#[cfg(test)]
mod tests;
