//! `appendfsync always` with many clients: the writes of every client
//! served in one turn of the event loop share one fsync (group commit),
//! and every client still gets its reply only after that fsync.

use keel_engine::Config;
use keel_net::clock::OsClock;
use keel_net::disk::{Disk, DiskFile, FsDisk, OpenMode};
use keel_net::transport::TcpTransport;
use keel_net::Server;
use std::fs;
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use std::time::Duration;

/// Real files; counts fsyncs of files and makes each take a while, as a
/// disk does, so clients' writes arrive while one is running.
#[derive(Clone)]
struct CountingDisk {
    syncs: Arc<AtomicUsize>,
}

struct CountingFile {
    file: fs::File,
    syncs: Arc<AtomicUsize>,
}

impl Disk for CountingDisk {
    type File = CountingFile;

    fn open(&self, path: &Path, mode: OpenMode) -> io::Result<CountingFile> {
        Ok(CountingFile {
            file: FsDisk.open(path, mode)?,
            syncs: self.syncs.clone(),
        })
    }
    fn read(&self, path: &Path) -> io::Result<Vec<u8>> {
        FsDisk.read(path)
    }
    fn size(&self, path: &Path) -> io::Result<u64> {
        FsDisk.size(path)
    }
    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        FsDisk.rename(from, to)
    }
    fn remove(&self, path: &Path) -> io::Result<()> {
        FsDisk.remove(path)
    }
    fn sync_dir(&self, dir: &Path) -> io::Result<()> {
        FsDisk.sync_dir(dir)
    }
    fn create_dir_all(&self, dir: &Path) -> io::Result<()> {
        FsDisk.create_dir_all(dir)
    }
    fn list(&self, dir: &Path) -> io::Result<Vec<PathBuf>> {
        FsDisk.list(dir)
    }
}

impl DiskFile for CountingFile {
    fn append(&mut self, data: &[u8]) -> io::Result<()> {
        DiskFile::append(&mut self.file, data)
    }
    fn write_at(&mut self, offset: u64, data: &[u8]) -> io::Result<()> {
        DiskFile::write_at(&mut self.file, offset, data)
    }
    fn read_at(&mut self, offset: u64, buf: &mut [u8]) -> io::Result<usize> {
        DiskFile::read_at(&mut self.file, offset, buf)
    }
    fn sync(&mut self) -> io::Result<()> {
        self.syncs.fetch_add(1, Ordering::SeqCst);
        std::thread::sleep(Duration::from_millis(5));
        DiskFile::sync(&mut self.file)
    }
    fn size(&self) -> io::Result<u64> {
        DiskFile::size(&self.file)
    }
    fn truncate(&mut self, len: u64) -> io::Result<()> {
        DiskFile::truncate(&mut self.file, len)
    }
}

fn start(config: Config, disk: CountingDisk) -> (SocketAddr, mpsc::Sender<()>) {
    let (ready_tx, ready_rx) = mpsc::channel();
    let (stop_tx, stop_rx) = mpsc::channel::<()>();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let local = tokio::task::LocalSet::new();
        local.block_on(&runtime, async move {
            let server = Server::bind(config, &TcpTransport, OsClock::new())
                .await
                .expect("bind")
                .with_disk(disk);
            ready_tx.send(server.local_addrs()[0]).expect("ready");
            let stop = async move {
                while stop_rx.try_recv().is_err() {
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
            };
            server.run(stop).await.expect("server ran");
        });
    });
    (ready_rx.recv().expect("server address"), stop_tx)
}

fn set_command(key: &str) -> Vec<u8> {
    format!("*3\r\n$3\r\nSET\r\n${}\r\n{key}\r\n$1\r\nv\r\n", key.len()).into_bytes()
}

/// Waits until the server has loaded its (empty) AOF: PING answers
/// `+PONG` instead of `-LOADING ...`.
fn wait_until_loaded(stream: &mut TcpStream) {
    for _ in 0..500 {
        stream.write_all(b"*1\r\n$4\r\nPING\r\n").expect("send");
        let mut reply = [0u8; 7];
        stream.read_exact(&mut reply[..1]).expect("reply");
        if reply[0] == b'+' {
            stream.read_exact(&mut reply[1..]).expect("reply");
            assert_eq!(&reply, b"+PONG\r\n");
            return;
        }
        // An error line: read it to its end, then ask again.
        let mut byte = [0u8; 1];
        while byte[0] != b'\n' {
            stream.read_exact(&mut byte).expect("reply");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    panic!("the server never finished loading");
}

fn read_ok(stream: &mut TcpStream) {
    let mut reply = [0u8; 5];
    stream.read_exact(&mut reply).expect("reply");
    assert_eq!(&reply, b"+OK\r\n");
}

#[test]
fn clients_served_in_one_turn_share_one_fsync() {
    let dir = std::env::temp_dir().join(format!("keel-group-commit-{}", std::process::id()));
    fs::create_dir_all(&dir).expect("dir");
    let config = Config {
        port: 0,
        bind: vec!["127.0.0.1".into()],
        dir: dir.to_string_lossy().into_owned(),
        appendonly: true,
        appendfsync: "always".into(),
        save: Vec::new(),
        ..Default::default()
    };
    let syncs = Arc::new(AtomicUsize::new(0));
    let (addr, stop) = start(
        config,
        CountingDisk {
            syncs: syncs.clone(),
        },
    );
    const CLIENTS: usize = 20;
    const ROUNDS: usize = 10;
    let mut clients: Vec<TcpStream> = (0..CLIENTS)
        .map(|_| TcpStream::connect(addr).expect("connect"))
        .collect();
    wait_until_loaded(&mut clients[0]);
    let before = syncs.load(Ordering::SeqCst);
    for round in 0..ROUNDS {
        for (i, client) in clients.iter_mut().enumerate() {
            client
                .write_all(&set_command(&format!("k{round}:{i}")))
                .expect("send");
        }
        for client in clients.iter_mut() {
            read_ok(client);
        }
    }
    let fsyncs = syncs.load(Ordering::SeqCst) - before;
    // One fsync per write would be CLIENTS * ROUNDS; sharing brings it
    // down to a few per round.
    assert!(fsyncs >= ROUNDS, "every round was synced: {fsyncs}");
    assert!(
        fsyncs <= CLIENTS * ROUNDS / 2,
        "{fsyncs} fsyncs for {} writes: they were not shared",
        CLIENTS * ROUNDS
    );
    drop(stop);
    let _ = fs::remove_dir_all(&dir);
}
