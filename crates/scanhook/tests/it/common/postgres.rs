//! Fresh PostgreSQL databases for tests: one per test (or per server when the suite runs
//! on PostgreSQL, `SCANHOOK_TEST_BACKEND=postgres`), dropped with the value.

const DEFAULT_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// A fresh database, dropped (best effort) with this value.
pub struct Database {
    pub server: tokio_postgres::Config,
    name: String,
    pub url: String,
}

impl Database {
    /// `None` (after saying the test is skipped and how to run it) where no server answers.
    pub async fn create(test: &str) -> Option<Database> {
        let base = std::env::var("SCANHOOK_TEST_POSTGRES_URL").unwrap_or_else(|_| DEFAULT_URL.into());
        let mut server: tokio_postgres::Config = base.parse().expect("SCANHOOK_TEST_POSTGRES_URL is a postgres:// URL");
        server.connect_timeout(std::time::Duration::from_secs(3));
        let Ok((client, connection)) = server.connect(tokio_postgres::NoTls).await else {
            // Straight to stderr: the test harness captures `eprintln!` of passing tests.
            use std::io::Write as _;
            let _ = writeln!(
                std::io::stderr(),
                "SKIPPED {test}: no PostgreSQL server at {base}; set SCANHOOK_TEST_POSTGRES_URL or start PostgreSQL"
            );
            return None;
        };
        tokio::spawn(connection);
        let name = format!("scanhook_it_{}", ulid::Ulid::new().to_string().to_lowercase());
        client.batch_execute(&format!("CREATE DATABASE {name}")).await.expect("CREATE DATABASE");
        // The same server and credentials, another database.
        let (prefix, _) = base.rsplit_once('/').expect("a URL with a database name");
        let url = format!("{prefix}/{name}");
        Some(Database { server, name, url })
    }

    /// Every row of every table, as text: to search the data at rest.
    pub async fn all_rows(&self) -> String {
        let mut config = self.server.clone();
        config.dbname(&self.name);
        let (client, connection) = config.connect(tokio_postgres::NoTls).await.expect("connect");
        tokio::spawn(connection);
        let tables = client
            .query("SELECT table_name::text FROM information_schema.tables WHERE table_schema = 'public'", &[])
            .await
            .expect("tables");
        let mut text = String::new();
        for table in tables {
            let table: String = table.get(0);
            for row in client.query(&format!("SELECT t::text FROM \"{table}\" t"), &[]).await.expect("rows") {
                text.push_str(row.get::<_, &str>(0));
                text.push('\n');
            }
        }
        text
    }

    pub async fn count(&self, sql: &str) -> i64 {
        let mut config = self.server.clone();
        config.dbname(&self.name);
        let (client, connection) = config.connect(tokio_postgres::NoTls).await.expect("connect");
        tokio::spawn(connection);
        client.query_one(sql, &[]).await.expect(sql).get(0)
    }
}

impl Drop for Database {
    fn drop(&mut self) {
        let (server, name) = (self.server.clone(), self.name.clone());
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().ok()?;
            runtime.block_on(async move {
                let (client, connection) = server.connect(tokio_postgres::NoTls).await.ok()?;
                tokio::spawn(connection);
                client.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).await.ok()
            })
        });
        let _ = dropped.join();
    }
}

/// Two servers on one fresh PostgreSQL database, with one encryption key, the second
/// started once the first migrated it. Fields drop in order: the servers, then the database.
pub struct TwoNodes {
    pub one: super::Server,
    pub two: super::Server,
    pub db: Database,
}

impl TwoNodes {
    /// `None` (after saying the test is skipped) where no PostgreSQL server answers.
    pub async fn start(test: &str, env: &[(&str, &str)]) -> Option<TwoNodes> {
        let db = Database::create(test).await?;
        let key = scanhook_store::SecretBox::generate_key();
        let mut all = vec![
            ("SCANHOOK_DATABASE_URL", db.url.as_str()),
            ("SCANHOOK_DATABASE_POOL_SIZE", "4"),
            ("SCANHOOK_ENCRYPTION_KEY", key.as_str()),
        ];
        all.extend_from_slice(env);
        let one = super::Server::start(&all).await;
        let two = super::Server::start(&all).await;
        Some(TwoNodes { one, two, db })
    }
}
