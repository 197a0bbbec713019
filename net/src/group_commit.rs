//! Group commit: the node's fsyncs are performed once per turn of the
//! event loop, not once per request.
//!
//! Under `appendfsync always` every client's batch of writes ends with a
//! `Sync` of the AOF, and its replies wait for it. Performing each `Sync`
//! as it comes costs one fsync per client per turn; Redis instead writes
//! and fsyncs once per event-loop iteration for every client served in it.
//! The driver does the same: a `Sync` (and every request after it, so the
//! order is kept) waits in a queue until the connection tasks that were
//! ready have run, then [`perform_batch`] performs the queue with one
//! fsync per file.
//!
//! Safety of the coalescing: an `Append` may be performed before the fsync
//! of a `Sync` queued ahead of it (the fsync then covers more than it was
//! asked to, never less). Any other request (a rename, close, truncate,
//! directory sync...) first performs every fsync queued ahead of it, so a
//! file is never renamed into place before its data is durable. Answers
//! are reported in request order, each `Sync` with the result of the
//! fsync that covered it.

use crate::disk::DiskExecutor;
use keel_engine::disk::{DiskOp, DiskRequest, DiskResult, FileId, RequestId};
use std::collections::BTreeMap;

/// Whether a request must wait in the queue: a `Sync`, or anything while
/// requests are already waiting (answers keep request order).
pub fn must_wait(request: &DiskRequest, queue_is_empty: bool) -> bool {
    !queue_is_empty || matches!(request.op, DiskOp::Sync { .. })
}

/// Performs `batch` in order, one fsync per file for consecutive `Sync`s
/// separated only by appends; returns every request's answer, in order.
pub fn perform_batch(
    executor: &mut dyn DiskExecutor,
    batch: Vec<DiskRequest>,
) -> Vec<(RequestId, DiskResult)> {
    let mut answers: Vec<(RequestId, Option<DiskResult>)> = Vec::with_capacity(batch.len());
    // Files with a Sync waiting, and the answer slots those Syncs fill.
    let mut waiting: BTreeMap<FileId, Vec<usize>> = BTreeMap::new();
    for request in batch {
        let slot = answers.len();
        match &request.op {
            DiskOp::Sync { file } => {
                waiting.entry(*file).or_default().push(slot);
                answers.push((request.id, None));
            }
            DiskOp::Append { .. } => {
                answers.push((request.id, Some(executor.apply(&request.op))));
            }
            other => {
                sync_waiting(executor, &mut waiting, &mut answers);
                answers.push((request.id, Some(executor.apply(other))));
            }
        }
    }
    sync_waiting(executor, &mut waiting, &mut answers);
    answers
        .into_iter()
        .map(|(id, answer)| {
            let answer = answer.expect("every Sync slot is filled by sync_waiting");
            (id, answer)
        })
        .collect()
}

/// Performs one fsync per file in `waiting` and gives its result to every
/// `Sync` it covers.
fn sync_waiting(
    executor: &mut dyn DiskExecutor,
    waiting: &mut BTreeMap<FileId, Vec<usize>>,
    answers: &mut [(RequestId, Option<DiskResult>)],
) {
    for (file, slots) in std::mem::take(waiting) {
        let result = executor.apply(&DiskOp::Sync { file });
        for slot in slots {
            debug_assert!(answers[slot].1.is_none(), "a Sync is answered once");
            answers[slot].1 = Some(result.clone());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use keel_engine::disk::{DiskError, DiskReply};

    /// Records what it was asked to do; fails Syncs of `failing`.
    #[derive(Default)]
    struct Recorder {
        done: Vec<String>,
        failing: Option<FileId>,
    }

    impl DiskExecutor for Recorder {
        fn apply(&mut self, op: &DiskOp) -> DiskResult {
            let text = match op {
                DiskOp::Append { file, data } => format!("append {file} {}", data.len()),
                DiskOp::Sync { file } => format!("sync {file}"),
                DiskOp::Rename { from, to } => format!("rename {from} {to}"),
                DiskOp::Close { file } => format!("close {file}"),
                other => format!("{other:?}"),
            };
            self.done.push(text);
            match op {
                DiskOp::Sync { file } if Some(*file) == self.failing => {
                    Err(DiskError::new("Input/output error"))
                }
                _ => Ok(DiskReply::Done),
            }
        }
    }

    fn request(id: u64, op: DiskOp) -> DiskRequest {
        DiskRequest { id, op }
    }

    fn append(id: u64, file: u64, len: usize) -> DiskRequest {
        request(
            id,
            DiskOp::Append {
                file,
                data: Bytes::from(vec![b'x'; len]),
            },
        )
    }

    fn sync(id: u64, file: u64) -> DiskRequest {
        request(id, DiskOp::Sync { file })
    }

    #[test]
    fn syncs_of_one_file_between_appends_make_one_fsync_after_every_append() {
        let mut disk = Recorder::default();
        let batch = vec![append(1, 7, 3), sync(2, 7), append(3, 7, 4), sync(4, 7)];
        let answers = perform_batch(&mut disk, batch);
        assert_eq!(disk.done, ["append 7 3", "append 7 4", "sync 7"]);
        let ids: Vec<u64> = answers.iter().map(|(id, _)| *id).collect();
        assert_eq!(ids, [1, 2, 3, 4]);
        assert!(answers.iter().all(|(_, r)| r.is_ok()));
    }

    #[test]
    fn a_rename_waits_for_the_fsync_queued_ahead_of_it() {
        let mut disk = Recorder::default();
        let batch = vec![
            append(1, 1, 10),
            sync(2, 1),
            request(3, DiskOp::Close { file: 1 }),
            request(
                4,
                DiskOp::Rename {
                    from: "temp".into(),
                    to: "dump.rdb".into(),
                },
            ),
        ];
        perform_batch(&mut disk, batch);
        assert_eq!(
            disk.done,
            ["append 1 10", "sync 1", "close 1", "rename temp dump.rdb"]
        );
    }

    #[test]
    fn a_failed_fsync_is_the_answer_of_every_sync_it_covered() {
        let mut disk = Recorder {
            failing: Some(2),
            ..Recorder::default()
        };
        let batch = vec![sync(1, 2), append(2, 2, 1), sync(3, 2), sync(4, 5)];
        let answers = perform_batch(&mut disk, batch);
        assert!(answers[0].1.is_err());
        assert!(answers[1].1.is_ok());
        assert!(answers[2].1.is_err());
        assert!(answers[3].1.is_ok(), "another file's fsync is its own");
        assert_eq!(
            disk.done.iter().filter(|d| d.starts_with("sync")).count(),
            2
        );
    }

    #[test]
    fn only_syncs_start_a_queue_and_anything_joins_one() {
        assert!(must_wait(&sync(1, 1), true));
        assert!(!must_wait(&append(1, 1, 1), true));
        assert!(must_wait(&append(1, 1, 1), false));
    }
}
