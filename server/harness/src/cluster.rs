//! A throwaway PostgreSQL cluster for the tests and the load tool: `initdb` and `pg_ctl` in a
//! temporary directory, on a free loopback port, run as the `postgres` user when this
//! process is root (PostgreSQL refuses to run as root). Nothing needs to be running before.
//!
//! Cleanup does not rely on this process ending well: a watchdog (`sh`) reads a pipe whose
//! only writer is this process, so when the process exits — normally, by a panic, by a
//! signal — the pipe closes, and the watchdog stops the cluster and removes the directory.
//! [`Cluster`]'s `Drop` does the same at once when it is dropped.

use std::io::Read;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};

use tokio_postgres::NoTls;

/// A running cluster; stopped and removed when dropped (and, failing that, when this
/// process exits).
#[derive(Debug)]
pub struct Cluster {
    root: PathBuf,
    bin: PathBuf,
    port: u16,
    as_postgres: bool,
    watchdog: Option<(Child, ChildStdin)>,
}

/// Where `initdb` and `pg_ctl` are: on `PATH`, else the newest `/usr/lib/postgresql/*/bin`.
pub fn find_bin() -> Result<PathBuf, String> {
    let on_path = std::env::var_os("PATH")
        .map(|path| std::env::split_paths(&path).collect::<Vec<_>>())
        .unwrap_or_default();
    for dir in on_path {
        if dir.join("initdb").is_file() && dir.join("pg_ctl").is_file() {
            // A symlink (Debian's wrappers in /usr/local/bin): the real directory holds the
            // server binary and the libraries too.
            let real = std::fs::canonicalize(dir.join("pg_ctl")).unwrap_or(dir.join("pg_ctl"));
            return Ok(real.parent().map_or(dir.clone(), Path::to_path_buf));
        }
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .filter_map(|entry| {
                    let version = entry.file_name().to_str()?.parse().ok()?;
                    let bin = entry.path().join("bin");
                    bin.join("initdb").is_file().then_some((version, bin))
                })
                .collect()
        })
        .unwrap_or_default();
    versions.sort();
    versions.pop().map(|(_, bin)| bin).ok_or_else(|| {
        format!("PostgreSQL's initdb and pg_ctl are neither on PATH nor in /usr/lib/postgresql/*/bin ({INSTALL})")
    })
}

/// Where the server binaries come from, by system.
pub const INSTALL: &str = "Debian/Ubuntu: apt-get install postgresql; Fedora: dnf install \
     postgresql-server postgresql-contrib; macOS: brew install postgresql@17";

/// Why [`Cluster::start`] cannot work on this machine, naming what to install; `None` when
/// it can: `initdb` and `pg_ctl` found and, as root, a `postgres` user and `runuser` (util-linux).
pub fn unavailable() -> Option<String> {
    if let Err(missing) = find_bin() {
        return Some(missing);
    }
    if !is_root() {
        return None;
    }
    if runuser().is_none() {
        return Some(
            "running as root, PostgreSQL runs as the postgres user through runuser, which is \
             missing (util-linux)"
                .to_owned(),
        );
    }
    let user = Command::new("id").args(["-u", "postgres"]).output();
    if !user.is_ok_and(|out| out.status.success()) {
        return Some(
            "running as root, PostgreSQL runs as the postgres user, which does not exist \
             (the distribution's postgresql package creates it; or: useradd --system postgres)"
                .to_owned(),
        );
    }
    None
}

/// `runuser`, which lives in sbin (a root shell's PATH may lack it).
fn runuser() -> Option<&'static str> {
    let on_path = std::env::var_os("PATH")
        .is_some_and(|path| std::env::split_paths(&path).any(|dir| dir.join("runuser").is_file()));
    ["/usr/sbin/runuser", "/sbin/runuser", "/usr/bin/runuser"]
        .into_iter()
        .find(|path| Path::new(path).is_file())
        .or(on_path.then_some("runuser"))
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|out| String::from_utf8_lossy(&out.stdout).trim() == "0")
}

fn free_port() -> Result<u16, String> {
    let listener = TcpListener::bind("127.0.0.1:0").map_err(|e| format!("a free port: {e}"))?;
    listener
        .local_addr()
        .map(|addr| addr.port())
        .map_err(|e| e.to_string())
}

impl Cluster {
    /// `initdb` and `pg_ctl start` in a new temporary directory; the superuser is `postgres`,
    /// with `trust` authentication on 127.0.0.1 only. `fsync` is off: these clusters are
    /// thrown away, and the figures measured on them are CPU, not disk.
    pub fn start() -> Result<Cluster, String> {
        static STARTED: AtomicUsize = AtomicUsize::new(0);
        let bin = find_bin()?;
        let as_postgres = is_root();
        // As root, the `postgres` user must reach the directory: /tmp, whatever TMPDIR
        // says (it may point inside root's home).
        let base = if as_postgres {
            PathBuf::from("/tmp")
        } else {
            std::env::temp_dir()
        };
        let root = base.join(format!(
            "bulk-contacts-pg-{}-{}",
            std::process::id(),
            STARTED.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&root);
        std::fs::create_dir_all(&root).map_err(|e| format!("{}: {e}", root.display()))?;
        let mut cluster = Cluster {
            root,
            bin,
            port: 0,
            as_postgres,
            watchdog: None,
        };
        if as_postgres {
            let chown = Command::new("chown")
                .arg("postgres:")
                .arg(&cluster.root)
                .status()
                .map_err(|e| format!("chown: {e}"))?;
            if !chown.success() {
                return Err("chown postgres: failed (is there a postgres user?)".to_owned());
            }
        }
        cluster.watchdog = Some(cluster.watchdog()?);
        let data = cluster.root.join("data");
        cluster.run(
            "initdb",
            &[
                "-D".as_ref(),
                data.as_os_str(),
                "-U".as_ref(),
                "postgres".as_ref(),
                "-A".as_ref(),
                "trust".as_ref(),
                "-E".as_ref(),
                "UTF8".as_ref(),
                "--locale=C".as_ref(),
                "--no-sync".as_ref(),
            ],
        )?;
        let preload = if cluster.bin.join("../lib/pg_stat_statements.so").is_file() {
            " -c shared_preload_libraries=pg_stat_statements"
        } else {
            ""
        };
        let mut last = String::new();
        for _ in 0..5 {
            let port = free_port()?;
            let options = format!(
                "-p {port} -k {} -c listen_addresses=127.0.0.1 -c fsync=off \
                 -c synchronous_commit=off -c full_page_writes=off -c max_connections=100 \
                 -c max_locks_per_transaction=512 -c shared_buffers=128MB{preload}",
                cluster.root.display()
            );
            match cluster.pg_ctl_start(&options) {
                Ok(()) => {
                    cluster.port = port;
                    return Ok(cluster);
                }
                // Most likely the port was taken in between: another one.
                Err(error) => last = error,
            }
        }
        Err(last)
    }

    fn command(&self, program: &str) -> Command {
        let path = self.bin.join(program);
        if self.as_postgres {
            let mut command = Command::new(runuser().unwrap_or("runuser"));
            command.args(["-u", "postgres", "--"]).arg(path);
            command
        } else {
            Command::new(path)
        }
    }

    fn run(&self, program: &str, args: &[&std::ffi::OsStr]) -> Result<(), String> {
        let output = self
            .command(program)
            .args(args)
            .stdin(Stdio::null())
            .output()
            .map_err(|e| format!("{program}: {e}"))?;
        if output.status.success() {
            Ok(())
        } else {
            let log = std::fs::read_to_string(self.root.join("log")).unwrap_or_default();
            Err(format!(
                "{program} failed ({}): {}{}\n{log}",
                output.status,
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            ))
        }
    }

    /// The cleanup that survives this process: `sh` waits for the end of its standard input
    /// (this process's end), then stops the cluster and removes its directory.
    fn watchdog(&self) -> Result<(Child, ChildStdin), String> {
        let stop = self.command("pg_ctl");
        let mut line: Vec<String> = vec![stop.get_program().to_string_lossy().into_owned()];
        line.extend(stop.get_args().map(|a| a.to_string_lossy().into_owned()));
        let script = r#"cat >/dev/null; "$@" stop -m immediate -D "$ROOT/data" >/dev/null 2>&1; rm -rf "$ROOT""#;
        let mut child = Command::new("sh")
            .arg("-c")
            .arg(script)
            .arg("watchdog")
            .args(line)
            .env("ROOT", &self.root)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("sh: {e}"))?;
        let stdin = child.stdin.take().ok_or("the watchdog's stdin")?;
        Ok((child, stdin))
    }

    /// The port it listens on (127.0.0.1).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The URL of database `name` as the superuser.
    pub fn url(&self, name: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{name}", self.port)
    }

    /// The directory of the `pg_ctl`, `psql` and `pgbench` binaries this cluster runs with.
    pub fn bin(&self) -> &Path {
        &self.bin
    }

    /// The postmaster's process id (from `postmaster.pid`).
    pub fn postmaster_pid(&self) -> Option<u32> {
        let mut text = String::new();
        std::fs::File::open(self.root.join("data/postmaster.pid"))
            .ok()?
            .read_to_string(&mut text)
            .ok()?;
        text.lines().next()?.trim().parse().ok()
    }

    /// Creates database `name`; returns its URL.
    pub async fn create_database(&self, name: &str) -> Result<String, String> {
        let (client, connection) = tokio_postgres::connect(&self.url("postgres"), NoTls)
            .await
            .map_err(|e| format!("connect: {e}"))?;
        let driver = tokio::spawn(connection);
        let quoted = name.replace('"', "\"\"");
        client
            .batch_execute(&format!("CREATE DATABASE \"{quoted}\""))
            .await
            .map_err(|e| format!("CREATE DATABASE {name}: {e}"))?;
        drop(client);
        let _ = driver.await;
        Ok(self.url(name))
    }

    /// A cluster shared by the whole process (one per test binary), started on first use and
    /// removed when the process ends (by the watchdog: statics are never dropped).
    pub fn shared() -> Result<&'static Cluster, String> {
        static SHARED: OnceLock<Result<Cluster, String>> = OnceLock::new();
        SHARED
            .get_or_init(Cluster::start)
            .as_ref()
            .map_err(Clone::clone)
    }
}

/// Faults, for the tests of an unreachable store: stop the cluster and start it again on the
/// same port, or freeze it (SIGSTOP to the postmaster and its backends) and thaw it.
impl Cluster {
    /// `pg_ctl stop -m fast`: the connections are closed and new ones refused.
    pub fn stop(&self) -> Result<(), String> {
        let data = self.root.join("data");
        self.run(
            "pg_ctl",
            &[
                "stop".as_ref(),
                "-w".as_ref(),
                "-m".as_ref(),
                "fast".as_ref(),
                "-D".as_ref(),
                data.as_os_str(),
            ],
        )
    }

    /// Starts a stopped cluster again with the options it last ran with (its
    /// `postmaster.opts`), so on the same port.
    pub fn start_again(&self) -> Result<(), String> {
        let data = self.root.join("data");
        let opts = std::fs::read_to_string(data.join("postmaster.opts"))
            .map_err(|e| format!("postmaster.opts: {e}"))?;
        // `BINARY "-D" "DATA" "-p" "PORT" …`: every argument after the binary, quoted for the
        // shell `pg_ctl -o` hands them to, less the data directory it passes itself.
        let arguments = opts.trim().split_once(' ').map_or("", |(_, rest)| rest);
        let arguments = arguments.replace(&format!("\"-D\" \"{}\"", data.display()), "");
        self.pg_ctl_start(arguments.trim())
    }

    /// `pg_ctl start` of the data directory, waiting (at most 120 s) until it accepts
    /// connections, the server's `options` handed over with `-o`, its log in `log`.
    fn pg_ctl_start(&self, options: &str) -> Result<(), String> {
        let (data, log) = (self.root.join("data"), self.root.join("log"));
        self.run(
            "pg_ctl",
            &[
                "start".as_ref(),
                "-w".as_ref(),
                "-t".as_ref(),
                "120".as_ref(),
                "-D".as_ref(),
                data.as_os_str(),
                "-l".as_ref(),
                log.as_os_str(),
                "-o".as_ref(),
                options.as_ref(),
            ],
        )
    }

    /// The postmaster and its children (backends, background workers).
    fn processes(&self) -> Vec<u32> {
        let Some(postmaster) = self.postmaster_pid() else {
            return Vec::new();
        };
        let mut pids = vec![postmaster];
        for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
            let Some(pid) = entry
                .file_name()
                .to_str()
                .and_then(|n| n.parse::<u32>().ok())
            else {
                continue;
            };
            let stat = std::fs::read_to_string(entry.path().join("stat")).unwrap_or_default();
            // `PID (COMM) STATE PPID …`: the fields after the command's closing parenthesis.
            let parent = stat
                .rsplit_once(')')
                .and_then(|(_, rest)| rest.split_whitespace().nth(1))
                .and_then(|ppid| ppid.parse::<u32>().ok());
            if parent == Some(postmaster) {
                pids.push(pid);
            }
        }
        pids
    }

    fn signal(&self, signal: &str, pids: &[u32]) -> Result<(), String> {
        let status = Command::new("kill")
            .arg(format!("-{signal}"))
            .args(pids.iter().map(u32::to_string))
            .status()
            .map_err(|e| format!("kill: {e}"))?;
        if status.success() {
            Ok(())
        } else {
            Err(format!("kill -{signal} {pids:?}: {status}"))
        }
    }

    /// Freezes the cluster: SIGSTOP to the postmaster, then to each of its children. Its
    /// sockets stay open and accept bytes, but nothing answers. Returns the processes frozen.
    pub fn freeze(&self) -> Result<Vec<u32>, String> {
        let pids = self.processes();
        if pids.is_empty() {
            return Err("no postmaster".to_owned());
        }
        self.signal("STOP", &pids[..1])?;
        // Children listed again after the postmaster stopped: it can start no new one.
        let pids = self.processes();
        self.signal("STOP", &pids)?;
        Ok(pids)
    }

    /// Thaws what [`Cluster::freeze`] froze (SIGCONT, the children first).
    pub fn thaw(&self, pids: &[u32]) -> Result<(), String> {
        let mut order = pids.to_vec();
        order.reverse();
        self.signal("CONT", &order)
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        if self.port != 0 {
            let data = self.root.join("data");
            let _ = self.run(
                "pg_ctl",
                &[
                    "stop".as_ref(),
                    "-m".as_ref(),
                    "immediate".as_ref(),
                    "-D".as_ref(),
                    data.as_os_str(),
                ],
            );
        }
        let _ = std::fs::remove_dir_all(&self.root);
        if let Some((mut child, stdin)) = self.watchdog.take() {
            drop(stdin);
            let _ = child.wait();
        }
    }
}
