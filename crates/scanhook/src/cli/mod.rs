//! The command line: `serve` runs the service, `listen` a local receiver and
//! `migrate-store` moves a stopped SQLite deployment to PostgreSQL; every other command is
//! a client of a running server, through `scanhook-client`. Each module
//! defines one command group's arguments and how its answers are shown.

mod accounts;
mod audit;
mod client_args;
mod deliveries;
mod events;
mod listen_args;
mod migrate_store;
mod output;
mod parse;
mod portal_links;
mod projects;
mod scans;
mod serve_args;
mod stats;
mod webhooks;

use clap::{CommandFactory, Parser, Subcommand};

pub use listen_args::ListenArgs;
pub use serve_args::ServeArgs;

#[derive(Debug, Parser)]
#[command(name = "scanhook", version, about = "Webhook notifications for security and compliance scans")]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the HTTP API and the delivery workers.
    Serve(Box<ServeArgs>),
    /// Check an API key against a server and save both in the config file.
    Login(client_args::LoginArgs),
    /// List and create accounts (the tenants; the admin key only).
    Accounts(accounts::AccountsArgs),
    /// Manage webhook endpoints.
    Webhooks(Box<webhooks::WebhooksArgs>),
    /// Report and inspect events.
    Events(events::EventsArgs),
    /// Inspect and retry deliveries.
    Deliveries(deliveries::DeliveriesArgs),
    /// Manage projects (what scans belong to).
    Projects(projects::ProjectsArgs),
    /// Report a scan's lifecycle and findings.
    Scans(scans::ScansArgs),
    /// List and resolve a project's violations.
    Violations(scans::ViolationsArgs),
    /// Make one-time links into the dashboard for an account (a customer portal).
    PortalLinks(portal_links::PortalLinksArgs),
    /// Show the account's audit log: who (which API key) changed what, newest first.
    AuditLog(audit::AuditLogArgs),
    /// Receive webhooks locally and print each one; --forward-to relays them to your receiver.
    ///
    /// For each request: the time, event type, delivery ID, whether the signature verified
    /// (and if not, which check failed) and the body. Answers 204, or with --forward-to the
    /// status and body of the receiver it relayed to.
    Listen(ListenArgs),
    /// Copy a stopped SQLite deployment into an empty PostgreSQL database, all or nothing.
    ///
    /// Every table in one transaction, each table's row count checked; secrets stay
    /// encrypted, so the PostgreSQL nodes need the same SCANHOOK_ENCRYPTION_KEY. Deliveries
    /// leased when the server stopped are due at once.
    MigrateStore(migrate_store::MigrateStoreArgs),
    /// Print a shell completion script: scanhook completions bash > /etc/bash_completion.d/scanhook
    Completions { shell: clap_complete::Shell },
    /// Runs endpoint templates for `serve`, which starts it (see scanhook-engine's sandbox).
    #[command(hide = true)]
    TemplateWorker,
}

pub async fn run(command: Command) -> anyhow::Result<()> {
    match command {
        Command::Serve(args) => crate::serve::run(*args).await,
        Command::Login(args) => client_args::login(args).await,
        Command::Accounts(a) => accounts::run(a.conn.connect()?, a.command).await,
        Command::Webhooks(a) => {
            let a = *a;
            webhooks::run(a.conn.connect()?, a.command).await
        }
        Command::Events(a) => events::run(a.conn.connect()?, a.command).await,
        Command::Deliveries(a) => deliveries::run(a.conn.connect()?, a.command).await,
        Command::Projects(a) => projects::run(a.conn.connect()?, a.command).await,
        Command::Scans(a) => scans::run(a.conn.connect()?, a.command).await,
        Command::Violations(a) => scans::run_violations(a.conn.connect()?, a.command).await,
        Command::PortalLinks(a) => portal_links::run(a.conn.connect()?, a.command).await,
        Command::AuditLog(a) => audit::run(a.conn.connect()?, a.filter, a.page).await,
        Command::Listen(args) => crate::listen::run(args).await,
        Command::MigrateStore(args) => migrate_store::run(args).await,
        // main() runs a worker before starting an async runtime, which it does not need.
        Command::TemplateWorker => Ok(scanhook_engine::sandbox::worker_main()?),
        Command::Completions { shell } => {
            let mut script = Vec::new();
            clap_complete::generate(shell, &mut Cli::command(), "scanhook", &mut script);
            output::text(&String::from_utf8_lossy(&script));
            Ok(())
        }
    }
}
