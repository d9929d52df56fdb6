//! jq templates, compiled and run by the jaq crates. A template sees the canonical
//! envelope as `.` and the delivery context as `$ctx`.

use std::sync::Arc;

use jaq_core::load::{Arena, File, Loader};
use jaq_core::{Compiler, Ctx, Vars, data};
use jaq_json::Val;

use crate::Invalid;

/// The largest body a template may produce.
const MAX_OUTPUT: usize = 1024 * 1024;

/// A compiled jq program; cheap to clone and safe to share between threads.
#[derive(Clone)]
pub struct Template {
    filter: Arc<jaq_core::Filter<data::JustLut<Val>>>,
}

impl std::fmt::Debug for Template {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Template")
    }
}

impl Template {
    /// Parses and compiles `source`; the error reads like jq's own.
    pub fn compile(source: &str) -> Result<Self, Invalid> {
        if source.len() > 64 * 1024 {
            return Err(Invalid::new("the template is longer than 64 KiB"));
        }
        // jaq recurses on the program: bound its depth before jaq sees it.
        super::nesting::check(source)?;
        let defs = jaq_core::defs().chain(jaq_std::defs()).chain(jaq_json::defs());
        // Templates are written by API users and run inside the server: they must not read
        // its environment (API keys live there).
        let funs = jaq_core::funs().chain(jaq_std::funs()).chain(jaq_json::funs()).filter(|(name, ..)| *name != "env");
        let arena = Arena::default();
        let modules = Loader::new(defs)
            .load(&arena, File { code: source, path: () })
            .map_err(|errors| Invalid::new(load_error(source, errors)))?;
        let filter = Compiler::default()
            .with_funs(funs)
            .with_global_vars(["$ctx"])
            .compile(modules)
            .map_err(|errors| Invalid::new(compile_error(errors)))?;
        Ok(Self { filter: Arc::new(filter) })
    }

    /// Runs the program on `input` (JSON text) with `$ctx` bound to `context` (JSON text)
    /// and returns its one output as JSON text.
    pub fn run(&self, input: &[u8], context: &[u8]) -> Result<String, String> {
        let parse = |what: &str, bytes: &[u8]| {
            jaq_json::read::parse_single(bytes).map_err(|e| format!("the {what} is not JSON: {e}"))
        };
        let (input, context) = (parse("envelope", input)?, parse("context", context)?);
        let ctx = Ctx::<data::JustLut<Val>>::new(&self.filter.lut, Vars::new([context]));
        // Not jaq's `unwrap_valr`: on `halt` it exits the process, and a template must never
        // stop the server.
        let mut outputs = self.filter.id.run((ctx, input)).map(|output| {
            output.map_err(|exn| match exn.get_err() {
                Ok(error) => error.to_string(),
                Err(exn) => match exn.get_halt() {
                    Ok(code) => format!("halt with exit code {code}"),
                    Err(_) => "an exception escaped the program".to_string(),
                },
            })
        });
        let first = match outputs.next() {
            None => return Err("the template produced no output".into()),
            Some(Err(e)) => return Err(format!("the template failed: {e}")),
            Some(Ok(value)) => value.to_string(),
        };
        if outputs.next().is_some() {
            return Err("the template produced more than one output (wrap them in [...])".into());
        }
        if first.len() > MAX_OUTPUT {
            return Err(format!("the template's output is larger than {} KiB", MAX_OUTPUT / 1024));
        }
        Ok(first)
    }
}

/// Where `rest` (a slice of `source`) starts, as line:column.
fn position(source: &str, rest: &str) -> String {
    let offset = (rest.as_ptr() as usize).saturating_sub(source.as_ptr() as usize).min(source.len());
    let before = &source[..offset];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    format!("{line}:{column}")
}

fn load_error(source: &str, errors: jaq_core::load::Errors<&str, ()>) -> String {
    use jaq_core::load::Error;
    let mut messages = Vec::new();
    for (_, error) in errors {
        match error {
            Error::Io(items) => messages.extend(items.into_iter().map(|(path, e)| format!("cannot load {path}: {e}"))),
            Error::Lex(items) => messages.extend(
                items
                    .into_iter()
                    .map(|(expect, rest)| format!("expected {} at {}", expect.as_str(), position(source, rest))),
            ),
            Error::Parse(items) => messages.extend(items.into_iter().map(|(expect, found)| {
                let found = if found.is_empty() { "end of program".to_string() } else { format!("'{found}'") };
                format!(
                    "expected {}, found {found} at {}",
                    expect.as_str(),
                    position(source, found_slice(source, &found))
                )
            })),
        }
    }
    format!("jq syntax error: {}", messages.join("; "))
}

// Parse errors carry the token found; its position is found from the token text.
fn found_slice<'a>(source: &'a str, found: &str) -> &'a str {
    let token = found.trim_matches('\'');
    source.find(token).map_or(&source[source.len()..], |at| &source[at..])
}

fn compile_error(errors: jaq_core::compile::Errors<&str, ()>) -> String {
    use jaq_core::compile::Undefined;
    let messages: Vec<String> = errors
        .into_iter()
        .flat_map(|(_, items)| items)
        .map(|(name, undefined)| match undefined {
            Undefined::Filter(arity) => format!("undefined filter {name}/{arity}"),
            other => format!("undefined {} {name}", other.as_str()),
        })
        .collect();
    format!("jq compile error: {}", messages.join("; "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_over_the_envelope_with_the_context() {
        let t = Template::compile(r#"{text: "\(.type) #\($ctx.attempt)", n: (.data.items | length)}"#).unwrap();
        let out = t.run(br#"{"type":"scan.completed","data":{"items":[1,2]}}"#, br#"{"attempt":3}"#).unwrap();
        assert_eq!(out, r#"{"text":"scan.completed #3","n":2}"#);
    }

    /// The deepest program of each nesting construct that the bound lets through compiles
    /// and runs on the smallest stack it may get: a tokio worker's 2 MiB.
    #[test]
    fn the_deepest_allowed_templates_fit_a_worker_stack() {
        let shapes: [(&str, &str, &str); 12] = [
            ("(", ".", ")"),
            ("[", ".", "]"),
            ("{a:", ".", "}"),
            ("if . then ", ".", " end"),
            ("try ", ".", ""),
            ("- ", "1", ""),
            ("\"\\(", ".", ")\""),
            ("def f: ", ".", "; ."),
            ("reduce . as $x (0; ", ".", ")"),
            (". | ", ".", ""),
            ("1 + ", "1", ""),
            (". as $x | ", ".", ""),
        ];
        let deepest: Vec<String> = shapes
            .iter()
            .map(|(open, middle, close)| {
                let of = |n: usize| format!("{}{middle}{}", open.repeat(n), close.repeat(n));
                let n = (0..=super::super::nesting::MAX_NESTING).rev().find(|n| Template::compile(&of(*n)).is_ok());
                of(n.expect("some depth compiles"))
            })
            .collect();
        let worker = std::thread::Builder::new().stack_size(2 * 1024 * 1024).spawn(move || {
            for source in deepest {
                let template = Template::compile(&source).expect("compiles");
                let _ = template.run(b"{}", b"{}");
            }
        });
        worker.expect("thread").join().expect("no stack overflow");
    }

    #[test]
    fn errors_read_like_jq() {
        let e = Template::compile("{a: .b").unwrap_err().0;
        assert!(e.starts_with("jq syntax error: expected closing brace"), "{e}");
        let e = Template::compile(".a | nosuchfilter(1)").unwrap_err().0;
        assert_eq!(e, "jq compile error: undefined filter nosuchfilter/1");
        let e = Template::compile("$nope").unwrap_err().0;
        assert_eq!(e, "jq compile error: undefined variable $nope");
        for leak in ["env", "$ENV", "env.HOME"] {
            assert!(Template::compile(leak).is_err(), "{leak}: the server's environment is not for templates");
        }

        let t = Template::compile(".data.n + 1").unwrap();
        let e = t.run(br#"{"data":{"n":"x"}}"#, b"{}").unwrap_err();
        assert!(e.starts_with("the template failed: "), "{e}");
        assert_eq!(
            Template::compile("empty").unwrap().run(b"{}", b"{}").unwrap_err(),
            "the template produced no output"
        );
        assert!(Template::compile("1, 2").unwrap().run(b"{}", b"{}").unwrap_err().contains("more than one output"));
        // jq's halt would end the process; in a template it only fails the delivery.
        for stop in ["halt", "\"bye\" | halt_error", "halt_error(1)"] {
            let e = Template::compile(stop).unwrap().run(b"{}", b"{}").unwrap_err();
            assert!(e.starts_with("the template failed: halt"), "{stop}: {e}");
        }
    }
}
