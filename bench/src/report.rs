//! The one table the suite prints, and its place in `docs/benchmarks.md`.

use anyhow::Context;
use std::path::Path;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Met,
    Missed,
    /// A figure without a budget (reported for context).
    Info,
}

impl Verdict {
    pub fn of(met: bool) -> Self {
        if met {
            Verdict::Met
        } else {
            Verdict::Missed
        }
    }

    fn label(self) -> &'static str {
        match self {
            Verdict::Met => "met",
            Verdict::Missed => "**missed**",
            Verdict::Info => "",
        }
    }
}

/// One row: what was measured, the baseline it is compared with (measured
/// in the same run), and the budget.
#[derive(Debug, Clone)]
pub struct Figure {
    pub name: String,
    pub value: String,
    pub baseline: String,
    pub budget: String,
    pub verdict: Verdict,
}

impl Figure {
    pub fn new(name: impl Into<String>, value: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            value: value.into(),
            baseline: String::new(),
            budget: String::new(),
            verdict: Verdict::Info,
        }
    }

    pub fn baseline(mut self, baseline: impl Into<String>) -> Self {
        self.baseline = baseline.into();
        self
    }

    pub fn budget(mut self, budget: impl Into<String>, met: bool) -> Self {
        self.budget = budget.into();
        self.verdict = Verdict::of(met);
        self
    }
}

/// A Markdown table (it also reads well in a terminal).
pub fn table(figures: &[Figure]) -> String {
    let mut out = String::from("| Figure | Measured | Baseline (same run) | Budget | |\n");
    out.push_str("|---|---|---|---|---|\n");
    for f in figures {
        out.push_str(&format!(
            "| {} | {} | {} | {} | {} |\n",
            f.name,
            f.value,
            f.baseline,
            f.budget,
            f.verdict.label()
        ));
    }
    out
}

pub const BEGIN: &str = "<!-- bench:results:begin -->";
pub const END: &str = "<!-- bench:results:end -->";

/// Replaces what stands between the two markers in `doc` with `block`.
pub fn replace_block(doc: &str, block: &str) -> Option<String> {
    let start = doc.find(BEGIN)? + BEGIN.len();
    let end = doc.find(END)?;
    (start <= end).then(|| format!("{}\n{}\n{}", &doc[..start], block.trim(), &doc[end..]))
}

pub fn write_block(path: &Path, block: &str) -> anyhow::Result<()> {
    let doc =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let updated = replace_block(&doc, block)
        .with_context(|| format!("{} lacks the {BEGIN} … {END} markers", path.display()))?;
    std::fs::write(path, updated).with_context(|| format!("cannot write {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_has_a_row_per_figure_and_flags_misses() {
        let t = table(&[
            Figure::new("a", "1").baseline("2").budget("≥ 50%", false),
            Figure::new("b", "3"),
        ]);
        assert_eq!(t.lines().count(), 4);
        assert!(t.contains("| a | 1 | 2 | ≥ 50% | **missed** |"));
        assert!(t.contains("| b | 3 |  |  |  |"));
    }

    #[test]
    fn only_the_marked_block_is_replaced() {
        let doc = format!("intro\n{BEGIN}\nold\n{END}\noutro\n");
        let new = replace_block(&doc, "new\n").unwrap();
        assert_eq!(new, format!("intro\n{BEGIN}\nnew\n{END}\noutro\n"));
        assert!(replace_block("no markers", "x").is_none());
        assert!(replace_block(&format!("{END}{BEGIN}"), "x").is_none());
    }
}
