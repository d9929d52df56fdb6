//! Replays what the fuzzers found (`testdata/fuzz-regressions/<target>/`) and their seeds
//! (`fuzz/corpus/<target>/`) through the same code as the fuzz targets, on a thread with
//! the stack of a tokio worker (2 MiB), where the server parses them. A stack overflow
//! aborts this test binary, so it fails loudly too. To keep a finding: copy the reproducer
//! `scripts/fuzz` printed into the directory of its target.

#[path = "fuzz/inputs.rs"]
mod inputs;

use std::path::{Path, PathBuf};

const STACK: usize = 2 * 1024 * 1024;

fn files(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else { return Vec::new() };
    let mut files: Vec<PathBuf> = entries.map(|e| e.expect("directory entry").path()).filter(|p| p.is_file()).collect();
    files.sort();
    files
}

#[test]
fn every_fuzz_finding_and_seed_runs_cleanly() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut replayed = 0;
    for (target, run) in inputs::TARGETS {
        let dirs = [root.join("testdata/fuzz-regressions").join(target), root.join("fuzz/corpus").join(target)];
        for path in dirs.iter().flat_map(|d| files(d)) {
            let input = std::fs::read(&path).expect("read input");
            let run = *run;
            let outcome =
                std::thread::Builder::new().stack_size(STACK).spawn(move || run(&input)).expect("spawn").join();
            assert!(outcome.is_ok(), "{target} panicked on {}", path.display());
            replayed += 1;
        }
    }
    assert!(replayed > 0, "no inputs found under {}", root.display());
}
