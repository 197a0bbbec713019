//! How a snapshot's entries become bytes: an RDB file (BGSAVE, the
//! replica's full-sync payload, the AOF's RDB preamble) or RESP commands
//! (the AOF base without preamble). The walk ([`super::snapshot`]) only
//! hands entries over; the encoder decides the form.

use crate::aof::format::encode_command;
use crate::db::snapshot::SnapInfo;
use crate::db::Object;
use crate::rdb::writer::{standard_aux, RdbWriter, WriteOptions};
use crate::server::Server;
use bytes::Bytes;

/// The RDB header a snapshot carries, by consumer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Header {
    /// A plain dump file (BGSAVE, SAVE).
    Dump,
    /// A dump that replicas will load: with the replication fields
    /// (stream id and offset at the snapshot instant) Redis adds.
    Replication { replid: String, offset: u64 },
    /// The base of a rewritten AOF (`aof-base 1`).
    AofBase,
}

pub enum Encoder {
    Rdb(RdbWriter),
    /// The command form of an AOF base; `out` holds what is not taken yet.
    Commands {
        out: Vec<u8>,
    },
}

impl Encoder {
    /// An RDB encoder with its header and the function libraries written.
    /// Besides the standard fields, a dump or a full-sync payload carries
    /// the replication history as of now (Redis's `rdbSaveInfoAuxFields`):
    /// a dump the node's own ([`crate::repl::snapshot::history_to_save`]),
    /// a payload the one the replicas were told; an AOF base none.
    pub fn rdb(srv: &Server, header: &Header) -> Encoder {
        use crate::repl::snapshot::{history_to_save, SavedHistory};
        let now = srv.now;
        let mut w = RdbWriter::new(WriteOptions::from_config(&srv.config, now));
        let mut aux = standard_aux(now.unix_ms / 1000, srv.memory_usage(0).total);
        let history = match header {
            Header::Dump => history_to_save(srv),
            Header::AofBase => {
                set_aux(&mut aux, "aof-base", "1".into());
                None
            }
            Header::Replication { replid, offset } => Some(SavedHistory {
                replid: replid.clone(),
                offset: *offset,
                // The stream after the snapshot selects its database again.
                stream_db: 0,
            }),
        };
        if let Some(history) = history {
            // Redis's order: the replication fields before aof-base.
            let aof_base = aux.iter().position(|(k, _)| *k == "aof-base");
            let at = aof_base.unwrap_or(aux.len());
            let fields = [
                ("repl-stream-db", history.stream_db.to_string()),
                ("repl-id", history.replid),
                ("repl-offset", history.offset.to_string()),
            ];
            aux.splice(at..at, fields);
        }
        w.begin(&aux);
        crate::lua::functions::write_libraries(srv, &mut w);
        Encoder::Rdb(w)
    }

    /// A command encoder, starting with the FUNCTION LOADs of the libraries.
    pub fn commands(srv: &Server) -> Encoder {
        let mut out = Vec::new();
        for argv in crate::lua::functions::load_commands(srv) {
            encode_command(&argv, &mut out);
        }
        Encoder::Commands { out }
    }

    /// The entries that follow belong to this database.
    pub fn select(&mut self, info: SnapInfo) {
        match self {
            Encoder::Rdb(w) => w.select_db(info.origin, info.size_at_start, info.expires_at_start),
            Encoder::Commands { out } => {
                let select = [
                    Bytes::from_static(b"SELECT"),
                    Bytes::from(info.origin.to_string()),
                ];
                encode_command(&select, out);
            }
        }
    }

    pub fn entry(&mut self, key: &[u8], obj: &Object, expire_at: Option<u64>) {
        match self {
            Encoder::Rdb(w) => w.write_entry(key, obj, expire_at),
            Encoder::Commands { out } => {
                crate::aof::rewrite::entry_commands(key, obj, expire_at, out)
            }
        }
    }

    /// Ends the output (an RDB's EOF and checksum; nothing for commands).
    pub fn finish(&mut self) {
        if let Encoder::Rdb(w) = self {
            w.finish();
        }
    }

    /// Bytes encoded and not taken yet.
    pub fn pending(&self) -> usize {
        match self {
            Encoder::Rdb(w) => w.pending(),
            Encoder::Commands { out } => out.len(),
        }
    }

    pub fn take(&mut self) -> Vec<u8> {
        match self {
            Encoder::Rdb(w) => w.take_output(),
            Encoder::Commands { out } => std::mem::take(out),
        }
    }

    pub fn is_rdb(&self) -> bool {
        matches!(self, Encoder::Rdb(_))
    }
}

fn set_aux(aux: &mut [(&'static str, String)], key: &str, value: String) {
    for (k, v) in aux.iter_mut() {
        if *k == key {
            *v = value.clone();
        }
    }
}

/// Encodes every database as it is now, at once: the foreground save
/// (SAVE, SHUTDOWN, DEBUG RELOAD), during which nothing else runs, and
/// which therefore needs no epoch (a background walk may be running).
pub fn encode_all_now(srv: &Server, enc: &mut Encoder) {
    for (index, db) in srv.dbs.iter().enumerate() {
        if db.is_empty() {
            continue;
        }
        enc.select(SnapInfo {
            origin: index,
            size_at_start: db.len() as u64,
            expires_at_start: db.expires().len() as u64,
        });
        for (key, obj) in db.keys().iter() {
            enc.entry(key, obj, db.expire_at(key));
        }
    }
    enc.finish();
}
