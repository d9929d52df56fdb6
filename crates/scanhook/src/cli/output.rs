//! What the client prints: aligned tables and `field  value` blocks for people, the
//! API's own JSON for scripts, and paging through a list's cursor.
//!
//! The aligner is hand-written: a dozen lines cover plain left-aligned columns, and a
//! table crate (borders, wrapping, colours) would add build time for nothing we show.

use std::fmt::Display;
use std::io::Write;

use chrono::{DateTime, SecondsFormat, Utc};
use clap::{Args, ValueEnum};
use scanhook_client::types::ListOut;
use scanhook_client::{Page, Reply};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Table,
    Json,
}

/// Writes to standard output. Unlike `print!`, a closed pipe (`scanhook … | head`) does
/// not panic: the rest of the output has nowhere to go, so it is dropped.
pub fn text(s: &str) {
    let _ = std::io::stdout().lock().write_all(s.as_bytes());
}

pub fn line(value: impl Display) {
    text(&format!("{value}\n"));
}

/// A time for people: UTC to the second.
pub fn when(t: &DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// Rows under a header, each column as wide as its widest cell.
pub struct Table {
    header: Vec<&'static str>,
    rows: Vec<Vec<String>>,
}

impl Table {
    pub fn new(header: &[&'static str]) -> Table {
        Table { header: header.to_vec(), rows: Vec::new() }
    }

    pub fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
    }

    pub fn render(&self) -> String {
        let head: Vec<String> = self.header.iter().map(|h| h.to_string()).collect();
        let all: Vec<&Vec<String>> = std::iter::once(&head).chain(&self.rows).collect();
        let mut widths = vec![0; self.header.len()];
        for row in &all {
            for (w, cell) in widths.iter_mut().zip(row.iter()) {
                *w = (*w).max(cell.chars().count());
            }
        }
        let mut out = String::new();
        for row in all {
            let line: Vec<String> = row.iter().zip(&widths).map(|(cell, w)| format!("{cell:<w$}")).collect();
            out.push_str(line.join("  ").trim_end());
            out.push('\n');
        }
        out
    }
}

/// `name  value` lines, names aligned; empty values are left out.
pub fn fields(pairs: &[(&str, String)]) -> String {
    let shown: Vec<_> = pairs.iter().filter(|(_, v)| !v.is_empty()).collect();
    let width = shown.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
    shown.iter().map(|(k, v)| format!("{k:<width$}  {v}\n")).collect()
}

pub fn opt<T: ToString>(value: &Option<T>) -> String {
    value.as_ref().map(ToString::to_string).unwrap_or_default()
}

/// Prints the raw JSON in json mode, else what `render` makes of the value.
pub fn emit<T>(out: Format, reply: &Reply<T>, render: impl FnOnce(&T) -> String) {
    match out {
        Format::Json => line(reply.raw.trim_end()),
        Format::Table => text(&render(&reply.value)),
    }
}

/// Paging flags of every list.
#[derive(Debug, Clone, Args)]
pub struct PageArgs {
    /// Items per page (1 to 250; the server's default is 50).
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=250))]
    pub limit: Option<u32>,
    /// Start at this cursor (the `next_cursor` of the page before).
    #[arg(long, conflicts_with = "all")]
    pub cursor: Option<String>,
    /// Follow the cursor through every page.
    #[arg(long)]
    pub all: bool,
}

/// Fetches one page, or every page with `--all`, and prints them: as a table of `row`s,
/// or as JSON (one page verbatim; with `--all`, `{"data": [...]}` of every page's items).
pub async fn list<T>(
    out: Format,
    args: &PageArgs,
    header: &[&'static str],
    row: impl Fn(&T) -> Vec<String>,
    mut fetch: impl AsyncFnMut(Page) -> Result<Reply<ListOut<T>>, scanhook_client::Error>,
) -> anyhow::Result<()> {
    let mut page = Page { limit: args.limit, cursor: args.cursor.clone() };
    let mut table = Table::new(header);
    let mut items = Vec::new();
    loop {
        let reply = fetch(page.clone()).await?;
        let next = reply.value.next_cursor.clone();
        if out == Format::Json && !args.all {
            line(reply.raw.trim_end());
            return Ok(());
        }
        if out == Format::Json {
            // The raw items, not the typed ones: fields this client does not know stay.
            let raw: ListOut<serde_json::Value> = serde_json::from_str(&reply.raw)?;
            items.extend(raw.data);
        }
        reply.value.data.iter().for_each(|item| table.row(row(item)));
        match next {
            Some(cursor) if args.all => page.cursor = Some(cursor),
            Some(cursor) => {
                text(&table.render());
                eprintln!("(more: --cursor {cursor}, or --all for every page)");
                return Ok(());
            }
            None => break,
        }
    }
    match out {
        Format::Json => line(serde_json::json!({ "data": items })),
        Format::Table => text(&table.render()),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_are_as_wide_as_their_widest_cell() {
        let mut t = Table::new(&["ID", "URL"]);
        t.row(vec!["wh_1".into(), "https://a".into()]);
        t.row(vec!["wh_22".into(), "b".into()]);
        assert_eq!(t.render(), "ID     URL\nwh_1   https://a\nwh_22  b\n");
    }

    #[test]
    fn fields_align_and_skip_empty_values() {
        let out = fields(&[("id", "wh_1".into()), ("description", String::new()), ("url", "x".into())]);
        assert_eq!(out, "id   wh_1\nurl  x\n");
    }
}
