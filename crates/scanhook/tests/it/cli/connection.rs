//! Finding the server: flags beat the environment beat `scanhook login`'s config file;
//! what a user sees when the server is not there or the key is wrong.

use super::Cli;
use crate::common::{ADMIN_KEY, Server};

#[tokio::test]
async fn an_unreachable_server_is_named_without_a_panic() {
    // Port 1 on loopback: nothing listens there.
    let cli = Cli::with_env(&[("SCANHOOK_URL", "http://127.0.0.1:1"), ("SCANHOOK_API_KEY", ADMIN_KEY)]);
    for args in [vec!["webhooks", "list"], vec!["events", "get", "evt_1"], vec!["scans", "get", "scan_1"]] {
        let run = cli.run(&args).await;
        run.fails(1, &["could not reach the scanhook server at http://127.0.0.1:1", "refused"]);
        assert!(!run.stderr.contains("backtrace"), "{}", run.stderr);
    }
    cli.run(&["webhooks", "list", "--server", "not a url"]).await.fails(1, &["'not a url' is not a server URL"]);
}

#[tokio::test]
async fn flags_beat_the_environment_beat_the_login_file() {
    let server = Server::start(&[]).await;

    // No key: how to give one.
    let keyless = Cli::with_env(&[("SCANHOOK_URL", &server.base)]);
    keyless.run(&["webhooks", "list"]).await.fails(1, &["no API key", "scanhook login"]);

    // `login` checks the key, then saves both, readable by the owner only.
    keyless.run(&["login", "--api-key", "shk_wrong_key_0123456789"]).await.fails(1, &["HTTP 401"]);
    assert!(!keyless.config.exists(), "nothing saved for a wrong key");
    let login = keyless.run_with_stdin(&["login"], &format!("{ADMIN_KEY}\n")).await;
    assert!(login.ok().contains("Logged in"), "{}", login.stdout);
    let saved = std::fs::read_to_string(&keyless.config).unwrap();
    assert!(saved.contains(ADMIN_KEY) && saved.contains(&server.base), "{saved}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&keyless.config).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    keyless.run(&["webhooks", "list"]).await.ok();

    // The file alone is enough.
    let file_only = Cli::with_env(&[]);
    std::fs::copy(&keyless.config, &file_only.config).unwrap();
    file_only.run(&["webhooks", "list"]).await.ok();

    // The environment beats the file; a flag beats the environment.
    let env = Cli::with_env(&[("SCANHOOK_URL", "http://127.0.0.1:1")]);
    std::fs::copy(&keyless.config, &env.config).unwrap();
    env.run(&["webhooks", "list"]).await.fails(1, &["http://127.0.0.1:1"]);
    env.run(&["webhooks", "list", "--server", &server.base]).await.ok();
    env.run(&["webhooks", "list", "--server", &server.base, "--api-key", "shk_wrong_key_0123456789"])
        .await
        .fails(1, &["HTTP 401"]);

    // The saved key goes to the saved server only, never to another one.
    let elsewhere = Server::start(&[]).await;
    env.run(&["webhooks", "list", "--server", &elsewhere.base]).await.fails(1, &["no API key"]);

    // Without a file, the default server is named.
    let nothing = Cli::with_env(&[]);
    nothing.run(&["webhooks", "list"]).await.fails(1, &["no API key for http://127.0.0.1:8080"]);
}

#[tokio::test]
async fn usage_errors_exit_2_and_completions_print() {
    let cli = Cli::with_env(&[]);
    cli.run(&["webhooks", "list", "--output", "yaml"]).await.fails(2, &["yaml"]);
    cli.run(&["nonsense"]).await.fails(2, &["nonsense"]);
    cli.run(&["webhooks"]).await.fails(2, &["Usage"]);
    for shell in ["bash", "zsh", "fish"] {
        let out = cli.run(&["completions", shell]).await;
        assert!(out.ok().contains("webhooks"), "{shell}: {}", out.stdout);
    }
    cli.run(&["completions", "tcsh"]).await.fails(2, &["tcsh"]);
}
