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
//! fsync per file. Appends wait in the queue too, and the turn's appends
//! to one file are one write: Redis writes its AOF buffer once per
//! iteration, not once per client.
//!
//! Safety of the coalescing: an `Append` may be performed before the fsync
//! of a `Sync` queued ahead of it (the fsync then covers more than it was
//! asked to, never less). Any other request (a rename, close, truncate,
//! directory sync...) first performs every fsync queued ahead of it, so a
//! file is never renamed into place before its data is durable. Answers
//! are reported in request order, each `Sync` with the result of the
//! fsync that covered it.

use crate::disk::DiskExecutor;
use bytes::Bytes;
use keel_engine::disk::{DiskOp, DiskRequest, DiskResult, FileId, RequestId};

/// Appends are joined into one write until it holds this many bytes: a
/// turn's AOF writes are far smaller, but a snapshot's chunks need no
/// second copy of the whole file in memory.
const JOIN_MAX_BYTES: usize = 1 << 20;

/// Whether a request must wait in the queue: a `Sync` or an `Append`
/// (the appends of one turn are written together, as Redis writes its
/// AOF buffer once per event-loop iteration), or anything while requests
/// are already waiting (answers keep request order).
pub fn must_wait(request: &DiskRequest, queue_is_empty: bool) -> bool {
    !queue_is_empty || matches!(request.op, DiskOp::Sync { .. } | DiskOp::Append { .. })
}

/// Performs `batch` in order, except that appends go ahead of the
/// fsyncs queued before them (see the module's safety note): appends to
/// one file with only `Sync`s between them are one write, and one fsync
/// per file covers the `Sync`s; returns every request's answer, in order.
pub fn perform_batch(
    executor: &mut dyn DiskExecutor,
    batch: Vec<DiskRequest>,
) -> Vec<(RequestId, DiskResult)> {
    let mut answers: Vec<(RequestId, Option<DiskResult>)> = Vec::with_capacity(batch.len());
    // Files with a Sync waiting, and the answer slots those Syncs fill
    // (a batch touches one or two files: a list is searched faster than
    // a map is built).
    let mut waiting: Vec<(FileId, Vec<usize>)> = Vec::new();
    let mut run: Option<AppendRun> = None;
    // Under `appendfsync always` a batch alternates appends and Syncs:
    // room for either half, so the lists grow without reallocating.
    let half = batch.len().div_ceil(2);
    for request in batch {
        let slot = answers.len();
        answers.push((request.id, None));
        match request.op {
            DiskOp::Sync { file } => wait_for_fsync(&mut waiting, file, slot, half),
            DiskOp::Append { file, data } => {
                let joins = run.as_ref().is_some_and(|r| r.takes(file));
                if !joins {
                    if let Some(done) = run.take() {
                        done.write(executor, &mut answers);
                    }
                }
                run.get_or_insert_with(|| AppendRun::new(file, half))
                    .add(slot, data);
            }
            other => {
                if let Some(done) = run.take() {
                    done.write(executor, &mut answers);
                }
                sync_waiting(executor, &mut waiting, &mut answers);
                answers[slot].1 = Some(executor.apply(&other));
            }
        }
    }
    if let Some(done) = run.take() {
        done.write(executor, &mut answers);
    }
    sync_waiting(executor, &mut waiting, &mut answers);
    answers
        .into_iter()
        .map(|(id, answer)| {
            let answer = answer.expect("every slot is filled by its write or fsync");
            (id, answer)
        })
        .collect()
}

/// Appends to one file waiting to be written together, with the answer
/// slots they fill.
struct AppendRun {
    file: FileId,
    slots: Vec<usize>,
    parts: Vec<Bytes>,
    len: usize,
}

impl AppendRun {
    /// A run with room for `capacity` appends.
    fn new(file: FileId, capacity: usize) -> Self {
        AppendRun {
            file,
            slots: Vec::with_capacity(capacity),
            parts: Vec::with_capacity(capacity),
            len: 0,
        }
    }

    fn takes(&self, file: FileId) -> bool {
        self.file == file && self.len < JOIN_MAX_BYTES
    }

    fn add(&mut self, slot: usize, data: Bytes) {
        self.len = self.len.saturating_add(data.len());
        self.slots.push(slot);
        self.parts.push(data);
    }

    /// Writes the run with one write; its result is every append's answer
    /// (a failed write may have written any prefix, so none of them is
    /// known written: the core writes them all again).
    fn write(
        self,
        executor: &mut dyn DiskExecutor,
        answers: &mut [(RequestId, Option<DiskResult>)],
    ) {
        let data = match self.parts.as_slice() {
            [only] => only.clone(),
            parts => {
                let mut joined = Vec::with_capacity(self.len);
                for part in parts {
                    joined.extend_from_slice(part);
                }
                Bytes::from(joined)
            }
        };
        let file = self.file;
        let result = executor.apply(&DiskOp::Append { file, data });
        for slot in self.slots {
            answers[slot].1 = Some(result.clone());
        }
    }
}

/// Records that the `Sync` of `file` in answer slot `slot` waits for the
/// next fsync of that file (lists made with room for `capacity` slots).
fn wait_for_fsync(
    waiting: &mut Vec<(FileId, Vec<usize>)>,
    file: FileId,
    slot: usize,
    capacity: usize,
) {
    match waiting
        .iter_mut()
        .find(|(waiting_file, _)| *waiting_file == file)
    {
        Some((_, slots)) => slots.push(slot),
        None => {
            let mut slots = Vec::with_capacity(capacity);
            slots.push(slot);
            waiting.push((file, slots));
        }
    }
}

/// Performs one fsync per file in `waiting` (in the order the files
/// were first asked) and gives its result to every `Sync` it covers.
fn sync_waiting(
    executor: &mut dyn DiskExecutor,
    waiting: &mut Vec<(FileId, Vec<usize>)>,
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
    use keel_engine::disk::{DiskError, DiskReply};

    /// Records what it was asked to do; fails Syncs of `failing`.
    #[derive(Default)]
    struct Recorder {
        done: Vec<String>,
        failing: Option<FileId>,
        failing_appends: Option<FileId>,
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
                DiskOp::Append { file, .. } if Some(*file) == self.failing_appends => {
                    Err(DiskError::new("No space left on device"))
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
        assert_eq!(disk.done, ["append 7 7", "sync 7"]);
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
    fn syncs_and_appends_start_a_queue_and_anything_joins_one() {
        assert!(must_wait(&sync(1, 1), true));
        assert!(must_wait(&append(1, 1, 1), true));
        let close = request(2, DiskOp::Close { file: 1 });
        assert!(!must_wait(&close, true));
        assert!(must_wait(&close, false));
    }

    #[test]
    fn consecutive_appends_to_one_file_are_one_write() {
        let mut disk = Recorder::default();
        let batch = vec![
            append(1, 7, 3),
            append(2, 7, 4),
            append(3, 8, 1),
            append(4, 7, 2),
            sync(5, 7),
            append(6, 7, 5),
            append(7, 7, 6),
        ];
        let answers = perform_batch(&mut disk, batch);
        assert_eq!(
            disk.done,
            ["append 7 7", "append 8 1", "append 7 13", "sync 7"]
        );
        let ids: Vec<u64> = answers.iter().map(|(id, _)| *id).collect();
        assert_eq!(ids, [1, 2, 3, 4, 5, 6, 7]);
    }

    #[test]
    fn a_failed_joined_write_is_the_answer_of_every_append_in_it() {
        let mut disk = Recorder {
            failing_appends: Some(3),
            ..Recorder::default()
        };
        let batch = vec![append(1, 3, 2), append(2, 3, 2), append(3, 4, 1)];
        let answers = perform_batch(&mut disk, batch);
        assert!(answers[0].1.is_err());
        assert!(answers[1].1.is_err());
        assert!(answers[2].1.is_ok());
        assert_eq!(disk.done, ["append 3 4", "append 4 1"]);
    }
}
