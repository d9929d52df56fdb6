//! A fresh PostgreSQL database per test, on the server at `SCANHOOK_TEST_POSTGRES_URL`
//! (default: this machine's, trust auth); where none answers, the tests say once that
//! PostgreSQL was skipped and run on SQLite only.

const DEFAULT_POSTGRES_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// A fresh database on the test server, dropped (best effort) with the backend.
pub struct TestDatabase {
    server: tokio_postgres::Config,
    name: String,
    pub config: tokio_postgres::Config,
}

impl TestDatabase {
    pub async fn create() -> Option<Self> {
        static SKIPPED: std::sync::Once = std::sync::Once::new();
        let url = std::env::var("SCANHOOK_TEST_POSTGRES_URL").unwrap_or_else(|_| DEFAULT_POSTGRES_URL.into());
        let mut server: tokio_postgres::Config = url.parse().expect("SCANHOOK_TEST_POSTGRES_URL is a postgres:// URL");
        server.connect_timeout(std::time::Duration::from_secs(3));
        let client = match server.connect(tokio_postgres::NoTls).await {
            Ok((client, connection)) => {
                tokio::spawn(connection);
                client
            }
            Err(_) => {
                // Straight to stderr: the test harness captures `eprintln!`, and this must be seen.
                SKIPPED.call_once(|| {
                    use std::io::Write as _;
                    let _ = writeln!(
                        std::io::stderr(),
                        "PostgreSQL tests SKIPPED: no server at {url}; set SCANHOOK_TEST_POSTGRES_URL or start PostgreSQL"
                    );
                });
                return None;
            }
        };
        let name = format!(
            "scanhook_test_{}",
            scanhook_core::AccountId::generate().as_str().to_lowercase().replace("acc_", "")
        );
        client.batch_execute(&format!("CREATE DATABASE {name}")).await.unwrap();
        let mut config = server.clone();
        config.dbname(&name);
        Some(Self { server, name, config })
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        // Dropped inside the test's runtime, which cannot be blocked on: a thread of its own.
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
