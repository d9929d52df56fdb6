//! `scanhook accounts …`: the tenants of a deployment (the admin key only).

use clap::{Args, Subcommand};
use scanhook_client::types::{AccountIn, AccountOut, AccountPatch};

use super::client_args::{ClientArgs, Ctx};
use super::output::{PageArgs, emit, fields, line, list, when};

#[derive(Debug, Args)]
pub struct AccountsArgs {
    #[command(flatten)]
    pub conn: ClientArgs,
    #[command(subcommand)]
    pub command: AccountsCommand,
}

#[derive(Debug, Subcommand)]
pub enum AccountsCommand {
    /// Create an account; its first API key is printed once.
    Create {
        #[arg(long)]
        name: String,
        /// Print only the new account's API key (for scripts).
        #[arg(long, short)]
        quiet: bool,
    },
    /// List accounts, newest first.
    List(PageArgs),
    /// Show an account.
    Get { id: String },
    /// Change an account: its own limit on the events it reports.
    Update {
        id: String,
        /// Events per second it may report (on each node), in place of the deployment's limit.
        #[arg(long, conflicts_with = "ingest_default")]
        ingest_rate: Option<u32>,
        /// How many at once (default: the rate, and at least 100).
        #[arg(long, requires = "ingest_rate")]
        ingest_burst: Option<u32>,
        /// Return it to the deployment's limit.
        #[arg(long)]
        ingest_default: bool,
    },
}

pub async fn run(ctx: Ctx, command: AccountsCommand) -> anyhow::Result<()> {
    let (client, out) = (&ctx.client, ctx.out);
    match command {
        AccountsCommand::Create { name, quiet } => {
            let reply = client.create_account(&AccountIn { name }).await?;
            match (&reply.value.api_key, quiet) {
                (Some(key), true) => line(key.key.clone().unwrap_or_default()),
                _ => emit(out, &reply, render),
            }
        }
        AccountsCommand::List(page) => {
            let header = ["ID", "NAME", "ADMIN", "CREATED"];
            let row = |a: &AccountOut| {
                vec![a.id.clone(), a.name.clone(), if a.is_admin { "yes" } else { "" }.into(), when(&a.created_at)]
            };
            list(out, &page, &header, row, async |p| client.list_accounts(&p).await).await?;
        }
        AccountsCommand::Get { id } => emit(out, &client.get_account(&id).await?, render),
        AccountsCommand::Update { id, ingest_rate, ingest_burst, ingest_default } => {
            let ingest_rate = match (ingest_rate, ingest_default) {
                (Some(rate), _) => Some(Some(rate)),
                (None, true) => Some(None),
                (None, false) => None,
            };
            let patch = AccountPatch { ingest_rate, ingest_burst };
            emit(out, &client.update_account(&id, &patch).await?, render)
        }
    }
    Ok(())
}

fn render(a: &AccountOut) -> String {
    let mut rows = vec![
        ("id", a.id.clone()),
        ("name", a.name.clone()),
        ("admin", if a.is_admin { "yes" } else { "no" }.into()),
        ("created", when(&a.created_at)),
        (
            "ingest limit",
            match (a.ingest_rate, a.ingest_burst) {
                (Some(rate), Some(burst)) => format!("{rate} events/s, bursts of {burst}"),
                _ => "the deployment's".into(),
            },
        ),
    ];
    if let Some(key) = a.api_key.as_ref().and_then(|k| k.key.clone()) {
        rows.push(("api key", format!("{key}  (shown only now: keep it)")));
    }
    fields(&rows)
}
