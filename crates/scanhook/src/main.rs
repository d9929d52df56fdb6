//! The `scanhook` binary: `scanhook serve` runs the service, `scanhook listen` is a local
//! receiver for developing against it; the other subcommands are its command-line client.
//! Exit codes: 0 success, 1 failure (an API error, an unreachable server), 2 a usage
//! error (clap's own).

mod cli;
mod listen;
mod serve;
mod telemetry;

use clap::Parser;

// Many small, short-lived allocations per delivery (headers, JSON); mimalloc handles that
// pattern with less contention than the system allocator.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// `mi_option_purge_delay` in mimalloc's `mi_option_e` (the -sys crate names only some
/// options; their numbers are stable, deprecated ones keep their place).
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;
/// How long mimalloc keeps freed pages before handing them back to the OS. Its default,
/// 1 s, keeps a second's worth of a delivery storm's short-lived buffers resident: RSS rose
/// to 108 MB draining a backlog of 200,000, against 74 MB with 50 ms and no huge pages (see
/// the workspace Cargo.toml). 50 ms still reuses pages within a burst; 0 (purge at once)
/// saved 5 MB more for a madvise call on nearly every page freed.
const PURGE_DELAY_MS: std::ffi::c_long = 50;

fn main() -> std::process::ExitCode {
    // SAFETY: mimalloc's options are plain values it reads when it purges; this runs on the
    // only thread there is yet. A MIMALLOC_PURGE_DELAY in the environment still wins.
    if std::env::var_os("MIMALLOC_PURGE_DELAY").is_none() {
        unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, PURGE_DELAY_MS) };
    }
    let cli = cli::Cli::parse();
    if let cli::Command::TemplateWorker = cli.command {
        return match scanhook_engine::sandbox::worker_main() {
            Ok(()) => std::process::ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("error: template worker: {e}");
                std::process::ExitCode::FAILURE
            }
        };
    }
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: could not start the async runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(cli::run(cli.command));
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
