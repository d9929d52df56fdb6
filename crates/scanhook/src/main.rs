//! The `scanhook` binary: `scanhook serve` runs the service, `scanhook listen` is a local
//! receiver for developing against it; the other subcommands are its command-line client.
//! Exit codes: 0 success, 1 failure (an API error, an unreachable server), 2 a usage
//! error (clap's own).

mod cli;
mod listen;
mod serve;

use clap::Parser;

// Many small, short-lived allocations per delivery (headers, JSON); mimalloc handles that
// pattern with less contention than the system allocator.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
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
