//! `scanhook accounts …`: the tenants of a deployment (the admin key only).

use clap::{Args, Subcommand};
use scanhook_client::types::{AccountIn, AccountOut};

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
    }
    Ok(())
}

fn render(a: &AccountOut) -> String {
    let mut rows = vec![
        ("id", a.id.clone()),
        ("name", a.name.clone()),
        ("admin", if a.is_admin { "yes" } else { "no" }.into()),
        ("created", when(&a.created_at)),
    ];
    if let Some(key) = a.api_key.as_ref().and_then(|k| k.key.clone()) {
        rows.push(("api key", format!("{key}  (shown only now: keep it)")));
    }
    fields(&rows)
}
