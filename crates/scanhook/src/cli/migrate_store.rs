//! `scanhook migrate-store`: moves a stopped SQLite deployment into an empty PostgreSQL
//! database. A thin wrapper: what is copied and how is `scanhook_store::transfer`; this
//! reads the flags, finds the encryption key as `serve` does, and prints the report.

use std::path::PathBuf;

use anyhow::{Context, bail};
use clap::Args;
use scanhook_store::postgres::Settings;
use scanhook_store::transfer;

use super::output::{self, Table};
use crate::serve::{KEY_FILE, existing_key};

#[derive(Debug, Args)]
pub struct MigrateStoreArgs {
    /// The SQLite database to copy, with its server stopped: sqlite:///path/to/scanhook.db,
    /// or sqlite:///path/to/data-dir (its scanhook.db and encryption.key).
    #[arg(long)]
    pub from: String,
    /// The PostgreSQL database to copy into, empty (made with createdb, no node started on
    /// it yet): postgres://user:password@host:port/database, sslmode as for serve.
    #[arg(long)]
    pub to: String,
    /// Data directory whose encryption.key sealed the SQLite database's secrets, when
    /// --from names a file and SCANHOOK_ENCRYPTION_KEY is unset.
    #[arg(long, env = "SCANHOOK_DATA_DIR", default_value = "./scanhook-data")]
    pub data_dir: PathBuf,
    /// The key that sealed the SQLite database's secrets (as for serve). The PostgreSQL
    /// nodes must use this same key: secrets are copied sealed.
    #[arg(long, env = "SCANHOOK_ENCRYPTION_KEY", hide_env_values = true)]
    pub encryption_key: Option<String>,
}

const ONE_WAY: &str = "migrate-store copies a SQLite database into PostgreSQL only";

pub async fn run(args: MigrateStoreArgs) -> anyhow::Result<()> {
    let Some(path) = args.from.strip_prefix("sqlite://").filter(|p| !p.is_empty()) else {
        bail!("--from must be sqlite://PATH (the database file or the data directory): {ONE_WAY}");
    };
    let path = PathBuf::from(path);
    let (file, data_dir) = match path.is_dir() {
        true => (path.join("scanhook.db"), path),
        false => (path, args.data_dir),
    };
    if !file.is_file() {
        bail!("there is no SQLite database at {}", file.display());
    }
    // Not echoed back: a URL may carry a password.
    if !(args.to.starts_with("postgres://") || args.to.starts_with("postgresql://")) {
        bail!("--to must be a postgres:// URL: {ONE_WAY}");
    }
    let target = Settings::parse(&args.to).context("--to")?;
    let key = existing_key(args.encryption_key.as_deref(), &data_dir)?.with_context(|| {
        format!(
            "no encryption key: set SCANHOOK_ENCRYPTION_KEY, or --data-dir to the directory of the {KEY_FILE} that \
             the SQLite server used ({} has none)",
            data_dir.display()
        )
    })?;
    let report = transfer::sqlite_to_postgres(&file, &target, key, chrono::Utc::now())
        .await
        .with_context(|| format!("copying {} to PostgreSQL (the target is unchanged)", file.display()))?;

    output::line(format!("Copied {} into PostgreSQL, in one transaction:", file.display()));
    let mut table = Table::new(&["TABLE", "ROWS"]);
    for (name, rows) in &report.tables {
        table.row(vec![name.to_string(), rows.map_or_else(|why| format!("not copied: {why}"), |n| n.to_string())]);
    }
    output::text(&table.render());
    output::line("Every copied table has as many rows in PostgreSQL as in SQLite.");
    if report.released_leases > 0 {
        output::line(format!(
            "{} deliveries were leased by the SQLite server: their leases are dropped, they are due now.",
            report.released_leases
        ));
    }
    for (column, count) in &report.nul_replaced {
        output::line(format!("{column}: {count} NUL characters, which PostgreSQL's text cannot hold, became U+FFFD."));
    }
    let from = match args.encryption_key {
        Some(_) => "SCANHOOK_ENCRYPTION_KEY".to_string(),
        None => format!("the key in {}", data_dir.join(KEY_FILE).display()),
    };
    output::line(format!(
        "Secrets were copied encrypted: start every PostgreSQL node with SCANHOOK_ENCRYPTION_KEY set to {from}."
    ));
    Ok(())
}
