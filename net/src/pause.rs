//! A gate that stops a server from doing anything, as SIGSTOP would, while
//! the rest of the world goes on: the simulation's "pause" fault.
//!
//! Every task of the driver passes the gate before it touches the node or a
//! socket (feeding bytes read, writing replies, firing timers, accepting),
//! so a paused server neither reads, answers, expires keys nor accepts.
//! Bytes already in flight wait in the network (the simulation also holds
//! the host's links). On resume, work goes on where it stopped, and the node
//! sees the time that passed meanwhile, as a stopped process does.
//! Production servers keep the gate open.

use std::cell::Cell;
use std::rc::Rc;
use tokio::sync::Notify;

/// A shared handle: clones control the same gate.
#[derive(Debug, Clone, Default)]
pub struct PauseGate(Rc<GateState>);

#[derive(Debug, Default)]
struct GateState {
    paused: Cell<bool>,
    opened: Notify,
}

impl PauseGate {
    /// An open gate.
    pub fn new() -> Self {
        Self::default()
    }

    /// Closes the gate: tasks stop at their next pass.
    pub fn pause(&self) {
        self.0.paused.set(true);
    }

    /// Opens the gate and wakes every waiting task.
    pub fn resume(&self) {
        self.0.paused.set(false);
        self.0.opened.notify_waiters();
    }

    pub fn is_paused(&self) -> bool {
        self.0.paused.get()
    }

    /// Completes at once while the gate is open, otherwise once it opens.
    pub async fn pass(&self) {
        // The open gate (always, outside the simulation) registers no
        // waiter: every task passes it several times per request.
        if !self.is_paused() {
            return;
        }
        loop {
            let opened = self.0.opened.notified();
            tokio::pin!(opened);
            // Registered before the check, so a resume in between is seen.
            opened.as_mut().enable();
            if !self.is_paused() {
                return;
            }
            opened.await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(flavor = "current_thread")]
    async fn pass_waits_while_paused() {
        let gate = PauseGate::new();
        gate.pass().await; // open: immediate
        gate.pause();
        assert!(gate.is_paused());
        let local = tokio::task::LocalSet::new();
        let passed = Rc::new(Cell::new(false));
        let waiter = {
            let (gate, passed) = (gate.clone(), passed.clone());
            local.spawn_local(async move {
                gate.pass().await;
                passed.set(true);
            })
        };
        local
            .run_until(async {
                for _ in 0..10 {
                    tokio::task::yield_now().await;
                }
                assert!(!passed.get(), "a paused gate holds its tasks");
                gate.resume();
                waiter.await.unwrap();
            })
            .await;
        assert!(passed.get());
        assert!(!gate.is_paused());
    }
}
