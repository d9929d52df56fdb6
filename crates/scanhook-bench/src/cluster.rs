//! The servers under test: `N` `scanhook serve` processes on one database, each on its own
//! port. On SQLite (the default) that is one process on the file in its data directory; on
//! PostgreSQL (`--database-url`) the benchmark creates a fresh database for each cluster,
//! `scanhook_bench_<pid>_<n>`, and drops it when the cluster is dropped.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};

use anyhow::{Context, bail};

use crate::KEY;

/// The same key on every node, so that each opens the secrets the others sealed.
const ENCRYPTION_KEY: &str = "c2Nhbmhvb2stYmVuY2gtZW5jcnlwdGlvbi1rZXktMzI=";

/// Where the clusters keep their data.
pub enum Backend {
    Sqlite,
    Postgres(Box<Postgres>),
}

/// A PostgreSQL server: the URL given (its database is where the benchmark connects to
/// create and drop its own) and the part of it before the database name.
pub struct Postgres {
    admin: tokio_postgres::Config,
    prefix: String,
}

impl Backend {
    /// SQLite without a URL; PostgreSQL with a `postgres://` one, which must answer.
    pub async fn from_url(url: Option<&str>) -> anyhow::Result<Backend> {
        let Some(url) = url else { return Ok(Backend::Sqlite) };
        if !url.starts_with("postgres://") && !url.starts_with("postgresql://") {
            bail!("--database-url: a postgres:// URL (SQLite is the default and needs none)");
        }
        let admin: tokio_postgres::Config = url.parse().context("--database-url")?;
        let (prefix, _) = url.rsplit_once('/').context("--database-url: a URL with a database name")?;
        let postgres = Postgres { admin, prefix: prefix.to_string() };
        postgres.connect().await.context("--database-url: connecting")?;
        Ok(Backend::Postgres(Box::new(postgres)))
    }

    pub fn name(&self) -> &'static str {
        match self {
            Backend::Sqlite => "SQLite",
            Backend::Postgres(_) => "PostgreSQL",
        }
    }
}

impl Postgres {
    /// A connection to the URL's own database.
    pub async fn connect(&self) -> anyhow::Result<tokio_postgres::Client> {
        connect(&self.admin).await
    }
}

async fn connect(config: &tokio_postgres::Config) -> anyhow::Result<tokio_postgres::Client> {
    let (client, connection) = config.connect(tokio_postgres::NoTls).await?;
    tokio::spawn(connection);
    Ok(client)
}

/// The prefix of every database this benchmark process creates.
pub fn database_prefix() -> String {
    format!("scanhook_bench_{}_", std::process::id())
}

/// A database of this benchmark's own, dropped (with whatever still uses it) with this value.
pub struct Database {
    admin: tokio_postgres::Config,
    pub name: String,
    pub url: String,
}

impl Database {
    async fn create(server: &Postgres) -> anyhow::Result<Database> {
        static NEXT: AtomicU64 = AtomicU64::new(1);
        let name = format!("{}{}", database_prefix(), NEXT.fetch_add(1, Ordering::Relaxed));
        server.connect().await?.batch_execute(&format!("CREATE DATABASE {name}")).await?;
        let url = format!("{}/{name}", server.prefix);
        Ok(Database { admin: server.admin.clone(), name, url })
    }

    /// A connection to this database.
    pub async fn connect(&self) -> anyhow::Result<tokio_postgres::Client> {
        let mut config = self.admin.clone();
        config.dbname(&self.name);
        connect(&config).await
    }
}

impl Drop for Database {
    fn drop(&mut self) {
        // On a thread of its own: this may run inside the benchmark's runtime.
        let (admin, name) = (self.admin.clone(), self.name.clone());
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().ok()?;
            runtime.block_on(async move {
                let client = connect(&admin).await.ok()?;
                client.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).await.ok()
            })
        });
        if !matches!(dropped.join(), Ok(Some(()))) {
            eprintln!("could not drop the benchmark's database {}; drop it by hand", self.name);
        }
    }
}

/// One running `scanhook serve`.
pub struct Server {
    pub child: Child,
    pub base: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `nodes` servers on one database. Fields drop in order: the servers before the database.
pub struct Cluster {
    pub nodes: Vec<Server>,
    dirs: Vec<tempfile::TempDir>,
    pub database: Option<Database>,
    binary: String,
    /// More settings for every server (`SCANHOOK_…`), at each start.
    env: Vec<(String, String)>,
}

impl Cluster {
    /// Starts `nodes` servers on a fresh database, one after the other (the first migrates it
    /// and makes the admin account).
    pub async fn start(binary: &str, backend: &Backend, nodes: u64) -> anyhow::Result<Cluster> {
        Cluster::start_with(binary, backend, nodes, &[]).await
    }

    /// As [`Cluster::start`], each server with the settings `env` besides the benchmark's.
    pub async fn start_with(
        binary: &str,
        backend: &Backend,
        nodes: u64,
        env: &[(&str, &str)],
    ) -> anyhow::Result<Cluster> {
        let database = match backend {
            Backend::Sqlite => None,
            Backend::Postgres(server) => Some(Database::create(server).await?),
        };
        let dirs = (0..nodes).map(|_| tempfile::tempdir()).collect::<Result<Vec<_>, _>>()?;
        let env = env.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        let mut cluster = Cluster { nodes: Vec::new(), dirs, database, binary: binary.to_string(), env };
        cluster.restart()?;
        Ok(cluster)
    }

    /// Starts the cluster's servers again (after `stop`) on the same data.
    pub fn restart(&mut self) -> anyhow::Result<()> {
        let url = self.database.as_ref().map(|d| d.url.as_str());
        for dir in &self.dirs {
            self.nodes.push(start_server(&self.binary, dir.path(), url, &self.env)?);
        }
        Ok(())
    }

    /// Leaves the setting `name` out at the next `restart`.
    pub fn unset(&mut self, name: &str) {
        self.env.retain(|(k, _)| k != name);
    }

    /// Stops every server as an operator would (SIGTERM) and waits for it.
    pub fn stop(&mut self) -> anyhow::Result<()> {
        for mut server in self.nodes.drain(..) {
            let pid = server.child.id().to_string();
            if !Command::new("kill").args(["-TERM", &pid]).status()?.success() {
                bail!("could not signal the server ({pid})");
            }
            let status = server.child.wait()?;
            if !status.success() {
                bail!("the server stopped with {status}");
            }
        }
        Ok(())
    }

    /// The first node's SQLite file (on SQLite).
    pub fn sqlite_file(&self) -> Option<std::path::PathBuf> {
        match self.database {
            None => self.dirs.first().map(|d| d.path().join("scanhook.db")),
            Some(_) => None,
        }
    }

    pub fn first(&self) -> anyhow::Result<&Server> {
        self.nodes.first().context("the cluster is stopped")
    }

    pub fn pids(&self) -> Vec<u32> {
        self.nodes.iter().map(|n| n.child.id()).collect()
    }
}

/// Settings every server gets after its cluster's own (`--server-env`, `--otlp`): set once,
/// before the first server starts.
static EXTRA_SETTINGS: std::sync::OnceLock<Vec<(String, String)>> = std::sync::OnceLock::new();

pub fn set_extra_settings(settings: Vec<(String, String)>) {
    let _ = EXTRA_SETTINGS.set(settings);
}

/// Starts a server on the data directory `dir` and, on PostgreSQL, the database at `url`.
/// `env`: more settings.
fn start_server(
    binary: &str,
    dir: &std::path::Path,
    url: Option<&str>,
    env: &[(String, String)],
) -> anyhow::Result<Server> {
    let mut command = Command::new(binary);
    command
        .arg("serve")
        .env("SCANHOOK_LISTEN", "127.0.0.1:0")
        .env("SCANHOOK_DATA_DIR", dir)
        .env("SCANHOOK_API_KEY", KEY)
        .env("SCANHOOK_ENCRYPTION_KEY", ENCRYPTION_KEY)
        .env("SCANHOOK_ALLOW_PRIVATE_NETWORKS", "true")
        .env("SCANHOOK_LOG", "warn")
        .env_remove("SCANHOOK_DATABASE_URL")
        .stdout(Stdio::piped());
    if let Some(url) = url {
        command.env("SCANHOOK_DATABASE_URL", url);
    }
    command.envs(env.iter().chain(EXTRA_SETTINGS.get().into_iter().flatten()).map(|(k, v)| (k, v)));
    let mut child =
        command.spawn().with_context(|| format!("starting {binary} (build it first: cargo build --release)"))?;
    let stdout = child.stdout.take().context("stdout")?;
    let mut lines = BufReader::new(stdout).lines();
    let base = loop {
        let Some(line) = lines.next() else { bail!("scanhook exited before listening") };
        if let Some(rest) = line?.strip_prefix("scanhook listening on ") {
            break rest.split_whitespace().next().unwrap_or_default().to_string();
        }
    };
    std::thread::spawn(move || for _ in lines {});
    Ok(Server { child, base })
}
