//! Blocked clients: who waits on which key, when each wait times out, and
//! serving the keys that became ready.
//!
//! A blocking command that finds no data sets `client.blocked` and answers
//! nothing ([`crate::cmd::blocking`]); the node then queues the client on
//! each of its keys, first blocked first served, as Redis does. Keys
//! become ready without hooks in every write: after a command that made
//! the dataset dirty, while anyone is blocked, the command's key
//! arguments that somebody waits on (in any database: MOVE, COPY ... DB)
//! are signalled; a command without key arguments (SWAPDB, FLUSHALL,
//! EXEC, ...) signals every key waited on. Ready keys are served after
//! the command, before any other command runs (Redis's
//! `handleClientsBlockedOnKeys`), each served client as an execution unit
//! of its own; a BLMOVE served that way signals its destination in turn.
//!
//! A served, timed-out or unblocked client is answered and queued to run
//! the input it received meanwhile. A client that goes away while blocked
//! (closed, CLIENT KILL) leaves every queue at once, so an element is
//! never handed to a client that cannot receive it.

use super::{Node, Outcome};
use crate::client::{BlockedOp, Client, ClientId, UnblockReason};
use crate::cmd::{blocking, flags, CommandSpec, Ctx};
use crate::resp::{encode, Reply};
use bytes::Bytes;
use std::collections::{BTreeMap, BTreeSet, HashSet, VecDeque};

/// The wait queues and timers of every blocked client.
#[derive(Debug, Default)]
pub(crate) struct Waits {
    /// Key → database → clients waiting there, first blocked first.
    queues: BTreeMap<Bytes, BTreeMap<usize, VecDeque<ClientId>>>,
    /// (deadline, client) for the waits that time out, soonest first.
    deadlines: BTreeSet<(u64, ClientId)>,
    /// Every blocked client's database, keys and deadline, to take it out
    /// of the queues even once the client itself is gone.
    waiting: BTreeMap<ClientId, Wait>,
    /// Keys that may have become ready, in the order they were signalled.
    ready: VecDeque<(usize, Bytes)>,
    ready_set: HashSet<(usize, Bytes)>,
    /// Clients answered since they blocked, to run their pending input.
    resume: VecDeque<ClientId>,
}

#[derive(Debug)]
struct Wait {
    db: usize,
    keys: Vec<Bytes>,
    deadline_ms: Option<u64>,
}

impl Waits {
    /// Whether no client is blocked.
    pub(crate) fn is_empty(&self) -> bool {
        self.waiting.is_empty()
    }

    /// The earliest deadline of a wait with a timeout.
    pub(crate) fn next_deadline(&self) -> Option<u64> {
        self.deadlines.first().map(|(t, _)| *t)
    }

    fn add(&mut self, id: ClientId, db: usize, keys: &[Bytes], deadline_ms: Option<u64>) {
        for key in keys {
            let by_db = self.queues.entry(key.clone()).or_default();
            by_db.entry(db).or_default().push_back(id);
        }
        if let Some(t) = deadline_ms {
            self.deadlines.insert((t, id));
        }
        let keys = keys.to_vec();
        self.waiting.insert(
            id,
            Wait {
                db,
                keys,
                deadline_ms,
            },
        );
    }

    /// Takes `id` out of every queue and timer (nothing if not blocked).
    fn remove(&mut self, id: ClientId) {
        let Some(wait) = self.waiting.remove(&id) else {
            return;
        };
        if let Some(t) = wait.deadline_ms {
            self.deadlines.remove(&(t, id));
        }
        for key in &wait.keys {
            let Some(by_db) = self.queues.get_mut(key) else {
                continue;
            };
            if let Some(queue) = by_db.get_mut(&wait.db) {
                queue.retain(|c| *c != id);
                if queue.is_empty() {
                    by_db.remove(&wait.db);
                }
            }
            if by_db.is_empty() {
                self.queues.remove(key);
            }
        }
    }

    /// Marks `key` as possibly ready in every database where someone waits on it.
    fn signal(&mut self, key: &[u8]) {
        let Some(by_db) = self.queues.get(key) else {
            return;
        };
        let key = by_db.keys().map(|db| (*db, Bytes::copy_from_slice(key)));
        for entry in key.collect::<Vec<_>>() {
            self.push_ready(entry);
        }
    }

    /// Marks `key` of database `db` as possibly ready, if someone waits on it.
    fn signal_in(&mut self, db: usize, key: &Bytes) {
        let waited = self
            .queues
            .get(key)
            .is_some_and(|by_db| by_db.contains_key(&db));
        if waited {
            self.push_ready((db, key.clone()));
        }
    }

    /// Marks every key waited on as possibly ready.
    fn signal_all(&mut self) {
        let all: Vec<(usize, Bytes)> = self
            .queues
            .iter()
            .flat_map(|(key, by_db)| by_db.keys().map(|db| (*db, key.clone())))
            .collect();
        for entry in all {
            self.push_ready(entry);
        }
    }

    fn push_ready(&mut self, entry: (usize, Bytes)) {
        if self.ready_set.insert(entry.clone()) {
            self.ready.push_back(entry);
        }
    }

    fn pop_ready(&mut self) -> Option<(usize, Bytes)> {
        let entry = self.ready.pop_front()?;
        self.ready_set.remove(&entry);
        Some(entry)
    }

    /// The clients waiting on `key` in `db`, first blocked first.
    fn waiters(&self, db: usize, key: &[u8]) -> Vec<ClientId> {
        self.queues
            .get(key)
            .and_then(|by_db| by_db.get(&db))
            .map_or_else(Vec::new, |q| q.iter().copied().collect())
    }

    /// The clients whose deadline is before `now_ms`, soonest first (a
    /// wait times out once its deadline has passed, as in Redis).
    fn due(&self, now_ms: u64) -> Vec<ClientId> {
        self.deadlines
            .iter()
            .take_while(|(t, _)| *t < now_ms)
            .map(|(_, id)| *id)
            .collect()
    }
}

impl Node {
    /// After `client`'s command: starts its wait if the command blocked,
    /// carries out its CLIENT UNBLOCK requests, forgets the blocked
    /// clients the command closed (CLIENT KILL), then serves the keys that
    /// became ready. `others_before` is the number of other clients before
    /// the command ran.
    pub(super) fn after_command(&mut self, client: &mut Client, others_before: usize) {
        if let Some(blocked) = &client.blocked {
            let (db, deadline) = (blocked.db, blocked.deadline_ms);
            self.waits.add(client.id, db, &blocked.keys, deadline);
        }
        for (target, reason) in std::mem::take(&mut client.unblock_requests) {
            self.unblock_on_request(target, reason);
        }
        if self.clients.len() < others_before {
            self.forget_closed(client.id);
        }
        self.serve_ready_keys();
    }

    /// After a command that made the dataset dirty: signals the keys it
    /// wrote that somebody waits on.
    pub(super) fn signal_written_keys(&mut self, spec: &CommandSpec, args: &[Bytes]) {
        if self.waits.is_empty() {
            return;
        }
        if spec.has(flags::MOVABLE_KEYS) {
            // The keys are found by parsing (numkeys, STORE, ...): any
            // argument may be one, and a needless check costs one lookup.
            for arg in &args[1..] {
                self.waits.signal(arg);
            }
        } else if spec.first_key > 0 {
            for pos in spec.key_positions(args.len()) {
                self.waits.signal(&args[pos]);
            }
        } else {
            // SWAPDB, FLUSHALL, EXEC, ...: whatever they touched.
            self.waits.signal_all();
        }
    }

    /// After a write whose keys are not known from its arguments (a
    /// script): every waited key is checked.
    pub(super) fn signal_every_waited_key(&mut self) {
        if !self.waits.is_empty() {
            self.waits.signal_all();
        }
    }

    /// A client that goes away while blocked leaves every queue.
    pub(super) fn forget_wait(&mut self, id: ClientId) {
        self.waits.remove(id);
    }

    /// Blocked clients gone from the node while `caller`'s command ran.
    fn forget_closed(&mut self, caller: ClientId) {
        let gone: Vec<ClientId> = self
            .waits
            .waiting
            .keys()
            .filter(|id| **id != caller && !self.clients.contains_key(id))
            .copied()
            .collect();
        for id in gone {
            self.waits.remove(id);
        }
    }

    /// Serves ready keys, in the order they were signalled, until none is
    /// left (serving a BLMOVE can make its destination ready).
    fn serve_ready_keys(&mut self) {
        while let Some((db, key)) = self.waits.pop_ready() {
            for id in self.waits.waiters(db, &key) {
                if !self.srv.dbs[db].contains(&key, self.srv.now.unix_ms) {
                    break;
                }
                self.serve_one(id, db, &key);
            }
        }
    }

    /// Serves client `id`, blocked on `key` of `db`, if the key holds
    /// the type its command pops; otherwise it keeps waiting.
    fn serve_one(&mut self, id: ClientId, db: usize, key: &Bytes) {
        let Some(mut receiver) = self.clients.remove(&id) else {
            self.waits.remove(id);
            return;
        };
        let Some(blocked) = receiver.blocked.take() else {
            self.waits.remove(id);
            self.clients.insert(id, receiver);
            return;
        };
        self.srv.effects.begin_unit();
        let dirty_before = self.srv.dirty;
        let mut ctx = Ctx {
            srv: &mut self.srv,
            client: &mut receiver,
            others: &mut self.clients,
        };
        let reply = if blocking::holds_type_for(&mut ctx, key, &blocked.op) {
            blocking::serve(&mut ctx, key, &blocked.op)
        } else {
            None
        };
        self.srv.propagate_expired();
        let made_dirty = self.srv.dirty > dirty_before;
        self.srv.effects.command_done(db, &[], made_dirty);
        self.srv.effects.end_unit();
        let Some(reply) = reply else {
            receiver.blocked = Some(blocked);
            self.clients.insert(id, receiver);
            return;
        };
        if let (BlockedOp::Move { destination, .. }, true) = (&blocked.op, made_dirty) {
            self.waits.signal_in(db, destination);
        }
        self.answer_wait(receiver, reply);
    }

    /// Ends `client`'s wait with `reply`: out of the queues, the call
    /// counted (once, now that it completes, as Redis counts it), the
    /// reply written, its pending input to run next.
    fn answer_wait(&mut self, mut client: Box<Client>, reply: Reply) {
        let id = client.id;
        client.blocked = None;
        self.waits.remove(id);
        self.count(&reply, &Outcome::Ran(client.last_cmd.as_str()));
        if client.replies_enabled() {
            encode(&reply, client.protocol, &mut client.out);
        }
        self.clients.insert(id, client);
        self.waits.resume.push_back(id);
    }

    /// CLIENT UNBLOCK `target` (checked blocked by the command).
    fn unblock_on_request(&mut self, target: ClientId, reason: UnblockReason) {
        let Some(mut client) = self.clients.remove(&target) else {
            return;
        };
        if client.blocked.is_none() {
            self.clients.insert(target, client);
            return;
        }
        let reply = match reason {
            UnblockReason::Timeout => blocking::TIMEOUT_REPLY,
            UnblockReason::Error => Reply::err(blocking::UNBLOCKED_ERROR),
        };
        client.blocked = None;
        self.answer_wait(client, reply);
    }

    /// Answers the clients whose timeout has passed.
    pub(super) fn time_out_blocked_clients(&mut self) {
        for id in self.waits.due(self.srv.now.mono_ms) {
            match self.clients.remove(&id) {
                Some(client) => self.answer_wait(client, blocking::TIMEOUT_REPLY),
                None => self.waits.remove(id),
            }
        }
    }

    /// Runs the input that clients answered since they blocked received
    /// meanwhile (which may block them again, or serve others in turn).
    pub(super) fn resume_unblocked(&mut self) {
        while let Some(id) = self.waits.resume.pop_front() {
            if let Some(mut client) = self.clients.remove(&id) {
                self.process(&mut client);
                self.finish(client);
            }
        }
    }
}

#[cfg(test)]
impl Node {
    /// A connected client, for tests that set state no command sets yet.
    pub(crate) fn client_mut(&mut self, id: ClientId) -> Option<&mut Client> {
        self.clients.get_mut(&id).map(|c| &mut **c)
    }

    /// Clients in any wait queue, for tests that check none is left behind.
    pub(crate) fn queued_waiters(&self) -> usize {
        self.waits
            .queues
            .values()
            .flat_map(|q| q.values())
            .map(VecDeque::len)
            .sum()
    }
}
