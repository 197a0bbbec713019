//! `keel-server`: Keel's server binary, started like redis-server.
//!
//! ```text
//! keel-server [/path/to/keel.conf | -] [--name value ...]
//! keel-server -v | --version
//! keel-server -h | --help
//! keel-server --check-rdb FILE
//! ```

use keel_engine::cmd::connection::REDIS_VERSION;
use keel_engine::config::DEFAULT_SAVE_POINTS;
use keel_engine::rdb::loader::{Item, RdbLoader};
use keel_engine::rdb::{Encodings, RdbError};
use keel_engine::Config;
use keel_net::conf::{flag_directives, parse_command_line, parse_text, Invocation};
use keel_net::{OsClock, Server, TcpTransport};
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::{self, IsTerminal, Read};
use std::process::ExitCode;
use std::sync::Mutex;
use tracing_subscriber::filter::LevelFilter;

const KEEL_VERSION: &str = env!("CARGO_PKG_VERSION");

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("--check-aof") {
        return check_aof::run(&args[1..]);
    }
    if args.first().map(String::as_str) == Some("--check-rdb") {
        return match args.get(1) {
            Some(path) if args.len() == 2 => check_rdb(path),
            _ => {
                eprintln!("Usage: keel-server --check-rdb <rdb-file-name>");
                ExitCode::FAILURE
            }
        };
    }
    // The texts of the config files read, to see whether they set `save`.
    let texts = RefCell::new(Vec::new());
    let load = |path: &str| {
        let text = load_config_file(path)?;
        texts.borrow_mut().push(text.clone());
        Ok(text)
    };
    match parse_command_line(&args, &load) {
        Ok(Invocation::Version) => {
            println!("{}", version_line());
            ExitCode::SUCCESS
        }
        Ok(Invocation::Help) => {
            print!("{}", usage());
            ExitCode::SUCCESS
        }
        Ok(Invocation::Serve {
            mut config,
            config_file,
        }) => {
            record_paths(&mut config, config_file);
            if !save_given(&args, &texts.borrow()) {
                config.save = DEFAULT_SAVE_POINTS.to_vec();
            }
            start(*config)
        }
        Err(e) => {
            eprintln!("{e}");
            ExitCode::FAILURE
        }
    }
}

/// The `-v` line: redis-server's shape, so tools that parse it (test
/// harnesses read `v=`) see the Redis version Keel follows.
fn version_line() -> String {
    format!(
        "Redis server v={REDIS_VERSION} sha=00000000:0 malloc=libc bits={} build=keel-{KEEL_VERSION} (Keel {KEEL_VERSION}, a Redis-compatible server)",
        usize::BITS
    )
}

fn usage() -> String {
    format!(
        "Keel {KEEL_VERSION}, a Redis {REDIS_VERSION} compatible server.\n\n\
         Usage: keel-server [/path/to/keel.conf] [options]\n\
         \x20      keel-server - (read config from stdin)\n\
         \x20      keel-server -v or --version\n\
         \x20      keel-server -h or --help\n\n\
         The config file has redis.conf's form: one `name value ...` a line,\n\
         `#` comment lines, quotes as redis.conf, `include path`.\n\
         Any parameter is also a flag, `--name value ...`; flags come after\n\
         the file and the last one given wins.\n\n\
         Examples:\n\
         \x20      keel-server (run the server with the default config)\n\
         \x20      keel-server /etc/keel/6379.conf\n\
         \x20      keel-server --port 7777\n\
         \x20      keel-server --port 7777 --bind 127.0.0.1 -::1\n\
         \x20      keel-server /etc/keel.conf --loglevel verbose --requirepass secret\n"
    )
}

/// Whether the config files or the flags set `save`: if not, the server
/// uses Redis's default save points (`Config::default()` has none, for
/// tests and the simulation).
fn save_given(args: &[String], texts: &[String]) -> bool {
    let no_includes = |_: &str| Ok(String::new());
    let in_files = texts.iter().any(|text| {
        parse_text(text, &no_includes, 0).is_ok_and(|ds| ds.iter().any(|d| d.name == "save"))
    });
    let flags = match args.first() {
        Some(first) if first == "-" || !first.starts_with('-') => &args[1..],
        _ => args,
    };
    in_files || flag_directives(flags, 0).iter().any(|d| d.name == "save")
}

fn load_config_file(path: &str) -> io::Result<String> {
    let mut bytes = Vec::new();
    if path == "-" {
        io::stdin().read_to_end(&mut bytes)?;
    } else {
        File::open(path)?.read_to_end(&mut bytes)?;
    }
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

/// INFO reports the executable and the config file as absolute paths, as
/// Redis does; resolve them before `start` changes directory to `dir`.
fn record_paths(config: &mut Config, config_file: Option<String>) {
    if let Ok(exe) = std::env::current_exe() {
        config.executable = exe.display().to_string();
    }
    config.config_file = config_file.filter(|f| f != "-").map(|f| {
        std::path::absolute(&f)
            .map(|p| p.display().to_string())
            .unwrap_or(f)
    });
}

fn start(mut config: Config) -> ExitCode {
    // The core builds file paths from `dir`: make it absolute before the
    // working directory changes to it (Redis's CONFIG GET dir shows it so).
    if let Ok(dir) = std::path::absolute(&config.dir) {
        config.dir = dir.display().to_string();
    }
    if let Err(e) = std::env::set_current_dir(&config.dir) {
        eprintln!("Can't chdir to '{}': {e}", config.dir);
        return ExitCode::FAILURE;
    }
    if let Err(e) = init_logging(&config) {
        eprintln!("Can't open the log file '{}': {e}", config.logfile);
        return ExitCode::FAILURE;
    }
    // The core is deterministic given its seed; a production server draws
    // the seed from the OS.
    config.seed = match getrandom::u64() {
        Ok(seed) => seed,
        Err(e) => {
            tracing::error!("Can't read OS randomness for the seed: {e}");
            return ExitCode::FAILURE;
        }
    };
    match run(config) {
        Ok(()) => {
            tracing::warn!("Keel is now ready to exit, bye bye...");
            ExitCode::SUCCESS
        }
        Err(e) => {
            tracing::error!("{e}");
            ExitCode::FAILURE
        }
    }
}

/// Maps Redis's `loglevel` to tracing levels.
fn level_filter(loglevel: &str) -> LevelFilter {
    match loglevel {
        "debug" => LevelFilter::TRACE,
        "verbose" => LevelFilter::DEBUG,
        "notice" => LevelFilter::INFO,
        "warning" => LevelFilter::WARN,
        _ => LevelFilter::OFF,
    }
}

/// Logs to standard output, or appends to `logfile` when one is set.
fn init_logging(config: &Config) -> io::Result<()> {
    let builder = tracing_subscriber::fmt()
        .with_max_level(level_filter(&config.loglevel))
        .with_target(false);
    if config.logfile.is_empty() {
        let colors = io::stdout().is_terminal();
        builder.with_ansi(colors).with_writer(io::stdout).init();
    } else {
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&config.logfile)?;
        builder
            .with_ansi(false)
            .with_writer(Mutex::new(file))
            .init();
    }
    Ok(())
}

fn run(config: Config) -> io::Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let local = tokio::task::LocalSet::new();
    local.block_on(&runtime, async move {
        let pidfile = config.pidfile.clone();
        let server = Server::bind(config, &TcpTransport, OsClock::new()).await?;
        let addrs = server.local_addrs();
        let port = addrs.first().map_or(0, |a| a.port());
        tracing::info!(
            "Keel {KEEL_VERSION} (Redis {REDIS_VERSION} compatible) started, port={port}, pid={}",
            std::process::id()
        );
        write_pidfile(&pidfile);
        for addr in &addrs {
            tracing::info!("Listening on {addr}");
        }
        let result = server.run(shutdown_signal()).await;
        if !pidfile.is_empty() {
            let _ = std::fs::remove_file(&pidfile);
        }
        result
    })
}

fn write_pidfile(path: &str) {
    if path.is_empty() {
        return;
    }
    if let Err(e) = std::fs::write(path, format!("{}\n", std::process::id())) {
        tracing::warn!("Failed to write PID file {path}: {e}");
    }
}

/// Completes on SIGTERM or SIGINT (Ctrl-C).
async fn shutdown_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    let (Ok(mut term), Ok(mut int)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) else {
        tracing::warn!("Can't install signal handlers; stop with SHUTDOWN");
        return std::future::pending().await;
    };
    tokio::select! {
        biased;
        _ = term.recv() => tracing::warn!("Received SIGTERM scheduling shutdown..."),
        _ = int.recv() => tracing::warn!("Received SIGINT scheduling shutdown..."),
    }
}

/// `keel-server --check-aof [--fix] <dir | manifest | file>`: checks an
/// AOF as redis-check-aof does and, with `--fix`, cuts the last file at
/// its last valid command (asking nothing). Exit status 0 when valid (or
/// fixed), 1 otherwise.
mod check_aof {
    use bytes::Bytes;
    use keel_engine::aof::check::{check_file, manifest_files, verdict, FileCheck, Verdict};
    use keel_engine::rdb::Encodings;
    use keel_engine::Config;
    use std::path::{Path, PathBuf};
    use std::process::ExitCode;

    pub fn run(args: &[String]) -> ExitCode {
        let (fix, path) = match args {
            [flag, path] if flag == "--fix" => (true, path),
            [path] => (false, path),
            _ => {
                eprintln!("Usage: keel-server --check-aof [--fix] <dir|file.manifest|file.aof>");
                return ExitCode::FAILURE;
            }
        };
        match check(Path::new(path), fix) {
            Ok(true) => ExitCode::SUCCESS,
            Ok(false) => ExitCode::FAILURE,
            Err(e) => {
                eprintln!("{e}");
                ExitCode::FAILURE
            }
        }
    }

    /// The files to check, in load order, with the directory they are in.
    fn files_of(path: &Path) -> Result<(PathBuf, Vec<String>, bool), String> {
        let manifest = if path.is_dir() {
            let found = std::fs::read_dir(path)
                .map_err(|e| format!("Cannot read directory {}: {e}", path.display()))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .find(|p| {
                    p.extension().is_some_and(|x| x == "manifest")
                        && !p
                            .file_name()
                            .is_some_and(|n| n.to_string_lossy().starts_with("temp-"))
                });
            found.ok_or_else(|| format!("No AOF manifest in {}", path.display()))?
        } else {
            path.to_path_buf()
        };
        let dir = manifest.parent().unwrap_or(Path::new(".")).to_path_buf();
        if manifest.extension().is_some_and(|x| x == "manifest") {
            let text = std::fs::read(&manifest)
                .map_err(|e| format!("Cannot read file {}: {e}", manifest.display()))?;
            let names = manifest_files(&text)
                .map_err(|e| format!("Invalid manifest {}: {e}", manifest.display()))?;
            return Ok((dir, names, true));
        }
        let name = manifest
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        Ok((dir, vec![name], false))
    }

    fn check(path: &Path, fix: bool) -> Result<bool, String> {
        let (dir, names, multi) = files_of(path)?;
        println!(
            "Start checking {} AOF",
            if multi { "Multi Part" } else { "Old-Style" }
        );
        let enc = Encodings::from_config(&Config::default());
        let mut checks: Vec<FileCheck> = Vec::new();
        for name in &names {
            let file = dir.join(name);
            let data = std::fs::read(&file)
                .map_err(|e| format!("Cannot read file {}: {e}", file.display()))?;
            let c = check_file(name, &Bytes::from(data), enc);
            println!(
                "AOF analyzed: filename={}, size={}, ok_up_to={}, commands={}, diff={}",
                c.name,
                c.size,
                c.valid_up_to,
                c.commands,
                c.size - c.valid_up_to.min(c.size)
            );
            let valid = c.is_valid();
            if let Some(problem) = &c.problem {
                println!("{problem}");
            }
            checks.push(c);
            if !valid {
                break;
            }
        }
        let all_checked = checks.len() == names.len();
        match verdict(&checks) {
            Verdict::Valid => {
                println!("All AOF files and manifest are valid");
                Ok(true)
            }
            Verdict::Fixable { index, len } if fix && all_checked => {
                let file = dir.join(&checks[index].name);
                let f = std::fs::OpenOptions::new()
                    .write(true)
                    .open(&file)
                    .map_err(|e| format!("Failed to open {}: {e}", file.display()))?;
                f.set_len(len)
                    .and_then(|()| f.sync_all())
                    .map_err(|e| format!("Failed to truncate AOF {}: {e}", file.display()))?;
                println!(
                    "Successfully truncated AOF {} to {len} bytes",
                    checks[index].name
                );
                Ok(true)
            }
            Verdict::Fixable { index, .. } => {
                println!(
                    "AOF {} is not valid. Use the --fix option to try fixing it.",
                    checks[index].name
                );
                Ok(false)
            }
            Verdict::Broken { index } => {
                println!("AOF {} is not valid and cannot be fixed by truncation (it is not the last file, or its RDB preamble is damaged).", checks[index].name);
                Ok(false)
            }
        }
    }
}

// ---- --check-rdb ----

/// What a check found in a file.
#[derive(Default)]
struct CheckReport {
    keys_per_db: BTreeMap<u64, u64>,
    expires: u64,
    already_expired: u64,
    functions: u64,
}

/// `--check-rdb FILE`: reads the whole file as the loader at start does,
/// printing what it finds in redis-check-rdb's manner; exit status 0 when
/// the file would load, 1 otherwise (with the offset of the problem).
fn check_rdb(path: &str) -> ExitCode {
    println!("[offset 0] Checking RDB file {path}");
    let data = match std::fs::read(path) {
        Ok(data) => data,
        Err(e) => {
            println!("--- RDB ERROR DETECTED ---");
            println!("Cannot open RDB file {path}: {e}");
            return ExitCode::FAILURE;
        }
    };
    match check_items(&data) {
        Ok(report) => {
            print_report(&report, data.len());
            ExitCode::SUCCESS
        }
        Err(e) => {
            println!("--- RDB ERROR DETECTED ---");
            println!("[offset {}] {}", e.offset, e.message);
            println!("[additional info] While checking RDB file {path}");
            ExitCode::FAILURE
        }
    }
}

fn check_items(data: &[u8]) -> Result<CheckReport, RdbError> {
    let mut loader = RdbLoader::new(data, Encodings::from_config(&Config::default()))?;
    println!("[offset 0] RDB version {}", loader.version());
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64);
    let mut report = CheckReport::default();
    loop {
        let at = loader.offset();
        let Some(item) = loader.next_item()? else {
            break;
        };
        match item {
            Item::Aux { key, value } => println!(
                "[offset {at}] AUX FIELD {} = '{}'",
                String::from_utf8_lossy(&key),
                String::from_utf8_lossy(&value)
            ),
            Item::SelectDb(db) => println!("[offset {at}] Selecting DB ID {db}"),
            Item::Function { .. } => report.functions += 1,
            Item::ResizeDb { .. } => {}
            Item::Entry(entry) => {
                *report.keys_per_db.entry(entry.db).or_default() += 1;
                if let Some(at_ms) = entry.expire_at_ms {
                    report.expires += 1;
                    report.already_expired += u64::from(at_ms <= now_ms);
                }
            }
        }
    }
    Ok(report)
}

fn print_report(report: &CheckReport, len: usize) {
    println!("[offset {len}] Checksum OK");
    println!("[offset {len}] \\o/ RDB looks OK! \\o/");
    let keys: u64 = report.keys_per_db.values().sum();
    println!("[info] {keys} keys read");
    for (db, n) in &report.keys_per_db {
        println!("[info] db {db}: {n} keys");
    }
    println!("[info] {} expires", report.expires);
    println!("[info] {} already expired", report.already_expired);
    println!("[info] {} function libraries", report.functions);
}
