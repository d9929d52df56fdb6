//! The nesting bound on jq programs, checked on the source before jaq sees it. jaq's
//! lexer, parser, compiler and interpreter all recurse on the program's tree, so a
//! template of 30,000 nested parentheses (or `try`s, `-`s, `if`s, interpolations, or one
//! long chain of `|`) overflows the stack of whatever thread compiles it.
//!
//! The measure is an upper bound of the depth of the tree jaq builds: every opening
//! bracket, `if`, `def`, `reduce`/`foreach`, `try`, `label` and string interpolation nests
//! what follows, and so does every binary operator (`a | b | c` is a chain of nested
//! pairs). Separators that jaq keeps in flat lists (object entries, `elif` branches,
//! successive `def`s) start over at their level.

use crate::Invalid;

/// How deep a template's tree may be. A debug build of jaq overflows a 2 MiB stack (a
/// tokio worker's) at about 200 levels of its costliest constructs (objects, `if`, `def`,
/// interpolation); release builds need far less. No hand-written template comes near it.
pub const MAX_NESTING: usize = 128;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Open {
    /// `(` or `[`.
    Group,
    /// `{`: its entries are a flat list.
    Object,
    /// `if` … `end`.
    If,
    /// `def name: body;`.
    Def,
    /// `\(` … `)` in a string: the string resumes after it.
    Interpolation,
}

/// Checks that `source` nests at most [`MAX_NESTING`] levels deep.
pub fn check(source: &str) -> Result<(), Invalid> {
    let too_deep = || Invalid::new(format!("the template is nested more than {MAX_NESTING} levels deep"));
    let bytes = source.as_bytes();
    // Each open construct with the depth its level started at.
    let mut stack: Vec<(Open, usize)> = Vec::new();
    let (mut depth, mut in_string, mut i) = (0usize, false, 0usize);
    while i < bytes.len() {
        let b = bytes[i];
        if in_string {
            match b {
                b'\\' if bytes.get(i + 1) == Some(&b'(') => {
                    stack.push((Open::Interpolation, depth));
                    depth += 1;
                    in_string = false;
                    i += 1;
                }
                b'\\' => i += 1,
                b'"' => in_string = false,
                _ => {}
            }
            i += 1;
            continue;
        }
        let mut word_len = 0;
        match b {
            b'#' => {
                // A comment, to the end of the line.
                i = bytes[i..].iter().position(|&c| c == b'\n').map_or(bytes.len(), |n| i + n);
                continue;
            }
            b'"' => in_string = true,
            b'(' | b'[' => {
                stack.push((Open::Group, depth));
                depth += 1;
            }
            b'{' => {
                stack.push((Open::Object, depth));
                depth += 1;
            }
            b')' | b']' | b'}' => {
                // Keywords never closed (a parse error anyway) are closed with the group.
                while let Some((open, at)) = stack.pop() {
                    depth = at;
                    if open == Open::Interpolation {
                        in_string = true;
                    }
                    if matches!(open, Open::Group | Open::Object | Open::Interpolation) {
                        break;
                    }
                }
            }
            b',' if stack.last().is_some_and(|(open, _)| *open == Open::Object) => {
                depth = stack.last().map_or(0, |(_, at)| at + 1);
            }
            b';' if stack.last().is_some_and(|(open, _)| *open == Open::Def) => {
                depth = stack.pop().map_or(0, |(_, at)| at);
            }
            b'|' | b',' | b'+' | b'-' | b'*' | b'/' | b'%' | b'=' | b'<' | b'>' | b'!' | b'?' => {
                depth += 1;
                // A run of operator characters is one operator.
                while bytes.get(i + 1).is_some_and(|c| b"|+-*/%=<>!?".contains(c)) {
                    i += 1;
                }
            }
            b'a'..=b'z' | b'A'..=b'Z' | b'_' => {
                word_len = bytes[i..].iter().take_while(|c| c.is_ascii_alphanumeric() || **c == b'_').count();
                // `.end`, `$if` and `@try` are a key, a variable and a format, not keywords.
                let keyword = i == 0 || !matches!(bytes[i - 1], b'.' | b'$' | b'@');
                if keyword {
                    keyword_nesting(&bytes[i..i + word_len], &mut stack, &mut depth);
                }
            }
            _ => {}
        }
        if depth > MAX_NESTING {
            return Err(too_deep());
        }
        i += word_len.max(1);
    }
    Ok(())
}

/// How a keyword changes the nesting.
fn keyword_nesting(word: &[u8], stack: &mut Vec<(Open, usize)>, depth: &mut usize) {
    let top_is_if = stack.last().is_some_and(|(open, _)| *open == Open::If);
    match word {
        b"if" => {
            stack.push((Open::If, *depth));
            *depth += 1;
        }
        b"def" => {
            stack.push((Open::Def, *depth));
            *depth += 1;
        }
        b"then" | b"elif" | b"else" if top_is_if => *depth = stack.last().map_or(0, |(_, at)| at + 1),
        b"end" if top_is_if => *depth = stack.pop().map_or(0, |(_, at)| at),
        b"try" | b"catch" | b"reduce" | b"foreach" | b"label" | b"as" | b"and" | b"or" => *depth += 1,
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn depth_ok(source: &str) -> bool {
        check(source).is_ok()
    }

    #[test]
    fn ordinary_templates_pass() {
        for source in [
            r#"{text: "\(.type) #\($ctx.attempt)", n: (.data.items | length)}"#,
            "if .a then 1 elif .b then 2 else 3 end | . + 1",
            "def f: . + 1; def g: f | f; [.[] | g] | reduce .[] as $x (0; . + $x)",
            r#"try error("x") catch . | "\("\("nested")")""#,
            "{end: .end, if: $if} # ((((( a comment",
        ] {
            assert!(depth_ok(source), "{source}");
        }
        for builtin in [include_str!("chat/slack.jq"), include_str!("chat/discord.jq"), include_str!("chat/teams.jq")] {
            let source = format!("{}\n{builtin}", include_str!("chat/common.jq"));
            assert!(depth_ok(&source));
        }
    }

    #[test]
    fn every_nesting_construct_is_bounded() {
        let n = MAX_NESTING + 1;
        let deep = [
            format!("{}.{}", "(".repeat(n), ")".repeat(n)),
            format!("{}.{}", "[".repeat(n), "]".repeat(n)),
            format!("{}{}", "{a:".repeat(n), "}".repeat(n)),
            format!("{}.{}", "if . then ".repeat(n), " end".repeat(n)),
            format!("{}.", "try ".repeat(n)),
            format!("{}1", "-".repeat(n).chars().map(|c| format!("{c} ")).collect::<String>()),
            format!("{}.{}", "\"\\(".repeat(n), ")\"".repeat(n)),
            format!("{}.{}", "def f: ".repeat(n), "; .".repeat(n)),
            format!("{}.", "reduce . as $x (0; ".repeat(n)),
            format!("{}.", ". | ".repeat(n)),
            format!("{}1", "1 + ".repeat(n)),
            format!("{}.", ". as $x | ".repeat(n)),
            format!("{}.", "label $f | ".repeat(n)),
            format!("[{}1]", "1, ".repeat(n)),
        ];
        for source in &deep {
            let e = check(source).unwrap_err().0;
            assert!(e.contains(&format!("nested more than {MAX_NESTING} levels")), "{source}: {e}");
        }
        // Flat lists do not add up.
        let entries: Vec<String> = (0..2 * n).map(|k| format!("k{k}: (.a | .b)")).collect();
        assert!(depth_ok(&format!("{{{}}}", entries.join(", "))));
        let defs: String = (0..2 * n).map(|k| format!("def f{k}: . | .; ")).collect();
        assert!(depth_ok(&format!("{defs}.")));
        assert!(depth_ok(&format!("if . then 1 {}else 2 end", "elif . then 1 ".repeat(2 * n))));
    }
}
