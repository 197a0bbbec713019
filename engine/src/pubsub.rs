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
use bytes::{Bytes, BytesMut};
use std::collections::{BTreeMap, BTreeSet};
use std::ops::ControlFlow;

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
    /// running command: the node flushes them afterwards. Each is listed
    /// once (its [`Client::flush_round`] is `flush_round`).
    pending_flush: Vec<ClientId>,
    /// Counts the calls of [`PubSub::take_pending_flush`].
    flush_round: u64,
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

    /// The clients that received messages since the last call, each once,
    /// in the order of their first message.
    pub fn take_pending_flush(&mut self) -> Vec<ClientId> {
        self.flush_round += 1;
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
}

/// Lists `client` in `pending` (the list of flush round `round`) unless
/// it already is.
fn queue_flush(pending: &mut Vec<ClientId>, round: u64, client: &mut Client) {
    if client.flush_round != Some(round) {
        client.flush_round = Some(round);
        pending.push(client.id);
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
    ///
    /// Who hears it, in order: each channel subscriber, then one delivery
    /// per (matching pattern, subscriber). Each frame is encoded
    /// once per group (the channel's subscribers, then each matching
    /// pattern's) and protocol, and its bytes appended to every client of
    /// the group: the same bytes [`encode`] would write for each.
    pub fn publish(
        &mut self,
        caller: Option<&mut Client>,
        others: &mut Clients,
        kind: Kind,
        channel: &Bytes,
        message: &Bytes,
    ) -> usize {
        let pubsub = &mut *self.pubsub;
        let mut groups: Vec<(Option<&Bytes>, &BTreeSet<ClientId>)> = Vec::new();
        match kind {
            Kind::Shard => groups.extend(
                pubsub
                    .shard_channels
                    .get(channel.as_ref())
                    .map(|ids| (None, ids)),
            ),
            _ => {
                groups.extend(pubsub.channels.get(channel.as_ref()).map(|ids| (None, ids)));
                for (pattern, entry) in &pubsub.patterns {
                    if entry.glob.matches(channel) {
                        groups.push((Some(pattern), &entry.subscribers));
                    }
                }
            }
        }
        let mut caller = caller;
        let mut delivered = 0;
        for (pattern, ids) in groups {
            let mut sender = Sender {
                frame: message_frame(kind, pattern.cloned(), channel, message),
                shared: ids.len() > 1,
                // Room for the frame: its three or four bulks and headers.
                size: 64 + channel.len() + message.len() + pattern.map_or(0, |p| p.len()),
                encoded: [None, None],
                limits: self.limits,
                now_ms: self.now_ms,
                pending: &mut pubsub.pending_flush,
                round: pubsub.flush_round,
            };
            // The caller is not among `others`.
            crate::node::visit_clients(others, ids.iter(), |id, other| {
                let target = other.or(caller.as_deref_mut().filter(|c| c.id == id));
                if let Some(target) = target {
                    delivered += 1;
                    sender.send(target);
                }
                ControlFlow::Continue(())
            });
        }
        delivered
    }
}

/// Delivers one frame to the clients of one group.
struct Sender<'a> {
    frame: Reply,
    /// Whether the group has several clients: the frame is then encoded
    /// once per protocol and copied, else encoded straight into the output.
    shared: bool,
    /// The capacity to encode the frame into.
    size: usize,
    /// The frame's bytes in RESP2 and in RESP3, encoded on first use.
    encoded: [Option<BytesMut>; 2],
    limits: &'a obuf::Limits,
    now_ms: u64,
    pending: &'a mut Vec<ClientId>,
    round: u64,
}

impl Sender<'_> {
    /// Appends the frame to `target`'s output (unless it takes no
    /// messages now) and checks its limits.
    fn send(&mut self, target: &mut Client) {
        if !accepts_messages(target) {
            return;
        }
        let frame = &self.frame;
        if self.shared {
            let size = self.size;
            let bytes = self.encoded[target.protocol as usize].get_or_insert_with(|| {
                let mut buf = BytesMut::with_capacity(size);
                encode(frame, target.protocol, &mut buf);
                buf
            });
            target.out.extend_from_slice(bytes);
        } else {
            encode(frame, target.protocol, &mut target.out);
        }
        if obuf::over_limit(target, self.limits, self.now_ms) {
            // Redis frees such a client at once, unsent replies dropped;
            // the node logs it as it drops it (`obuf::log_closing`).
            target.killed = true;
        }
        queue_flush(self.pending, self.round, target);
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::ClientInfo;
    use crate::resp::Protocol;

    /// A RESP2 and a RESP3 subscriber of the channel and of a matching
    /// pattern, plus the caller subscribed in RESP3: each gets exactly the
    /// bytes `encode` writes for its own frame and protocol, in order,
    /// though each frame is encoded once per group and protocol.
    #[test]
    fn each_protocol_and_group_gets_its_own_bytes() {
        let mut pubsub = PubSub::default();
        let limits = obuf::Limits::default();
        let channel = Bytes::from("news");
        let pattern = Bytes::from("n*");
        let message = Bytes::from("hello");
        let mut clients = Clients::new();
        for (id, protocol) in [(2, Protocol::Resp2), (3, Protocol::Resp3)] {
            let mut c = Client::new(id, ClientInfo::default(), 0, true);
            c.protocol = protocol;
            pubsub.subscribe(&mut c, Kind::Channel, &channel);
            pubsub.subscribe(&mut c, Kind::Pattern, &pattern);
            c.out.clear();
            clients.insert(id, Box::new(c));
        }
        let mut caller = Client::new(1, ClientInfo::default(), 0, true);
        caller.protocol = Protocol::Resp3;
        pubsub.subscribe(&mut caller, Kind::Channel, &channel);
        caller.out.clear();
        let mut delivery = Delivery {
            pubsub: &mut pubsub,
            limits: &limits,
            now_ms: 0,
        };
        for _ in 0..2 {
            let n = delivery.publish(
                Some(&mut caller),
                &mut clients,
                Kind::Channel,
                &channel,
                &message,
            );
            assert_eq!(n, 5);
        }
        let expected = |protocol: Protocol, with_pattern: bool| {
            let mut out = BytesMut::new();
            for _ in 0..2 {
                let plain = message_frame(Kind::Channel, None, &channel, &message);
                encode(&plain, protocol, &mut out);
                if with_pattern {
                    let p = message_frame(Kind::Channel, Some(pattern.clone()), &channel, &message);
                    encode(&p, protocol, &mut out);
                }
            }
            out
        };
        assert_eq!(caller.out, expected(Protocol::Resp3, false));
        assert_eq!(clients[&2].out, expected(Protocol::Resp2, true));
        assert_eq!(clients[&3].out, expected(Protocol::Resp3, true));
        assert!(clients[&3].out.starts_with(b">3\r\n$7\r\nmessage\r\n"));
        assert!(clients[&2].out.starts_with(b"*3\r\n$7\r\nmessage\r\n"));
    }

    /// A client sent several messages between two flushes is listed once,
    /// in the order of its first message; after a flush it is listed again.
    #[test]
    fn a_client_is_listed_once_per_flush() {
        let mut pubsub = PubSub::default();
        let limits = obuf::Limits::default();
        let (a, b) = (Bytes::from("a"), Bytes::from("b"));
        let mut clients = Clients::new();
        for id in [2, 3] {
            let mut c = Client::new(id, ClientInfo::default(), 0, true);
            pubsub.subscribe(&mut c, Kind::Channel, &a);
            pubsub.subscribe(&mut c, Kind::Pattern, &Bytes::from("*"));
            clients.insert(id, Box::new(c));
        }
        let mut only_3 = Client::new(4, ClientInfo::default(), 0, true);
        pubsub.subscribe(&mut only_3, Kind::Channel, &b);
        clients.insert(4, Box::new(only_3));
        let mut delivery = Delivery {
            pubsub: &mut pubsub,
            limits: &limits,
            now_ms: 0,
        };
        let message = Bytes::from("m");
        assert_eq!(
            delivery.publish(None, &mut clients, Kind::Channel, &b, &message),
            3
        );
        assert_eq!(
            delivery.publish(None, &mut clients, Kind::Channel, &a, &message),
            4
        );
        assert_eq!(delivery.pubsub.take_pending_flush(), vec![4, 2, 3]);
        assert_eq!(
            delivery.publish(None, &mut clients, Kind::Channel, &a, &message),
            4
        );
        assert_eq!(delivery.pubsub.take_pending_flush(), vec![2, 3]);
        assert_eq!(delivery.pubsub.take_pending_flush(), Vec::<ClientId>::new());
    }

    /// Dense audiences (walked alongside the clients) and sparse ones
    /// (looked up) reach exactly the subscribers still connected, the
    /// caller included, and skip the ones gone.
    #[test]
    fn dense_and_sparse_audiences_reach_exactly_the_subscribers() {
        for (subscribers, dense) in [(&[2, 5, 8, 9, 10, 21, 30][..], true), (&[4, 8, 30], false)] {
            let mut pubsub = PubSub::default();
            let limits = obuf::Limits::default();
            let channel = Bytes::from("c");
            let mut clients = Clients::new();
            let mut caller = Client::new(8, ClientInfo::default(), 0, true);
            for id in (2..=21).chain([30]) {
                let mut c = Client::new(id, ClientInfo::default(), 0, true);
                if subscribers.contains(&id) {
                    pubsub.subscribe(&mut c, Kind::Channel, &channel);
                    c.out.clear();
                }
                if id != 8 {
                    clients.insert(id, Box::new(c));
                }
            }
            pubsub.subscribe(&mut caller, Kind::Channel, &channel);
            caller.out.clear();
            // 30 is gone without its subscription being forgotten yet.
            clients.remove(&30);
            assert_eq!(subscribers.len() * 4 >= clients.len(), dense);
            let mut delivery = Delivery {
                pubsub: &mut pubsub,
                limits: &limits,
                now_ms: 0,
            };
            let n = delivery.publish(
                Some(&mut caller),
                &mut clients,
                Kind::Channel,
                &channel,
                &Bytes::from("m"),
            );
            assert_eq!(n, subscribers.len() - 1);
            let frame = b"*3\r\n$7\r\nmessage\r\n$1\r\nc\r\n$1\r\nm\r\n";
            assert_eq!(&caller.out[..], frame);
            for (id, c) in &clients {
                let want: &[u8] = if subscribers.contains(id) { frame } else { b"" };
                assert_eq!(&c.out[..], want, "client {id}");
            }
        }
    }

    /// A lone subscriber (the frame encoded straight into its output)
    /// gets the same bytes, in its protocol, as members of a group.
    #[test]
    fn a_lone_subscriber_gets_its_protocol() {
        for (protocol, header) in [(Protocol::Resp2, "*3"), (Protocol::Resp3, ">3")] {
            let mut pubsub = PubSub::default();
            let limits = obuf::Limits::default();
            let mut c = Client::new(2, ClientInfo::default(), 0, true);
            c.protocol = protocol;
            pubsub.subscribe(&mut c, Kind::Shard, &Bytes::from("s"));
            c.out.clear();
            let mut clients = Clients::new();
            clients.insert(2, Box::new(c));
            let mut delivery = Delivery {
                pubsub: &mut pubsub,
                limits: &limits,
                now_ms: 0,
            };
            let n = delivery.publish(
                None,
                &mut clients,
                Kind::Shard,
                &Bytes::from("s"),
                &Bytes::from("hi"),
            );
            assert_eq!(n, 1);
            let want = format!("{header}\r\n$8\r\nsmessage\r\n$1\r\ns\r\n$2\r\nhi\r\n");
            assert_eq!(&clients[&2].out[..], want.as_bytes());
        }
    }
}
