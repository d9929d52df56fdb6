//! How the client finds its server: `--server` / `--api-key` beat `SCANHOOK_URL` /
//! `SCANHOOK_API_KEY`, which beat the config file `scanhook login` writes.

use std::io::{BufRead, Write};
use std::path::PathBuf;

use anyhow::{Context, bail};
use clap::Args;
use scanhook_client::{Client, Page};
use serde::{Deserialize, Serialize};

use super::output::{Format, line};

const DEFAULT_SERVER: &str = "http://127.0.0.1:8080";

/// Connection and output flags, accepted after any client subcommand.
#[derive(Debug, Clone, Args)]
pub struct ClientArgs {
    /// URL of the scanhook server [default: the one `scanhook login` saved, else http://127.0.0.1:8080]
    #[arg(long, env = "SCANHOOK_URL", global = true, help_heading = "Client options")]
    pub server: Option<String>,
    /// API key [default: the one `scanhook login` saved]
    #[arg(long, env = "SCANHOOK_API_KEY", hide_env_values = true, global = true, help_heading = "Client options")]
    pub api_key: Option<String>,
    /// `table` for people, `json` for scripts (the API's answer as it is).
    #[arg(long, short = 'o', value_enum, default_value_t = Format::Table, global = true, help_heading = "Client options")]
    pub output: Format,
}

/// A connected client and the chosen output: what every command runs with.
pub struct Ctx {
    pub client: Client,
    pub out: Format,
}

impl ClientArgs {
    /// Resolves server and key (flag or env, else the config file, else the default).
    pub fn connect(&self) -> anyhow::Result<Ctx> {
        let (server, api_key) = self.resolve()?;
        // Every client command needs a key: say how to give one rather than show a 401.
        let Some(api_key) = api_key else {
            bail!("no API key for {server}: pass --api-key, set SCANHOOK_API_KEY or run `scanhook login`")
        };
        Ok(Ctx { client: Client::new(&server, Some(api_key))?, out: self.output })
    }

    fn resolve(&self) -> anyhow::Result<(String, Option<String>)> {
        // The file is read only when a flag or variable leaves something open, so a
        // broken config file never stands in the way of an explicit setting.
        let saved = if self.server.is_some() && self.api_key.is_some() { Config::default() } else { Config::load()? };
        let server = self.server.clone().or(saved.server.clone()).unwrap_or_else(|| DEFAULT_SERVER.into());
        // The saved key belongs to the saved server: pointed elsewhere, it is not sent, so
        // `--server` alone can never hand the key to another host.
        let same_server =
            saved.server.as_deref().map(|s| s.trim_end_matches('/')) == Some(server.trim_end_matches('/'));
        let saved_key = if same_server { saved.api_key } else { None };
        Ok((server, self.api_key.clone().or(saved_key)))
    }
}

/// `~/.config/scanhook/config.toml`.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Config {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    server: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    api_key: Option<String>,
}

impl Config {
    /// `SCANHOOK_CONFIG` if set, else `scanhook/config.toml` in the XDG config directory
    /// (`$XDG_CONFIG_HOME`, default `~/.config`) — on macOS too, as CLI users expect.
    fn path() -> anyhow::Result<PathBuf> {
        if let Some(path) = std::env::var_os("SCANHOOK_CONFIG").filter(|p| !p.is_empty()) {
            return Ok(PathBuf::from(path));
        }
        use etcetera::BaseStrategy as _;
        let base = etcetera::choose_base_strategy().context("finding the home directory for the config file")?;
        Ok(base.config_dir().join("scanhook").join("config.toml"))
    }

    fn load() -> anyhow::Result<Config> {
        let path = Self::path()?;
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Config::default()),
            Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
        };
        toml::from_str(&text).with_context(|| format!("reading {}", path.display()))
    }

    /// Writes the file readable by its owner only: it holds an API key.
    fn save(&self) -> anyhow::Result<PathBuf> {
        let path = Self::path()?;
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        }
        let text = toml::to_string(self).context("encoding the config file")?;
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
            options.mode(0o600);
            // `mode` applies to new files only; an existing one is narrowed first.
            if path.exists() {
                std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))
                    .with_context(|| format!("restricting {}", path.display()))?;
            }
        }
        let mut file = options.open(&path).with_context(|| format!("writing {}", path.display()))?;
        file.write_all(text.as_bytes()).with_context(|| format!("writing {}", path.display()))?;
        Ok(path)
    }
}

#[derive(Debug, Args)]
pub struct LoginArgs {
    #[command(flatten)]
    pub conn: ClientArgs,
}

/// `scanhook login`: checks the key against the server, then saves server and key.
pub async fn login(args: LoginArgs) -> anyhow::Result<()> {
    let (server, key) = args.conn.resolve()?;
    let key = match key {
        Some(key) => key,
        None => read_key()?,
    };
    let client = Client::new(&server, Some(key.clone()))?;
    // Any authenticated read proves the key; the smallest page costs least.
    client
        .list_webhooks(&Page { limit: Some(1), cursor: None })
        .await
        .with_context(|| format!("checking the API key against {}", client.base()))?;
    let path = Config { server: Some(client.base().to_string()), api_key: Some(key) }.save()?;
    line(format_args!("Logged in to {}; saved in {}", client.base(), path.display()));
    Ok(())
}

/// The key from standard input, so it stays out of the shell history.
fn read_key() -> anyhow::Result<String> {
    eprint!("API key: ");
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line).context("reading the API key from standard input")?;
    let key = line.trim().to_string();
    if key.is_empty() {
        bail!("no API key given: pass --api-key, set SCANHOOK_API_KEY or type it when asked");
    }
    Ok(key)
}
