//! Where the driver keeps files: the third seam of the driver, beside the
//! transport and the clock.
//!
//! The trait names the few operations an append-only log and a snapshot
//! need (append, positioned write, fsync, rename, directory sync, read,
//! remove, size), so that persistence is written against it and runs
//! unchanged on real files ([`FsDisk`]) and on turmoil's simulated
//! filesystem with a fault layer on top (`keel_sim::fault_disk::SimDisk`).
//!
//! Calls are synchronous, as Redis's own `write` and `fsync` are on its
//! main thread: a simulated path must not use `spawn_blocking` or threads
//! (turmoil cannot step them). The driver performs the fsyncs of one turn
//! of its event loop together, once per file (see `group_commit`).
//!
//! Durability follows POSIX, and the simulation enforces it: data is
//! durable after [`DiskFile::sync`]; a created, renamed or removed *name*
//! is durable only after [`Disk::sync_dir`] of its directory.

use keel_engine::disk::{DiskError, DiskOp, DiskReply, DiskResult, FileId};
use std::fs;
use std::io::{self, Read};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

/// How to open a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpenMode {
    /// Read only; the file must exist.
    Read,
    /// Read and write, created if missing, contents kept: for logs that
    /// grow with [`DiskFile::append`].
    Append,
    /// Read and write, created empty (truncated if it exists): for a new
    /// snapshot or a temporary file that will be renamed into place.
    Create,
}

/// A directory tree of files, as the driver sees it.
pub trait Disk: 'static {
    type File: DiskFile;

    /// Opens `path` in `mode`.
    fn open(&self, path: &Path, mode: OpenMode) -> io::Result<Self::File>;

    /// The whole contents of `path`.
    fn read(&self, path: &Path) -> io::Result<Vec<u8>>;

    /// The size of `path` in bytes.
    fn size(&self, path: &Path) -> io::Result<u64>;

    /// Renames `from` to `to`, replacing `to` atomically if it exists.
    /// Durable once the directory is synced.
    fn rename(&self, from: &Path, to: &Path) -> io::Result<()>;

    /// Removes the file `path`. Durable once the directory is synced.
    fn remove(&self, path: &Path) -> io::Result<()>;

    /// Makes the directory's entries (creates, renames, removes) durable.
    fn sync_dir(&self, dir: &Path) -> io::Result<()>;

    /// Creates `dir` and its missing parents.
    fn create_dir_all(&self, dir: &Path) -> io::Result<()>;

    /// The files directly inside `dir`, sorted by name.
    fn list(&self, dir: &Path) -> io::Result<Vec<PathBuf>>;
}

/// An open file. (`std::fs::File` implements it; where `FileExt` is in
/// scope too, call `DiskFile::write_at(&mut f, ..)` to pick this one.)
pub trait DiskFile {
    /// Writes all of `data` at the end of the file.
    fn append(&mut self, data: &[u8]) -> io::Result<()>;

    /// Writes all of `data` at `offset`, extending the file if needed.
    fn write_at(&mut self, offset: u64, data: &[u8]) -> io::Result<()>;

    /// Reads up to `buf.len()` bytes at `offset`; returns how many (0 at
    /// the end of the file).
    fn read_at(&mut self, offset: u64, buf: &mut [u8]) -> io::Result<usize>;

    /// Makes the file's data durable (`fdatasync`). An error means the
    /// data written since the last successful sync may be lost whatever
    /// later syncs say (Linux clears the error once reported).
    fn sync(&mut self) -> io::Result<()>;

    /// The file's size in bytes.
    fn size(&self) -> io::Result<u64>;

    /// Cuts (or extends with zeros) the file to `len` bytes: for dropping
    /// a torn tail.
    fn truncate(&mut self, len: u64) -> io::Result<()>;
}

/// Real files through `std::fs`, with directory fsync.
#[derive(Debug, Clone, Copy, Default)]
pub struct FsDisk;

impl Disk for FsDisk {
    type File = fs::File;

    fn open(&self, path: &Path, mode: OpenMode) -> io::Result<fs::File> {
        let mut options = fs::OpenOptions::new();
        options.read(true);
        match mode {
            OpenMode::Read => {}
            // Not O_APPEND: Linux's pwrite ignores the offset under it, and
            // `write_at` must mean what it says. One writer per file.
            OpenMode::Append => {
                options.write(true).create(true);
            }
            OpenMode::Create => {
                options.write(true).create(true).truncate(true);
            }
        }
        options.open(path)
    }

    fn read(&self, path: &Path) -> io::Result<Vec<u8>> {
        let mut data = Vec::new();
        fs::File::open(path)?.read_to_end(&mut data)?;
        Ok(data)
    }

    fn size(&self, path: &Path) -> io::Result<u64> {
        Ok(fs::metadata(path)?.len())
    }

    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        fs::rename(from, to)
    }

    fn remove(&self, path: &Path) -> io::Result<()> {
        fs::remove_file(path)
    }

    fn sync_dir(&self, dir: &Path) -> io::Result<()> {
        // std has no directory fsync; on Linux an fsync of the directory
        // opened read-only is it.
        fs::File::open(dir)?.sync_all()
    }

    fn create_dir_all(&self, dir: &Path) -> io::Result<()> {
        fs::create_dir_all(dir)
    }

    fn list(&self, dir: &Path) -> io::Result<Vec<PathBuf>> {
        let mut files = Vec::new();
        for entry in fs::read_dir(dir)? {
            let entry = entry?;
            if entry.file_type()?.is_file() {
                files.push(entry.path());
            }
        }
        files.sort();
        Ok(files)
    }
}

impl DiskFile for fs::File {
    fn append(&mut self, data: &[u8]) -> io::Result<()> {
        let end = DiskFile::size(self)?;
        FileExt::write_all_at(self, data, end)
    }

    fn write_at(&mut self, offset: u64, data: &[u8]) -> io::Result<()> {
        FileExt::write_all_at(self, data, offset)
    }

    fn read_at(&mut self, offset: u64, buf: &mut [u8]) -> io::Result<usize> {
        FileExt::read_at(self, buf, offset)
    }

    fn sync(&mut self) -> io::Result<()> {
        self.sync_data()
    }

    fn size(&self) -> io::Result<u64> {
        Ok(self.metadata()?.len())
    }

    fn truncate(&mut self, len: u64) -> io::Result<()> {
        self.set_len(len)
    }
}

/// Performs the core's disk requests ([`keel_engine::disk`]) on a [`Disk`]:
/// object-safe, so the driver holds any disk behind one type.
pub trait DiskExecutor {
    /// Performs `op`; the error text is the OS's.
    fn apply(&mut self, op: &DiskOp) -> DiskResult;
}

/// The executor over a [`Disk`], keeping the files the core opened.
pub struct Executor<D: Disk> {
    disk: D,
    files: std::collections::HashMap<FileId, OpenFile<D::File>>,
}

/// A file the core opened, with where its end is when known: an append
/// is then one positioned write, without asking the file's size first
/// (one syscall less per append). The executor is the only writer, and
/// only appends and truncates change a file's size.
struct OpenFile<F> {
    file: F,
    end: Option<u64>,
}

impl<F: DiskFile> OpenFile<F> {
    fn new(file: F, end: Option<u64>) -> Self {
        OpenFile { file, end }
    }

    /// Writes `data` at the end. After a failed write the end is unknown
    /// (part of `data` may be written) and asked again next time.
    fn append(&mut self, data: &[u8]) -> io::Result<()> {
        let end = match self.end.take() {
            Some(end) => end,
            None => self.file.size()?,
        };
        self.file.write_at(end, data)?;
        self.end = Some(end.saturating_add(data.len() as u64));
        Ok(())
    }

    fn truncate(&mut self, len: u64) -> io::Result<()> {
        self.end = None;
        self.file.truncate(len)?;
        self.end = Some(len);
        Ok(())
    }
}

impl<D: Disk> Executor<D> {
    pub fn new(disk: D) -> Self {
        Executor {
            disk,
            files: std::collections::HashMap::new(),
        }
    }

    fn file(&mut self, file: FileId) -> io::Result<&mut OpenFile<D::File>> {
        self.files
            .get_mut(&file)
            .ok_or_else(|| io::Error::other(format!("file {file} is not open")))
    }

    fn run(&mut self, op: &DiskOp) -> io::Result<DiskReply> {
        match op {
            DiskOp::Read { path } => {
                return Ok(DiskReply::Data(self.disk.read(Path::new(path))?.into()));
            }
            DiskOp::List { dir } => {
                let names = self
                    .disk
                    .list(Path::new(dir))?
                    .iter()
                    .filter_map(|p| p.file_name())
                    .map(|n| n.to_string_lossy().into_owned())
                    .collect();
                return Ok(DiskReply::Names(names));
            }
            DiskOp::Create { file, path } => {
                let f = self.disk.open(Path::new(path), OpenMode::Create)?;
                self.files.insert(*file, OpenFile::new(f, Some(0)));
            }
            DiskOp::OpenAppend { file, path } => {
                let f = self.disk.open(Path::new(path), OpenMode::Append)?;
                self.files.insert(*file, OpenFile::new(f, None));
            }
            DiskOp::Append { file, data } => self.file(*file)?.append(data)?,
            DiskOp::Sync { file } => self.file(*file)?.file.sync()?,
            DiskOp::Truncate { file, len } => self.file(*file)?.truncate(*len)?,
            DiskOp::Close { file } => {
                self.files.remove(file);
            }
            DiskOp::Rename { from, to } => self.disk.rename(Path::new(from), Path::new(to))?,
            DiskOp::Remove { path } => self.disk.remove(Path::new(path))?,
            DiskOp::SyncDir { dir } => self.disk.sync_dir(Path::new(dir))?,
            DiskOp::CreateDir { dir } => self.disk.create_dir_all(Path::new(dir))?,
        }
        Ok(DiskReply::Done)
    }
}

impl<D: Disk> DiskExecutor for Executor<D> {
    fn apply(&mut self, op: &DiskOp) -> DiskResult {
        self.run(op).map_err(|e| match e.kind() {
            io::ErrorKind::NotFound => DiskError::not_found(e.to_string()),
            _ => DiskError::new(e.to_string()),
        })
    }
}

/// A fresh directory under the system's temp dir, removed on drop.
#[cfg(test)]
pub(crate) struct TempDir(pub(crate) PathBuf);

#[cfg(test)]
impl TempDir {
    pub(crate) fn new(name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("keel-net-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }
}

#[cfg(test)]
impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn append_write_at_read_and_truncate() {
        let dir = TempDir::new("rw");
        let path = dir.0.join("log");
        let mut f = FsDisk.open(&path, OpenMode::Append).unwrap();
        f.append(b"hello ").unwrap();
        f.append(b"world").unwrap();
        DiskFile::write_at(&mut f, 0, b"J").unwrap();
        f.sync().unwrap();
        assert_eq!(f.size().unwrap(), 11);
        let mut buf = [0u8; 5];
        assert_eq!(DiskFile::read_at(&mut f, 6, &mut buf).unwrap(), 5);
        assert_eq!(&buf, b"world");
        assert_eq!(FsDisk.read(&path).unwrap(), b"Jello world");
        f.truncate(5).unwrap();
        assert_eq!(FsDisk.size(&path).unwrap(), 5);
        // Append mode keeps the contents of an existing file.
        let mut again = FsDisk.open(&path, OpenMode::Append).unwrap();
        again.append(b"!").unwrap();
        assert_eq!(FsDisk.read(&path).unwrap(), b"Jello!");
    }

    #[test]
    fn create_truncates_and_rename_replaces() {
        let dir = TempDir::new("rename");
        let live = dir.0.join("dump.rdb");
        let temp = dir.0.join("temp.rdb");
        fs::write(&live, b"old snapshot").unwrap();
        let mut f = FsDisk.open(&temp, OpenMode::Create).unwrap();
        DiskFile::write_at(&mut f, 0, b"new").unwrap();
        f.sync().unwrap();
        FsDisk.rename(&temp, &live).unwrap();
        FsDisk.sync_dir(&dir.0).unwrap();
        assert_eq!(FsDisk.read(&live).unwrap(), b"new");
        assert_eq!(FsDisk.list(&dir.0).unwrap(), vec![live.clone()]);
        let mut fresh = FsDisk.open(&live, OpenMode::Create).unwrap();
        assert_eq!(fresh.size().unwrap(), 0, "Create empties the file");
        fresh.append(b"ab").unwrap();
        fresh.append(b"c").unwrap();
        assert_eq!(FsDisk.read(&live).unwrap(), b"abc");
        FsDisk.remove(&live).unwrap();
        assert!(FsDisk.list(&dir.0).unwrap().is_empty());
        assert_eq!(
            FsDisk.read(&live).unwrap_err().kind(),
            io::ErrorKind::NotFound
        );
    }

    #[test]
    fn the_executor_appends_at_the_end_it_tracks() {
        let dir = TempDir::new("end");
        let path = dir.0.join("log");
        fs::write(&path, b"old").unwrap();
        let path = path.display().to_string();
        let mut exec = Executor::new(FsDisk);
        let append = |data: &'static [u8]| DiskOp::Append {
            file: 1,
            data: bytes::Bytes::from_static(data),
        };
        let ops = [
            DiskOp::OpenAppend {
                file: 1,
                path: path.clone(),
            },
            append(b"+a"),
            append(b"+b"),
            DiskOp::Truncate { file: 1, len: 4 },
            append(b"c"),
        ];
        for op in &ops {
            exec.apply(op).unwrap();
        }
        assert_eq!(FsDisk.read(Path::new(&path)).unwrap(), b"old+c");
        exec.apply(&DiskOp::Create {
            file: 2,
            path: path.clone(),
        })
        .unwrap();
        exec.apply(&DiskOp::Append {
            file: 2,
            data: bytes::Bytes::from_static(b"new"),
        })
        .unwrap();
        assert_eq!(FsDisk.read(Path::new(&path)).unwrap(), b"new");
    }

    #[test]
    fn the_executor_runs_the_cores_requests() {
        let dir = TempDir::new("exec");
        let live = dir.0.join("dump.rdb").display().to_string();
        let temp = dir.0.join("temp.rdb").display().to_string();
        let mut exec = Executor::new(FsDisk);
        let ops = [
            DiskOp::Create {
                file: 1,
                path: temp.clone(),
            },
            DiskOp::Append {
                file: 1,
                data: bytes::Bytes::from_static(b"snap"),
            },
            DiskOp::Sync { file: 1 },
            DiskOp::Close { file: 1 },
            DiskOp::Rename {
                from: temp.clone(),
                to: live.clone(),
            },
            DiskOp::SyncDir {
                dir: dir.0.display().to_string(),
            },
        ];
        for op in &ops {
            exec.apply(op).unwrap();
        }
        assert_eq!(FsDisk.read(Path::new(&live)).unwrap(), b"snap");
        let err = exec.apply(&DiskOp::Sync { file: 1 }).unwrap_err();
        assert!(err.message.contains("not open"), "{err}");
        let err = exec.apply(&DiskOp::Remove { path: temp }).unwrap_err();
        assert!(
            err.not_found && err.message.contains("No such file"),
            "{err}"
        );
        let read = exec.apply(&DiskOp::Read { path: live }).unwrap();
        assert_eq!(read, DiskReply::Data(bytes::Bytes::from_static(b"snap")));
        let list = exec.apply(&DiskOp::List {
            dir: dir.0.display().to_string(),
        });
        assert_eq!(
            list.unwrap(),
            DiskReply::Names(vec!["dump.rdb".to_string()])
        );
    }
}
