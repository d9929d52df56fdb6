//! Node beside the tests: installing a locked package's dependencies, and Node's own
//! `JSON.stringify(JSON.parse(…))` to compare scanhook's JavaScript-stable bodies with.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Mutex;

/// Whether `node` runs here; if not, says that the test `name` is skipped and how to run it.
pub fn available(name: &str) -> bool {
    let found = Command::new("node").arg("--version").output().is_ok_and(|o| o.status.success());
    if !found {
        eprintln!("SKIPPED {name}: node is not on PATH; install Node.js 18+ (and npm) and run it again");
    }
    found
}

/// Installs the locked dependencies of the package in `dir` (a clean clone has no
/// node_modules). npm writes `node_modules/.package-lock.json` last, so an install cut
/// short is done again.
pub fn npm_ci(dir: &Path) {
    // Tests of one binary run at once: one installs, the others then find it installed.
    static INSTALLING: Mutex<()> = Mutex::new(());
    let _alone = INSTALLING.lock().unwrap_or_else(|p| p.into_inner());
    if !dir.join("node_modules/.package-lock.json").exists() {
        let status = Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund"])
            .current_dir(dir)
            .status()
            .expect("npm runs (node and npm must be installed)");
        assert!(status.success(), "npm ci failed in {}", dir.display());
    }
}

/// `JSON.stringify(JSON.parse(text))` of every text, by one Node process: each answer is
/// a string, or `None` where `JSON.parse` throws.
pub fn restringify(texts: &[Vec<u8>]) -> Vec<Option<String>> {
    // Texts go in as JSON strings, one a line; answers come back the same way, so no
    // byte of either is lost to the line protocol.
    const SCRIPT: &str = r#"
        const lines = require('fs').readFileSync(0, 'utf8').split('\n').filter(l => l !== '');
        for (const line of lines) {
            let out = null;
            try { out = JSON.stringify(JSON.parse(JSON.parse(line))); } catch (e) {}
            process.stdout.write(JSON.stringify(out) + '\n');
        }"#;
    let mut child = Command::new("node")
        .args(["-e", SCRIPT])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("node runs");
    let mut input = String::new();
    for text in texts {
        let text = std::str::from_utf8(text).expect("a UTF-8 text");
        input.push_str(&serde_json::to_string(text).expect("a JSON string"));
        input.push('\n');
    }
    let mut stdin = child.stdin.take().expect("stdin");
    let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
    let output = child.wait_with_output().expect("node's answers");
    writer.join().expect("the writer").expect("node read every text");
    assert!(output.status.success(), "node failed");
    let answers: Vec<Option<String>> = String::from_utf8(output.stdout)
        .expect("UTF-8 answers")
        .lines()
        .map(|line| serde_json::from_str(line).expect("a JSON answer"))
        .collect();
    assert_eq!(answers.len(), texts.len(), "node answered every text");
    answers
}
