//! The script a node runs across slices (one at most), and what the rest
//! of the node asks about it: whether it is past `busy-reply-threshold`,
//! the `-BUSY` error of its kind, SCRIPT KILL / FUNCTION KILL.
//!
//! While it is suspended it lives in [`super::Scripting::running`]; the
//! node takes it out for each slice ([`crate::cmd::scripting::resume_running`]).

use super::ScriptRun;
use crate::client::{Client, ClientId};
use crate::resp::{Protocol, Reply};
use crate::time::Now;
use bytes::Bytes;

/// An EVAL script or a FUNCTION (the errors name the matching KILL).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Eval,
    Function,
}

/// `-BUSY` while an EVAL script runs.
pub const BUSY_EVAL: &str =
    "BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.";
/// `-BUSY` while a function runs.
pub const BUSY_FUNCTION: &str =
    "BUSY Redis is busy running a script. You can only call FUNCTION KILL or SHUTDOWN NOSAVE.";
const NOTBUSY: &str = "NOTBUSY No scripts in execution right now.";
const UNKILLABLE: &str = "UNKILLABLE Sorry the script already executed write commands against the dataset. You can either wait the script termination or kill the server in a hard way using the SHUTDOWN NOSAVE command.";

impl Kind {
    /// The `-BUSY` error that names this kind's KILL.
    pub fn busy_error(self) -> Reply {
        Reply::err(match self {
            Kind::Eval => BUSY_EVAL,
            Kind::Function => BUSY_FUNCTION,
        })
    }
}

/// What a script changes of its caller's client while it runs, and puts
/// back between slices and at the end.
#[derive(Debug, Clone, Copy)]
pub struct ClientContext {
    pub db: usize,
    pub protocol: Protocol,
    pub deny_blocking: bool,
}

impl ClientContext {
    pub fn of(client: &Client) -> Self {
        ClientContext {
            db: client.db,
            protocol: client.protocol,
            deny_blocking: client.deny_blocking,
        }
    }

    pub fn restore(self, client: &mut Client) {
        client.db = self.db;
        client.protocol = self.protocol;
        client.deny_blocking = self.deny_blocking;
    }
}

/// A script or function started by a client and not finished yet.
#[derive(Debug)]
pub struct RunningScript {
    pub run: ScriptRun,
    pub kind: Kind,
    /// The calling client.
    pub client: ClientId,
    /// The command that started it (EVAL ..., FCALL ...), as sent.
    pub command: Vec<Bytes>,
    /// Its name in the command statistics (`eval`, `fcall_ro`, ...).
    pub stats_name: String,
    /// When it started: the time the script's commands see throughout,
    /// as in Redis (a key does not expire in the middle of a script).
    pub started: Now,
    /// The server's dirty counter when it started.
    pub dirty_at_start: u64,
    /// EVAL_RO, FCALL_RO or a `no-writes` script.
    pub read_only: bool,
    /// It called a write command: it can no longer be killed.
    pub wrote: bool,
    /// SCRIPT KILL / FUNCTION KILL asked to stop it at the next slice.
    pub kill_requested: bool,
    /// Its client as it was before the script.
    pub caller: ClientContext,
    /// The database the script selected (SELECT inside it lasts until it ends).
    pub db: usize,
}

impl RunningScript {
    /// Milliseconds it has run for, at `now_ms`.
    pub fn elapsed_ms(&self, now_ms: u64) -> u64 {
        now_ms.saturating_sub(self.started.mono_ms)
    }

    /// Whether it ran past the threshold: others now get `-BUSY`.
    pub fn is_busy(&self, now_ms: u64, threshold_ms: u64) -> bool {
        self.elapsed_ms(now_ms) >= threshold_ms
    }
}

impl super::Scripting {
    /// SCRIPT KILL (`by` Eval) or FUNCTION KILL (`by` Function): the
    /// reply, Redis's checks in Redis's order. An accepted kill stops the
    /// script at its next slice.
    pub fn request_kill(&mut self, by: Kind) -> Reply {
        let Some(script) = self.running.as_mut() else {
            return Reply::err(NOTBUSY);
        };
        if script.wrote {
            return Reply::err(UNKILLABLE);
        }
        if script.kind != by {
            return script.kind.busy_error();
        }
        script.kill_requested = true;
        Reply::OK
    }

    /// The client whose script is running, if any.
    pub fn running_client(&self) -> Option<ClientId> {
        self.running.as_ref().map(|s| s.client)
    }
}
