//! The sans-IO state machine.

use crate::client::{Client, ClientId, ClientInfo, ReplyMode};
use crate::cmd::{self, flags, Ctx};
use crate::config::Config;
use crate::limits;
use crate::resp::{encode, ParseLimits, Reply};
use crate::server::Server;
use crate::time::Now;
use bytes::Bytes;
use std::collections::BTreeMap;

/// An event from the outside world.
#[derive(Debug)]
pub enum Input<'a> {
    /// Bytes received from a client.
    ClientData { client: ClientId, data: &'a [u8] },
    /// The client's connection is gone (closed by the peer, or an IO error).
    ClientClosed { client: ClientId },
    /// The driver finished disk request `id` (see [`crate::disk`]): answers
    /// come once per request, in request order.
    DiskDone {
        id: crate::disk::RequestId,
        result: crate::disk::DiskResult,
    },
}

/// Something the driver must do, drained with [`Node::poll_output`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Output {
    /// Write these bytes to the client, after anything queued before.
    Write { client: ClientId, data: Bytes },
    /// Close the client's connection once the writes queued before are flushed.
    Close { client: ClientId },
    /// Stop the server (SHUTDOWN) once queued writes are flushed.
    Shutdown,
    /// Perform this disk request after every one emitted before it, then
    /// report it with [`Input::DiskDone`] (see [`crate::disk`]).
    Disk(crate::disk::DiskRequest),
    /// A line for the server log.
    Log { level: LogLevel, text: String },
    /// The node cannot go on (its data file is corrupt): log this and
    /// stop the process with a failure status. Nothing follows.
    Fatal(String),
}

/// Log levels, as Redis's `loglevel` names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum LogLevel {
    Debug,
    Verbose,
    Notice,
    Warning,
}

/// Redis 7.0's reply to a non-loopback client in protected mode.
pub const PROTECTED_MODE_DENIED: &str = "DENIED Redis is running in protected mode because protected mode is enabled and no password is set for the default user. In this mode connections are only accepted from the loopback interface. If you want to connect from external computers to Redis you may adopt one of the following solutions: 1) Just disable protected mode sending the command 'CONFIG SET protected-mode no' from the loopback interface by connecting to Redis from the same host the server is running, however MAKE SURE Redis is not publicly accessible from internet if you do so. Use CONFIG REWRITE to make this change permanent. 2) Alternatively you can just disable the protected mode by editing the Redis configuration file, and setting the protected mode option to 'no', and then restarting the server. 3) If you started the server manually just for testing, restart it with the '--protected-mode no' option. 4) Set up an authentication password for the default user. NOTE: You only need to do one of the above things in order for the server to start accepting connections from the outside.";

/// The connected clients, in id order (CLIENT LIST order).
pub type Clients = BTreeMap<ClientId, Client>;

/// Keel's core: one node of the data store, with no IO of its own.
///
/// The driver owns sockets, files and clocks, and talks to the node only
/// through these methods (the shape of quinn-proto's `Connection`):
///
/// - **Handlers**, which feed in the outside world, each with the current
///   time: [`Node::accept_client`] when a connection opens,
///   [`Node::handle_input`] for bytes and closes, [`Node::handle_timeout`]
///   when the deadline from [`Node::poll_timeout`] has passed.
/// - **Polls**, to drain after every handler call, in this order:
///   [`Node::poll_output`] until it returns `None` (writes, closes,
///   shutdown, in the order they must happen), then [`Node::poll_timeout`]
///   for the next deadline (which may have moved).
/// - **Getters**, which change nothing: [`Node::config`], [`Node::client_count`],
///   [`Node::is_shutting_down`].
///
/// A client the node closes (`Output::Close`: QUIT, CLIENT KILL, protocol
/// errors, idle timeout) is already forgotten; later input for it is
/// ignored. During DEBUG SLEEP the node only buffers input: nothing runs,
/// the cron included, until the deadline [`Node::poll_timeout`] gives.
///
/// Time is an input (`Now`, taken once per batch) and every random choice
/// comes from a ChaCha RNG seeded by `config.seed`: the same inputs give
/// the same outputs, byte for byte.
///
/// **Start.** A driver calls [`Node::start`] once, right after
/// [`Node::new`]: the node then reads its data file (`dir/dbfilename`)
/// through a disk request and loads it in steps, answering `-LOADING`
/// meanwhile; a corrupt file ends in [`Output::Fatal`]. A node that is
/// never started begins empty (unit tests).
pub struct Node {
    srv: Server,
    clients: Clients,
}

impl Node {
    pub fn new(config: Config, now: Now) -> Self {
        Node {
            srv: Server::new(config, now),
            clients: Clients::new(),
        }
    }

    // ---- getters ----

    pub fn config(&self) -> &Config {
        &self.srv.config
    }

    pub fn client_count(&self) -> usize {
        self.clients.len()
    }

    pub fn is_shutting_down(&self) -> bool {
        self.srv.shutting_down
    }

    /// Starts or stops recording write effects (an AOF or a replica is
    /// attached); see [`crate::effects`].
    pub fn record_effects(&mut self, on: bool) {
        self.srv.record_effects(on);
    }

    /// The write effects recorded since the last call, oldest first.
    pub fn drain_effects(&mut self) -> Vec<crate::effects::Effect> {
        self.srv.effects.drain()
    }

    /// The server state, for tests that set up data directly.
    #[cfg(test)]
    pub(crate) fn server_mut(&mut self) -> &mut Server {
        &mut self.srv
    }

    // ---- handlers ----

    /// Loads the dataset from disk (see the type's docs). Once only.
    pub fn start(&mut self, now: Now) {
        self.srv.now = now;
        crate::persist::start(&mut self.srv);
    }

    /// SIGTERM: stops as SHUTDOWN does (saving first when save points are
    /// set). When that save fails the node logs it and keeps serving.
    pub fn request_shutdown(&mut self, now: Now) {
        self.srv.now = now;
        if self.srv.shutting_down || self.srv.persist.blocks_commands() {
            return;
        }
        if crate::persist::shutdown(&mut self.srv, None, false, false, false) {
            self.srv.shutting_down = true;
            self.srv.outputs.push_back(Output::Shutdown);
        }
    }

    /// Registers a new connection and returns its id. Past `maxclients`,
    /// the client is told so and closed (the outputs say it).
    pub fn accept_client(&mut self, now: Now, info: ClientInfo) -> ClientId {
        self.srv.now = now;
        let id = self.srv.next_client_id;
        self.srv.next_client_id += 1;
        if self.clients.len() as u64 >= self.srv.config.maxclients {
            self.srv.stats.rejected_connections += 1;
            self.refuse(id, Reply::err("ERR max number of clients reached"));
            return id;
        }
        if self.protected_mode_denies(&info) {
            self.refuse(id, Reply::err(PROTECTED_MODE_DENIED));
            return id;
        }
        self.srv.stats.total_connections_received += 1;
        let authenticated = self.srv.config.requirepass.is_none();
        self.clients
            .insert(id, Client::new(id, info, now.mono_ms, authenticated));
        id
    }

    /// Writes `reply` to a connection that is not kept, then closes it.
    fn refuse(&mut self, id: ClientId, reply: Reply) {
        let mut data = bytes::BytesMut::new();
        encode(&reply, Default::default(), &mut data);
        self.srv.outputs.push_back(Output::Write {
            client: id,
            data: data.freeze(),
        });
        self.srv.outputs.push_back(Output::Close { client: id });
    }

    /// Protected mode (Redis 7): with no password for the default user,
    /// only loopback clients are accepted. An address that is not an IP
    /// socket address (e.g. a unix socket) counts as local.
    fn protected_mode_denies(&self, info: &ClientInfo) -> bool {
        let config = &self.srv.config;
        if !config.protected_mode || config.requirepass.is_some() {
            return false;
        }
        match info.addr.parse::<core::net::SocketAddr>() {
            Ok(addr) => !addr.ip().is_loopback(),
            Err(_) => false,
        }
    }

    pub fn handle_input(&mut self, now: Now, input: Input<'_>) {
        self.srv.now = now;
        match input {
            Input::ClientData { client, data } => self.on_client_data(client, data),
            Input::ClientClosed { client } => {
                self.clients.remove(&client);
            }
            Input::DiskDone { id, result } => self.on_disk_done(id, result),
        }
    }

    /// Runs timers that are due: the end of a DEBUG SLEEP, and the periodic
    /// cron (active expiry, lazy freeing, idle client timeouts, stats).
    /// While DEBUG SLEEP lasts nothing runs, the cron included, as in Redis
    /// whose whole process sleeps.
    pub fn handle_timeout(&mut self, now: Now) {
        self.srv.now = now;
        match self.srv.paused_until {
            Some(t) if now.mono_ms >= t => self.end_pause(),
            Some(_) => return,
            None => {}
        }
        // While a foreground save holds the server nothing runs, as in
        // Redis whose main thread is saving (the cron stays scheduled).
        let blocked = self.srv.persist.blocks_commands();
        if !blocked {
            crate::persist::step(&mut self.srv);
        }
        if now.mono_ms >= self.srv.next_cron_ms {
            if !blocked {
                self.cron();
            }
            let period = 1000 / self.srv.config.hz.max(1);
            self.srv.next_cron_ms = now.mono_ms + period;
        }
    }

    // ---- polls ----

    pub fn poll_output(&mut self) -> Option<Output> {
        self.srv.outputs.pop_front()
    }

    /// The monotonic time at which [`Node::handle_timeout`] must next be called.
    pub fn poll_timeout(&self) -> Option<u64> {
        match self.srv.paused_until {
            Some(p) => Some(p),
            // A load or background save wants its next step at once.
            None if self.srv.persist.wants_step() => Some(self.srv.now.mono_ms),
            None => Some(self.srv.next_cron_ms),
        }
    }

    // ---- internals ----

    fn on_client_data(&mut self, id: ClientId, data: &[u8]) {
        let Some(mut client) = self.clients.remove(&id) else {
            return;
        };
        self.srv.stats.total_net_input_bytes += data.len() as u64;
        self.srv.stats.total_reads_processed += 1;
        client.query.extend_from_slice(data);
        client.last_interaction_ms = self.srv.now.mono_ms;
        if self.query_buffer_too_big(&client) {
            // Redis closes such a client without a reply, and logs it.
            self.srv.outputs.push_back(Output::Close { client: id });
            return;
        }
        self.process(&mut client);
        self.finish(client);
    }

    /// A disk request finished. The jobs that wait on disk (snapshots,
    /// the append-only log) take their answers from here.
    fn on_disk_done(&mut self, id: crate::disk::RequestId, result: crate::disk::DiskResult) {
        self.srv.disk.answered(id, &result);
        if let Some(done) = crate::persist::on_disk_done(&mut self.srv, id, result) {
            self.persist_completed(done);
        }
    }

    /// A foreground save or reload finished: answer the client that
    /// waited, or stop, then serve what queued up meanwhile.
    fn persist_completed(&mut self, done: crate::persist::Completion) {
        use crate::persist::Completion;
        match done {
            Completion::Shutdown => {
                self.srv.shutting_down = true;
                self.srv.outputs.push_back(Output::Shutdown);
                return;
            }
            Completion::Reply { client, reply } => {
                if let Some(c) = self.clients.get_mut(&client) {
                    if c.replies_enabled() {
                        encode(&reply, c.protocol, &mut c.out);
                    }
                }
            }
            Completion::Resume => {}
        }
        self.serve_waiting();
    }

    fn query_buffer_too_big(&self, client: &Client) -> bool {
        let limit = if client.authenticated {
            self.srv.config.client_query_buffer_limit as usize
        } else {
            limits::MAX_UNAUTH_QUERY_BUFFER
        };
        client.query.len() > limit
    }

    /// Parses and runs every complete command in the client's buffer.
    fn process(&mut self, client: &mut Client) {
        while self.srv.paused_until.is_none()
            && !self.srv.persist.blocks_commands()
            && !self.srv.shutting_down
            && !client.close_after_reply
            && !client.killed
        {
            let lim = ParseLimits {
                max_bulk_len: self.srv.config.proto_max_bulk_len,
                authenticated: client.authenticated,
            };
            match client.parser.parse(&mut client.query, &lim) {
                Ok(Some(args)) => self.execute(client, &args),
                Ok(None) => break,
                Err(e) => {
                    let text = e.reply_text();
                    self.srv.stats.count_error(&text);
                    let reply = Reply::error(text);
                    encode(&reply, client.protocol, &mut client.out);
                    client.query.clear();
                    client.close_after_reply = true;
                }
            }
        }
    }

    /// Hands the client's pending replies to the driver and puts it back,
    /// or closes it.
    fn finish(&mut self, mut client: Client) {
        let id = client.id;
        if !client.killed {
            flush_output(&mut self.srv, &mut client);
        }
        if client.close_after_reply || client.killed {
            self.srv.outputs.push_back(Output::Close { client: id });
        } else {
            self.clients.insert(id, client);
        }
    }

    fn execute(&mut self, client: &mut Client, args: &[Bytes]) {
        if client.reply_mode == ReplyMode::SkipNext {
            client.reply_mode = ReplyMode::Skipping;
        }
        self.srv.effects.begin_unit();
        let (reply, outcome) = self.dispatch(client, args);
        self.srv.effects.end_unit();
        self.count(&reply, &outcome);
        if client.replies_enabled() {
            encode(&reply, client.protocol, &mut client.out);
        }
        if client.reply_mode == ReplyMode::Skipping {
            client.reply_mode = ReplyMode::On;
        }
    }

    /// Updates the counters INFO reports (stats, commandstats, errorstats).
    fn count(&mut self, reply: &Reply, outcome: &Outcome) {
        let stats = &mut self.srv.stats;
        match outcome {
            Outcome::Unknown => {}
            Outcome::Rejected(name) => stats.command(name).rejected_calls += 1,
            Outcome::Ran(name) => {
                // As in Redis, only commands that ran count as processed.
                stats.total_commands_processed += 1;
                let entry = stats.command(name);
                entry.calls += 1;
                if reply.is_error() {
                    entry.failed_calls += 1;
                }
            }
        }
        if let Reply::Error(text) = reply {
            stats.count_error(text);
        }
    }

    fn dispatch(&mut self, client: &mut Client, args: &[Bytes]) -> (Reply, Outcome) {
        let Some(mut spec) = self.srv.table.lookup(&args[0]) else {
            return (cmd::unknown_command(args), Outcome::Unknown);
        };
        let mut parent = None;
        if !spec.subcommands.is_empty() && (args.len() > 1 || spec.handler.is_none()) {
            if !spec.arity_ok(args.len()) {
                let rejected = Outcome::Rejected(spec.name.to_string());
                return (Reply::wrong_arity(spec.name), rejected);
            }
            match spec.find_subcommand(&args[1]) {
                Some(sub) => {
                    parent = Some(spec.name);
                    spec = sub;
                }
                None => {
                    return (
                        cmd::unknown_subcommand(spec.name, &args[1]),
                        Outcome::Unknown,
                    )
                }
            }
        }
        let full_name = match parent {
            Some(p) => format!("{p}|{}", spec.name),
            None => spec.name.to_string(),
        };
        if !spec.arity_ok(args.len()) {
            let reply = Reply::wrong_arity(&full_name);
            return (reply, Outcome::Rejected(full_name));
        }
        if !client.authenticated && !spec.has(flags::NO_AUTH) {
            let reply = Reply::err("NOAUTH Authentication required.");
            return (reply, Outcome::Rejected(full_name));
        }
        if let Some(reply) = crate::persist::refusal(&self.srv, spec) {
            return (reply, Outcome::Rejected(full_name));
        }
        client.last_cmd.clone_from(&full_name);
        let handler = spec.handler.expect("a leaf command has a handler");
        let (db, dirty_before) = (client.db, self.srv.dirty);
        let mut ctx = Ctx {
            srv: &mut self.srv,
            client,
            others: &mut self.clients,
        };
        let reply = handler(&mut ctx, args);
        self.srv.propagate_expired();
        let made_dirty = self.srv.dirty > dirty_before;
        self.srv.effects.command_done(db, args, made_dirty);
        (reply, Outcome::Ran(full_name))
    }

    /// DEBUG SLEEP has ended: answer the sleeper, then run what queued up.
    fn end_pause(&mut self) {
        self.srv.paused_until = None;
        if let Some(id) = self.srv.sleeping_client.take() {
            if let Some(client) = self.clients.get_mut(&id) {
                if client.replies_enabled() {
                    encode(&Reply::OK, client.protocol, &mut client.out);
                }
            }
        }
        self.serve_waiting();
    }

    /// Runs what clients sent while the node was not processing (DEBUG
    /// SLEEP, a foreground save), and flushes replies left for them.
    fn serve_waiting(&mut self) {
        let waiting: Vec<ClientId> = self
            .clients
            .iter()
            .filter(|(_, c)| !c.query.is_empty() || !c.out.is_empty())
            .map(|(id, _)| *id)
            .collect();
        for id in waiting {
            if let Some(mut client) = self.clients.remove(&id) {
                self.process(&mut client);
                self.finish(client);
            }
        }
    }

    fn cron(&mut self) {
        if self.srv.cron_paused || self.srv.persist.is_loading() {
            return;
        }
        crate::persist::cron(&mut self.srv);
        if self.srv.active_expire_enabled {
            self.active_expire_cycle();
            self.propagate_active_expiry();
        }
        self.srv.lazyfree_step(limits::LAZYFREE_KEYS_PER_STEP);
        self.close_idle_clients();
        let now_ms = self.srv.now.mono_ms;
        self.srv.stats.sample_rates(now_ms);
    }

    /// Active expiry: bounded per cycle, scaled by active-expire-effort.
    fn active_expire_cycle(&mut self) {
        let now = self.srv.now;
        let effort = self.srv.config.active_expire_effort.clamp(1, 10) as usize;
        let budget = limits::ACTIVE_EXPIRE_MAX_KEYS_PER_CYCLE * effort;
        let per_db = budget / self.srv.dbs.len().max(1) + 1;
        let (mut sampled, mut expired, mut capped) = (0, 0, false);
        for db in &mut self.srv.dbs {
            let cycle = db.active_expire(now.unix_ms, &mut self.srv.rng, per_db);
            sampled += cycle.sampled;
            expired += cycle.expired;
            capped |= cycle.sampled >= per_db;
        }
        let stats = &mut self.srv.stats;
        stats.expire_cycles += 1;
        if capped {
            stats.expired_time_cap_reached_count += 1;
        }
        // Redis's running average: 5% weight to this cycle's stale share.
        let current = if sampled > 0 {
            expired as f64 / sampled as f64
        } else {
            0.0
        };
        stats.expired_stale_perc = current * 0.05 + stats.expired_stale_perc * 0.95;
    }

    /// Each key the active cycle expired propagates as a `DEL` of its own.
    fn propagate_active_expiry(&mut self) {
        if !self.srv.effects.is_recording() {
            return;
        }
        for index in 0..self.srv.dbs.len() {
            for key in self.srv.dbs[index].take_expired_log() {
                let effects = &mut self.srv.effects;
                effects.begin_unit();
                effects.push(index, vec![Bytes::from_static(b"DEL"), key]);
                effects.end_unit();
            }
        }
    }

    fn close_idle_clients(&mut self) {
        let timeout_ms = self.srv.config.timeout * 1000;
        if timeout_ms == 0 {
            return;
        }
        let now = self.srv.now.mono_ms;
        let idle: Vec<ClientId> = self
            .clients
            .values()
            .filter(|c| now.saturating_sub(c.last_interaction_ms) > timeout_ms)
            .map(|c| c.id)
            .collect();
        for id in idle {
            self.clients.remove(&id);
            self.srv.outputs.push_back(Output::Close { client: id });
        }
    }
}

/// How far a command got, for the per-command counters.
enum Outcome {
    /// No such command or subcommand: counted in no command's stats.
    Unknown,
    /// Refused before running (wrong arity, NOAUTH), by full name.
    Rejected(String),
    /// The handler ran, by full name.
    Ran(String),
}

/// Hands `client`'s pending replies to the driver as one write.
pub(crate) fn flush_output(srv: &mut Server, client: &mut Client) {
    if client.out.is_empty() {
        return;
    }
    client.out_peak = client.out_peak.max(client.out.len());
    srv.stats.total_net_output_bytes += client.out.len() as u64;
    srv.stats.total_writes_processed += 1;
    let data = client.out.split().freeze();
    srv.outputs.push_back(Output::Write {
        client: client.id,
        data,
    });
}
