//! A PostgreSQL server of the test's own, to stop and start under load without disturbing
//! the other tests' shared server: `initdb` into a temporary directory, `pg_ctl` to start it
//! on a free loopback port and to stop it as a crash would (`-m immediate`). As root (CI),
//! the server runs as the `postgres` user, which PostgreSQL requires.

use std::path::PathBuf;
use std::process::Command;

pub struct Cluster {
    bin: PathBuf,
    data: PathBuf,
    _dir: tempfile::TempDir,
    pub port: u16,
    as_postgres: bool,
}

impl Cluster {
    /// `None`, saying why the test is skipped and what it needs, where PostgreSQL's server
    /// programs are not installed.
    pub fn create(test: &str) -> Option<Cluster> {
        let Some(bin) = server_programs() else {
            use std::io::Write as _;
            let _ = writeln!(
                std::io::stderr(),
                "SKIPPED {test}: PostgreSQL's initdb and pg_ctl were not found (install Debian's postgresql package)"
            );
            return None;
        };
        let as_postgres = is_root();
        let dir = tempfile::tempdir().expect("temp dir");
        let data = dir.path().join("data");
        if as_postgres {
            // The server refuses to run as root; its directory must be its user's.
            let uid = output("id", &["-u", "postgres"]).trim().parse::<u32>().expect("the postgres user's uid");
            let gid = output("id", &["-g", "postgres"]).trim().parse::<u32>().expect("the postgres user's gid");
            std::os::unix::fs::chown(dir.path(), Some(uid), Some(gid)).expect("chown the cluster's directory");
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port").local_addr().expect("addr").port();
        let cluster = Cluster { bin, data, _dir: dir, port, as_postgres };
        let data = cluster.data.to_string_lossy().to_string();
        cluster.run("initdb", &["-D", &data, "-U", "postgres", "-A", "trust", "--no-sync", "-E", "UTF8"]);
        cluster.start();
        Some(cluster)
    }

    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    pub fn start(&self) {
        let data = self.data.to_string_lossy().to_string();
        let options = format!("-p {} -c listen_addresses=127.0.0.1 -k {data} -c max_connections=100", self.port);
        let log = self.data.join("server.log").to_string_lossy().to_string();
        self.run("pg_ctl", &["-D", &data, "-o", &options, "-l", &log, "-w", "-t", "60", "start"]);
    }

    /// Stops the server at once, as a crash or a kill would: connections are cut, and
    /// what was committed is recovered from the write-ahead log at the next start.
    pub fn stop_abruptly(&self) {
        let data = self.data.to_string_lossy().to_string();
        self.run("pg_ctl", &["-D", &data, "-m", "immediate", "-w", "stop"]);
    }

    /// One of the server's programs, as the user the server runs as.
    fn command(&self, program: &str) -> Command {
        let path = self.bin.join(program);
        if self.as_postgres {
            let mut cmd = Command::new("runuser");
            cmd.args(["-u", "postgres", "--"]).arg(&path);
            cmd
        } else {
            Command::new(&path)
        }
    }

    fn run(&self, program: &str, args: &[&str]) {
        let out = self.command(program).args(args).output().unwrap_or_else(|e| panic!("running {program}: {e}"));
        assert!(
            out.status.success(),
            "{program} {args:?} failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let data = self.data.to_string_lossy().to_string();
        let _ = self.command("pg_ctl").args(["-D", &data, "-m", "immediate", "stop"]).output();
    }
}

/// The directory of `initdb` and `pg_ctl`: `pg_config --bindir`, else Debian's layout.
fn server_programs() -> Option<PathBuf> {
    let from_pg_config = Command::new("pg_config")
        .arg("--bindir")
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()));
    let debian = std::fs::read_dir("/usr/lib/postgresql")
        .ok()
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path().join("bin"))
        .max();
    [from_pg_config, debian]
        .into_iter()
        .flatten()
        .find(|bin| bin.join("initdb").exists() && bin.join("pg_ctl").exists())
}

fn is_root() -> bool {
    output("id", &["-u"]).trim() == "0"
}

fn output(program: &str, args: &[&str]) -> String {
    let out = Command::new(program).args(args).output().unwrap_or_else(|e| panic!("running {program}: {e}"));
    String::from_utf8_lossy(&out.stdout).into_owned()
}
