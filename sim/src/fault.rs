//! The handles through which the harness reaches into one server host:
//! its clock, its pause gate, its disk faults and its boot count. They live
//! outside the host's software, so they survive crashes and restarts, as
//! the machine itself does.
//!
//! turmoil gives the network faults and `crash`/`bounce`; what it does not
//! have (clock faults, pause, disk faults beyond its own) is here and in
//! [`crate::fault_disk`].

use crate::fault_disk::{DiskFaults, SimDisk};
use crate::{run_server_on_disk, ClockSkew};
use keel_engine::Config;
use keel_net::PauseGate;
use std::cell::Cell;
use std::path::PathBuf;
use std::rc::Rc;

/// Where a server host keeps its files in the simulated filesystem.
pub const DATA_DIR: &str = "/data";

/// One server host as the harness sees it.
#[derive(Debug, Clone)]
pub struct HostControl {
    /// The turmoil host name.
    pub name: String,
    pub skew: ClockSkew,
    pub pause: PauseGate,
    pub disk: DiskFaults,
    /// How many times the host's software has started: a new number is a
    /// new server process, with the empty memory of a new process.
    boots: Rc<Cell<u64>>,
}

impl HostControl {
    /// A host named `name`; `seed` draws where disk faults land.
    pub fn new(name: &str, seed: u64) -> Self {
        HostControl {
            name: name.to_string(),
            skew: ClockSkew::default(),
            pause: PauseGate::new(),
            disk: DiskFaults::new(seed),
            boots: Rc::new(Cell::new(0)),
        }
    }

    /// How many times the software has started so far.
    pub fn boots(&self) -> u64 {
        self.boots.get()
    }

    /// The host's software, for `Sim::host`: on each start it counts the
    /// boot, applies the disk faults meant to happen while it was down
    /// (bit flips, lost writes after a power loss), then serves with the
    /// production driver, this host's clock and pause gate.
    pub fn software(
        &self,
        config: Config,
    ) -> impl Fn() -> std::pin::Pin<Box<dyn std::future::Future<Output = turmoil::Result>>> {
        let host = self.clone();
        move || {
            let host = host.clone();
            let config = config.clone();
            Box::pin(async move {
                host.boots.set(host.boots.get() + 1);
                let disk = SimDisk::new(PathBuf::from(DATA_DIR), host.disk.clone());
                disk.boot()?;
                run_server_on_disk(config, host.skew.clone(), host.pause.clone(), disk).await
            })
        }
    }
}
