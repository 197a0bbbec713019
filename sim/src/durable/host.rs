//! A durable server host: keel-server with the AOF on, its files on a
//! [`SimDisk`] under [`DATA_DIR`] that outlives crashes, restarted by a
//! supervisor when the process exits on its own (as Redis exits when an
//! fsync fails under `appendfsync always`).
//!
//! The host also gates the workload around restarts: from the moment a
//! process dies until the auditor has read what the new process
//! recovered, clients start no operation, so the audit sees the recovered
//! state before anyone writes again.

use crate::fault::{HostControl, DATA_DIR};
use crate::fault_disk::SimDisk;
use crate::{SimClock, SimTransport};
use keel_engine::Config;
use std::cell::{Cell, RefCell};
use std::path::PathBuf;
use std::rc::Rc;
use std::time::Duration;

/// How long the supervisor waits before starting a process that exited.
pub const RESTART_DELAY_MS: u64 = 300;

/// Why a server process stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    /// Power loss: unsynced data and directory entries are gone.
    PowerLoss,
    /// Killed, the page cache survives.
    Kill,
    /// The process exited on its own (a failed fsync, a refused load).
    Exit,
}

/// A process death the auditor has yet to look behind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PendingAudit {
    /// When the first process since the last audit died (virtual ms).
    pub died_ms: u64,
    /// The worst stop since the last audit (a power loss wins).
    pub stop: Stop,
    /// Bumped at every death: an audit read across one is retried.
    pub generation: u64,
}

/// A durable server host, as the harness sees it.
#[derive(Debug, Clone)]
pub struct DurableHost {
    /// The name, clock, pause gate and disk faults (the nemesis's handle).
    pub control: HostControl,
    boots: Rc<Cell<u64>>,
    audit: Rc<Cell<Option<PendingAudit>>>,
    generation: Rc<Cell<u64>>,
    /// Audits completed: the epoch clients name their keys with when the
    /// scenario starts fresh keys after each restart.
    audits_done: Rc<Cell<u64>>,
    /// Times (virtual ms) at which the process exited on its own.
    pub exits: Rc<RefCell<Vec<u64>>>,
    /// What the AOF files looked like at each exit (see [`diagnose`]).
    pub exit_notes: Rc<RefCell<Vec<String>>>,
    /// The fatal errors processes stopped on (a refused load), with when.
    pub fatal: Rc<RefCell<Vec<(u64, String)>>>,
}

impl DurableHost {
    pub fn new(name: &str, seed: u64) -> Self {
        DurableHost {
            control: HostControl::new(name, seed),
            boots: Rc::new(Cell::new(0)),
            audit: Rc::new(Cell::new(None)),
            generation: Rc::new(Cell::new(0)),
            audits_done: Rc::new(Cell::new(0)),
            exits: Rc::new(RefCell::new(Vec::new())),
            exit_notes: Rc::new(RefCell::new(Vec::new())),
            fatal: Rc::new(RefCell::new(Vec::new())),
        }
    }

    pub fn name(&self) -> &str {
        &self.control.name
    }

    /// How many server processes have started.
    pub fn boots(&self) -> u64 {
        self.boots.get()
    }

    /// A server process is starting (for software other than [`Self::software`]).
    pub fn booted(&self) {
        self.boots.set(self.boots.get() + 1);
    }

    /// Records that the process died at `now_ms`: clients hold off until
    /// the auditor has read the recovered state. Deaths before that audit
    /// fold into the first one (nothing was acknowledged in between).
    pub fn died(&self, now_ms: u64, stop: Stop) {
        let generation = self.generation.get() + 1;
        self.generation.set(generation);
        let (died_ms, stop) = match self.audit.get() {
            Some(p) if p.stop == Stop::PowerLoss => (p.died_ms, Stop::PowerLoss),
            Some(p) => (p.died_ms, stop),
            None => (now_ms, stop),
        };
        self.audit.set(Some(PendingAudit {
            died_ms,
            stop,
            generation,
        }));
    }

    /// When the disk failed an fsync (virtual ms), so far.
    pub fn failed_syncs(&self) -> Vec<u64> {
        let log = self.control.disk.log();
        log.iter()
            .filter(|l| l.starts_with("fsync EIO"))
            .filter_map(|l| l.rsplit(" at ").next()?.strip_suffix(" ms")?.parse().ok())
            .collect()
    }

    pub fn pending_audit(&self) -> Option<PendingAudit> {
        self.audit.get()
    }

    /// The audit of `generation` is done (a later death keeps its own).
    pub fn audited(&self, generation: u64) {
        if self.audit.get().is_some_and(|p| p.generation == generation) {
            self.audit.set(None);
            self.audits_done.set(self.audits_done.get() + 1);
        }
    }

    pub fn audits_done(&self) -> u64 {
        self.audits_done.get()
    }

    /// The host's software, for `Sim::host`: boots the disk (applying
    /// what happened while it was down), then serves with the AOF on that
    /// disk; when the process exits on its own, the supervisor starts a
    /// new one after [`RESTART_DELAY_MS`] (the page cache survives that).
    pub fn software(
        &self,
        config: Config,
    ) -> impl Fn() -> std::pin::Pin<Box<dyn std::future::Future<Output = turmoil::Result>>> {
        let host = self.clone();
        move || {
            let host = host.clone();
            let config = config.clone();
            Box::pin(async move {
                loop {
                    host.boots.set(host.boots.get() + 1);
                    let disk = SimDisk::new(PathBuf::from(DATA_DIR), host.control.disk.clone());
                    disk.boot()?;
                    let ended = run_durable_server(config.clone(), &host.control, disk).await;
                    let now = crate::workload::now_ms();
                    host.exits.borrow_mut().push(now);
                    let why = match ended {
                        Ok(()) => String::new(),
                        Err(e) => {
                            host.fatal.borrow_mut().push((now, e.to_string()));
                            format!(" (fatal: {e})")
                        }
                    };
                    let note = format!("exit at {now} ms{why}: {}", diagnose(&config));
                    host.exit_notes.borrow_mut().push(note);
                    host.died(crate::workload::now_ms(), Stop::Exit);
                    tokio::time::sleep(Duration::from_millis(RESTART_DELAY_MS)).await;
                }
            })
        }
    }
}

/// One server process: the production driver on turmoil, its files on
/// `disk`, obeying the host's clock and pause gate, until it exits.
pub async fn run_durable_server(
    config: Config,
    control: &HostControl,
    disk: SimDisk,
) -> turmoil::Result {
    keel_net::Server::bind(config, &SimTransport, SimClock::new(control.skew.clone()))
        .await?
        .with_pause_gate(control.pause.clone())
        .with_disk(disk)
        .run(std::future::pending())
        .await?;
    Ok(())
}

/// A durable server's config: [`crate::server_config`] with the AOF on,
/// the given fsync policy, and its files under [`DATA_DIR`].
pub fn durable_config(seed: u64, appendfsync: &str) -> Config {
    Config {
        appendonly: true,
        appendfsync: appendfsync.to_string(),
        dir: DATA_DIR.to_string(),
        ..crate::server_config(seed)
    }
}

/// Why a process may have exited: every file of the AOF directory with
/// its size and, for command files, where its valid commands end and why.
pub fn diagnose(config: &Config) -> String {
    use keel_engine::aof::parse::{scan, Problem};
    let dir = PathBuf::from(DATA_DIR).join(&config.appenddirname);
    let Ok(entries) = turmoil::fs::shim::std::fs::read_dir(&dir) else {
        return format!("no directory {}", dir.display());
    };
    let mut paths: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    paths.sort();
    let mut notes = Vec::new();
    for path in paths {
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
        let name = name.unwrap_or_default();
        let Ok(data) = turmoil::fs::shim::std::fs::read(&path) else {
            notes.push(format!("{name}: unreadable"));
            continue;
        };
        let data = bytes::Bytes::from(data);
        let problem = if name.ends_with(".incr.aof") {
            match scan(&data, 0).problem {
                None => String::new(),
                Some(Problem::Truncated) => ", truncated".into(),
                Some(Problem::Corrupt { offset, message }) => {
                    format!(", corrupt at {offset}: {message}")
                }
            }
        } else {
            String::new()
        };
        notes.push(format!("{name} {} bytes{problem}", data.len()));
    }
    notes.join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deaths_before_an_audit_fold_into_the_first_and_power_loss_sticks() {
        let host = DurableHost::new("s", 1);
        assert_eq!(host.pending_audit(), None);
        host.died(100, Stop::PowerLoss);
        let first = host.pending_audit().unwrap();
        host.died(250, Stop::Kill);
        let folded = host.pending_audit().unwrap();
        assert_eq!((folded.died_ms, folded.stop), (100, Stop::PowerLoss));
        host.audited(first.generation);
        assert!(
            host.pending_audit().is_some(),
            "an audit read before the second death does not count"
        );
        host.audited(folded.generation);
        assert_eq!(host.pending_audit(), None);
        assert_eq!(host.audits_done(), 1);
        host.died(400, Stop::Exit);
        host.died(410, Stop::PowerLoss);
        let later = host.pending_audit().unwrap();
        assert_eq!((later.died_ms, later.stop), (400, Stop::PowerLoss));
    }
}
