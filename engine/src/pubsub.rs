//! The pub/sub registry: which clients listen to which channels, patterns
//! and shard channels, and the delivery of messages to them.
//!
//! The server-side index ([`PubSub`]) maps each channel, pattern and shard
//! channel to its subscribers; each client keeps its own side
//! ([`Subscriptions`], in [`Client::subs`]) so that its subscriptions can
//! be listed, counted and dropped without a scan. Both sides change
//! together, only through this module.
//!
//! Messages to clients other than the caller are encoded into their
//! output buffers here; the node flushes them after the command
//! ([`PubSub::take_pending_flush`]) and closes those the output buffer
//! limits condemned ([`obuf`]).

pub mod obuf;

use crate::client::{Client, ClientId, ReplyMode};
use crate::glob::Pattern;
use crate::node::Clients;
use crate::resp::{encode, Reply};
use bytes::Bytes;
use std::collections::{BTreeMap, BTreeSet};

/// The three kinds of subscription, each with its own namespace and
/// reply names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Channel,
    Pattern,
    Shard,
}

impl Kind {
    fn subscribe_name(self) -> &'static str {
        match self {
            Kind::Channel => "subscribe",
            Kind::Pattern => "psubscribe",
            Kind::Shard => "ssubscribe",
        }
    }

    fn unsubscribe_name(self) -> &'static str {
        match self {
            Kind::Channel => "unsubscribe",
            Kind::Pattern => "punsubscribe",
            Kind::Shard => "sunsubscribe",
        }
    }
}

/// One client's subscriptions.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Subscriptions {
    pub channels: BTreeSet<Bytes>,
    /// In subscription order: PUNSUBSCRIBE without arguments answers in
    /// that order (Redis 7.0 keeps a client's patterns in a list).
    pub patterns: Vec<Bytes>,
    pub shard_channels: BTreeSet<Bytes>,
}

impl Subscriptions {
    /// Whether the client is subscribed to anything (Redis's CLIENT_PUBSUB
    /// flag: RESP2 subscribed mode, the `pubsub` client class, flag `P`).
    pub fn any(&self) -> bool {
        !self.channels.is_empty() || !self.patterns.is_empty() || !self.shard_channels.is_empty()
    }

    /// The count subscribe and unsubscribe replies carry: channels and
    /// patterns together, shard channels on their own.
    fn count(&self, kind: Kind) -> i64 {
        let n = match kind {
            Kind::Channel | Kind::Pattern => self.channels.len() + self.patterns.len(),
            Kind::Shard => self.shard_channels.len(),
        };
        n as i64
    }

    fn contains(&self, kind: Kind, name: &[u8]) -> bool {
        match kind {
            Kind::Channel => self.channels.contains(name),
            Kind::Pattern => self.patterns.iter().any(|p| p == name),
            Kind::Shard => self.shard_channels.contains(name),
        }
    }

    fn insert(&mut self, kind: Kind, name: Bytes) {
        match kind {
            Kind::Channel => {
                self.channels.insert(name);
            }
            Kind::Pattern => self.patterns.push(name),
            Kind::Shard => {
                self.shard_channels.insert(name);
            }
        }
    }

    fn remove(&mut self, kind: Kind, name: &[u8]) -> bool {
        match kind {
            Kind::Channel => self.channels.remove(name),
            Kind::Pattern => {
                let before = self.patterns.len();
                self.patterns.retain(|p| p != name);
                self.patterns.len() != before
            }
            Kind::Shard => self.shard_channels.remove(name),
        }
    }

    /// Every name of `kind`, in the order an unsubscribe-all answers.
    fn names(&self, kind: Kind) -> Vec<Bytes> {
        match kind {
            Kind::Channel => self.channels.iter().cloned().collect(),
            Kind::Pattern => self.patterns.clone(),
            Kind::Shard => self.shard_channels.iter().cloned().collect(),
        }
    }
}

/// A pattern with its compiled form (compiled once, matched on every PUBLISH).
#[derive(Debug)]
struct PatternEntry {
    glob: Pattern,
    subscribers: BTreeSet<ClientId>,
}

/// The server-side index of subscriptions.
#[derive(Debug, Default)]
pub struct PubSub {
    channels: BTreeMap<Bytes, BTreeSet<ClientId>>,
    patterns: BTreeMap<Bytes, PatternEntry>,
    shard_channels: BTreeMap<Bytes, BTreeSet<ClientId>>,
    /// Clients other than the caller that were sent messages by the
    /// running command: the node flushes them afterwards.
    pending_flush: Vec<ClientId>,
    /// `keymiss` events waiting to be published, by database
    /// ([`crate::notify::key_missed`]).
    key_misses: Vec<(usize, Bytes)>,
}

impl PubSub {
    /// Channels with at least one subscriber (INFO pubsub_channels).
    pub fn channel_count(&self) -> usize {
        self.channels.len()
    }

    /// Distinct patterns subscribed to (INFO pubsub_patterns, PUBSUB NUMPAT).
    pub fn pattern_count(&self) -> usize {
        self.patterns.len()
    }

    /// Shard channels with at least one subscriber (INFO pubsubshard_channels).
    pub fn shard_channel_count(&self) -> usize {
        self.shard_channels.len()
    }

    /// Active channels (or shard channels) matching `pattern`, if given.
    pub fn active(&self, kind: Kind, pattern: Option<&[u8]>) -> Vec<Bytes> {
        let glob = pattern.map(Pattern::new);
        let names: Box<dyn Iterator<Item = &Bytes>> = match kind {
            Kind::Shard => Box::new(self.shard_channels.keys()),
            _ => Box::new(self.channels.keys()),
        };
        names
            .filter(|name| glob.as_ref().is_none_or(|g| g.matches(name)))
            .cloned()
            .collect()
    }

    /// Subscribers of a channel (or shard channel), patterns excluded.
    pub fn subscriber_count(&self, kind: Kind, channel: &[u8]) -> usize {
        let map = match kind {
            Kind::Shard => &self.shard_channels,
            _ => &self.channels,
        };
        map.get(channel).map_or(0, BTreeSet::len)
    }

    /// The clients that received messages since the last call.
    pub fn take_pending_flush(&mut self) -> Vec<ClientId> {
        std::mem::take(&mut self.pending_flush)
    }

    /// Logs a `keymiss` event for [`crate::notify::publish_logged`].
    pub fn note_key_miss(&mut self, db: usize, key: &[u8]) {
        self.key_misses.push((db, Bytes::copy_from_slice(key)));
    }

    /// The `keymiss` events logged since the last call, oldest first.
    pub fn take_key_misses(&mut self) -> Vec<(usize, Bytes)> {
        std::mem::take(&mut self.key_misses)
    }

    fn add(&mut self, kind: Kind, name: &Bytes, id: ClientId) {
        match kind {
            Kind::Channel => {
                self.channels.entry(name.clone()).or_default().insert(id);
            }
            Kind::Shard => {
                self.shard_channels
                    .entry(name.clone())
                    .or_default()
                    .insert(id);
            }
            Kind::Pattern => {
                let entry = self
                    .patterns
                    .entry(name.clone())
                    .or_insert_with(|| PatternEntry {
                        glob: Pattern::new(name),
                        subscribers: BTreeSet::new(),
                    });
                entry.subscribers.insert(id);
            }
        }
    }

    /// Removes `id` from `name`'s subscribers, dropping the entry once empty.
    fn drop_subscriber(&mut self, kind: Kind, name: &[u8], id: ClientId) {
        let emptied = match kind {
            Kind::Channel => remove_from(&mut self.channels, name, id),
            Kind::Shard => remove_from(&mut self.shard_channels, name, id),
            Kind::Pattern => match self.patterns.get_mut(name) {
                Some(entry) => {
                    entry.subscribers.remove(&id);
                    entry.subscribers.is_empty()
                }
                None => false,
            },
        };
        if emptied && kind == Kind::Pattern {
            self.patterns.remove(name);
        }
    }

    /// Subscribes `client`; the reply is the confirmation (a push in RESP3).
    pub fn subscribe(&mut self, client: &mut Client, kind: Kind, name: &Bytes) -> Reply {
        if !client.subs.contains(kind, name) {
            client.subs.insert(kind, name.clone());
            self.add(kind, name, client.id);
        }
        confirmation(
            kind.subscribe_name(),
            Reply::Bulk(name.clone()),
            client.subs.count(kind),
        )
    }

    /// Unsubscribes `client` from one name (subscribed or not); the reply
    /// is the confirmation.
    pub fn unsubscribe(&mut self, client: &mut Client, kind: Kind, name: &Bytes) -> Reply {
        if client.subs.remove(kind, name) {
            self.drop_subscriber(kind, name, client.id);
        }
        confirmation(
            kind.unsubscribe_name(),
            Reply::Bulk(name.clone()),
            client.subs.count(kind),
        )
    }

    /// Unsubscribes `client` from every name of `kind`: one confirmation
    /// each, or a single one with a null name when there was none.
    pub fn unsubscribe_all(&mut self, client: &mut Client, kind: Kind) -> Vec<Reply> {
        let names = client.subs.names(kind);
        if names.is_empty() {
            return vec![confirmation(
                kind.unsubscribe_name(),
                Reply::Null,
                client.subs.count(kind),
            )];
        }
        names
            .iter()
            .map(|name| self.unsubscribe(client, kind, name))
            .collect()
    }

    /// Drops every subscription of `client`, silently (RESET, disconnect).
    pub fn forget(&mut self, client: &mut Client) {
        let subs = std::mem::take(&mut client.subs);
        for name in &subs.channels {
            self.drop_subscriber(Kind::Channel, name, client.id);
        }
        for name in &subs.patterns {
            self.drop_subscriber(Kind::Pattern, name, client.id);
        }
        for name in &subs.shard_channels {
            self.drop_subscriber(Kind::Shard, name, client.id);
        }
    }

    /// Drops every subscription of a client that is already gone (removed
    /// without passing through [`PubSub::forget`], e.g. by CLIENT KILL):
    /// a walk of the whole index, for that rare case.
    pub fn forget_id(&mut self, id: ClientId) {
        let without = |ids: &mut BTreeSet<ClientId>| {
            ids.remove(&id);
            !ids.is_empty()
        };
        self.channels.retain(|_, ids| without(ids));
        self.shard_channels.retain(|_, ids| without(ids));
        self.patterns.retain(|_, e| without(&mut e.subscribers));
    }

    /// Who hears a message on `channel`: each channel subscriber, then one
    /// delivery per (matching pattern, subscriber).
    fn audience(&self, channel: &[u8]) -> Vec<(ClientId, Option<Bytes>)> {
        let mut out: Vec<(ClientId, Option<Bytes>)> = self
            .channels
            .get(channel)
            .into_iter()
            .flatten()
            .map(|id| (*id, None))
            .collect();
        for (pattern, entry) in &self.patterns {
            if entry.glob.matches(channel) {
                out.extend(
                    entry
                        .subscribers
                        .iter()
                        .map(|id| (*id, Some(pattern.clone()))),
                );
            }
        }
        out
    }
}

/// Removes `id` from the set under `name`; true if the set is now empty
/// (and removed).
fn remove_from(map: &mut BTreeMap<Bytes, BTreeSet<ClientId>>, name: &[u8], id: ClientId) -> bool {
    let Some(ids) = map.get_mut(name) else {
        return false;
    };
    ids.remove(&id);
    if ids.is_empty() {
        map.remove(name);
        return true;
    }
    false
}

/// `[kind, name, count]`: a push in RESP3, an array in RESP2.
fn confirmation(kind: &'static str, name: Reply, count: i64) -> Reply {
    Reply::Push(vec![Reply::bulk_str(kind), name, Reply::Int(count)])
}

/// Whether `client` is sent messages now: not with CLIENT REPLY OFF (or
/// while its own reply is being skipped), as Redis 7.0; not once it is
/// condemned to close.
fn accepts_messages(client: &Client) -> bool {
    matches!(client.reply_mode, ReplyMode::On | ReplyMode::SkipNext) && !client.killed
}

/// Everything PUBLISH needs besides the clients.
pub struct Delivery<'a> {
    pub pubsub: &'a mut PubSub,
    pub limits: &'a obuf::Limits,
    pub now_ms: u64,
}

impl Delivery<'_> {
    /// Publishes `message` on `channel` (`shard`: on the shard channel);
    /// returns how many deliveries were made. `caller` is the client
    /// running the command, if any (it is not among `others`).
    pub fn publish(
        &mut self,
        caller: Option<&mut Client>,
        others: &mut Clients,
        kind: Kind,
        channel: &Bytes,
        message: &Bytes,
    ) -> usize {
        let audience: Vec<(ClientId, Option<Bytes>)> = match kind {
            Kind::Shard => self
                .pubsub
                .shard_channels
                .get(channel.as_ref())
                .into_iter()
                .flatten()
                .map(|id| (*id, None))
                .collect(),
            _ => self.pubsub.audience(channel),
        };
        let mut caller = caller;
        let mut delivered = 0;
        for (id, pattern) in audience {
            let frame = message_frame(kind, pattern, channel, message);
            let target = match caller.as_deref_mut() {
                Some(c) if c.id == id => Some(c),
                _ => others.get_mut(&id).map(|c| &mut **c),
            };
            let Some(target) = target else { continue };
            delivered += 1;
            self.send(target, &frame);
        }
        delivered
    }

    /// Appends `frame` to `client`'s output and checks its limits.
    fn send(&mut self, client: &mut Client, frame: &Reply) {
        if !accepts_messages(client) {
            return;
        }
        encode(frame, client.protocol, &mut client.out);
        if obuf::over_limit(client, self.limits, self.now_ms) {
            // Redis frees such a client at once, unsent replies dropped;
            // the node logs it as it drops it (`obuf::log_closing`).
            client.killed = true;
        }
        self.pubsub.pending_flush.push(client.id);
    }
}

/// `message`, `pmessage` or `smessage`, as a push (an array in RESP2).
fn message_frame(kind: Kind, pattern: Option<Bytes>, channel: &Bytes, message: &Bytes) -> Reply {
    let bulk = |b: &Bytes| Reply::Bulk(b.clone());
    match (kind, pattern) {
        (Kind::Shard, _) => Reply::Push(vec![
            Reply::bulk_str("smessage"),
            bulk(channel),
            bulk(message),
        ]),
        (_, Some(pattern)) => Reply::Push(vec![
            Reply::bulk_str("pmessage"),
            Reply::Bulk(pattern),
            bulk(channel),
            bulk(message),
        ]),
        (_, None) => Reply::Push(vec![
            Reply::bulk_str("message"),
            bulk(channel),
            bulk(message),
        ]),
    }
}
