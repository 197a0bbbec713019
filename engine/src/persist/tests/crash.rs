//! Power loss at every step of SAVE: what remains always loads, to the
//! old snapshot or the new one.

use super::*;
use crate::client::ClientInfo;
use crate::node::{Input, Node, Output};
use crate::testing::mem_disk::MemDisk;
use crate::testing::request;
use crate::time::Now;

fn info() -> ClientInfo {
    ClientInfo {
        addr: "127.0.0.1:50000".into(),
        laddr: "127.0.0.1:6379".into(),
        fd: 8,
    }
}

/// Runs SAVE on a node whose disk loses power after `budget` requests were
/// performed; returns the disk as it is after the power loss, and how many
/// requests the whole save takes.
fn save_until_power_loss(
    mut disk: MemDisk,
    commands: &[&[&[u8]]],
    budget: usize,
) -> (MemDisk, usize) {
    let now = Now::new(0, 1_700_000_000_000);
    let mut node = Node::new(config_with_saves(&[]), now);
    let c = node.accept_client(now, info());
    let mut data = Vec::new();
    for command in commands {
        data.extend(request(command));
    }
    data.extend(request(&[b"SAVE"]));
    node.handle_input(
        now,
        Input::ClientData {
            client: c,
            data: &data,
        },
    );
    let mut performed = 0;
    while let Some(out) = node.poll_output() {
        if let Output::Disk(req) = out {
            if performed == budget {
                disk.power_loss();
                return (disk, performed);
            }
            let result = disk.apply(&req.op);
            performed += 1;
            node.handle_input(now, Input::DiskDone { id: req.id, result });
        }
    }
    disk.power_loss();
    (disk, performed)
}

#[test]
fn power_loss_at_every_step_of_save_leaves_old_or_new() {
    let old_cmds: &[&[&[u8]]] = &[&[b"SET", b"a", b"old"], &[b"RPUSH", b"l", b"1", b"2"]];
    let (first, _) = save_until_power_loss(MemDisk::default(), old_cmds, usize::MAX);
    let old = file_dataset(first.read(DUMP).expect("old snapshot"));
    assert_eq!(old.len(), 2);
    let new_cmds: &[&[&[u8]]] = &[
        &[b"SET", b"a", b"new"],
        &[b"SADD", b"s", b"x"],
        &[b"SET", b"b", b"2"],
    ];
    let base = || {
        let mut disk = MemDisk::default();
        disk.put_durable(DUMP, first.read(DUMP).unwrap());
        disk
    };
    let (_, total) = save_until_power_loss(base(), new_cmds, usize::MAX);
    assert_eq!(total, 6, "create, append, sync, close, rename, syncdir");
    let mut seen_new = false;
    for budget in 0..=total {
        let (disk, _) = save_until_power_loss(base(), new_cmds, budget);
        let file = file_dataset(disk.read(DUMP).expect("a snapshot survives"));
        assert!(file == old || file.len() == 3, "budget {budget}: {file:?}");
        seen_new |= file != old;
    }
    assert!(
        seen_new,
        "once the directory is synced the new file is durable"
    );
}
