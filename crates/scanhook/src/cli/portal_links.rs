//! `scanhook portal-links create`: a one-time link that signs its holder into the
//! dashboard for one account, for a platform to hand to its customer.

use clap::{Args, Subcommand};
use scanhook_client::types::PortalLinkIn;

use super::client_args::{ClientArgs, Ctx};
use super::output::{emit, when};

#[derive(Debug, Args)]
pub struct PortalLinksArgs {
    #[command(flatten)]
    pub conn: ClientArgs,
    #[command(subcommand)]
    pub command: PortalLinksCommand,
}

#[derive(Debug, Subcommand)]
pub enum PortalLinksCommand {
    /// Make a link, valid once, that opens the dashboard for the key's account (or, with
    /// the admin key, --account's).
    Create {
        /// The account (admin key only; default: the key's own).
        #[arg(long)]
        account: Option<String>,
        /// The session may look but change nothing.
        #[arg(long)]
        read_only: bool,
        /// Limit the session to these event types or patterns (repeat or separate by commas).
        #[arg(long = "event-type", value_delimiter = ',')]
        event_types: Vec<String>,
        /// How long the link stays valid: 1m to 24h (default 10m).
        #[arg(long, value_parser = humantime::parse_duration)]
        expires_in: Option<std::time::Duration>,
    },
}

pub async fn run(ctx: Ctx, command: PortalLinksCommand) -> anyhow::Result<()> {
    let PortalLinksCommand::Create { account, read_only, event_types, expires_in } = command;
    let input = PortalLinkIn {
        account_id: account,
        read_only: read_only.then_some(true),
        event_types: (!event_types.is_empty()).then_some(event_types),
        expires_in: expires_in.map(|d| u32::try_from(d.as_secs()).unwrap_or(u32::MAX)),
    };
    let reply = ctx.client.create_portal_link(&input).await?;
    emit(ctx.out, &reply, |l| format!("{}\nvalid once, until {}\n", l.url, when(&l.expires_at)));
    Ok(())
}
