//! Paths as the repository knows them. Scanners name files in many ways: relative
//! (`src/a.py`), relative to a base SARIF describes elsewhere (`uriBaseId: "%SRCROOT%"`),
//! absolute `file://` URIs of the machine that ran them (`file:///home/ci/work/src/a.py`),
//! Windows paths. A finding's `file` is relative to the project's root, so the same
//! finding matches its violation whatever runner or checkout directory found it.

use crate::Invalid;

/// Longest root given when a scan starts, in characters.
pub const MAX_ROOT: usize = 1000;

/// The directory a scan's absolute paths are made relative to: an absolute path or a
/// `file://` URI, as `/home/ci/work/` (normalised, ending with `/`).
pub fn parse_root(raw: &str) -> Result<String, Invalid> {
    let raw = raw.trim();
    if raw.is_empty() || raw.chars().count() > MAX_ROOT {
        return Err(Invalid::new(format!("root must be 1 to {MAX_ROOT} characters")));
    }
    let path = normalise(&decode(strip_file_scheme(raw)));
    if !is_absolute(&path) {
        return Err(Invalid::new(format!("root must be an absolute path or a file:// URI, not '{raw}'")));
    }
    Ok(if path.ends_with('/') { path } else { format!("{path}/") })
}

/// `path` (already normalised) relative to `root` when it lies inside it; else as it is.
pub fn relative_to(path: &str, root: &str) -> String {
    match path.strip_prefix(root) {
        Some(rest) if !rest.is_empty() => rest.to_string(),
        _ => path.to_string(),
    }
}

/// A file as a scanner named it, in one form: the `file://` scheme dropped, percent escapes
/// decoded (when it was a URI), `\` as `/`, `./` and empty segments removed.
pub fn clean(named: &str) -> String {
    let uri_like = named.starts_with("file:") || named.contains('%');
    let path = strip_file_scheme(named);
    normalise(&if uri_like { decode(path) } else { path.to_string() })
}

/// Whether a cleaned path is absolute (`/…`, `//host/…` or `C:/…`).
pub fn is_absolute(path: &str) -> bool {
    let bytes = path.as_bytes();
    path.starts_with('/') || (bytes.len() >= 3 && bytes[0].is_ascii_alphabetic() && &bytes[1..3] == b":/")
}

/// The longest directory every one of `paths` lies in (ending with `/`), if they are all
/// absolute: a log's own guess at its root when the scan gave none.
pub fn common_root<'a>(mut paths: impl Iterator<Item = &'a str>) -> Option<String> {
    let first = paths.next()?;
    if !is_absolute(first) {
        return None;
    }
    let mut common = &first[..first.rfind('/')? + 1];
    for path in paths {
        if !is_absolute(path) {
            return None;
        }
        while !path.starts_with(common) {
            let shorter = common[..common.len() - 1].rfind('/')?;
            common = &common[..shorter + 1];
        }
    }
    // `/` alone says nothing about where the project is.
    (common.len() > 1).then(|| common.to_string())
}

/// `file:///a` → `/a`, `file:/a` → `/a`, `file://host/a` → `//host/a`, `file:///C:/a` → `C:/a`.
fn strip_file_scheme(raw: &str) -> &str {
    let Some(rest) = raw.strip_prefix("file:") else { return raw };
    let path = rest.strip_prefix("//").map_or(rest, |after| if after.starts_with('/') { after } else { rest });
    // A drive letter after the slash: `/C:/a`.
    let bytes = path.as_bytes();
    if bytes.len() >= 4 && bytes[0] == b'/' && bytes[1].is_ascii_alphabetic() && bytes[2] == b':' {
        return &path[1..];
    }
    path
}

/// Percent escapes decoded; invalid UTF-8 replaced rather than refused.
fn decode(raw: &str) -> String {
    percent_encoding::percent_decode_str(raw).decode_utf8_lossy().into_owned()
}

/// `\` as `/`, without `./` segments or repeated slashes (a leading `//` of a network path
/// is kept).
fn normalise(path: &str) -> String {
    let path = path.replace('\\', "/");
    let (lead, rest) = match path.strip_prefix("//") {
        Some(rest) => ("//", rest),
        None => ("", path.as_str()),
    };
    let absolute = rest.starts_with('/');
    let segments: Vec<&str> = rest.split('/').filter(|s| !s.is_empty() && *s != ".").collect();
    let mut out = String::with_capacity(path.len());
    out.push_str(lead);
    if absolute {
        out.push('/');
    }
    out.push_str(&segments.join("/"));
    if rest.ends_with('/') && !segments.is_empty() {
        out.push('/');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_way_of_naming_a_file_comes_out_the_same() {
        for named in [
            "src/a b.py",
            "./src/a b.py",
            "src//a b.py",
            "src\\a b.py",
            "file:///home/ci/work/src/a%20b.py",
            "file:/home/ci/work/src/a%20b.py",
            "/home/ci/work/./src/a b.py",
        ] {
            let path = clean(named);
            let relative = if is_absolute(&path) { relative_to(&path, "/home/ci/work/") } else { path };
            assert_eq!(relative, "src/a b.py", "{named}");
        }
        assert_eq!(clean("file:///C:/work/src/a.py"), "C:/work/src/a.py");
        assert_eq!(relative_to(&clean("C:\\work\\src\\a.py"), "C:/work/"), "src/a.py");
        assert_eq!(clean("file://server/share/a.py"), "//server/share/a.py");
        assert_eq!(clean("100%.txt"), "100%.txt", "a bad escape stays as written");
        assert_eq!(relative_to("/elsewhere/a.py", "/home/ci/work/"), "/elsewhere/a.py", "outside the root");
    }

    #[test]
    fn roots_are_absolute_directories() {
        assert_eq!(parse_root("/home/ci/work").unwrap(), "/home/ci/work/");
        assert_eq!(parse_root("file:///home/ci/work/").unwrap(), "/home/ci/work/");
        assert_eq!(parse_root("C:\\work").unwrap(), "C:/work/");
        assert!(parse_root("work/app").unwrap_err().0.contains("absolute"));
        assert!(parse_root(" ").is_err());
        assert!(parse_root(&format!("/{}", "a".repeat(MAX_ROOT))).is_err());
    }

    #[test]
    fn the_common_root_is_the_deepest_shared_directory() {
        let paths = ["/ci/work/app/app.py", "/ci/work/app/shop/handlers.py", "/ci/work/app/shop/storage.py"];
        assert_eq!(common_root(paths.into_iter()).as_deref(), Some("/ci/work/app/"));
        assert_eq!(common_root(["/ci/work/app/app.py"].into_iter()).as_deref(), Some("/ci/work/app/"));
        assert_eq!(common_root(["/a.py", "/b.py"].into_iter()), None, "the file system's root says nothing");
        assert_eq!(common_root(["/ci/a.py", "src/b.py"].into_iter()), None, "relative paths need no root");
        assert_eq!(common_root(std::iter::empty()), None);
        assert_eq!(common_root(["/ci/work/ab.py", "/ci/work/a/b.py"].into_iter()).as_deref(), Some("/ci/work/"));
    }
}
