//! `scanhook portal-links create`.

use super::{Cli, s};
use crate::common::Server;

#[tokio::test]
async fn portal_links_are_made_from_the_command_line_with_their_bounds() {
    let server = Server::start(&[]).await;
    let cli = Cli::of(&server);
    let link = cli
        .json(&["portal-links", "create", "--read-only", "--event-type", "scan.*,alert.raised", "--expires-in", "5m"])
        .await;
    assert!(s(&link, "url").starts_with(&server.url("/portal/shp_")), "{link}");
    let text = cli.run(&["portal-links", "create"]).await;
    assert!(text.ok().contains("/portal/shp_") && text.ok().contains("valid once, until"), "{}", text.stdout);
    cli.run(&["portal-links", "create", "--expires-in", "10s"]).await.fails(1, &["expires_in", "422"]);
}
