//! Which phases run (`--phases`, and the size flags that turn phases off at 0), and the
//! node count the phases on a fresh cluster of their own use.

use anyhow::bail;

use crate::Args;

/// A phase of the benchmark (`--phases`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum Step {
    Ceiling,
    Throughput,
    Latency,
    Report,
    ReportMemory,
    Fanout,
    Fairness,
    Backlog,
}

impl Args {
    /// Whether the phase runs: listed (or no `--phases`) and, for one with a size, not 0.
    pub(crate) fn runs(&self, step: Step) -> bool {
        let listed = self.phases.as_ref().is_none_or(|p| p.contains(&step));
        listed && self.size(step) != Some(0)
    }

    /// The size of the phases that have one.
    fn size(&self, step: Step) -> Option<u64> {
        match step {
            Step::Report => Some(self.findings),
            Step::ReportMemory => Some(self.report_mib as u64),
            Step::Fanout => Some(self.fanout),
            Step::Fairness => Some(self.hanging),
            Step::Backlog => Some(self.backlog),
            Step::Ceiling | Step::Throughput | Step::Latency => None,
        }
    }

    /// Refuses a phase listed in `--phases` whose size is 0.
    pub(crate) fn check(&self) -> anyhow::Result<()> {
        let flags = [
            (Step::Report, "--findings"),
            (Step::ReportMemory, "--report-mib"),
            (Step::Fanout, "--fanout"),
            (Step::Fairness, "--hanging"),
            (Step::Backlog, "--backlog"),
        ];
        for (step, flag) in flags {
            if self.phases.as_ref().is_some_and(|p| p.contains(&step)) && self.size(step) == Some(0) {
                let name = clap::ValueEnum::to_possible_value(&step).map(|v| v.get_name().to_string());
                bail!("--phases {} needs {flag} N (more than 0)", name.unwrap_or_default());
            }
        }
        Ok(())
    }

    /// The last node count of `--nodes`: the fan-out, fairness and backlog phases run with it.
    pub(crate) fn last_nodes(&self) -> u64 {
        self.nodes.last().copied().unwrap_or(1)
    }
}
