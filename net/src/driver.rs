//! The event loop around the [`Node`]: single-threaded, one task per
//! connection, one timer task, one accept task per listener.
//!
//! Everything runs on one thread (a current-thread runtime and a
//! `LocalSet`), so the node lives in an `Rc<RefCell<..>>`. A borrow of it is
//! never held across an `.await`: each handler call and the draining of its
//! outputs happen in one synchronous stretch.
//!
//! Data flow: a connection task reads into its reusable buffer, hands the
//! bytes to the node, and routes every output to the connection it names
//! (its own outbound buffer, or another connection's buffer plus a wake-up).
//! Each task then waits for the end of the turn (the other runnable tasks
//! run first, see [`wait_for_turn_end`]) and writes what the socket takes
//! of its outbound buffer, one write call at a time, and reports each
//! write to the node.
//! The timer task sleeps until [`Node::poll_timeout`] and calls
//! [`Node::handle_timeout`]. Every `select!` is `biased;` so a run is a
//! function of its inputs (the simulation relies on it).
//!
//! Every task passes the server's [`PauseGate`] before it touches the node
//! or a socket, so the simulation can stop a server as SIGSTOP would.

use crate::clock::Clock;
use crate::disk::{Disk, DiskExecutor, Executor, FsDisk};
use crate::group_commit;
use crate::pause::PauseGate;
use crate::transport::{Accepted, Listener, Transport};
use bytes::BytesMut;
use keel_engine::{ClientId, ClientInfo, Config, Input, Node, Output};
use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::future::Future;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::pin::Pin;
use std::rc::{Rc, Weak};
use std::task::{Poll, Waker};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::Notify;
use tokio::task::{AbortHandle, JoinHandle};

/// First size of a connection's read buffer (Redis reads 16 KiB at a time).
const READ_BUF_INITIAL: usize = 16 * 1024;
/// The read buffer doubles while reads fill it, up to this size.
const READ_BUF_MAX: usize = 512 * 1024;
/// On shutdown, how long connections get to flush their last replies.
const SHUTDOWN_FLUSH_GRACE_MS: u64 = 1000;
/// Pause after a failed accept (e.g. out of file descriptors).
const ACCEPT_RETRY_MS: u64 = 10;

/// A server bound to its listeners, ready to [`Server::run`].
pub struct Server<T: Transport, C: Clock> {
    listeners: Vec<T::Listener>,
    shared: Rc<Shared<C>>,
}

/// Binds every address of `config.bind` and serves until `shutdown`
/// completes or a client runs SHUTDOWN. Must run inside a `LocalSet`.
pub async fn serve<T: Transport, C: Clock>(
    config: Config,
    transport: T,
    clock: C,
    shutdown: impl Future<Output = ()>,
) -> io::Result<()> {
    Server::bind(config, &transport, clock)
        .await?
        .run(shutdown)
        .await
}

impl<T: Transport, C: Clock> Server<T, C> {
    /// Binds the listeners and builds the node. With `port 0`, the first
    /// address gets a free port and the others the same one; the node's
    /// config then reports the port actually used.
    pub async fn bind(mut config: Config, transport: &T, clock: C) -> io::Result<Self> {
        let listeners = bind_all(transport, &config).await?;
        if let Some(first) = listeners.first() {
            config.port = first.local_addr()?.port();
        }
        let node = Node::new(config, clock.now());
        Ok(Server {
            listeners,
            shared: Rc::new(Shared::new(node, clock, connector(transport.clone()))),
        })
    }

    /// Makes the server obey `gate` (see [`PauseGate`]); it starts with an
    /// open gate of its own.
    pub fn with_pause_gate(mut self, gate: PauseGate) -> Self {
        Rc::get_mut(&mut self.shared)
            .expect("no task shares the state before Server::run")
            .pause = gate;
        self
    }

    /// Makes the server keep its files on `disk` instead of the real
    /// filesystem (the simulation's faulty disk).
    pub fn with_disk<D: Disk>(self, disk: D) -> Self {
        *self.shared.disk.borrow_mut() = Box::new(Executor::new(disk));
        self
    }

    /// The addresses actually listened on, in `bind` order.
    pub fn local_addrs(&self) -> Vec<SocketAddr> {
        self.listeners
            .iter()
            .filter_map(|l| l.local_addr().ok())
            .collect()
    }

    /// Starts the node (it loads its data file, see [`Node::start`]) and
    /// serves clients until the node stops: SHUTDOWN, or `shutdown`
    /// completing (SIGTERM: the node saves first when save points are
    /// set, as Redis), or a fatal error (a corrupt data file), which is
    /// returned. Connections flush their pending replies before it returns.
    pub async fn run(self, shutdown: impl Future<Output = ()>) -> io::Result<()> {
        let shared = self.shared;
        *shared.me.borrow_mut() = Rc::downgrade(&shared);
        // Connections the node asked for while it was built (replicaof).
        shared.drain(&mut shared.node.borrow_mut(), None);
        shared.start();
        let mut tasks: Vec<JoinHandle<()>> = Vec::new();
        tasks.push(tokio::task::spawn_local(timer_task(shared.clone())));
        tasks.push(tokio::task::spawn_local(disk_task(shared.clone())));
        for listener in self.listeners {
            tasks.push(tokio::task::spawn_local(accept_task(
                shared.clone(),
                listener,
            )));
        }
        tokio::select! {
            biased;
            _ = shared.stop.wait() => {}
            _ = shutdown => shared.request_shutdown(),
        }
        // A save on SIGTERM that failed leaves the server running.
        shared.stop.wait().await;
        shared.wait_for_connections().await;
        // Requests queued for the end of the last turn (a final fsync).
        shared.perform_queued_disk_requests();
        shared.abort_connections();
        for task in tasks {
            task.abort();
            // Cancelled tasks drop their listeners and timers here.
            let _ = task.await;
        }
        match shared.fatal.take() {
            Some(message) => Err(io::Error::other(message)),
            None => Ok(()),
        }
    }
}

/// Resolves `config.bind` to listeners. A leading `-` marks an address as
/// optional (skipped when it cannot be bound, as Redis does with `-::1`);
/// `*` is every IPv4 address and `::*` every IPv6 one.
async fn bind_all<T: Transport>(transport: &T, config: &Config) -> io::Result<Vec<T::Listener>> {
    let backlog = u32::try_from(config.tcp_backlog).unwrap_or(u32::MAX);
    let mut port = config.port;
    let mut listeners = Vec::new();
    for entry in &config.bind {
        let (optional, text) = match entry.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, entry.as_str()),
        };
        let ip = parse_bind_addr(text).ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("Invalid bind address '{text}'"),
            )
        })?;
        match transport.bind(SocketAddr::new(ip, port), backlog).await {
            Ok(listener) => {
                port = listener.local_addr()?.port();
                listeners.push(listener);
            }
            Err(e) if optional && is_skippable(&e) => {
                tracing::warn!("Skipping optional bind address {text}:{port}: {e}");
            }
            Err(e) => {
                return Err(io::Error::new(
                    e.kind(),
                    format!("Could not create server TCP listening socket {text}:{port}: {e}"),
                ))
            }
        }
    }
    if listeners.is_empty() {
        return Err(io::Error::new(
            io::ErrorKind::AddrNotAvailable,
            "Configured to not listen anywhere",
        ));
    }
    Ok(listeners)
}

fn parse_bind_addr(text: &str) -> Option<IpAddr> {
    match text {
        "*" => Some(IpAddr::V4(Ipv4Addr::UNSPECIFIED)),
        "::*" => Some(IpAddr::V6(Ipv6Addr::UNSPECIFIED)),
        _ => text.parse().ok(),
    }
}

/// An optional address is skipped when it does not exist on this machine or
/// its address family is unsupported, not when the port is taken.
fn is_skippable(e: &io::Error) -> bool {
    !matches!(
        e.kind(),
        io::ErrorKind::AddrInUse | io::ErrorKind::PermissionDenied
    )
}

/// A connection's byte stream, whatever the transport.
trait PeerStream: AsyncRead + AsyncWrite + Unpin {}
impl<S: AsyncRead + AsyncWrite + Unpin> PeerStream for S {}

type BoxedStream = Box<dyn PeerStream>;
type Connecting = Pin<Box<dyn Future<Output = io::Result<BoxedStream>>>>;
/// Opens outbound connections over the server's transport.
type Connector = Box<dyn Fn(String, u16) -> Connecting>;

fn connector<T: Transport>(transport: T) -> Connector {
    Box::new(move |host: String, port: u16| {
        let transport = transport.clone();
        Box::pin(async move {
            let stream = transport.connect(&host, port).await?;
            Ok(Box::new(stream) as BoxedStream)
        })
    })
}

/// State shared by every task of one server.
struct Shared<C> {
    /// This state itself, for the tasks it spawns (set by `run`).
    me: RefCell<Weak<Shared<C>>>,
    connector: Connector,
    node: RefCell<Node>,
    clock: C,
    conns: RefCell<BTreeMap<ClientId, Rc<Conn>>>,
    /// The deadline the timer task sleeps until.
    timer_armed: Cell<Option<u64>>,
    /// Wakes the timer task when the node's deadline moved earlier.
    timer_rearm: Notify,
    stop: Stop,
    /// Signalled when the last connection task ends.
    conns_gone: Notify,
    /// Closed while the server is paused.
    pause: PauseGate,
    /// Performs the node's disk requests.
    disk: RefCell<Box<dyn DiskExecutor>>,
    /// Disk requests waiting for the end of this turn (group commit, see
    /// [`crate::group_commit`]), and the wake-up of the task that runs them.
    disk_queue: RefCell<Vec<keel_engine::disk::DiskRequest>>,
    disk_wake: Signal,
    /// The node's fatal error, once it stopped on one.
    fatal: RefCell<Option<String>>,
    /// `Ready to accept connections` was logged (once the data loaded).
    ready_logged: Cell<bool>,
    /// Reads handed to the node so far: tells the step pacing whether
    /// clients were active since the last step.
    reads_fed: Cell<u64>,
    /// Set while the disk task routes the replies its batch released.
    releasing_after_fsync: Cell<bool>,
    #[cfg(feature = "broken-stale-read")]
    stale: broken::StaleReplies,
}

/// One connection's outbound side, filled by whichever task ran the node.
#[derive(Default)]
struct Conn {
    /// Opened by the node (`Output::Connect`): its events are peer events.
    peer: bool,
    out: RefCell<BytesMut>,
    /// Close once `out` is flushed.
    closing: Cell<bool>,
    /// Close at once, dropping what is not written (`Output::Abort`).
    dropped: Cell<bool>,
    /// Wakes a task blocked writing to a peer that does not read.
    drop_now: Signal,
    /// Wakes the connection's task: output for it, or it must close.
    wake: Signal,
    /// Output the disk task released (replies held for an fsync): it
    /// leaves without waiting for the end of the turn, see
    /// [`Shared::perform_queued_disk_requests`].
    released_by_fsync: Cell<bool>,
    abort: RefCell<Option<AbortHandle>>,
}

/// A wake-up for the one task that waits on it (a connection's task,
/// the disk task): `notify_one` leaves a permit that the pending or next
/// `notified()` takes, as `Notify::notify_one` does. Unlike tokio's
/// `Notify` it takes no lock and links no waiter list on every poll and
/// drop, which the connection tasks did several times per request; all
/// tasks run on one thread, so a `Cell` is enough.
#[derive(Default)]
struct Signal {
    permit: Cell<bool>,
    /// The waker of the last poll that found no permit.
    waker: Cell<Option<Waker>>,
}

impl Signal {
    fn notify_one(&self) {
        self.permit.set(true);
        if let Some(waker) = self.waker.take() {
            waker.wake();
        }
    }

    /// Completes once a permit is there, taking it. A future dropped
    /// before it completes takes nothing (the permit stays for the next).
    fn notified(&self) -> impl Future<Output = ()> + '_ {
        std::future::poll_fn(move |cx| {
            if self.permit.replace(false) {
                return Poll::Ready(());
            }
            let waker = match self.waker.take() {
                Some(known) if known.will_wake(cx.waker()) => known,
                _ => cx.waker().clone(),
            };
            self.waker.set(Some(waker));
            Poll::Pending
        })
    }
}

/// A one-way stop flag that tasks can wait on.
#[derive(Default)]
struct Stop {
    stopped: Cell<bool>,
    notify: Notify,
}

impl Stop {
    fn is_set(&self) -> bool {
        self.stopped.get()
    }

    fn set(&self) {
        self.stopped.set(true);
        self.notify.notify_waiters();
    }

    async fn wait(&self) {
        loop {
            let notified = self.notify.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if self.is_set() {
                return;
            }
            notified.await;
        }
    }
}

impl<C: Clock> Shared<C> {
    fn new(node: Node, clock: C, connector: Connector) -> Self {
        Shared {
            me: RefCell::new(Weak::new()),
            connector,
            node: RefCell::new(node),
            clock,
            conns: RefCell::new(BTreeMap::new()),
            timer_armed: Cell::new(None),
            timer_rearm: Notify::new(),
            stop: Stop::default(),
            conns_gone: Notify::new(),
            pause: PauseGate::new(),
            disk: RefCell::new(Box::new(Executor::new(FsDisk))),
            disk_queue: RefCell::new(Vec::new()),
            disk_wake: Signal::default(),
            fatal: RefCell::new(None),
            ready_logged: Cell::new(false),
            reads_fed: Cell::new(0),
            releasing_after_fsync: Cell::new(false),
            #[cfg(feature = "broken-stale-read")]
            stale: broken::StaleReplies::default(),
        }
    }

    /// Registers a new connection with the node; returns its id and state.
    fn open(&self, info: ClientInfo) -> (ClientId, Rc<Conn>) {
        let conn = Rc::new(Conn::default());
        let mut node = self.node.borrow_mut();
        let id = node.accept_client(self.clock.now(), info);
        self.conns.borrow_mut().insert(id, conn.clone());
        self.drain(&mut node, Some(id));
        (id, conn)
    }

    /// Feeds bytes read from `client` to the node.
    fn feed(&self, client: ClientId, data: &[u8]) {
        self.reads_fed.set(self.reads_fed.get() + 1);
        let mut node = self.node.borrow_mut();
        let input = if self.is_peer(client) {
            Input::PeerData { peer: client, data }
        } else {
            Input::ClientData { client, data }
        };
        node.handle_input(self.clock.now(), input);
        self.drain(&mut node, Some(client));
    }

    fn is_peer(&self, id: ClientId) -> bool {
        self.conns.borrow().get(&id).is_some_and(|c| c.peer)
    }

    /// The outbound connection `peer` is open.
    fn peer_connected(&self, peer: ClientId) {
        let mut node = self.node.borrow_mut();
        node.handle_input(self.clock.now(), Input::PeerConnected { peer });
        self.drain(&mut node, Some(peer));
    }

    /// `bytes` of `client`'s output reached its socket: the node counts
    /// what is still unsent against the client's output buffer limit.
    /// Nothing in that depends on the time, so the node's own time is
    /// passed on rather than the clock read again (twice per reply).
    fn written(&self, client: ClientId, bytes: usize) {
        let mut node = self.node.borrow_mut();
        let now = node.now();
        node.client_written(now, client, bytes);
        self.drain(&mut node, Some(client));
    }

    /// The connection is gone: forget it and tell the node.
    fn close(&self, client: ClientId) {
        let (left, peer) = {
            let mut conns = self.conns.borrow_mut();
            let peer = conns.remove(&client).is_some_and(|c| c.peer);
            (conns.len(), peer)
        };
        #[cfg(feature = "broken-stale-read")]
        self.stale.forget(client);
        let mut node = self.node.borrow_mut();
        let input = if peer {
            Input::PeerClosed { peer: client }
        } else {
            Input::ClientClosed { client }
        };
        node.handle_input(self.clock.now(), input);
        self.drain(&mut node, None);
        if left == 0 {
            self.conns_gone.notify_waiters();
        }
    }

    /// Starts the node: it reads its data file and begins loading.
    fn start(&self) {
        let mut node = self.node.borrow_mut();
        node.start(self.clock.now());
        self.drain(&mut node, None);
    }

    /// SIGTERM: the node stops as SHUTDOWN does (saving first when it must).
    fn request_shutdown(&self) {
        let mut node = self.node.borrow_mut();
        node.request_shutdown(self.clock.now());
        self.drain(&mut node, None);
    }

    fn on_timeout(&self) {
        let mut node = self.node.borrow_mut();
        node.handle_timeout(self.clock.now());
        self.drain(&mut node, None);
    }

    /// Routes every pending output of the node to its connection. `me` is
    /// the connection whose task is running: it flushes on its own, so it
    /// needs no wake-up.
    fn drain(&self, node: &mut Node, me: Option<ClientId>) {
        while let Some(output) = node.poll_output() {
            match output {
                Output::Write { client, data } => {
                    #[cfg(feature = "broken-stale-read")]
                    let data = self.stale.substitute(client, data);
                    if let Some(conn) = self.conns.borrow().get(&client) {
                        conn.out.borrow_mut().extend_from_slice(&data);
                        if self.releasing_after_fsync.get() {
                            conn.released_by_fsync.set(true);
                        }
                        if me != Some(client) {
                            conn.wake.notify_one();
                        }
                    }
                }
                Output::Close { client } => {
                    if let Some(conn) = self.conns.borrow().get(&client) {
                        conn.closing.set(true);
                        if me != Some(client) {
                            conn.wake.notify_one();
                        }
                    }
                }
                Output::Abort { client } => {
                    if let Some(conn) = self.conns.borrow().get(&client) {
                        conn.out.borrow_mut().clear();
                        conn.dropped.set(true);
                        conn.closing.set(true);
                        conn.drop_now.notify_one();
                        conn.wake.notify_one();
                    }
                }
                Output::Shutdown => {
                    tracing::warn!("User requested shutdown...");
                    self.begin_stop();
                }
                Output::Disk(request) => self.perform_or_queue(node, request),
                Output::Connect { peer, host, port } => self.start_peer(peer, host, port),
                Output::Log { level, text } => log(level, &text),
                Output::Fatal(message) => {
                    *self.fatal.borrow_mut() = Some(message);
                    self.begin_stop();
                }
            }
        }
        if !self.ready_logged.get() && node.is_ready() {
            self.ready_logged.set(true);
            tracing::info!("Ready to accept connections");
        }
        let deadline = node.poll_timeout();
        let armed = self.timer_armed.get();
        if deadline.is_some() && (armed.is_none() || deadline < armed) {
            self.timer_rearm.notify_one();
        }
    }

    /// Performs a disk request now, synchronously (as Redis's own writes
    /// and fsyncs on its main thread), and reports it to the node; an
    /// `Append` or a `Sync`, and every request after one, waits for the
    /// end of the turn instead ([`crate::group_commit`]). Requests are performed and
    /// answered in the order the node emitted them.
    fn perform_or_queue(&self, node: &mut Node, request: keel_engine::disk::DiskRequest) {
        let queue_is_empty = self.disk_queue.borrow().is_empty();
        if group_commit::must_wait(&request, queue_is_empty) {
            self.disk_queue.borrow_mut().push(request);
            // The disk task takes the whole queue: one wake-up per batch.
            if queue_is_empty {
                self.disk_wake.notify_one();
            }
            return;
        }
        let result = self.disk.borrow_mut().apply(&request.op);
        self.report_disk(node, self.clock.now(), request.id, result);
    }

    /// Performs the requests queued during this turn, one fsync per file,
    /// and reports them in order. The replies this releases leave at once,
    /// as Redis writes them right after its fsync in `beforeSleep`: the
    /// disk task runs at the end of a turn already, and each connection
    /// requeued behind the others first let fewer clients answer before
    /// the next batch (3011 fsyncs instead of 2274 for 60000 SETs from
    /// 50 clients).
    fn perform_queued_disk_requests(&self) {
        let batch = std::mem::take(&mut *self.disk_queue.borrow_mut());
        if batch.is_empty() {
            return;
        }
        let answers = group_commit::perform_batch(&mut **self.disk.borrow_mut(), batch);
        // The whole batch completed now: one reading of the clock for all
        // its answers (two per request otherwise, on the critical path
        // between the fsync and the replies it releases).
        let now = self.clock.now();
        let mut node = self.node.borrow_mut();
        let answers = answers
            .into_iter()
            .inspect(|(id, result)| log_disk_failure(*id, result));
        node.handle_disk_answers(now, answers);
        self.releasing_after_fsync.set(true);
        self.drain(&mut node, None);
        self.releasing_after_fsync.set(false);
    }

    fn report_disk(
        &self,
        node: &mut Node,
        now: keel_engine::Now,
        id: keel_engine::disk::RequestId,
        result: keel_engine::disk::DiskResult,
    ) {
        log_disk_failure(id, &result);
        node.handle_input(now, Input::DiskDone { id, result });
    }

    /// Starts the task of an outbound connection. Its state is registered
    /// at once so writes the node queues before it is open wait in it.
    fn start_peer(&self, peer: ClientId, host: String, port: u16) {
        let Some(me) = self.me.borrow().upgrade() else {
            return;
        };
        if self.stop.is_set() {
            return;
        }
        let conn = Rc::new(Conn {
            peer: true,
            ..Conn::default()
        });
        self.conns.borrow_mut().insert(peer, conn.clone());
        let task = tokio::task::spawn_local(peer_task(me, peer, conn.clone(), host, port));
        *conn.abort.borrow_mut() = Some(task.abort_handle());
    }

    /// Stops accepting and timers; every connection flushes and closes.
    fn begin_stop(&self) {
        if self.stop.is_set() {
            return;
        }
        self.stop.set();
        for conn in self.conns.borrow().values() {
            conn.closing.set(true);
            conn.wake.notify_one();
        }
    }

    /// Waits for the connection tasks to finish, for a bounded time: a
    /// client that does not read its replies must not hold the server up.
    async fn wait_for_connections(&self) {
        let deadline = self
            .clock
            .now()
            .mono_ms
            .saturating_add(SHUTDOWN_FLUSH_GRACE_MS);
        let grace = self.clock.sleep_until(deadline);
        tokio::pin!(grace);
        loop {
            let gone = self.conns_gone.notified();
            tokio::pin!(gone);
            gone.as_mut().enable();
            if self.conns.borrow().is_empty() {
                return;
            }
            tokio::select! {
                biased;
                _ = &mut gone => {}
                _ = &mut grace => return,
            }
        }
    }

    fn abort_connections(&self) {
        for conn in self.conns.borrow().values() {
            if let Some(handle) = conn.abort.borrow_mut().take() {
                handle.abort();
            }
        }
    }
}

async fn timer_task<C: Clock>(shared: Rc<Shared<C>>) {
    let mut pace = StepPace::default();
    loop {
        let deadline = shared.node.borrow().poll_timeout();
        // A background save, a load or a running script (resumed one
        // slice per timeout) asks to be woken at once for its next step.
        if deadline.is_some_and(|at| at <= shared.clock.now().mono_ms) {
            if shared.stop.is_set() {
                return;
            }
            run_due_step(&shared, &mut pace).await;
            continue;
        }
        shared.timer_armed.set(deadline);
        let sleep = async {
            match deadline {
                Some(at) => shared.clock.sleep_until(at).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            biased;
            _ = shared.stop.wait() => return,
            _ = shared.timer_rearm.notified() => {}
            _ = sleep => {
                shared.pause.pass().await;
                shared.on_timeout();
            }
        }
    }
}

/// While clients are active, at most this many due steps run per
/// millisecond tick of the clock: a background save (about 150 us a step)
/// then takes at most about half of the loop and the process sleeps part
/// of every millisecond, so the clients keep most of their throughput and
/// the kernel keeps treating the server as interactive. Without client
/// input the steps run back to back.
const BUSY_STEPS_PER_MS: u32 = 3;

/// How many due steps ran in the current millisecond tick, and the
/// client input count at the last one.
#[derive(Default)]
struct StepPace {
    tick_ms: u64,
    steps: u32,
    reads_at_last_step: u64,
}

/// The node wants its next step now (a background save, a load, a
/// script's next slice): run it without a round trip through the timer
/// wheel, whose millisecond ticks would leave the loop idle up to 1 ms per
/// step. The yield first lets every client whose input is ready be served
/// (the runtime polls for I/O before it resumes a yielded task), so steps
/// never run back to back while clients wait; while clients are active,
/// steps are paced ([`BUSY_STEPS_PER_MS`]).
async fn run_due_step<C: Clock>(shared: &Shared<C>, pace: &mut StepPace) {
    tokio::task::yield_now().await;
    let now_ms = shared.clock.now().mono_ms;
    if now_ms != pace.tick_ms {
        pace.tick_ms = now_ms;
        pace.steps = 0;
    }
    let clients_active = shared.reads_fed.get() != pace.reads_at_last_step;
    if clients_active && pace.steps >= BUSY_STEPS_PER_MS {
        // The clients keep the loop until the next tick.
        tokio::select! {
            biased;
            _ = shared.stop.wait() => {}
            _ = shared.clock.sleep_until(now_ms + 1) => {}
        }
        return;
    }
    shared.pause.pass().await;
    if shared.stop.is_set() {
        return;
    }
    pace.steps += 1;
    pace.reads_at_last_step = shared.reads_fed.get();
    shared.timer_armed.set(None);
    shared.on_timeout();
}

/// Performs the disk requests queued during a turn (group commit). It is
/// woken by the first queued request and runs after the tasks that were
/// already ready, so every client served in this turn shares one fsync.
/// It does not stop with the server: the last requests (the final fsync
/// of a SHUTDOWN) are performed before the tasks are aborted.
async fn disk_task<C: Clock>(shared: Rc<Shared<C>>) {
    loop {
        shared.disk_wake.notified().await;
        shared.pause.pass().await;
        shared.perform_queued_disk_requests();
    }
}

/// Forwards a node's log line to tracing, at the matching level.
fn log(level: keel_engine::node::LogLevel, text: &str) {
    use keel_engine::node::LogLevel;
    match level {
        LogLevel::Debug => tracing::trace!("{text}"),
        LogLevel::Verbose => tracing::debug!("{text}"),
        LogLevel::Notice => tracing::info!("{text}"),
        LogLevel::Warning => tracing::warn!("{text}"),
    }
}

async fn accept_task<C: Clock, L: Listener>(shared: Rc<Shared<C>>, listener: L) {
    loop {
        let keepalive = shared.node.borrow().config().tcp_keepalive;
        tokio::select! {
            biased;
            _ = shared.stop.wait() => return,
            accepted = listener.accept(keepalive) => match accepted {
                Ok(accepted) => {
                    shared.pause.pass().await;
                    start_connection(&shared, accepted);
                }
                Err(e) => {
                    tracing::warn!("Accepting client connection: {e}");
                    tokio::time::sleep(Duration::from_millis(ACCEPT_RETRY_MS)).await;
                }
            },
        }
    }
}

fn start_connection<C: Clock, S>(shared: &Rc<Shared<C>>, accepted: Accepted<S>)
where
    S: AsyncRead + AsyncWrite + Unpin + 'static,
{
    let info = ClientInfo {
        addr: accepted.peer.to_string(),
        laddr: accepted.local.to_string(),
        fd: accepted.fd,
    };
    tracing::debug!("Accepted {}", info.addr);
    let (id, conn) = shared.open(info);
    let task = tokio::task::spawn_local(connection_task(
        shared.clone(),
        id,
        conn.clone(),
        accepted.stream,
    ));
    *conn.abort.borrow_mut() = Some(task.abort_handle());
}

/// An outbound connection: connect (unless the node or the server gives
/// up first), tell the node, then move bytes as for a client.
async fn peer_task<C: Clock>(
    shared: Rc<Shared<C>>,
    peer: ClientId,
    conn: Rc<Conn>,
    host: String,
    port: u16,
) {
    let connecting = (shared.connector)(host.clone(), port);
    let connected = tokio::select! {
        biased;
        _ = shared.stop.wait() => None,
        _ = wait_closing(&conn) => None,
        result = connecting => Some(result),
    };
    shared.pause.pass().await;
    match connected {
        Some(Ok(stream)) => {
            tracing::debug!("Connected to {host}:{port} (peer id={peer})");
            shared.peer_connected(peer);
            connection_task(shared, peer, conn, stream).await;
        }
        Some(Err(e)) => {
            tracing::warn!("Error connecting to {host}:{port}: {e}");
            shared.close(peer);
        }
        None => shared.close(peer),
    }
}

/// Resolves once the node asked to close `conn`.
async fn wait_closing(conn: &Conn) {
    while !conn.closing.get() {
        conn.wake.notified().await;
    }
}

async fn connection_task<C: Clock, S>(
    shared: Rc<Shared<C>>,
    id: ClientId,
    conn: Rc<Conn>,
    stream: S,
) where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let mut stream = stream;
    if let Err(e) = pump(&shared, id, &conn, &mut stream).await {
        tracing::debug!("Client id={id} connection error: {e}");
    }
    // Best effort: the peer may be gone already.
    let _ = stream.shutdown().await;
    shared.close(id);
}

/// Moves bytes both ways until the client or the node closes the connection.
async fn pump<C: Clock, S>(
    shared: &Shared<C>,
    id: ClientId,
    conn: &Conn,
    stream: &mut S,
) -> io::Result<()>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let mut read_buf = vec![0u8; READ_BUF_INITIAL];
    let mut waited_for_turn_end = false;
    loop {
        shared.pause.pass().await;
        if conn.dropped.get() {
            return Ok(());
        }
        if !conn.out.borrow().is_empty() {
            let released_by_fsync = conn.released_by_fsync.take();
            if !waited_for_turn_end && !released_by_fsync {
                waited_for_turn_end = true;
                wait_for_turn_end().await;
                continue;
            }
            waited_for_turn_end = false;
            let written = tokio::select! {
                biased;
                _ = conn.drop_now.notified() => return Ok(()),
                written = write_front(conn, stream) => written?,
            };
            // Reported at once, so the node's output buffer limits count
            // only what is still unsent (as Redis after each partial write).
            shared.written(id, written);
            continue;
        }
        if conn.closing.get() {
            return Ok(());
        }
        tokio::select! {
            biased;
            _ = conn.wake.notified() => {}
            read = stream.read(&mut read_buf) => {
                let n = read?;
                if n == 0 {
                    tracing::debug!("Client closed connection id={id}");
                    return Ok(());
                }
                shared.pause.pass().await;
                shared.feed(id, &read_buf[..n]);
                if n == read_buf.len() && read_buf.len() < READ_BUF_MAX {
                    read_buf.resize(read_buf.len() * 2, 0);
                }
            }
        }
    }
}

/// Lets every task that is already runnable (the other connections the
/// same readiness poll woke, the disk task) run before this one writes,
/// as Redis writes the replies of a whole event-loop pass in
/// `beforeSleep`. A client pipelining to one server then gets its replies
/// in bursts, so it sleeps, and the server wakes it, once per burst rather
/// than once per connection: a wake-up of a sleeping peer is the most
/// expensive part of a write on a virtual machine (an inter-processor
/// interrupt). Output that others' requests make (messages, the
/// replication stream) piles up over the turn too, and leaves in one write.
///
/// The task wakes itself once, which puts it at the back of the
/// `LocalSet`'s queue, behind the tasks already there. (`yield_now` would
/// defer it past the runtime's next poll of its sockets: one more
/// `epoll_wait` per turn, and the replies an fsync released would wait
/// for the requests that arrived during it.)
async fn wait_for_turn_end() {
    let mut requeued = false;
    std::future::poll_fn(|cx| {
        if requeued {
            return Poll::Ready(());
        }
        requeued = true;
        cx.waker().wake_by_ref();
        Poll::Pending
    })
    .await
}

/// Writes what the socket takes of `conn.out` in one write call and
/// consumes it from the front of the buffer; returns the bytes written.
/// `conn.out` is borrowed only during each synchronous write attempt,
/// never across an await, so the node appends output while the socket is
/// not writable, and the buffer keeps its capacity (no copy, and no
/// allocation once it is large enough).
async fn write_front<S: AsyncWrite + Unpin>(conn: &Conn, stream: &mut S) -> io::Result<usize> {
    std::future::poll_fn(|cx| {
        let mut out = conn.out.borrow_mut();
        let written = match Pin::new(&mut *stream).poll_write(cx, &out) {
            Poll::Ready(Ok(0)) if !out.is_empty() => Err(io::Error::from(io::ErrorKind::WriteZero)),
            Poll::Ready(written) => written,
            Poll::Pending => return Poll::Pending,
        };
        if let Ok(n) = written {
            bytes::Buf::advance(&mut *out, n);
        }
        Poll::Ready(written)
    })
    .await
}

#[cfg(test)]
mod pump_tests {
    use super::*;
    use crate::clock::OsClock;
    use crate::transport::TcpTransport;
    use keel_engine::testing::request;
    use tokio::io::{AsyncReadExt, DuplexStream};

    /// Room in the subscriber's pipe: writes to it are partial.
    const PIPE: usize = 4096;
    /// A message of `PAYLOAD` bytes on channel `ch` is 1034 bytes.
    const PAYLOAD: usize = 1000;
    const FRAME: usize = PAYLOAD + 34;

    fn publish(shared: &Shared<OsClock>, publisher: ClientId, n: usize) {
        let payload = vec![b'x'; PAYLOAD];
        let one = request(&[b"PUBLISH", b"ch", &payload]);
        shared.feed(publisher, &one.repeat(n));
    }

    /// Lets the subscriber's task write what the pipe takes.
    async fn settle() {
        for _ in 0..100 {
            tokio::task::yield_now().await;
        }
    }

    async fn read_exactly(pipe: &mut DuplexStream, n: usize) {
        let mut buf = vec![0u8; n];
        pipe.read_exact(&mut buf).await.expect("the bytes written");
    }

    /// The bytes a partial write put in the socket stop counting against
    /// the output limit at once, not when the whole buffer is written: a
    /// subscriber that reads stays under a limit it would pass if the
    /// bytes in flight counted, and one that stops reading is still cut.
    #[test]
    fn partial_writes_stop_counting_against_the_limit_at_once() {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime");
        tokio::task::LocalSet::new().block_on(&runtime, async {
            let mut config = Config::default();
            let limit = 8 * FRAME;
            let class = format!("pubsub {limit} 0 0");
            config.client_output_buffer_limit.apply(&class).unwrap();
            let clock = OsClock::new();
            let node = Node::new(config, clock.now());
            let shared = Rc::new(Shared::new(node, clock, connector(TcpTransport)));
            let (sub, conn) = shared.open(ClientInfo::default());
            let (publisher, _) = shared.open(ClientInfo::default());
            shared.feed(sub, &request(&[b"SUBSCRIBE", b"ch"]));
            let confirmation = conn.out.borrow().len();
            let (mut server_side, mut pipe) = tokio::io::duplex(PIPE);
            let task = tokio::task::spawn_local({
                let (shared, conn) = (shared.clone(), conn.clone());
                async move { pump(&shared, sub, &conn, &mut server_side).await }
            });
            settle().await;
            read_exactly(&mut pipe, confirmation).await;
            // 7 messages: the pipe takes 4096 bytes, 3142 stay queued.
            publish(&shared, publisher, 7);
            settle().await;
            // 3142 queued + 4 × 1034 is under the limit of 8272; with the
            // 4096 bytes in the pipe counted too, it would be over.
            publish(&shared, publisher, 4);
            assert!(!conn.dropped.get(), "cut off for bytes already written");
            assert_eq!(conn.out.borrow().len(), 11 * FRAME - PIPE);
            read_exactly(&mut pipe, 11 * FRAME).await;
            settle().await;
            assert!(conn.out.borrow().is_empty());
            // Not read any more: cut once 8272 bytes are queued behind the pipe.
            publish(&shared, publisher, 12);
            assert!(conn.dropped.get(), "a subscriber that does not read is cut");
            task.await
                .expect("the task ends")
                .expect("without an error");
        });
    }
}

#[cfg(test)]
mod turn_tests {
    use super::*;
    use crate::clock::OsClock;
    use crate::transport::TcpTransport;
    use keel_engine::testing::request;
    use tokio::io::ReadBuf;
    use tokio::net::{TcpListener, TcpStream};

    type Events = Rc<RefCell<Vec<String>>>;

    /// A server-side socket that logs each read that returned data and
    /// each write, under its client's name.
    struct Logged {
        inner: TcpStream,
        name: &'static str,
        events: Events,
    }

    impl Logged {
        fn log(&self, what: &str) {
            self.events
                .borrow_mut()
                .push(format!("{} {what}", self.name));
        }
    }

    impl AsyncRead for Logged {
        fn poll_read(
            mut self: Pin<&mut Self>,
            cx: &mut std::task::Context<'_>,
            buf: &mut ReadBuf<'_>,
        ) -> Poll<io::Result<()>> {
            let before = buf.filled().len();
            let read = Pin::new(&mut self.inner).poll_read(cx, buf);
            if buf.filled().len() > before {
                self.log("read");
            }
            read
        }
    }

    impl AsyncWrite for Logged {
        fn poll_write(
            mut self: Pin<&mut Self>,
            cx: &mut std::task::Context<'_>,
            buf: &[u8],
        ) -> Poll<io::Result<usize>> {
            let written = Pin::new(&mut self.inner).poll_write(cx, buf);
            if matches!(written, Poll::Ready(Ok(_))) {
                self.log("write");
            }
            written
        }

        fn poll_flush(
            mut self: Pin<&mut Self>,
            cx: &mut std::task::Context<'_>,
        ) -> Poll<io::Result<()>> {
            Pin::new(&mut self.inner).poll_flush(cx)
        }

        fn poll_shutdown(
            mut self: Pin<&mut Self>,
            cx: &mut std::task::Context<'_>,
        ) -> Poll<io::Result<()>> {
            Pin::new(&mut self.inner).poll_shutdown(cx)
        }
    }

    /// Connects a client named `name` whose server end is pumped by its
    /// own task and logs to `events`; returns the client's end.
    async fn connect(
        shared: &Rc<Shared<OsClock>>,
        listener: &TcpListener,
        name: &'static str,
        events: &Events,
    ) -> TcpStream {
        let client = TcpStream::connect(listener.local_addr().expect("bound"));
        let (client, accepted) = tokio::join!(client, listener.accept());
        serve(shared, accepted.expect("accepted").0, name, events);
        client.expect("connected")
    }

    /// Registers the server end `inner` of client `name` and pumps it.
    fn serve(shared: &Rc<Shared<OsClock>>, inner: TcpStream, name: &'static str, events: &Events) {
        let mut stream = Logged {
            inner,
            name,
            events: events.clone(),
        };
        let (id, conn) = shared.open(ClientInfo::default());
        let shared = shared.clone();
        tokio::task::spawn_local(async move { pump(&shared, id, &conn, &mut stream).await });
    }

    fn shared_with(config: Config) -> Rc<Shared<OsClock>> {
        let clock = OsClock::new();
        let node = Node::new(config, clock.now());
        Rc::new(Shared::new(node, clock, connector(TcpTransport)))
    }

    fn block_on(test: impl Future<Output = ()>) {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime");
        tokio::task::LocalSet::new().block_on(&runtime, test);
    }

    /// Lets the runtime poll its sockets and run what they woke.
    async fn settle() {
        for _ in 0..100 {
            tokio::task::yield_now().await;
        }
    }

    /// Two clients whose requests arrive together: both requests run
    /// before either reply is written, as Redis replies in `beforeSleep`.
    /// Writing each reply at once interleaved them: read, write, read, write.
    #[test]
    fn replies_wait_for_the_requests_that_arrived_with_them() {
        block_on(async {
            let shared = shared_with(Config::default());
            let listener = TcpListener::bind("127.0.0.1:0").await.expect("a port");
            let events = Events::default();
            let mut a = connect(&shared, &listener, "a", &events).await;
            let mut b = connect(&shared, &listener, "b", &events).await;
            settle().await;

            a.write_all(&request(&[b"PING"])).await.expect("sent");
            b.write_all(&request(&[b"PING"])).await.expect("sent");
            settle().await;
            for client in [&mut a, &mut b] {
                let mut reply = [0u8; 7];
                client.read_exact(&mut reply).await.expect("a reply");
                assert_eq!(&reply, b"+PONG\r\n");
            }
            assert_eq!(*events.borrow(), ["a read", "b read", "a write", "b write"]);
        });
    }

    /// Runs `during_sync` at each fsync, then performs it.
    struct SyncHook {
        disk: Executor<FsDisk>,
        during_sync: Box<dyn FnMut()>,
    }

    impl DiskExecutor for SyncHook {
        fn apply(&mut self, op: &keel_engine::disk::DiskOp) -> keel_engine::disk::DiskResult {
            if matches!(op, keel_engine::disk::DiskOp::Sync { .. }) {
                (self.during_sync)();
            }
            self.disk.apply(op)
        }
    }

    fn aof_always_in(dir: &crate::disk::TempDir) -> Config {
        Config {
            dir: dir.0.display().to_string(),
            appendonly: true,
            appendfsync: "always".into(),
            ..Default::default()
        }
    }

    /// The replies an fsync releases are marked to leave at once; a reply
    /// that needs no fsync waits for the end of the turn as any other.
    #[test]
    fn replies_an_fsync_releases_are_marked_to_leave_at_once() {
        let dir = crate::disk::TempDir::new("driver-fsync-mark");
        let config = aof_always_in(&dir);
        let shared = shared_with(config);
        shared.start();
        for _ in 0..100 {
            shared.perform_queued_disk_requests();
            if shared.node.borrow().is_ready() {
                break;
            }
            std::thread::sleep(Duration::from_millis(1));
            shared.on_timeout();
        }
        assert!(shared.node.borrow().is_ready());
        let (client, conn) = shared.open(ClientInfo::default());
        shared.feed(client, &request(&[b"SET", b"k", b"v"]));
        assert!(conn.out.borrow().is_empty(), "held for its fsync");
        shared.perform_queued_disk_requests();
        assert_eq!(&conn.out.borrow()[..], b"+OK\r\n");
        assert!(conn.released_by_fsync.take());
        shared.feed(client, &request(&[b"GET", b"k"]));
        assert_eq!(&conn.out.borrow()[5..], b"$1\r\nv\r\n");
        assert!(!conn.released_by_fsync.get());
    }

    /// With `appendfsync always`, the replies an fsync released leave
    /// right after it, before the requests that arrived during it are
    /// read, as Redis writes them after its fsync in `beforeSleep`. A
    /// wait that let the runtime poll its sockets first (`yield_now`) ran
    /// those requests before, and their appends missed the next batch.
    #[test]
    fn replies_released_by_an_fsync_leave_at_once() {
        let dir = crate::disk::TempDir::new("driver-fsync-replies");
        let config = aof_always_in(&dir);
        block_on(async move {
            let shared = shared_with(config);
            let listener = TcpListener::bind("127.0.0.1:0").await.expect("a port");
            let events = Events::default();
            let mut a = connect(&shared, &listener, "a", &events).await;
            // c's request is sent while the disk syncs a's write.
            let c = std::net::TcpStream::connect(listener.local_addr().expect("bound"));
            let mut c = c.expect("connected");
            serve(
                &shared,
                listener.accept().await.expect("accepted").0,
                "c",
                &events,
            );
            let during_next_sync: Rc<RefCell<Option<Vec<u8>>>> = Rc::default();
            let sent_during_sync = during_next_sync.clone();
            *shared.disk.borrow_mut() = Box::new(SyncHook {
                disk: Executor::new(FsDisk),
                during_sync: Box::new(move || {
                    if let Some(request) = sent_during_sync.borrow_mut().take() {
                        std::io::Write::write_all(&mut c, &request).expect("sent");
                    }
                }),
            });
            *shared.me.borrow_mut() = Rc::downgrade(&shared);
            tokio::task::spawn_local(timer_task(shared.clone()));
            tokio::task::spawn_local(disk_task(shared.clone()));
            shared.start();
            for _ in 0..100 {
                if shared.node.borrow().is_ready() {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            assert!(shared.node.borrow().is_ready());
            events.borrow_mut().clear();

            *during_next_sync.borrow_mut() = Some(request(&[b"PING"]));
            a.write_all(&request(&[b"SET", b"k", b"v"]))
                .await
                .expect("sent");
            settle().await;
            let mut reply = [0u8; 5];
            a.read_exact(&mut reply).await.expect("a reply");
            assert_eq!(&reply, b"+OK\r\n");
            let events = events.borrow();
            assert_eq!(events[..3], ["a read", "a write", "c read"], "{events:?}");
        });
    }
}

/// Deliberate bugs, compiled in only by their cargo feature, so that the
/// simulation can show it catches them. Never enable them elsewhere.
#[cfg(feature = "broken-stale-read")]
mod broken {
    use bytes::Bytes;
    use keel_engine::ClientId;
    use std::cell::{Cell, RefCell};
    use std::collections::BTreeMap;

    /// One reply in this many is replaced by the connection's previous one.
    const STALE_EVERY: u64 = 200;

    /// `broken-stale-read`: now and then a client gets its previous reply
    /// again instead of the current one (a stale read, or a reply of the
    /// wrong shape), as a reply cache keyed too loosely would do.
    #[derive(Default)]
    pub(super) struct StaleReplies {
        writes: Cell<u64>,
        last: RefCell<BTreeMap<ClientId, Bytes>>,
    }

    impl StaleReplies {
        pub(super) fn substitute(&self, client: ClientId, data: Bytes) -> Bytes {
            let n = self.writes.get().wrapping_add(1);
            self.writes.set(n);
            let previous = self.last.borrow_mut().insert(client, data.clone());
            match previous {
                Some(stale) if n.is_multiple_of(STALE_EVERY) => stale,
                _ => data,
            }
        }

        pub(super) fn forget(&self, client: ClientId) {
            self.last.borrow_mut().remove(&client);
        }
    }
}

/// Logs a disk request that failed. A missing file is an answer, not a
/// failure (no snapshot yet).
fn log_disk_failure(id: keel_engine::disk::RequestId, result: &keel_engine::disk::DiskResult) {
    if let Err(e) = result {
        if !e.not_found {
            tracing::warn!("disk request {id} failed: {e}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bind_addresses() {
        assert_eq!(
            parse_bind_addr("*"),
            Some(IpAddr::V4(Ipv4Addr::UNSPECIFIED))
        );
        assert_eq!(
            parse_bind_addr("::*"),
            Some(IpAddr::V6(Ipv6Addr::UNSPECIFIED))
        );
        assert_eq!(
            parse_bind_addr("127.0.0.1"),
            Some(IpAddr::V4(Ipv4Addr::LOCALHOST))
        );
        assert_eq!(
            parse_bind_addr("::1"),
            Some(IpAddr::V6(Ipv6Addr::LOCALHOST))
        );
        assert_eq!(parse_bind_addr("localhost"), None);
    }

    /// A RESP connection to a server of these tests.
    struct Conn {
        stream: std::net::TcpStream,
        buf: BytesMut,
    }

    impl Conn {
        fn call(&mut self, args: &[&str]) -> keel_engine::resp::frame::Frame {
            use std::io::{Read, Write};
            let args: Vec<&[u8]> = args.iter().map(|a| a.as_bytes()).collect();
            let req = keel_engine::testing::request(&args);
            self.stream.write_all(&req).expect("write");
            loop {
                let frame = keel_engine::resp::frame::read_frame(&mut self.buf);
                if let Some(frame) = frame.expect("a well-formed reply") {
                    return frame;
                }
                let mut chunk = [0u8; 16 * 1024];
                let n = self.stream.read(&mut chunk).expect("read");
                assert!(n > 0, "the server closed the connection");
                self.buf.extend_from_slice(&chunk[..n]);
            }
        }

        fn info_field(&mut self, field: &str) -> String {
            use keel_engine::resp::frame::Frame;
            let Frame::Bulk(text) = self.call(&["INFO", "persistence"]) else {
                panic!("INFO replies a bulk string");
            };
            let text = String::from_utf8_lossy(&text).into_owned();
            let prefix = format!("{field}:");
            let line = text.lines().find_map(|l| l.strip_prefix(&prefix));
            line.expect("the field is there").trim().to_string()
        }
    }

    /// A background save takes its next step at once (no timer round
    /// trip) but never while a client has input waiting: commands sent
    /// during the save are answered while it still runs, and it completes.
    #[test]
    fn clients_are_served_between_the_steps_of_a_background_save() {
        use keel_engine::resp::frame::Frame;
        let dir = crate::disk::TempDir::new("driver-steps");
        let config = Config {
            port: 0,
            bind: vec!["127.0.0.1".into()],
            dir: dir.0.display().to_string(),
            ..Default::default()
        };
        let server = crate::spawn_server(config).expect("the server starts");
        let stream = std::net::TcpStream::connect(server.addr()).expect("connect");
        stream
            .set_read_timeout(Some(Duration::from_secs(30)))
            .expect("a timeout");
        let mut c = Conn {
            stream,
            buf: BytesMut::new(),
        };
        // 200k keys: a walk of hundreds of steps.
        for chunk in 0..200 {
            let mut args = vec!["MSET".to_string()];
            for i in 0..1000 {
                args.push(format!("key:{chunk}:{i}"));
                args.push("value-0123456789".into());
            }
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            assert_eq!(c.call(&args), Frame::Simple("OK".into()));
        }
        let started = c.call(&["BGSAVE"]);
        assert_eq!(started, Frame::Simple("Background saving started".into()));
        let mut answered_while_saving = 0;
        while c.info_field("rdb_bgsave_in_progress") == "1" {
            assert_eq!(c.call(&["PING"]), Frame::Simple("PONG".into()));
            answered_while_saving += 1;
        }
        assert!(
            answered_while_saving >= 2,
            "only {answered_while_saving} PINGs answered during the save"
        );
        assert_eq!(c.info_field("rdb_last_bgsave_status"), "ok");
        assert!(dir.0.join("dump.rdb").exists());
        server.shutdown();
    }

    /// A notification before the wait is kept for it, a wait dropped
    /// unfinished takes nothing, and a waiting task is woken.
    #[tokio::test(flavor = "current_thread")]
    async fn a_signal_keeps_one_permit_for_its_waiter() {
        use std::task::Context;
        let signal = Rc::new(Signal::default());
        signal.notify_one();
        signal.notify_one();
        signal.notified().await;
        {
            let waker = std::task::Waker::noop();
            let mut cx = Context::from_waker(waker);
            let mut unfinished = std::pin::pin!(signal.notified());
            assert!(
                unfinished.as_mut().poll(&mut cx).is_pending(),
                "one permit only"
            );
        }
        signal.notify_one();
        signal.notified().await;
        let local = tokio::task::LocalSet::new();
        let woken = Rc::new(Cell::new(false));
        let waiter = {
            let (signal, woken) = (signal.clone(), woken.clone());
            local.spawn_local(async move {
                signal.notified().await;
                woken.set(true);
            })
        };
        local
            .run_until(async {
                tokio::task::yield_now().await;
                assert!(!woken.get(), "no permit: the task waits");
                signal.notify_one();
                waiter.await.expect("the waiter ends");
            })
            .await;
        assert!(woken.get());
    }

    #[test]
    fn only_missing_addresses_are_skippable() {
        assert!(is_skippable(&io::Error::from(
            io::ErrorKind::AddrNotAvailable
        )));
        assert!(!is_skippable(&io::Error::from(io::ErrorKind::AddrInUse)));
    }
}
