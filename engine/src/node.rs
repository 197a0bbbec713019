//! The sans-IO state machine.

use crate::client::{Client, ClientId, ClientInfo, ReplyMode};
use crate::cmd::multi::{self, Gate};
use crate::cmd::{self, flags, Ctx, Resolved};
use crate::config::Config;
use crate::limits;
use crate::notify;
use crate::resp::{encode, ParseLimits, Protocol, Reply};
use crate::server::Server;
use crate::time::Now;
use bytes::Bytes;
use std::borrow::Cow;
use std::collections::BTreeMap;
use std::ops::ControlFlow;

mod blocking;
mod script_run;

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
    /// The driver wrote `bytes` more of the client's output to its
    /// connection: the rest of what it was handed is still pending, and
    /// counts against the client's output buffer limit.
    ClientWritten { client: ClientId, bytes: usize },
    /// The outbound connection asked by [`Output::Connect`] is open.
    PeerConnected { peer: crate::repl::PeerId },
    /// Bytes received from a peer connection.
    PeerData {
        peer: crate::repl::PeerId,
        data: &'a [u8],
    },
    /// The peer connection closed, or could not be opened.
    PeerClosed { peer: crate::repl::PeerId },
}

/// Something the driver must do, drained with [`Node::poll_output`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Output {
    /// Write these bytes to the client, after anything queued before.
    Write { client: ClientId, data: Bytes },
    /// Close the client's connection once the writes queued before are flushed.
    Close { client: ClientId },
    /// Close the client's connection at once, dropping whatever is not
    /// written yet (a client over its output buffer limit, which may never
    /// read it).
    Abort { client: ClientId },
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
    /// Open an outbound connection to `host:port` (a replica's link to
    /// its master), then report it with [`Input::PeerConnected`] or
    /// [`Input::PeerClosed`]. Its data comes as [`Input::PeerData`];
    /// writes and closes name it as a client (`Write`, `Close`): peer
    /// ids and client ids are one space.
    Connect {
        peer: crate::repl::PeerId,
        host: String,
        port: u16,
    },
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

/// The connected clients, in id order (CLIENT LIST order). Boxed: every
/// request takes its client out of the map and puts it back, and a box
/// moves a pointer where a `Client` would move the whole struct.
pub type Clients = BTreeMap<ClientId, Box<Client>>;

/// Calls `visit` with each of `ids` (ascending) and its client in
/// `clients`, if it has one, until `visit` breaks; returns the position
/// in `ids` where it broke. Ids that are many for the map's size (a
/// fan-out) walk the map alongside them; a few are looked up one by one.
pub(crate) fn visit_clients<'i>(
    clients: &mut Clients,
    ids: impl DoubleEndedIterator<Item = &'i ClientId> + ExactSizeIterator + Clone,
    mut visit: impl FnMut(ClientId, Option<&mut Client>) -> ControlFlow<()>,
) -> Option<usize> {
    let (Some(&first), Some(&last)) = (ids.clone().next(), ids.clone().next_back()) else {
        return None;
    };
    if ids.len() * 4 >= clients.len() {
        let mut walk = clients.range_mut(first..=last).peekable();
        for (n, &id) in ids.enumerate() {
            while walk.next_if(|(k, _)| **k < id).is_some() {}
            let client = walk.next_if(|(k, _)| **k == id).map(|(_, c)| &mut **c);
            if visit(id, client).is_break() {
                return Some(n);
            }
        }
    } else {
        for (n, &id) in ids.enumerate() {
            if visit(id, clients.get_mut(&id).map(|c| &mut **c)).is_break() {
                return Some(n);
            }
        }
    }
    None
}

/// Keel's core: one node of the data store, with no IO of its own.
///
/// The driver owns sockets, files and clocks, and talks to the node only
/// through these methods (the shape of quinn-proto's `Connection`):
///
/// - **Handlers**, which feed in the outside world, each with the current
///   time: [`Node::accept_client`] when a connection opens,
///   [`Node::handle_input`] for bytes, closes and bytes written,
///   [`Node::handle_timeout`] when the deadline from [`Node::poll_timeout`]
///   has passed.
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
    /// Blocked clients' wait queues and timeouts.
    waits: blocking::Waits,
}

impl Node {
    pub fn new(config: Config, now: Now) -> Self {
        let mut node = Node {
            srv: Server::new(config, now),
            clients: Clients::new(),
            waits: blocking::Waits::default(),
        };
        node.srv.replid = crate::repl::startup_replid(node.srv.config.seed, now);
        crate::repl::replica::start_from_config(&mut node.srv, &mut node.clients);
        node
    }

    // ---- getters ----

    pub fn config(&self) -> &Config {
        &self.srv.config
    }

    /// The time of the last input or timeout: for inputs that need no
    /// fresh reading of the clock (a completed write).
    pub fn now(&self) -> Now {
        self.srv.now
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

    /// The server state, for tests that look at it.
    #[cfg(test)]
    pub(crate) fn server(&self) -> &Server {
        &self.srv
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

    /// Whether the node was started and its data (RDB or AOF) is loaded:
    /// from then on it serves every command (Redis logs `Ready to accept
    /// connections` at that point).
    pub fn is_ready(&self) -> bool {
        let srv = &self.srv;
        srv.persist.is_started()
            && srv.aof.is_started()
            && !srv.persist.is_loading()
            && !srv.aof.is_loading()
            && srv.aof.load_error().is_none()
    }

    /// SIGTERM: stops as SHUTDOWN does (saving first when save points are
    /// set). When that save fails the node logs it and keeps serving.
    pub fn request_shutdown(&mut self, now: Now) {
        self.srv.now = now;
        if self.srv.shutting_down || self.srv.persist.blocks_commands() {
            return;
        }
        if self.defer_shutdown_for_script() {
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
        self.clients.insert(
            id,
            Box::new(Client::new(id, info, now.mono_ms, authenticated)),
        );
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
        crate::aof::ensure_started(&mut self.srv);
        match input {
            Input::ClientData { client, data } => self.on_client_data(client, data),
            Input::ClientClosed { client } => {
                if let Some(mut gone) = self.clients.remove(&client) {
                    self.forget_client(&mut gone);
                }
            }
            Input::ClientWritten { client, bytes } => self.on_client_written(client, bytes),
            Input::DiskDone { id, result } => self.on_disk_done(id, result),
            Input::PeerConnected { peer } => {
                crate::repl::replica::on_peer_connected(&mut self.srv, peer)
            }
            Input::PeerData { peer, data } => self.on_peer_data(peer, data),
            Input::PeerClosed { peer } => {
                crate::repl::replica::on_peer_closed(&mut self.srv, &mut self.clients, peer)
            }
        }
        self.serve_repl_waiters();
        self.flush_replica_stream();
    }

    /// The driver wrote `bytes` of `client`'s replies: the same as
    /// [`Input::ClientWritten`] without the work other inputs end with (a
    /// write answers no WAIT and feeds no replica). The driver reports
    /// every write, so this is on the path of every reply.
    pub fn client_written(&mut self, now: Now, client: ClientId, bytes: usize) {
        self.srv.now = now;
        crate::aof::ensure_started(&mut self.srv);
        self.on_client_written(client, bytes);
    }

    fn on_client_written(&mut self, client: ClientId, bytes: usize) {
        if let Some(c) = self.clients.get_mut(&client) {
            c.obuf_unsent = c.obuf_unsent.saturating_sub(bytes as u64);
        }
        self.srv.persist.on_client_written();
    }

    /// Reports a batch of finished disk requests, in the order they were
    /// asked: the same as one [`Input::DiskDone`] each, with the work
    /// every input ends with (WAIT answers, the replication stream) done
    /// once for the batch. Under `appendfsync always` a turn's batch holds
    /// an Append and a Sync per writing client, so this halves that work
    /// or better.
    pub fn handle_disk_answers<I>(&mut self, now: Now, answers: I)
    where
        I: IntoIterator<Item = (crate::disk::RequestId, crate::disk::DiskResult)>,
    {
        self.srv.now = now;
        crate::aof::ensure_started(&mut self.srv);
        for (id, result) in answers {
            self.on_disk_done(id, result);
        }
        self.serve_repl_waiters();
        self.flush_replica_stream();
    }

    /// Runs timers that are due: the end of a DEBUG SLEEP, blocked clients'
    /// timeouts, and the periodic cron (active expiry, lazy freeing, idle
    /// client timeouts, stats).
    /// While DEBUG SLEEP lasts nothing runs, the cron included, as in Redis
    /// whose whole process sleeps.
    pub fn handle_timeout(&mut self, now: Now) {
        self.srv.now = now;
        crate::aof::ensure_started(&mut self.srv);
        if self.srv.aof.is_loading() {
            crate::aof::load_step(&mut self.srv, &mut self.clients);
            return;
        }
        if self.step_running_script() {
            return;
        }
        match self.srv.paused_until {
            Some(t) if now.mono_ms >= t => self.end_pause(),
            Some(_) => return,
            None => {}
        }
        // While a foreground save holds the server nothing runs, as in
        // Redis whose main thread is saving (the cron stays scheduled).
        let blocked = self.srv.persist.blocks_commands();
        if !blocked {
            crate::persist::step(&mut self.srv, &mut self.clients);
        }
        self.time_out_blocked_clients();
        if now.mono_ms >= self.srv.next_cron_ms {
            if !blocked {
                self.cron();
            }
            let period = 1000 / self.srv.config.hz.max(1);
            self.srv.next_cron_ms = now.mono_ms + period;
        }
        self.resume_unblocked();
        self.serve_repl_waiters();
        self.fan_out_effects(None);
        self.flush_replica_stream();
    }

    // ---- polls ----

    pub fn poll_output(&mut self) -> Option<Output> {
        self.srv.outputs.pop_front()
    }

    /// The monotonic time at which [`Node::handle_timeout`] must next be called.
    pub fn poll_timeout(&self) -> Option<u64> {
        if let Some(now) = self.script_deadline() {
            return Some(now);
        }
        if crate::aof::load_has_work(&self.srv) {
            return Some(self.srv.now.mono_ms);
        }
        match self.srv.paused_until {
            Some(p) => Some(p),
            // A load or background save wants its next step at once.
            None if self.srv.persist.wants_step() => Some(self.srv.now.mono_ms),
            None => {
                // A blocked client's wait times out once its deadline has
                // passed: 1 ms after.
                let blocked = self.waits.next_deadline().map(|t| t.saturating_add(1));
                let waiting = crate::repl::master::next_deadline(&self.srv);
                let deadlines = [blocked, waiting, Some(self.srv.next_cron_ms)];
                deadlines.into_iter().flatten().min()
            }
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
            self.forget_client(&mut client);
            self.srv.outputs.push_back(Output::Close { client: id });
            return;
        }
        self.process(&mut client);
        self.finish(client);
        self.resume_unblocked();
        // Served blocked clients wrote in units of their own.
        self.fan_out_effects(None);
    }

    // ---- replication hooks (the protocol is in crate::repl) ----

    /// Bytes from a peer: the master client's stream once synced, else
    /// the handshake and snapshot, which may end in the link being synced.
    fn on_peer_data(&mut self, peer: ClientId, data: &[u8]) {
        if self.clients.contains_key(&peer) && self.srv.repl.is_master_client(peer) {
            crate::repl::replica::on_stream_data(&mut self.srv, data.len());
            self.on_client_data(peer, data);
            return;
        }
        let progress =
            crate::repl::replica::on_peer_data(&mut self.srv, &mut self.clients, peer, data);
        if let crate::repl::replica::Progress::Synced {
            leftover,
            drop_replicas,
        } = progress
        {
            for id in drop_replicas {
                self.drop_client(id);
            }
            self.add_master_client(peer);
            crate::repl::replica::on_stream_data(&mut self.srv, leftover.len());
            self.on_client_data(peer, &leftover);
        }
    }

    /// The synced link becomes the master client: authenticated, its
    /// replies suppressed (a GETACK answers on its own).
    fn add_master_client(&mut self, peer: ClientId) {
        let Some(link) = self.srv.repl.link.as_ref() else {
            return;
        };
        let info = ClientInfo {
            addr: format!("{}:{}", link.host, link.port),
            laddr: String::new(),
            fd: -1,
        };
        let mut master = Client::new(peer, info, self.srv.now.mono_ms, true);
        master.reply_mode = ReplyMode::Off;
        master.db = link.stream_db;
        self.clients.insert(peer, Box::new(master));
    }

    /// The writes of the unit that just ended reach the replication
    /// stream (and, with the AOF, the log: the one place effects are
    /// consumed). Effects are left for [`Node::drain_effects`] when
    /// nothing here consumes them.
    fn fan_out_effects(&mut self, writer: Option<&mut Client>) {
        if !self.srv.repl.consumes_effects() {
            return;
        }
        if !self.srv.effects.has_for_replicas() {
            return;
        }
        crate::repl::propagate_pending(&mut self.srv, &mut self.clients);
        if let Some(client) = writer {
            client.repl_write_offset = self.srv.repl.offset;
        }
    }

    /// Answers the WAITs that are done and resumes their clients' pipelines.
    fn serve_repl_waiters(&mut self) {
        if self.srv.repl.waiters.is_empty() && !self.srv.repl.getack_requested {
            return;
        }
        let resumed = crate::repl::master::serve_waiters(&mut self.srv, &mut self.clients);
        for id in resumed {
            if let Some(mut client) = self.clients.remove(&id) {
                self.process(&mut client);
                self.finish(client);
            }
        }
    }

    /// A disk request finished. The jobs that wait on disk (snapshots,
    /// the append-only log) take their answers from here.
    fn on_disk_done(&mut self, id: crate::disk::RequestId, result: crate::disk::DiskResult) {
        self.srv.disk.answered(id, &result);
        if crate::aof::on_disk_done(&mut self.srv, &mut self.clients, id, &result) {
            return;
        }
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

    /// Parses and runs every complete command in the client's buffer,
    /// until it blocks (the rest waits in its buffer).
    fn process(&mut self, client: &mut Client) {
        let from_master = self.srv.repl.is_master_client(client.id);
        if from_master {
            crate::repl::master_view(&mut self.srv, true);
        }
        self.process_commands(client, from_master);
        if from_master {
            crate::repl::master_view(&mut self.srv, false);
        }
    }

    fn process_commands(&mut self, client: &mut Client, from_master: bool) {
        // Commands left before the next keys are warmed (Server::warm_keys).
        let mut warmed = 0;
        let mut batch_begun = false;
        while self.srv.paused_until.is_none()
            && !self.srv.persist.blocks_commands()
            && !self.srv.shutting_down
            && !client.close_after_reply
            && !client.killed
            && client.blocked.is_none()
            && !self.srv.repl.is_waiting(client.id)
            && !self.script_holds_input(client)
        {
            let lim = ParseLimits {
                max_bulk_len: self.srv.config.proto_max_bulk_len,
                authenticated: client.authenticated,
            };
            // Only once commands do run: what waits meanwhile is not copied.
            if from_master && !batch_begun {
                crate::repl::replica::batch_begins(&mut self.srv, &client.query);
                batch_begun = true;
            }
            if warmed == 0 && !client.parser.in_progress() {
                warmed = self.srv.warm_keys(client.db, &client.query);
            }
            warmed = warmed.saturating_sub(1);
            let unparsed = client.query.len();
            let parse = client.parser.parse(&mut client.query, &lim);
            if from_master {
                let taken = unparsed - client.query.len();
                crate::repl::replica::parsed(&mut self.srv, taken);
            }
            match parse {
                Ok(Some(args)) => {
                    self.execute(client, args);
                    // The master's stream is accounted after each command
                    // ran, as the bytes it was parsed from.
                    if from_master {
                        let in_multi = client.multi.is_some();
                        crate::repl::replica::applied(
                            &mut self.srv,
                            &mut self.clients,
                            client.db,
                            in_multi,
                        );
                    }
                }
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
    fn finish(&mut self, mut client: Box<Client>) {
        let id = client.id;
        crate::aof::flush_effects(&mut self.srv);
        if !client.killed {
            hand_over_replies(&mut self.srv, &mut client);
        }
        if client.killed {
            crate::pubsub::obuf::log_closing(&mut self.srv, &client);
            self.forget_client(&mut client);
            self.srv.outputs.push_back(Output::Close { client: id });
        } else if client.close_after_reply {
            self.forget_client(&mut client);
            crate::aof::hold_or_emit(&mut self.srv, Output::Close { client: id });
        } else {
            self.clients.insert(id, client);
        }
        self.flush_subscribers();
        self.flush_replica_stream();
    }

    /// Hands the replication stream the last commands fed to the
    /// replicas, one write each per batch, and closes those over their
    /// output limit.
    fn flush_replica_stream(&mut self) {
        for id in crate::repl::flush_stream(&mut self.srv, &mut self.clients) {
            self.drop_client(id);
        }
    }

    /// Hands the messages the last commands sent to other clients to the
    /// driver, and closes the clients whose output passed its limits.
    ///
    /// The clients go in id order. When they are many (a fan-out), the
    /// client map is walked alongside them rather than searched for each.
    fn flush_subscribers(&mut self) {
        let mut ids = self.srv.pubsub.take_pending_flush();
        ids.sort_unstable();
        ids.dedup();
        let mut rest = &ids[..];
        loop {
            // Stops at the first client to close, if any.
            let condemned = visit_clients(&mut self.clients, rest.iter(), |_, client| {
                match client {
                    Some(client) if client.killed => return ControlFlow::Break(()),
                    Some(client) => hand_over_replies(&mut self.srv, client),
                    None => {}
                }
                ControlFlow::Continue(())
            });
            let Some(n) = condemned else { break };
            let id = rest[n];
            if let Some(client) = self.clients.get(&id) {
                crate::pubsub::obuf::log_closing(&mut self.srv, client);
            }
            self.drop_client(id);
            rest = &rest[n + 1..];
        }
    }

    /// Forgets a client the node closes on its own (output limits, idle
    /// timeout), unsent replies dropped, and tells the driver.
    fn drop_client(&mut self, id: ClientId) {
        if let Some(mut client) = self.clients.remove(&id) {
            self.forget_client(&mut client);
            self.srv.outputs.push_back(Output::Abort { client: id });
        }
    }

    /// A client leaves the node: its subscriptions, watched keys and wait
    /// queues go with it.
    fn forget_client(&mut self, client: &mut Client) {
        self.srv.pubsub.forget(client);
        self.srv.watches.unwatch_all(client.id);
        self.srv.repl.forget_client(client.id);
        self.forget_wait(client.id);
    }

    fn execute(&mut self, client: &mut Client, args: Vec<Bytes>) {
        if client.reply_mode == ReplyMode::SkipNext {
            client.reply_mode = ReplyMode::Skipping;
        }
        let others_before = self.clients.len();
        self.srv.effects.begin_unit();
        self.allow_script_suspension(client, true);
        let (reply, outcome) = self.dispatch(client, args);
        self.allow_script_suspension(client, false);
        if self.script_suspended_for(client) {
            return; // answered, counted and its unit closed when it ends
        }
        let reply = self.refused_in_multi(client, reply, &outcome);
        self.srv.effects.end_unit();
        self.fan_out_effects(Some(client));
        // A blocked command is counted and answered when its wait ends.
        if client.blocked.is_none() {
            self.count(&reply, &outcome);
            if client.replies_enabled() {
                encode(&reply, client.protocol, &mut client.out);
            }
        }
        if client.reply_mode == ReplyMode::Skipping {
            client.reply_mode = ReplyMode::On;
        }
        if crate::repl::over_output_limit(&self.srv, client, self.srv.now.mono_ms) {
            client.killed = true;
        }
        self.after_command(client, others_before);
    }

    /// Updates the counters INFO reports (stats, commandstats, errorstats).
    fn count<N: AsRef<str>>(&mut self, reply: &Reply, outcome: &Outcome<N>) {
        let stats = &mut self.srv.stats;
        match outcome {
            Outcome::Unknown | Outcome::Queued => {}
            Outcome::Rejected(name) => stats.count_rejected(name.as_ref()),
            Outcome::Ran(name) => {
                // As in Redis, only commands that ran count as processed.
                stats.total_commands_processed += 1;
                stats.count_call(name.as_ref(), reply.is_error());
            }
        }
        if let Reply::Error(text) = reply {
            stats.count_error(text);
        }
    }

    /// Runs a command line: its arguments are moved along, into a
    /// transaction's queue when queued.
    fn dispatch(&mut self, client: &mut Client, args: Vec<Bytes>) -> (Reply, Outcome) {
        match self.resolve(&args) {
            Ok(cmd) => self.run(client, cmd, args),
            Err(refused) => refused,
        }
    }

    /// The command `args` names: its spec, or its subcommand's for a
    /// container given one (a container's own handler, when it has one,
    /// runs without).
    fn resolve(&self, args: &[Bytes]) -> Result<Resolved, (Reply, Outcome)> {
        let Some(spec) = self.srv.table.lookup(&args[0]) else {
            return Err((cmd::unknown_command(args), Outcome::Unknown));
        };
        if spec.subcommands.is_empty() || (args.len() < 2 && spec.handler.is_some()) {
            return Ok(Resolved::command(spec));
        }
        // Before looking at args[1]: a container's arity asks for it.
        if !spec.arity_ok(args.len()) {
            let rejected = Outcome::Rejected(Cow::Borrowed(spec.name));
            return Err((Reply::wrong_arity(spec.name), rejected));
        }
        match spec.find_subcommand(&args[1]) {
            Some(sub) => Ok(Resolved {
                spec: sub,
                parent: Some(spec),
            }),
            None => Err((
                cmd::unknown_subcommand(spec.name, &args[1]),
                Outcome::Unknown,
            )),
        }
    }

    /// Runs a resolved command: the checks that may refuse it, the
    /// transaction gate, then its handler and what follows a write.
    fn run(&mut self, client: &mut Client, cmd: Resolved, args: Vec<Bytes>) -> (Reply, Outcome) {
        let full_name = cmd.full_name();
        if let Some(refusal) = self.refusal(client, cmd, &full_name, &args) {
            return (refusal, Outcome::Rejected(full_name));
        }
        if let Some(refused) = self.busy_refusal(client, cmd.spec, &full_name, &args) {
            return refused;
        }
        client.last_cmd.clear();
        client.last_cmd.push_str(&full_name);
        if cmd.is("exec") && client.multi.is_some() {
            return (self.exec_transaction(client), Outcome::Ran(full_name));
        }
        let args = match self.multi_gate(client, cmd, args) {
            Gate::Run(args) => args,
            Gate::Queued(reply) => return (reply, Outcome::Queued),
            Gate::Rejected(reply) => return (reply, Outcome::Rejected(full_name)),
        };
        let reply = self.call(client, cmd, &args);
        (reply, Outcome::Ran(full_name))
    }

    /// Calls the command's handler, then does what follows a command:
    /// clients it closed forgotten, logged events published, its effect
    /// recorded, the keys it wrote signalled to blocked clients.
    fn call(&mut self, client: &mut Client, cmd: Resolved, args: &[Bytes]) -> Reply {
        let handler = self.pubsub_aware_handler(client, cmd);
        notify::sync_key_logs(&mut self.srv);
        let (db, dirty_before) = (client.db, self.srv.dirty);
        let closes_before = self.srv.outputs.len();
        let mut ctx = Ctx {
            srv: &mut self.srv,
            client,
            others: &mut self.clients,
        };
        let reply = handler(&mut ctx, args);
        self.forget_closed_since(closes_before);
        notify::publish_logged(&mut self.srv, Some(client), &mut self.clients);
        let made_dirty = self.srv.dirty > dirty_before;
        self.srv.effects.command_done(db, args, made_dirty);
        if made_dirty {
            self.signal_keys_written_by(client, cmd.spec, args);
        }
        reply
    }

    /// Why the command may not run now, if it may not: wrong arity, no
    /// authentication, the AOF or a snapshot failing or loading, a
    /// replica's or a subscriber's restrictions.
    fn refusal(
        &self,
        client: &Client,
        cmd: Resolved,
        full_name: &str,
        args: &[Bytes],
    ) -> Option<Reply> {
        let spec = cmd.spec;
        if !spec.arity_ok(args.len()) {
            return Some(Reply::wrong_arity(full_name));
        }
        if !client.authenticated && !spec.has(flags::NO_AUTH) {
            return Some(Reply::err("NOAUTH Authentication required."));
        }
        crate::aof::refuse_command(&self.srv, spec.flags, full_name)
            .or_else(|| crate::repl::refusal(&self.srv, client, spec))
            .or_else(|| subscribed_mode_refusal(client, full_name))
            .or_else(|| crate::persist::refusal(&self.srv, spec))
    }

    /// The handler to run for `cmd`, with pub/sub's part: PING answers
    /// in subscribed mode's shape, and RESET first drops the client's
    /// subscriptions (silently, as Redis).
    fn pubsub_aware_handler(&mut self, client: &mut Client, cmd: Resolved) -> cmd::Handler {
        if cmd.is("ping") && in_resp2_subscribed_mode(client) {
            return cmd::pubsub::subscribed_ping;
        }
        if cmd.is("reset") {
            self.srv.pubsub.forget(client);
        }
        cmd.spec.handler.expect("a leaf command has a handler")
    }

    /// A command may close other clients (CLIENT KILL): their
    /// subscriptions go with them.
    fn forget_closed_since(&mut self, mark: usize) {
        if self.srv.outputs.len() <= mark {
            return;
        }
        let closed: Vec<ClientId> = self
            .srv
            .outputs
            .range(mark..)
            .filter_map(|out| match out {
                Output::Close { client } if !self.clients.contains_key(client) => Some(*client),
                _ => None,
            })
            .collect();
        for id in closed {
            self.srv.pubsub.forget_id(id);
            self.srv.repl.forget_client(id);
        }
    }

    // ---- transactions (MULTI ... EXEC) ----

    /// A client in MULTI: queues the command, refuses it (`no-multi`), or
    /// lets it run. RESET ends the transaction (EXEC in one is run by
    /// [`Node::exec_transaction`]).
    fn multi_gate(&mut self, client: &mut Client, cmd: Resolved, args: Vec<Bytes>) -> Gate {
        if cmd.is("reset") {
            multi::discard_transaction(&mut self.srv, client);
        }
        multi::gate(&self.srv, client, cmd, args)
    }

    /// A command refused before running (unknown, wrong arity, NOAUTH,
    /// ...) while the client is in MULTI flags its transaction.
    fn refused_in_multi(&mut self, client: &mut Client, reply: Reply, outcome: &Outcome) -> Reply {
        match outcome {
            Outcome::Rejected(name) => multi::refused_in_multi(&mut self.srv, client, name, reply),
            Outcome::Unknown => multi::refused_in_multi(&mut self.srv, client, "", reply),
            Outcome::Ran(_) | Outcome::Queued => reply,
        }
    }

    /// EXEC: runs the queued commands one after the other (each as it
    /// was resolved when queued, through the checks of [`Node::run`]),
    /// inside the client's execution unit (so their effects reach the AOF
    /// and replicas together, wrapped in MULTI/EXEC when there are
    /// several), blocking commands answering at once.
    fn exec_transaction(&mut self, client: &mut Client) -> Reply {
        let queued = match multi::begin_exec(&mut self.srv, client) {
            Ok(queued) => queued,
            Err(reply) => return reply,
        };
        let deny_blocking = std::mem::replace(&mut client.deny_blocking, true);
        let mut replies = Vec::with_capacity(queued.len());
        for command in queued {
            let (reply, outcome) = self.run(client, command.cmd, command.args);
            self.count(&reply, &outcome);
            replies.extend(self.reply_in_exec(client, reply));
        }
        client.deny_blocking = deny_blocking;
        client.last_cmd.clear();
        client.last_cmd.push_str("exec");
        Reply::Array(replies)
    }

    /// A queued command's reply as it goes into EXEC's array. The few
    /// commands that answer later or not at all: DEBUG SLEEP answers OK in
    /// its slot (the pause then holds the other clients); CLIENT REPLY
    /// OFF|SKIP leaves its slot out (Redis sends a broken array there).
    fn reply_in_exec(&mut self, client: &Client, reply: Reply) -> Option<Reply> {
        if !matches!(reply, Reply::NoReply) {
            return Some(reply);
        }
        if self.srv.sleeping_client == Some(client.id) {
            self.srv.sleeping_client = None;
            return Some(Reply::OK);
        }
        None
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
        self.resume_unblocked();
    }

    fn cron(&mut self) {
        if self.srv.cron_paused || self.srv.persist.is_loading() {
            return;
        }
        crate::persist::cron(&mut self.srv);
        notify::sync_key_logs(&mut self.srv);
        // A replica never expires keys itself: its master's DELs do.
        if self.srv.active_expire_enabled && !self.srv.repl.is_replica() {
            self.active_expire_cycle();
            self.propagate_active_expiry();
        }
        self.replication_cron();
        self.srv.lazyfree_step(limits::LAZYFREE_EFFORT_PER_STEP);
        crate::aof::cron(&mut self.srv);
        self.close_idle_clients();
        self.enforce_output_limits();
        self.flush_subscribers();
        let clients = &self.clients;
        self.srv
            .watches
            .retain_clients(|id| clients.contains_key(&id));
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

    /// Each key the active cycle expired propagates as a `DEL` of its own
    /// and publishes its `expired` event.
    fn propagate_active_expiry(&mut self) {
        for index in 0..self.srv.dbs.len() {
            for key in self.srv.dbs[index].take_expired_log() {
                if self.srv.effects.is_recording() {
                    let effects = &mut self.srv.effects;
                    effects.begin_unit();
                    effects.push(index, vec![Bytes::from_static(b"DEL"), key.clone()]);
                    effects.end_unit();
                    self.fan_out_effects(None);
                }
                notify::key_expired_in_background(&mut self.srv, &mut self.clients, index, &key);
            }
        }
    }

    fn replication_cron(&mut self) {
        let work = crate::repl::cron(&mut self.srv, &mut self.clients);
        for id in work.close {
            self.drop_client(id);
        }
    }

    /// Closes clients idle for longer than `timeout`; as in Redis,
    /// subscribers are never idle (they wait for messages), nor are
    /// replicas and the master client (their links have `repl-timeout`).
    fn close_idle_clients(&mut self) {
        let timeout_ms = self.srv.config.timeout * 1000;
        if timeout_ms == 0 {
            return;
        }
        let now = self.srv.now.mono_ms;
        // Blocked clients are exempt, as in Redis: their wait has its own timeout.
        let idle: Vec<ClientId> = self
            .clients
            .values()
            .filter(|c| !c.subs.any() && c.blocked.is_none())
            .filter(|c| !self.srv.repl.replicas.contains_key(&c.id))
            .filter(|c| !self.srv.repl.is_master_client(c.id))
            .filter(|c| now.saturating_sub(c.last_interaction_ms) > timeout_ms)
            .map(|c| c.id)
            .collect();
        for id in idle {
            self.drop_client(id);
        }
    }

    /// The soft output limit is about time: a client that stays over it,
    /// even with nothing new for it, is closed once the soft seconds pass.
    fn enforce_output_limits(&mut self) {
        let now = self.srv.now.mono_ms;
        let srv = &self.srv;
        let over: Vec<ClientId> = self
            .clients
            .values_mut()
            .filter(|c| c.obuf_pending() > 0 || c.obuf_soft_since.is_some())
            .filter_map(|c| crate::repl::over_output_limit(srv, c, now).then_some(c.id))
            .collect();
        for id in over {
            if let Some(client) = self.clients.get(&id) {
                crate::pubsub::obuf::log_closing(&mut self.srv, client);
            }
            self.drop_client(id);
        }
    }
}

/// How far a command got, for the per-command counters. Names are full
/// names (`get`, `client|list`): borrowed from the command table for a
/// command, so counting one allocates nothing (a blocked command answered
/// later is counted under the name its client kept).
enum Outcome<N = Cow<'static, str>> {
    /// No such command or subcommand: counted in no command's stats.
    Unknown,
    /// Refused before running (wrong arity, NOAUTH), by full name.
    Rejected(N),
    /// The handler ran, by full name.
    Ran(N),
    /// Queued in a transaction (MULTI): counted when EXEC runs it.
    Queued,
}

/// Whether `client` is in RESP2 subscribed mode, where only a few
/// commands run and PING answers as a message.
fn in_resp2_subscribed_mode(client: &Client) -> bool {
    client.protocol == Protocol::Resp2 && client.subs.any()
}

/// Commands a RESP2 subscriber may send (RESP3 clients may send any), by
/// full name.
const SUBSCRIBED_MODE_COMMANDS: &[&str] = &[
    "ping",
    "subscribe",
    "ssubscribe",
    "unsubscribe",
    "sunsubscribe",
    "psubscribe",
    "punsubscribe",
    "quit",
    "reset",
];

/// Redis 7.0's refusal of any other command in RESP2 subscribed mode.
fn subscribed_mode_refusal(client: &Client, full_name: &str) -> Option<Reply> {
    if !in_resp2_subscribed_mode(client) || SUBSCRIBED_MODE_COMMANDS.contains(&full_name) {
        return None;
    }
    Some(Reply::error(format!(
        "ERR Can't execute '{full_name}': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context"
    )))
}

/// Hands `client`'s pending replies to the driver as one write.
pub(crate) fn flush_output(srv: &mut Server, client: &mut Client) {
    if client.out.is_empty() {
        return;
    }
    client.obuf_unsent = client.obuf_unsent.saturating_add(client.out.len() as u64);
    client.out_peak = client.out_peak.max(client.out.len());
    srv.stats.total_net_output_bytes += client.out.len() as u64;
    srv.stats.total_writes_processed += 1;
    let data = client.out.split().freeze();
    srv.outputs.push_back(Output::Write {
        client: client.id,
        data,
    });
}

/// Hands the client's replies to the driver, or, under `appendfsync
/// always` while a Sync is in flight, holds them in the AOF until it
/// succeeded (see [`crate::aof::hold_or_emit`]).
pub(crate) fn hand_over_replies(srv: &mut Server, client: &mut Client) {
    if !crate::aof::holding(srv) || client.out.is_empty() {
        flush_output(srv, client);
        return;
    }
    client.out_peak = client.out_peak.max(client.out.len());
    let data = client.out.split().freeze();
    let output = Output::Write {
        client: client.id,
        data,
    };
    crate::aof::hold_or_emit(srv, output);
}

#[cfg(test)]
mod written_tests {
    use crate::testing::Harness;
    use crate::Config;

    /// The bytes a client's unsent output counts, as its CLIENT LIST omem
    /// would read them.
    fn unsent(h: &Harness, id: crate::client::ClientId) -> u64 {
        h.node.clients.get(&id).expect("connected").obuf_unsent
    }

    #[test]
    fn a_reported_write_takes_its_bytes_off_the_unsent_output() {
        let mut h = Harness::new(Config::default());
        let c = h.connect();
        h.call(c, &["SET", "k", "v"]);
        h.call(c, &["GET", "k"]);
        // +OK\r\n and $1\r\nv\r\n, handed to the driver, not written yet.
        assert_eq!(unsent(&h, c), 12);
        let now = h.now;
        h.node.client_written(now, c, 5);
        assert_eq!(unsent(&h, c), 7);
        // A late or duplicated report never underflows.
        h.node.client_written(now, c, 100);
        assert_eq!(unsent(&h, c), 0);
        // A client that is gone is ignored.
        h.node.client_written(now, 9_999, 1);
    }
}
