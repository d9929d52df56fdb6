//! The end-to-end tests of the `scanhook` binary, as one test binary: each module was once
//! a test binary of its own, and `cargo test` linked the whole dependency tree once for
//! each. `common` is the shared harness (the real server on an ephemeral port, a real
//! receiver, side processes); fixtures sit beside the module that reads them.
//!
//! The tests of every module run in one process, on parallel threads: a test passes its
//! settings to the processes it starts (`Server::start(&[(…)])`), never through this
//! process's environment or other global state. A new test file is a module here, not a
//! new file in `tests/`. One module: `cargo test -p scanhook --test it cli::`.

mod common;

mod api;
mod audit;
mod bounds;
mod catalogue;
mod cli;
mod cloudevents;
mod containment;
mod contract;
mod crash;
mod dashboard;
mod dashboard_accounts;
mod dashboard_api;
mod dashboard_expiry;
mod dashboard_form;
mod dashboard_log;
mod dashboard_pages;
mod dashboard_query;
mod delivery;
mod disk_full;
mod ed25519;
mod fair;
mod formats;
mod guard;
mod ingest;
mod javascript_bodies;
mod licenses;
mod listen;
mod logs;
mod metrics;
mod migrate_store;
mod opevents;
mod ordering;
mod platforms;
mod polite;
mod postgres;
mod projects;
mod proxy;
mod receivers;
mod retention;
mod scan_tools;
mod scans;
mod secrets;
mod serve;
mod traces;
