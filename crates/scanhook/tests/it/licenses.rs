//! The binary ships under Apache-2.0 (LICENSE), so everything linked into it must allow
//! that: each dependency's licence expression must be satisfiable with permissive
//! licences, and a dependency that ships a NOTICE file must be named in our NOTICE
//! (Apache-2.0 §4(d) asks redistributors to carry it). Read from `cargo metadata`, so a new
//! dependency is checked the day it is added.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

/// Licences that let the whole be distributed under Apache-2.0 with attribution only.
const PERMISSIVE: &[&str] = &[
    "Apache-2.0",
    "MIT",
    "MIT-0",
    "BSD-2-Clause",
    "BSD-3-Clause",
    "ISC",
    "Zlib",
    "Unicode-3.0",
    "Unlicense",
    "BSL-1.0",
    "CDLA-Permissive-2.0",
];

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn metadata() -> Value {
    let host = Command::new("rustc").arg("-vV").output().expect("rustc runs");
    let host = String::from_utf8_lossy(&host.stdout);
    let triple = host.lines().find_map(|l| l.strip_prefix("host: ")).expect("rustc -vV names the host");
    let out = Command::new(env!("CARGO"))
        .args(["metadata", "--format-version", "1", "--locked", "--filter-platform", triple])
        .current_dir(workspace_root())
        .output()
        .expect("cargo metadata runs");
    assert!(out.status.success(), "cargo metadata: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("cargo metadata prints JSON")
}

/// The packages the `scanhook` binary is built from: its normal dependencies, transitively
/// (proc macros included; build scripts' and tests' own dependencies not).
fn shipped(metadata: &Value) -> Vec<&Value> {
    let packages: HashMap<&str, &Value> =
        metadata["packages"].as_array().unwrap().iter().map(|p| (p["id"].as_str().unwrap(), p)).collect();
    let nodes: HashMap<&str, &Value> =
        metadata["resolve"]["nodes"].as_array().unwrap().iter().map(|n| (n["id"].as_str().unwrap(), n)).collect();
    let root = packages.values().find(|p| p["name"] == "scanhook" && p["source"].is_null()).expect("the binary");
    let mut seen = HashSet::new();
    let mut todo = vec![root["id"].as_str().unwrap()];
    while let Some(id) = todo.pop() {
        if !seen.insert(id) {
            continue;
        }
        for dep in nodes[id]["deps"].as_array().unwrap() {
            let normal = dep["dep_kinds"].as_array().unwrap().iter().any(|k| k["kind"].is_null());
            if normal {
                todo.push(dep["pkg"].as_str().unwrap());
            }
        }
    }
    let mut shipped: Vec<&Value> = seen.into_iter().map(|id| packages[id]).collect();
    shipped.sort_by_key(|p| p["name"].as_str().unwrap());
    shipped
}

fn permissive(expression: &str) -> bool {
    let Ok(expression) = spdx::Expression::parse_mode(expression, spdx::ParseMode::LAX) else {
        return false;
    };
    expression.evaluate(|req| {
        let exception_ok = req.addition.as_ref().is_none_or(|a| a.to_string() == "LLVM-exception");
        match &req.license {
            spdx::LicenseItem::Spdx { id, .. } => exception_ok && PERMISSIVE.contains(&id.name),
            spdx::LicenseItem::Other { .. } => false,
        }
    })
}

#[test]
fn every_shipped_dependency_is_permissively_licensed_and_its_notice_is_carried() {
    let metadata = metadata();
    let shipped = shipped(&metadata);
    assert!(shipped.len() > 100, "the walk found the dependency tree: {}", shipped.len());
    let notice = std::fs::read_to_string(workspace_root().join("NOTICE")).expect("NOTICE at the root");
    let mut problems = Vec::new();
    for package in shipped {
        let (name, version) = (package["name"].as_str().unwrap(), package["version"].as_str().unwrap());
        let license = package["license"].as_str().unwrap_or("");
        if !permissive(license) {
            problems.push(format!("{name} {version}: licence '{license}' is not in the permissive list"));
        }
        let dir = Path::new(package["manifest_path"].as_str().unwrap()).parent().unwrap().to_path_buf();
        let notices = std::fs::read_dir(&dir).unwrap().flatten().map(|e| e.file_name().to_string_lossy().into_owned());
        for file in notices.filter(|f| f.to_ascii_uppercase().starts_with("NOTICE")) {
            if !notice.contains(&format!("{name} ")) {
                problems.push(format!("{name} {version} ships {file}: carry it in NOTICE"));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn the_licence_check_refuses_what_it_must() {
    assert!(permissive("MIT OR Apache-2.0"));
    assert!(permissive("Apache-2.0/MIT"));
    assert!(permissive("(MIT OR Apache-2.0) AND Unicode-3.0"));
    assert!(permissive("Apache-2.0 WITH LLVM-exception OR Apache-2.0 OR MIT"));
    assert!(permissive("MIT OR Apache-2.0 OR LGPL-2.1-or-later"));
    assert!(!permissive("GPL-3.0-only"));
    assert!(!permissive("MIT AND GPL-2.0-only"));
    assert!(!permissive("AGPL-3.0-or-later OR SSPL-1.0"));
    assert!(!permissive(""));
}
