//! An in-memory disk for engine tests, with POSIX durability: file data is
//! durable once synced, a name (create, rename, remove) once its directory
//! is synced. [`MemDisk::power_loss`] keeps exactly what was durable.

use crate::disk::{DiskError, DiskOp, DiskReply, DiskResult, FileId};
use std::collections::{BTreeMap, HashMap};

#[derive(Debug, Default, Clone)]
struct Inode {
    data: Vec<u8>,
    /// The contents as of the last successful sync.
    synced: Vec<u8>,
}

#[derive(Debug, Default)]
pub struct MemDisk {
    inodes: Vec<Inode>,
    /// Names as the running process sees them.
    names: BTreeMap<String, usize>,
    /// Names as they were at the last directory sync (what survives power loss).
    durable_names: BTreeMap<String, usize>,
    open: HashMap<FileId, usize>,
    /// Directories that exist.
    dirs: Vec<String>,
    /// The next this-many requests fail with EIO (and do nothing).
    pub fail_next: usize,
    /// Every request performed, in order.
    pub log: Vec<DiskOp>,
}

fn eio() -> DiskError {
    DiskError::new("Input/output error (os error 5)")
}

impl MemDisk {
    /// Performs `op` as a driver would.
    pub fn apply(&mut self, op: &DiskOp) -> DiskResult {
        self.log.push(op.clone());
        if self.fail_next > 0 {
            self.fail_next -= 1;
            return Err(eio());
        }
        match op {
            DiskOp::Read { path } => {
                let data = self.read(path).ok_or_else(not_found)?;
                return Ok(DiskReply::Data(bytes::Bytes::copy_from_slice(data)));
            }
            DiskOp::List { dir } => {
                let names = self
                    .names
                    .keys()
                    .filter(|path| parent(path) == dir.as_str())
                    .map(|path| path[dir.len()..].trim_start_matches('/').to_string())
                    .collect();
                return Ok(DiskReply::Names(names));
            }
            DiskOp::Create { file, path } => {
                let inode = self.new_inode();
                self.names.insert(path.clone(), inode);
                self.open.insert(*file, inode);
            }
            DiskOp::OpenAppend { file, path } => {
                let inode = match self.names.get(path) {
                    Some(&inode) => inode,
                    None => {
                        let inode = self.new_inode();
                        self.names.insert(path.clone(), inode);
                        inode
                    }
                };
                self.open.insert(*file, inode);
            }
            DiskOp::Append { file, data } => self.inode(*file)?.data.extend_from_slice(data),
            DiskOp::Sync { file } => {
                let inode = self.inode(*file)?;
                inode.synced = inode.data.clone();
            }
            DiskOp::Truncate { file, len } => {
                let len = usize::try_from(*len).unwrap_or(usize::MAX);
                self.inode(*file)?.data.truncate(len);
            }
            DiskOp::Close { file } => {
                self.open.remove(file).ok_or_else(eio)?;
            }
            DiskOp::Rename { from, to } => {
                let inode = self.names.remove(from).ok_or_else(not_found)?;
                self.names.insert(to.clone(), inode);
            }
            DiskOp::Remove { path } => {
                self.names.remove(path).ok_or_else(not_found)?;
            }
            DiskOp::SyncDir { dir } => self.sync_dir(dir),
            DiskOp::CreateDir { dir } => self.dirs.push(dir.clone()),
        }
        Ok(DiskReply::Done)
    }

    fn new_inode(&mut self) -> usize {
        self.inodes.push(Inode::default());
        self.inodes.len() - 1
    }

    fn inode(&mut self, file: FileId) -> Result<&mut Inode, DiskError> {
        let index = *self.open.get(&file).ok_or_else(eio)?;
        Ok(&mut self.inodes[index])
    }

    /// Makes the names directly inside `dir` durable as they are now.
    fn sync_dir(&mut self, dir: &str) {
        let inside = |path: &str| parent(path) == dir;
        self.durable_names.retain(|path, _| !inside(path));
        for (path, &inode) in &self.names {
            if inside(path) {
                self.durable_names.insert(path.clone(), inode);
            }
        }
    }

    /// The machine loses power: only durable names and synced data remain,
    /// and every open file is closed.
    pub fn power_loss(&mut self) {
        self.names = self.durable_names.clone();
        for inode in &mut self.inodes {
            inode.data = inode.synced.clone();
        }
        self.open.clear();
    }

    /// The contents of `path` as the running process sees them.
    pub fn read(&self, path: &str) -> Option<&[u8]> {
        self.names
            .get(path)
            .map(|&inode| self.inodes[inode].data.as_slice())
    }

    /// Every file name, sorted.
    pub fn paths(&self) -> Vec<&str> {
        self.names.keys().map(String::as_str).collect()
    }

    /// Puts `data` at `path`, durable (a file left by an earlier run).
    pub fn put_durable(&mut self, path: &str, data: &[u8]) {
        let inode = self.new_inode();
        self.inodes[inode] = Inode {
            data: data.to_vec(),
            synced: data.to_vec(),
        };
        self.names.insert(path.to_string(), inode);
        self.durable_names.insert(path.to_string(), inode);
    }
}

fn not_found() -> DiskError {
    DiskError::not_found("No such file or directory (os error 2)")
}

/// The directory part of `path` ("." when there is none).
fn parent(path: &str) -> &str {
    match path.rfind('/') {
        Some(0) => "/",
        Some(i) => &path[..i],
        None => ".",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    fn run(disk: &mut MemDisk, ops: &[DiskOp]) {
        for op in ops {
            disk.apply(op).expect("op succeeds");
        }
    }

    fn append(file: FileId, text: &'static str) -> DiskOp {
        DiskOp::Append {
            file,
            data: Bytes::from_static(text.as_bytes()),
        }
    }

    #[test]
    fn only_synced_data_under_synced_names_survives_power_loss() {
        let mut d = MemDisk::default();
        let path = |s: &str| s.to_string();
        run(
            &mut d,
            &[
                DiskOp::Create {
                    file: 1,
                    path: path("/d/a"),
                },
                append(1, "durable"),
                DiskOp::Sync { file: 1 },
                append(1, " lost"),
                DiskOp::SyncDir { dir: path("/d") },
                DiskOp::Create {
                    file: 2,
                    path: path("/d/b"),
                },
                append(2, "name never synced"),
                DiskOp::Sync { file: 2 },
            ],
        );
        assert_eq!(d.read("/d/a"), Some(&b"durable lost"[..]));
        d.power_loss();
        assert_eq!(d.read("/d/a"), Some(&b"durable"[..]));
        assert_eq!(d.read("/d/b"), None);
    }

    #[test]
    fn a_rename_is_durable_only_after_the_directory_sync() {
        let mut d = MemDisk::default();
        d.put_durable("/d/dump.rdb", b"old");
        run(
            &mut d,
            &[
                DiskOp::Create {
                    file: 1,
                    path: "/d/temp.rdb".into(),
                },
                append(1, "new"),
                DiskOp::Sync { file: 1 },
                DiskOp::Close { file: 1 },
                DiskOp::Rename {
                    from: "/d/temp.rdb".into(),
                    to: "/d/dump.rdb".into(),
                },
            ],
        );
        let mut before_sync = std::mem::take(&mut d);
        before_sync.power_loss();
        assert_eq!(before_sync.read("/d/dump.rdb"), Some(&b"old"[..]));
    }

    #[test]
    fn injected_failures_do_nothing_and_report_eio() {
        let mut d = MemDisk {
            fail_next: 1,
            ..Default::default()
        };
        let op = DiskOp::Create {
            file: 1,
            path: "/x".into(),
        };
        assert_eq!(d.apply(&op), Err(eio()));
        assert_eq!(d.read("/x"), None);
        assert_eq!(d.apply(&op), Ok(DiskReply::Done));
        assert_eq!(d.read("/x"), Some(&b""[..]));
    }

    #[test]
    fn reads_and_lists_answer_with_data() {
        let mut d = MemDisk::default();
        d.put_durable("/d/a", b"x");
        d.put_durable("/d/sub/b", b"y");
        let read = DiskOp::Read {
            path: "/d/a".into(),
        };
        assert_eq!(
            d.apply(&read),
            Ok(DiskReply::Data(bytes::Bytes::from_static(b"x")))
        );
        let missing = d.apply(&DiskOp::Read {
            path: "/d/nope".into(),
        });
        assert!(missing.unwrap_err().not_found);
        let list = DiskOp::List { dir: "/d".into() };
        assert_eq!(d.apply(&list), Ok(DiskReply::Names(vec!["a".to_string()])));
    }
}
