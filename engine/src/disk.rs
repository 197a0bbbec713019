//! Disk operations: the core asks, the driver does, the core hears back.
//!
//! The core never touches files. To write a snapshot or a log it emits
//! [`DiskRequest`]s through [`crate::Output::Disk`]; the driver performs
//! them **in the order they were emitted**, each after the one before has
//! finished, and reports each result with [`crate::Input::DiskDone`] in
//! the same order (or several at once, still in order, with
//! [`crate::Node::handle_disk_answers`]). A file is named by a [`FileId`] the core chose when it
//! asked to open it, so requests can be queued before the open completes.
//!
//! Durability is POSIX's, and the simulation enforces it: data appended to
//! a file is durable once a later [`DiskOp::Sync`] of that file succeeded;
//! a created, renamed or removed *name* once a later [`DiskOp::SyncDir`]
//! of its directory succeeded. A failed sync means the data written since
//! the previous successful sync may be lost, whatever later syncs say.
//!
//! Paths are absolute or relative to the driver's working directory, as
//! the core builds them from the `dir` parameter.

use bytes::Bytes;
use std::collections::BTreeMap;

/// A file opened by a request, named by the core.
pub type FileId = u64;

/// A request's number, echoed in its [`crate::Input::DiskDone`].
pub type RequestId = u64;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DiskOp {
    /// Opens `path` as `file` for writing, created empty (truncated if it exists).
    Create { file: FileId, path: String },
    /// Opens `path` as `file` for appending, created if missing, contents kept.
    OpenAppend { file: FileId, path: String },
    /// Writes all of `data` at the end of `file`.
    Append { file: FileId, data: Bytes },
    /// Makes `file`'s data durable (fdatasync).
    Sync { file: FileId },
    /// Cuts `file` to `len` bytes (dropping a torn tail).
    Truncate { file: FileId, len: u64 },
    /// Closes `file`; its id may not be used again.
    Close { file: FileId },
    /// Renames `from` to `to`, replacing `to` atomically.
    Rename { from: String, to: String },
    /// Removes the file `path`.
    Remove { path: String },
    /// Makes the entries of directory `dir` durable.
    SyncDir { dir: String },
    /// Creates directory `dir` and its missing parents.
    CreateDir { dir: String },
    /// Reads the whole file `path`: answered with [`DiskReply::Data`].
    Read { path: String },
    /// Lists the files directly inside `dir` by name, sorted: answered
    /// with [`DiskReply::Names`].
    List { dir: String },
}

/// What a successful request returns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DiskReply {
    Done,
    Data(Bytes),
    Names(Vec<String>),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiskRequest {
    pub id: RequestId,
    pub op: DiskOp,
}

/// Why a request failed, as the OS said it (`Input/output error (os error 5)`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiskError {
    pub message: String,
    /// The file or directory does not exist (ENOENT).
    pub not_found: bool,
}

impl DiskError {
    pub fn new(message: impl Into<String>) -> Self {
        DiskError {
            message: message.into(),
            not_found: false,
        }
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        DiskError {
            not_found: true,
            ..DiskError::new(message)
        }
    }
}

/// The answer to one request.
pub type DiskResult = Result<DiskReply, DiskError>;

impl std::fmt::Display for DiskError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

/// The core's side of the disk: numbers requests and files, and checks that
/// the driver answers every request once, in order.
#[derive(Debug, Default)]
pub struct DiskQueue {
    next_request: RequestId,
    next_file: FileId,
    /// Requests emitted and not answered yet, oldest first.
    in_flight: std::collections::VecDeque<RequestId>,
    open_files: BTreeMap<FileId, String>,
    /// The last failure the driver reported, with its request.
    pub last_error: Option<(RequestId, DiskError)>,
}

impl DiskQueue {
    /// A fresh file id for a `Create` or `OpenAppend` of `path`.
    pub fn new_file(&mut self, path: &str) -> FileId {
        self.next_file += 1;
        self.open_files.insert(self.next_file, path.to_string());
        self.next_file
    }

    /// Numbers `op` and returns the request to emit.
    pub fn request(&mut self, op: DiskOp) -> DiskRequest {
        if let DiskOp::Append { file, .. }
        | DiskOp::Sync { file }
        | DiskOp::Truncate { file, .. }
        | DiskOp::Close { file } = &op
        {
            assert!(
                self.open_files.contains_key(file),
                "disk request on file {file}, which is not open"
            );
        }
        if let DiskOp::Close { file } = &op {
            self.open_files.remove(file);
        }
        self.next_request += 1;
        self.in_flight.push_back(self.next_request);
        DiskRequest {
            id: self.next_request,
            op,
        }
    }

    /// Records the answer to request `id`. The driver answers in order:
    /// anything else is a driver bug, and the core stops rather than guess
    /// which write is durable.
    pub fn answered(&mut self, id: RequestId, result: &DiskResult) {
        if let Err(e) = result {
            self.last_error = Some((id, e.clone()));
        }
        let oldest = self.in_flight.pop_front();
        assert_eq!(
            oldest,
            Some(id),
            "disk answers must come once each, in request order"
        );
    }

    /// Requests emitted and not yet answered.
    pub fn in_flight(&self) -> usize {
        self.in_flight.len()
    }

    /// The path `file` was opened with, while it is open.
    pub fn path_of(&self, file: FileId) -> Option<&str> {
        self.open_files.get(&file).map(String::as_str)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_numbered_in_order_and_answered_in_order() {
        let mut q = DiskQueue::default();
        let f = q.new_file("/d/x");
        let a = q.request(DiskOp::Create {
            file: f,
            path: "/d/x".into(),
        });
        let b = q.request(DiskOp::Sync { file: f });
        assert!(a.id < b.id);
        assert_eq!(q.in_flight(), 2);
        q.answered(a.id, &Ok(DiskReply::Done));
        q.answered(b.id, &Err(DiskError::new("EIO")));
        assert_eq!(q.last_error, Some((b.id, DiskError::new("EIO"))));
        assert_eq!(q.in_flight(), 0);
    }

    #[test]
    #[should_panic(expected = "request order")]
    fn an_answer_out_of_order_is_refused() {
        let mut q = DiskQueue::default();
        let f = q.new_file("/d/x");
        let _a = q.request(DiskOp::Sync { file: f });
        let b = q.request(DiskOp::Sync { file: f });
        q.answered(b.id, &Ok(DiskReply::Done));
    }

    #[test]
    #[should_panic(expected = "not open")]
    fn a_closed_file_cannot_be_written() {
        let mut q = DiskQueue::default();
        let f = q.new_file("/d/x");
        q.request(DiskOp::Close { file: f });
        q.request(DiskOp::Append {
            file: f,
            data: Bytes::from_static(b"late"),
        });
    }
}
