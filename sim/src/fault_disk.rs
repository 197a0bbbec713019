//! The simulated [`Disk`]: turmoil's filesystem (`unstable-fs`) with a fault
//! layer of our own on top.
//!
//! turmoil already models what a crash does to unsynced data (pending
//! writes and directory entries dropped, torn writes with
//! `FsConfig::block_size`), random read/write errors, read-buffer
//! corruption and a capacity. This layer adds what it does not model:
//!
//! - **fsync errors**: the next N syncs fail with EIO and sync nothing.
//!   As on Linux, the writes that sync should have made durable are then
//!   lost at the next power loss *even if a later sync succeeds*
//!   ("fsyncgate"): the error is reported once, the pages are marked clean.
//! - **lost writes**: the next N writes are acknowledged (and readable
//!   until the power goes) but never reach the platter: after a power loss
//!   the range holds what it held before (zeros past the old end).
//! - **disk full**: while set, any write that grows a file fails with
//!   ENOSPC (writes inside the current length still succeed).
//! - **bit flips at rest**: scheduled while the host is down, applied when
//!   it boots, before its software runs: one bit of one file under the data
//!   directory, written durably, so every later read sees it.
//! - **power cut at an operation**: after the next N operations, every
//!   operation fails with EIO and does nothing, until the harness cuts the
//!   power ([`DiskFaults::power_cut_reached`] tells it when): a power loss
//!   at an exact step of a file protocol (between a rename and the
//!   directory sync, in the middle of a file), which a cut at a tick
//!   boundary of the simulation cannot reach.
//!
//! The layer keeps, per file, an undo record (old bytes) of every write
//! since the file's last successful sync; that is how it knows what a lost
//! write or a failed sync must revert. Reverts are applied at boot after a
//! power loss, newest first. Limits: a revert whose range a later durable
//! write overlapped puts the old bytes back over it (real lost writes can do
//! that too); records follow renames and removes but not hard links.

use keel_net::{Disk, DiskFile, OpenMode};
use rand_chacha::rand_core::{RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::io;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::rc::Rc;
use turmoil::fs::shim::std::fs as sfs;

const EIO: i32 = 5;
const ENOSPC: i32 = 28;

/// The fault state of one host's disk, shared by the host's [`SimDisk`]
/// and the harness; it outlives the host's crashes.
#[derive(Debug, Clone)]
pub struct DiskFaults(Rc<RefCell<FaultState>>);

#[derive(Debug)]
struct FaultState {
    fsync_errors: u32,
    lost_writes: u32,
    full: bool,
    pending_flips: u32,
    power_lost: bool,
    /// Writes since each file's last successful sync, oldest first.
    unsynced: BTreeMap<PathBuf, Vec<Undo>>,
    /// Writes acknowledged but not durable, reverted at the next power loss.
    lost: Vec<(PathBuf, Undo)>,
    rng: ChaCha8Rng,
    /// What was injected, in order, for reports and tests.
    log: Vec<String>,
    /// The deliberate bug of [`DiskFaults::set_broken_syncs`].
    broken_syncs: usize,
    /// The writes each of the last `broken_syncs` successful syncs covered.
    last_synced: std::collections::VecDeque<Vec<(PathBuf, Undo)>>,
    /// Those writes, to undo at the next boot (a power loss happened).
    broken_reverts: Vec<(PathBuf, Undo)>,
    /// Operations left before the power cut, when one is armed.
    cut_after: Option<u32>,
    /// The armed cut was reached: operations fail until the power loss.
    cut_reached: bool,
}

/// What a write replaced: enough to put it back.
#[derive(Debug, Clone)]
struct Undo {
    offset: u64,
    /// The bytes the write overwrote (shorter than `len` past the old end).
    old: Vec<u8>,
    len: usize,
    /// Chosen as a lost write when it was made.
    lost: bool,
}

impl DiskFaults {
    /// No faults armed; `seed` picks where bit flips land.
    pub fn new(seed: u64) -> Self {
        DiskFaults(Rc::new(RefCell::new(FaultState {
            fsync_errors: 0,
            lost_writes: 0,
            full: false,
            pending_flips: 0,
            power_lost: false,
            unsynced: BTreeMap::new(),
            lost: Vec::new(),
            rng: ChaCha8Rng::seed_from_u64(seed),
            log: Vec::new(),
            broken_syncs: 0,
            last_synced: std::collections::VecDeque::new(),
            broken_reverts: Vec::new(),
            cut_after: None,
            cut_reached: false,
        })))
    }

    /// The power goes after the next `n` operations (see the module docs).
    pub fn cut_power_after(&self, n: u32) {
        let mut st = self.0.borrow_mut();
        st.cut_after = Some(n);
        st.cut_reached = false;
    }

    /// Disarms a power cut that was not reached yet.
    pub fn disarm_power_cut(&self) {
        let mut st = self.0.borrow_mut();
        if !st.cut_reached {
            st.cut_after = None;
        }
    }

    /// Whether an armed power cut was reached: the harness must now cut
    /// the host's power ([`DiskFaults::power_loss`] disarms it).
    pub fn power_cut_reached(&self) -> bool {
        self.0.borrow().cut_reached
    }

    /// Counts one operation against an armed cut: EIO once it is reached.
    fn pass_cut(&self, what: &str) -> io::Result<()> {
        let mut st = self.0.borrow_mut();
        match st.cut_after {
            Some(0) => {
                if !st.cut_reached {
                    st.cut_reached = true;
                    st.log.push(format!("power cut at {what}"));
                }
                Err(io::Error::from_raw_os_error(EIO))
            }
            Some(n) => {
                st.cut_after = Some(n - 1);
                Ok(())
            }
            None => Ok(()),
        }
    }

    /// The next `n` syncs fail with EIO.
    pub fn fail_next_syncs(&self, n: u32) {
        self.0.borrow_mut().fsync_errors += n;
    }

    /// The next `n` writes are acknowledged and lost at the next power loss.
    pub fn lose_next_writes(&self, n: u32) {
        self.0.borrow_mut().lost_writes += n;
    }

    /// Writes that grow a file fail with ENOSPC while `full`.
    pub fn set_full(&self, full: bool) {
        self.0.borrow_mut().full = full;
    }

    /// `n` bits flip on disk before the host's next boot.
    pub fn flip_bits_at_rest(&self, n: u32) {
        self.0.borrow_mut().pending_flips += n;
    }

    /// A deliberate bug, for proving the durability checkers can fail:
    /// the last `n` successful syncs before a power loss persisted
    /// nothing (their writes are cut off at the next boot), as a disk or a
    /// server that acknowledges before the data is durable would do.
    pub fn set_broken_syncs(&self, n: usize) {
        self.0.borrow_mut().broken_syncs = n;
    }

    /// The harness calls this when it cuts the host's power (`Sim::crash`):
    /// turmoil drops the pending data, and the next boot reverts the lost
    /// writes.
    pub fn power_loss(&self) {
        let mut st = self.0.borrow_mut();
        st.power_lost = true;
        st.cut_after = None;
        st.cut_reached = false;
        st.unsynced.clear();
        let broken = std::mem::take(&mut st.last_synced);
        st.broken_reverts.extend(broken.into_iter().flatten());
    }

    /// What the layer injected so far, one line each.
    pub fn log(&self) -> Vec<String> {
        self.0.borrow().log.clone()
    }
}

/// turmoil's filesystem seen through the fault layer, for files under
/// `root`. Must be used from inside the host's software.
#[derive(Debug, Clone)]
pub struct SimDisk {
    root: PathBuf,
    faults: DiskFaults,
}

impl SimDisk {
    pub fn new(root: PathBuf, faults: DiskFaults) -> Self {
        SimDisk { root, faults }
    }

    /// Applies what happened while the host was down: the reverts of lost
    /// writes after a power loss, then the scheduled bit flips. The host's
    /// software calls it first thing on every start.
    pub fn boot(&self) -> io::Result<()> {
        sfs::create_dir_all(&self.root)?;
        let (reverts, flips) = {
            let mut st = self.faults.0.borrow_mut();
            let reverts = if std::mem::take(&mut st.power_lost) {
                std::mem::take(&mut st.lost)
            } else {
                Vec::new()
            };
            (reverts, std::mem::take(&mut st.pending_flips))
        };
        for (path, undo) in reverts.iter().rev() {
            self.revert(path, undo)?;
        }
        let broken = std::mem::take(&mut self.faults.0.borrow_mut().broken_reverts);
        for (path, undo) in broken.iter().rev() {
            self.cut_back(path, undo)?;
        }
        for _ in 0..flips {
            self.flip_one_bit()?;
        }
        Ok(())
    }

    fn note(&self, line: String) {
        self.faults.0.borrow_mut().log.push(line);
    }

    /// Puts back what a lost write replaced, durably.
    fn revert(&self, path: &Path, undo: &Undo) -> io::Result<()> {
        let Ok(file) = sfs::OpenOptions::new().read(true).write(true).open(path) else {
            return Ok(()); // removed since, or never made durable
        };
        let len = file.metadata()?.len();
        if undo.offset >= len {
            return Ok(());
        }
        let keep = usize::try_from(len - undo.offset).unwrap_or(usize::MAX);
        let mut bytes = undo.old.clone();
        bytes.resize(undo.len.min(keep), 0);
        file.write_all_at(&bytes, undo.offset)?;
        file.sync_all()?;
        self.note(format!(
            "lost write reverted: {} bytes at {} of {}",
            bytes.len(),
            undo.offset,
            path.display()
        ));
        Ok(())
    }

    /// Undoes a write the broken sync claimed durable: the old bytes go
    /// back and, if the write grew the file, the file is cut to its old end.
    fn cut_back(&self, path: &Path, undo: &Undo) -> io::Result<()> {
        let Ok(file) = sfs::OpenOptions::new().read(true).write(true).open(path) else {
            return Ok(());
        };
        file.write_all_at(&undo.old, undo.offset)?;
        if undo.old.len() < undo.len {
            file.set_len(undo.offset.saturating_add(undo.old.len() as u64))?;
        }
        file.sync_all()?;
        self.note(format!(
            "broken sync: write of {} bytes at {} of {} undone",
            undo.len,
            undo.offset,
            path.display()
        ));
        Ok(())
    }

    /// Flips one bit of one non-empty file under the root, durably.
    fn flip_one_bit(&self) -> io::Result<()> {
        let files = self.files_under(&self.root)?;
        let mut sized = Vec::new();
        for path in files {
            let len = sfs::metadata(&path)?.len();
            if len > 0 {
                sized.push((path, len));
            }
        }
        if sized.is_empty() {
            self.note("bit flip skipped: no file to corrupt".into());
            return Ok(());
        }
        let (path, offset, bit) = {
            let mut st = self.faults.0.borrow_mut();
            let n = u64::try_from(sized.len()).unwrap_or(u64::MAX);
            let pick = usize::try_from(st.rng.next_u64() % n).unwrap_or(0);
            let (path, len) = &sized[pick];
            (path.clone(), st.rng.next_u64() % len, st.rng.next_u64() % 8)
        };
        let file = sfs::OpenOptions::new().read(true).write(true).open(&path)?;
        let mut byte = [0u8];
        file.read_exact_at(&mut byte, offset)?;
        byte[0] ^= 1 << bit;
        file.write_all_at(&byte, offset)?;
        file.sync_all()?;
        self.note(format!(
            "bit {bit} flipped at {offset} of {}",
            path.display()
        ));
        Ok(())
    }

    /// Every file under `dir`, depth first, sorted by name.
    fn files_under(&self, dir: &Path) -> io::Result<Vec<PathBuf>> {
        let mut entries: Vec<_> = sfs::read_dir(dir)?
            .map(|e| e.map(|e| e.path()))
            .collect::<io::Result<_>>()?;
        entries.sort();
        let mut files = Vec::new();
        for path in entries {
            if sfs::metadata(&path)?.is_dir() {
                files.extend(self.files_under(&path)?);
            } else {
                files.push(path);
            }
        }
        Ok(files)
    }
}

impl Disk for SimDisk {
    type File = SimFile;

    fn open(&self, path: &Path, mode: OpenMode) -> io::Result<SimFile> {
        self.faults.pass_cut(&format!("open {}", path.display()))?;
        let mut options = sfs::OpenOptions::new();
        options.read(true);
        match mode {
            OpenMode::Read => {}
            OpenMode::Append => {
                options.write(true).create(true);
            }
            OpenMode::Create => {
                options.write(true).create(true).truncate(true);
            }
        }
        Ok(SimFile {
            file: options.open(path)?,
            path: path.to_path_buf(),
            faults: self.faults.clone(),
        })
    }

    fn read(&self, path: &Path) -> io::Result<Vec<u8>> {
        self.faults.pass_cut(&format!("read {}", path.display()))?;
        sfs::read(path)
    }

    fn size(&self, path: &Path) -> io::Result<u64> {
        Ok(sfs::metadata(path)?.len())
    }

    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        self.faults
            .pass_cut(&format!("rename {} to {}", from.display(), to.display()))?;
        sfs::rename(from, to)?;
        let mut st = self.faults.0.borrow_mut();
        st.unsynced.remove(to);
        if let Some(undos) = st.unsynced.remove(from) {
            st.unsynced.insert(to.to_path_buf(), undos);
        }
        st.lost.retain(|(p, _)| p != to);
        for (p, _) in st.lost.iter_mut() {
            if p == from {
                *p = to.to_path_buf();
            }
        }
        Ok(())
    }

    fn remove(&self, path: &Path) -> io::Result<()> {
        self.faults
            .pass_cut(&format!("remove {}", path.display()))?;
        sfs::remove_file(path)?;
        let mut st = self.faults.0.borrow_mut();
        st.unsynced.remove(path);
        st.lost.retain(|(p, _)| p != path);
        Ok(())
    }

    fn sync_dir(&self, dir: &Path) -> io::Result<()> {
        self.faults
            .pass_cut(&format!("sync of directory {}", dir.display()))?;
        sfs::sync_dir(dir)
    }

    fn create_dir_all(&self, dir: &Path) -> io::Result<()> {
        self.faults
            .pass_cut(&format!("create directory {}", dir.display()))?;
        sfs::create_dir_all(dir)
    }

    fn list(&self, dir: &Path) -> io::Result<Vec<PathBuf>> {
        let mut files = Vec::new();
        for entry in sfs::read_dir(dir)? {
            let entry = entry?;
            if entry.file_type()?.is_file() {
                files.push(entry.path());
            }
        }
        files.sort();
        Ok(files)
    }
}

/// An open file of a [`SimDisk`].
#[derive(Debug)]
pub struct SimFile {
    file: sfs::File,
    path: PathBuf,
    faults: DiskFaults,
}

impl SimFile {
    /// The bytes `[offset, offset + len)` hold now (fewer past the end).
    fn current(&self, offset: u64, len: usize, file_len: u64) -> io::Result<Vec<u8>> {
        let have = usize::try_from(file_len.saturating_sub(offset)).unwrap_or(usize::MAX);
        let mut old = vec![0u8; len.min(have)];
        self.file.read_exact_at(&mut old, offset)?;
        Ok(old)
    }
}

impl DiskFile for SimFile {
    fn append(&mut self, data: &[u8]) -> io::Result<()> {
        let end = self.file.metadata()?.len();
        self.write_at(end, data)
    }

    fn write_at(&mut self, offset: u64, data: &[u8]) -> io::Result<()> {
        self.faults.pass_cut(&format!(
            "write of {} bytes at {offset} of {}",
            data.len(),
            self.path.display()
        ))?;
        let file_len = self.file.metadata()?.len();
        let end = offset.saturating_add(data.len() as u64);
        if end > file_len && self.faults.0.borrow().full {
            self.faults
                .0
                .borrow_mut()
                .log
                .push(format!("ENOSPC on {}", self.path.display()));
            return Err(io::Error::from_raw_os_error(ENOSPC));
        }
        let old = self.current(offset, data.len(), file_len)?;
        self.file.write_all_at(data, offset)?;
        let mut st = self.faults.0.borrow_mut();
        let lost = st.lost_writes > 0;
        if lost {
            st.lost_writes -= 1;
            let line = format!(
                "write of {} bytes at {offset} of {} will be lost",
                data.len(),
                self.path.display()
            );
            st.log.push(line);
        }
        st.unsynced
            .entry(self.path.clone())
            .or_default()
            .push(Undo {
                offset,
                old,
                len: data.len(),
                lost,
            });
        Ok(())
    }

    fn read_at(&mut self, offset: u64, buf: &mut [u8]) -> io::Result<usize> {
        self.file.read_at(buf, offset)
    }

    fn sync(&mut self) -> io::Result<()> {
        self.faults
            .pass_cut(&format!("sync of {}", self.path.display()))?;
        let mut st = self.faults.0.borrow_mut();
        let undos = st.unsynced.remove(&self.path).unwrap_or_default();
        if st.fsync_errors > 0 {
            st.fsync_errors -= 1;
            let at_ms = keel_net::clock::millis(turmoil::sim_elapsed().unwrap_or_default());
            st.log.push(format!(
                "fsync EIO on {} at {at_ms} ms",
                self.path.display()
            ));
            // Linux marks the pages clean anyway: these writes are gone at
            // the next power loss, whatever a later sync says.
            let path = self.path.clone();
            st.lost.extend(undos.into_iter().map(|u| (path.clone(), u)));
            return Err(io::Error::from_raw_os_error(EIO));
        }
        drop(st);
        self.file.sync_all()?;
        let mut st = self.faults.0.borrow_mut();
        let path = self.path.clone();
        if st.broken_syncs > 0 && !undos.is_empty() {
            let covered = undos.iter().map(|u| (path.clone(), u.clone())).collect();
            st.last_synced.push_back(covered);
            while st.last_synced.len() > st.broken_syncs {
                st.last_synced.pop_front();
            }
        }
        st.lost.extend(
            undos
                .into_iter()
                .filter(|u| u.lost)
                .map(|u| (path.clone(), u)),
        );
        Ok(())
    }

    fn size(&self) -> io::Result<u64> {
        Ok(self.file.metadata()?.len())
    }

    fn truncate(&mut self, len: u64) -> io::Result<()> {
        self.faults
            .pass_cut(&format!("truncate of {}", self.path.display()))?;
        self.file.set_len(len)?;
        // What lay past `len` is gone: a revert must not later write its
        // old bytes over what is appended there next.
        let mut st = self.faults.0.borrow_mut();
        let path = self.path.clone();
        for undo in st.unsynced.entry(path.clone()).or_default().iter_mut() {
            clip(undo, len);
        }
        for (_, undo) in st.lost.iter_mut().filter(|(p, _)| *p == path) {
            clip(undo, len);
        }
        st.lost.retain(|(_, u)| u.len > 0);
        Ok(())
    }
}

/// Shortens `undo` to the part of its range below `len`.
fn clip(undo: &mut Undo, len: u64) {
    let keep = usize::try_from(len.saturating_sub(undo.offset)).unwrap_or(usize::MAX);
    undo.len = undo.len.min(keep);
    undo.old.truncate(undo.len);
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;
    use std::time::Duration;

    const DIR: &str = "/data";

    fn path(name: &str) -> PathBuf {
        Path::new(DIR).join(name)
    }

    type Script = fn(u64, &SimDisk) -> io::Result<Vec<u8>>;

    /// A host whose software runs `script(boot, disk)` on every boot, after
    /// the fault layer's boot step, and records what it returns.
    struct Scripted {
        sim: turmoil::Sim<'static>,
        faults: DiskFaults,
        seen: Rc<RefCell<Vec<Vec<u8>>>>,
    }

    impl Scripted {
        fn boot(script: Script) -> Self {
            let mut sim = turmoil::Builder::new()
                .rng_seed(1)
                .simulation_duration(Duration::from_secs(60))
                .build();
            let faults = DiskFaults::new(9);
            let seen = Rc::new(RefCell::new(Vec::new()));
            let boots = Rc::new(Cell::new(0u64));
            let (f, s) = (faults.clone(), seen.clone());
            sim.host("h", move || {
                let (f, s, boots) = (f.clone(), s.clone(), boots.clone());
                async move {
                    let disk = SimDisk::new(PathBuf::from(DIR), f);
                    disk.boot()?;
                    boots.set(boots.get() + 1);
                    let out = script(boots.get(), &disk)?;
                    s.borrow_mut().push(out);
                    std::future::pending::<()>().await;
                    Ok(())
                }
            });
            let mut me = Scripted { sim, faults, seen };
            me.steps(3);
            me
        }

        fn steps(&mut self, n: usize) {
            for _ in 0..n {
                self.sim.step().unwrap();
            }
        }

        /// Cuts the power; `while_down` runs before the host boots again.
        fn power_cycle(&mut self, while_down: impl FnOnce(&DiskFaults)) {
            self.sim.crash("h");
            self.faults.power_loss();
            while_down(&self.faults);
            self.steps(2);
            self.sim.bounce("h");
            self.steps(3);
        }

        /// Kill and restart: the page cache survives.
        fn restart(&mut self) {
            self.sim.bounce("h");
            self.steps(3);
        }

        fn seen(&self) -> Vec<Vec<u8>> {
            self.seen.borrow().clone()
        }
    }

    /// First boot: a durable file "a" holding "0000", then `more`; every
    /// later boot returns the contents of "a".
    fn write_then_read(
        boot: u64,
        disk: &SimDisk,
        more: fn(&SimDisk, &mut SimFile) -> io::Result<Vec<u8>>,
    ) -> io::Result<Vec<u8>> {
        if boot > 1 {
            return disk.read(&path("a"));
        }
        let mut f = disk.open(&path("a"), OpenMode::Append)?;
        f.append(b"0000")?;
        f.sync()?;
        disk.sync_dir(Path::new(DIR))?;
        more(disk, &mut f)
    }

    #[test]
    fn synced_data_survives_a_power_loss_and_unsynced_data_does_not() {
        let mut s = Scripted::boot(|boot, disk| {
            write_then_read(boot, disk, |_, f| {
                f.append(b"1111")?; // never synced
                Ok(b"ok".to_vec())
            })
        });
        s.restart();
        s.power_cycle(|_| {});
        assert_eq!(
            s.seen(),
            vec![b"ok".to_vec(), b"00001111".to_vec(), b"0000".to_vec()],
            "the page cache survives a kill, not a power loss"
        );
        assert!(s.faults.log().is_empty(), "nothing was injected");
    }

    #[test]
    fn an_fsync_error_loses_the_data_even_after_a_later_successful_sync() {
        let mut s = Scripted::boot(|boot, disk| {
            write_then_read(boot, disk, |disk, f| {
                disk.faults.fail_next_syncs(1);
                f.append(b"1111")?;
                let err = f.sync().unwrap_err();
                assert_eq!(err.raw_os_error(), Some(EIO));
                f.sync()?; // succeeds, as on Linux, but too late
                f.append(b"2222")?;
                f.sync()?;
                let mut all = vec![0u8; 12];
                assert_eq!(f.read_at(0, &mut all)?, 12);
                Ok(all)
            })
        });
        s.power_cycle(|_| {});
        assert_eq!(s.seen()[0], b"000011112222", "readable before the crash");
        assert_eq!(
            s.seen()[1],
            b"0000\0\0\0\x002222",
            "the write the failed sync covered is gone"
        );
    }

    #[test]
    fn a_lost_write_is_acknowledged_then_reverted_by_a_power_loss() {
        let mut s = Scripted::boot(|boot, disk| {
            write_then_read(boot, disk, |disk, f| {
                disk.faults.lose_next_writes(2);
                f.write_at(0, b"AB")?; // lost: the old "00" comes back
                f.append(b"CD")?; // lost: zeros past the old end
                f.append(b"EF")?; // durable
                f.sync()?;
                disk.read(&path("a"))
            })
        });
        assert_eq!(s.seen()[0], b"AB00CDEF");
        s.restart();
        assert_eq!(s.seen()[1], b"AB00CDEF", "a kill keeps the page cache");
        s.power_cycle(|_| {});
        assert_eq!(s.seen()[2], b"0000\0\0EF");
        let log = s.faults.log();
        assert_eq!(log.iter().filter(|l| l.contains("reverted")).count(), 2);
    }

    #[test]
    fn a_cut_forgets_what_a_failed_sync_would_revert_past_it() {
        let mut s = Scripted::boot(|boot, disk| {
            write_then_read(boot, disk, |disk, f| {
                disk.faults.fail_next_syncs(1);
                f.append(b"1111")?;
                assert!(f.sync().is_err());
                f.truncate(4)?;
                f.append(b"2222")?;
                f.sync()?;
                Ok(b"ok".to_vec())
            })
        });
        s.power_cycle(|_| {});
        assert_eq!(s.seen()[1], b"00002222", "the durable append stays");
    }

    #[test]
    fn broken_syncs_lose_their_writes_at_a_power_loss() {
        let mut s = Scripted::boot(|boot, disk| {
            write_then_read(boot, disk, |disk, f| {
                disk.faults.set_broken_syncs(1);
                f.append(b"1111")?;
                f.sync()?;
                f.append(b"2222")?;
                f.sync()?;
                Ok(b"ok".to_vec())
            })
        });
        s.restart();
        assert_eq!(s.seen()[1], b"000011112222", "a kill loses nothing");
        s.power_cycle(|_| {});
        assert_eq!(s.seen()[2], b"00001111", "the last sync persisted nothing");
    }

    #[test]
    fn a_power_cut_between_a_rename_and_its_directory_sync_keeps_the_old_file() {
        let mut s = Scripted::boot(|boot, disk| {
            write_then_read(boot, disk, |disk, _| {
                let mut t = disk.open(&path("t"), OpenMode::Create)?;
                t.append(b"new!")?;
                t.sync()?;
                disk.faults.cut_power_after(1);
                disk.rename(&path("t"), &path("a"))?;
                assert!(!disk.faults.power_cut_reached());
                let cut = disk.sync_dir(Path::new(DIR)).unwrap_err();
                assert_eq!(cut.raw_os_error(), Some(EIO));
                assert!(disk.faults.power_cut_reached());
                assert!(disk.read(&path("a")).is_err(), "nothing runs after the cut");
                Ok(b"ok".to_vec())
            })
        });
        s.power_cycle(|_| {});
        assert_eq!(s.seen()[1], b"0000", "the rename was not durable");
        assert!(!s.faults.power_cut_reached(), "the power loss disarms it");
        assert_eq!(
            s.faults.log(),
            vec![format!("power cut at sync of directory {DIR}")]
        );
    }

    #[test]
    fn disk_full_refuses_growth_until_space_returns() {
        let s = Scripted::boot(|_, disk| {
            let mut f = disk.open(&path("a"), OpenMode::Append)?;
            f.append(b"0000")?;
            disk.faults.set_full(true);
            let err = f.append(b"xy").unwrap_err();
            assert_eq!(err.kind(), io::ErrorKind::StorageFull);
            f.write_at(0, b"11")?; // no growth: allowed
            disk.faults.set_full(false);
            f.append(b"22")?;
            disk.read(&path("a"))
        });
        assert_eq!(s.seen(), vec![b"110022".to_vec()]);
        assert_eq!(s.faults.log(), vec!["ENOSPC on /data/a".to_string()]);
    }

    #[test]
    fn a_bit_flipped_at_rest_stays_flipped() {
        let mut s =
            Scripted::boot(|boot, disk| write_then_read(boot, disk, |_, _| Ok(b"ok".to_vec())));
        s.power_cycle(|faults| faults.flip_bits_at_rest(1));
        s.restart();
        let flipped = s.seen()[1].clone();
        let differing: u32 = flipped
            .iter()
            .zip(b"0000")
            .map(|(a, b)| (a ^ b).count_ones())
            .sum();
        assert_eq!(flipped.len(), 4);
        assert_eq!(differing, 1, "exactly one bit differs: {flipped:?}");
        assert_eq!(s.seen()[2], flipped, "the flip is on disk, not in a read");
        assert_eq!(s.faults.log().len(), 1);
    }
}
