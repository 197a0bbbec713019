//! The running-script gate: a script that did not end in its first slice
//! (see [`crate::cmd::scripting`]) is resumed by the node's timer, one
//! slice per [`Node::handle_timeout`], with [`Node::poll_timeout`] asking
//! for "now" so the driver serves connections in between.
//!
//! While it runs the script is atomic, as in Redis:
//! - its own client's further input waits until it ends;
//! - other clients' input waits until `busy-reply-threshold` has passed,
//!   then their commands run only if flagged `allow-busy` (AUTH, HELLO,
//!   MULTI, DISCARD, WATCH, SCRIPT KILL, FUNCTION KILL, SHUTDOWN NOSAVE,
//!   ...); the others get `-BUSY` naming SCRIPT KILL or FUNCTION KILL;
//! - the master client's stream waits (a replica never answers it -BUSY);
//! - the timer runs no cron (no active expiry, no save points, no blocked
//!   client timeouts, no replication cron): it only resumes the script;
//! - the client's execution unit stays open, so the script's effects reach
//!   the AOF and replicas together, wrapped in MULTI/EXEC, when it ends.

use super::{Node, Outcome};
use crate::client::{Client, ClientId, ClientInfo, ReplyMode};
use crate::cmd::scripting::{resume_running, Finished};
use crate::cmd::{flags, CommandSpec};
use crate::notify;
use crate::pubsub::obuf;
use crate::resp::{encode, Reply};
use crate::util::eq_ic;
use bytes::Bytes;

impl Node {
    /// Whether a script is suspended between two slices.
    pub fn is_running_script(&self) -> bool {
        self.srv.scripting.running.is_some()
    }

    /// Around a client's top-level command: scripts it starts may be
    /// suspended (not the master's stream, which must apply in order).
    pub(super) fn allow_script_suspension(&mut self, client: &Client, allow: bool) {
        self.srv.scripting.may_suspend = allow && !self.srv.repl.is_master_client(client.id);
    }

    /// The command `client` just ran started a script that goes on: its
    /// reply, statistics and execution unit wait for the end.
    pub(super) fn script_suspended_for(&self, client: &Client) -> bool {
        self.srv.scripting.running_client() == Some(client.id)
    }

    /// Whether `client`'s input must wait: it is the script's caller, the
    /// master, or the script has not passed the busy threshold yet.
    pub(super) fn script_holds_input(&self, client: &Client) -> bool {
        let Some(script) = self.srv.scripting.running.as_deref() else {
            return false;
        };
        script.client == client.id
            || self.srv.repl.is_master_client(client.id)
            || !script.is_busy(self.srv.now.mono_ms, self.srv.config.busy_reply_threshold)
    }

    /// While a script runs (past the threshold, or its input would wait):
    /// the refusal of a command that is not allowed meanwhile, with how to
    /// count it. SHUTDOWN runs only with NOSAVE (or to report its own
    /// syntax errors and ABORT), and counts as a call that failed.
    pub(super) fn busy_refusal(
        &self,
        client: &Client,
        spec: &CommandSpec,
        full_name: &str,
        args: &[Bytes],
    ) -> Option<(Reply, Outcome)> {
        let script = self.srv.scripting.running.as_deref()?;
        let busy = script.kind.busy_error();
        if full_name == "shutdown" {
            return shutdown_saves(args)
                .then(|| (busy, Outcome::Ran(full_name.to_string().into())));
        }
        if spec.has(flags::ALLOW_BUSY) {
            return None;
        }
        let reply = match (full_name, &busy) {
            // Redis aborts a refused EXEC as a transaction, in MULTI or not.
            ("exec", Reply::Error(text)) if client.multi.is_none() => Reply::error(format!(
                "EXECABORT Transaction discarded because of: {text}"
            )),
            _ => busy,
        };
        Some((reply, Outcome::Rejected(full_name.to_string().into())))
    }

    /// SIGTERM while a script runs waits for its end (see
    /// [`crate::lua::Scripting::shutdown_after_script`]). Whether it waits.
    pub(super) fn defer_shutdown_for_script(&mut self) -> bool {
        let running = self.is_running_script();
        self.srv.scripting.shutdown_after_script |= running;
        running
    }

    /// After a command that made the dataset dirty: signals the keys it
    /// wrote that somebody waits on. A script (EVAL, FCALL, ...) writes
    /// keys its arguments need not name: every waited key is signalled, as
    /// after EXEC; one that goes on signals when it ends (it is atomic).
    pub(super) fn signal_keys_written_by(
        &mut self,
        client: &Client,
        spec: &CommandSpec,
        args: &[Bytes],
    ) {
        if self.script_suspended_for(client) {
            return;
        }
        if spec.group == "scripting" {
            self.signal_every_waited_key();
        } else {
            self.signal_written_keys(spec, args);
        }
    }

    /// The deadline [`Node::poll_timeout`] gives while a script runs: now.
    pub(super) fn script_deadline(&self) -> Option<u64> {
        (self.is_running_script() && !self.srv.shutting_down).then_some(self.srv.now.mono_ms)
    }

    /// The timer's work while a script runs: its next slice, and once past
    /// the threshold the other clients' waiting input (answered -BUSY or
    /// run when allowed). Whether a script was running.
    pub(super) fn step_running_script(&mut self) -> bool {
        let Some(id) = self.srv.scripting.running_client() else {
            return false;
        };
        if self.srv.shutting_down {
            return true;
        }
        let (mut client, gone) = match self.clients.remove(&id) {
            Some(client) => (client, false),
            None => (Box::new(self.stand_in_client(id)), true),
        };
        notify::sync_key_logs(&mut self.srv);
        let finished = resume_running(&mut self.srv, &mut client, &mut self.clients);
        notify::publish_logged(&mut self.srv, Some(&mut client), &mut self.clients);
        match finished {
            Some(done) => self.script_ended(client, done, gone),
            None => {
                if !gone {
                    self.clients.insert(id, client);
                }
                self.serve_waiting();
            }
        }
        true
    }

    /// The caller of a script closed its connection: the script still
    /// runs to its end (it is atomic) with a client of the same id that
    /// nobody reads.
    fn stand_in_client(&self, id: ClientId) -> Client {
        let info = ClientInfo {
            addr: String::new(),
            laddr: String::new(),
            fd: -1,
        };
        Client::new(id, info, self.srv.now.mono_ms, true)
    }

    /// The script ended: what [`Node::execute`] left for its end (the
    /// unit, the statistics, the reply), then the caller's pipelined input
    /// and everybody else's; a SIGTERM that came meanwhile takes effect.
    fn script_ended(&mut self, mut client: Box<Client>, done: Finished, gone: bool) {
        let Finished { reply, script } = done;
        let others_before = self.clients.len();
        self.srv.effects.end_unit();
        self.fan_out_effects(Some(&mut client));
        self.count(&reply, &Outcome::Ran(script.stats_name.as_str()));
        if self.srv.dirty > script.dirty_at_start {
            if let Some(spec) = self.srv.table.lookup(&script.command[0]) {
                self.signal_keys_written_by(&client, spec, &script.command);
            }
        }
        if !gone {
            self.answer_script_caller(&mut client, &reply);
        }
        self.after_command(&mut client, others_before);
        if !gone {
            self.process(&mut client);
            self.finish(client);
        }
        self.serve_waiting();
        if std::mem::take(&mut self.srv.scripting.shutdown_after_script) {
            self.request_shutdown(self.srv.now);
        }
    }

    /// The script's reply to its caller, as [`Node::execute`] would have
    /// written it.
    fn answer_script_caller(&mut self, client: &mut Client, reply: &Reply) {
        if client.replies_enabled() {
            encode(reply, client.protocol, &mut client.out);
        }
        if client.reply_mode == ReplyMode::Skipping {
            client.reply_mode = ReplyMode::On;
        }
        let limits = &self.srv.config.client_output_buffer_limit;
        if obuf::over_limit(client, limits, self.srv.now.mono_ms) {
            // Closed, and logged (`obuf::log_closing`), by `Node::finish`.
            client.killed = true;
        }
    }
}

/// Whether SHUTDOWN with these arguments would save (so is refused while
/// a script runs): only SAVE, NOW and FORCE; NOSAVE, ABORT or anything
/// else (a syntax error to report) goes to the command.
fn shutdown_saves(args: &[Bytes]) -> bool {
    args[1..]
        .iter()
        .all(|a| eq_ic(a, "save") || eq_ic(a, "now") || eq_ic(a, "force"))
}

#[cfg(test)]
mod tests;
