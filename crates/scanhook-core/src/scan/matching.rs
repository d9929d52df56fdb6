//! Which violation a finding continues, when findings look alike.
//!
//! A finding's fingerprint names *what* it is: the tool's own fingerprint when it gives
//! one, else the rule, the file and the message ([`super::fingerprint`]). Findings of one
//! analysis with the same fingerprint — four "missing docstring" findings in one file —
//! are a [`Group`] of look-alikes, and each is a violation of its own; they are told apart
//! by *where* they are:
//!
//! 1. By the flagged line's text, when the scanner gave it (SARIF `region.snippet`, or
//!    `snippet` in scanhook's JSON): findings pair only with violations last seen on a line
//!    of the same text ([`Place::line_hash`]), in the spirit of GitHub's
//!    `primaryLocationLineHash`.
//! 2. By order and line, within what is left: the findings and the violations, each in
//!    line order, are paired in order ([`align`]), so a group of k findings and m violations
//!    continues min(k, m) of them. Which ones is decided by how the code moved: of every
//!    way to leave |k − m| out, the one whose shifts (new line − old line) change least
//!    from one pair to the next, then the one that moved least. Lines inserted above a
//!    finding shift it and everything below it alike; removing one finding changes no
//!    shift at all.
//!
//! Limits: two look-alikes that swap places, or one fixed while another of its kind
//! appears elsewhere in the file, cannot be told from the log; when more than
//! [`MAX_SKIPPED`] findings of one group appeared or went away at once, they pair in
//! plain line order.

use std::collections::{BTreeMap, HashMap};

use super::finding::{Analysis, Finding};

/// Look-alike findings of one scan: same analysis and fingerprint, in line order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    pub analysis: Analysis,
    pub fingerprint: String,
    pub findings: Vec<Finding>,
}

/// A scan's findings as groups of look-alikes, in the order each group first appears. A
/// finding that repeats another exactly (same line and line text) is dropped: it is the
/// same finding reported twice.
pub fn group(findings: Vec<Finding>) -> Vec<Group> {
    let mut groups: Vec<Group> = Vec::new();
    let mut index: HashMap<(Analysis, String), usize> = HashMap::new();
    for finding in findings {
        let key = (finding.analysis.clone(), finding.fingerprint.clone());
        let at = *index.entry(key).or_insert_with(|| {
            groups.push(Group {
                analysis: finding.analysis.clone(),
                fingerprint: finding.fingerprint.clone(),
                findings: Vec::new(),
            });
            groups.len() - 1
        });
        groups[at].findings.push(finding);
    }
    for group in &mut groups {
        group.findings.sort_by_key(|f| f.line);
        group.findings.dedup_by(|b, a| a.line == b.line && a.line_hash == b.line_hash);
    }
    groups
}

/// Where a finding is, or where a violation was last seen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Place<'a> {
    pub line: u32,
    /// Hash of the flagged line's text ([`super::finding::line_hash`]), when known.
    pub line_hash: Option<&'a str>,
}

impl<'a> From<&'a Finding> for Place<'a> {
    fn from(f: &'a Finding) -> Self {
        Self { line: f.line, line_hash: f.line_hash.as_deref() }
    }
}

/// Most findings of one group that may appear or go away at once and still be aligned by
/// how the code moved; beyond it they pair in line order. Aligning costs
/// O(n · (MAX_SKIPPED + 1)²) for a group of n.
pub const MAX_SKIPPED: usize = 16;

/// For each of a group's `found` places, the index in `known` of the violation it
/// continues, or `None` for a new one. Each known violation is continued at most once.
pub fn pair(found: &[Place<'_>], known: &[Place<'_>]) -> Vec<Option<usize>> {
    let mut pairs = Pairs { found, known, paired: vec![None; found.len()], taken: vec![false; known.len()] };
    // 1. The same line text on both sides.
    let mut by_text: BTreeMap<&str, (Vec<usize>, Vec<usize>)> = BTreeMap::new();
    for (i, place) in found.iter().enumerate() {
        if let Some(hash) = place.line_hash {
            by_text.entry(hash).or_default().0.push(i);
        }
    }
    for (k, place) in known.iter().enumerate() {
        if let Some(sides) = place.line_hash.and_then(|hash| by_text.get_mut(hash)) {
            sides.1.push(k);
        }
    }
    for (found, known) in by_text.into_values() {
        pairs.align(found, known);
    }
    // 2. Findings with a line text, and violations stored without one (before scanhook
    // kept it, or from a scanner that did not give it then).
    let found = pairs.unpaired(|p| p.line_hash.is_some());
    let known = pairs.untaken(|p| p.line_hash.is_none());
    pairs.align(found, known);
    // 3. Findings without a line text, and whatever is left.
    let found = pairs.unpaired(|p| p.line_hash.is_none());
    let known = pairs.untaken(|_| true);
    pairs.align(found, known);
    pairs.paired
}

struct Pairs<'p, 'a> {
    found: &'p [Place<'a>],
    known: &'p [Place<'a>],
    paired: Vec<Option<usize>>,
    taken: Vec<bool>,
}

impl Pairs<'_, '_> {
    fn unpaired(&self, keep: impl Fn(&Place<'_>) -> bool) -> Vec<usize> {
        (0..self.found.len()).filter(|&i| self.paired[i].is_none() && keep(&self.found[i])).collect()
    }

    fn untaken(&self, keep: impl Fn(&Place<'_>) -> bool) -> Vec<usize> {
        (0..self.known.len()).filter(|&k| !self.taken[k] && keep(&self.known[k])).collect()
    }

    /// Pairs the `found` with the `known` indices, both taken in line order.
    fn align(&mut self, mut found: Vec<usize>, mut known: Vec<usize>) {
        found.sort_by_key(|&i| self.found[i].line);
        known.sort_by_key(|&k| self.known[k].line);
        let new: Vec<i64> = found.iter().map(|&i| i64::from(self.found[i].line)).collect();
        let old: Vec<i64> = known.iter().map(|&k| i64::from(self.known[k].line)).collect();
        for (o, n) in align(&old, &new) {
            self.paired[found[n]] = Some(known[o]);
            self.taken[known[o]] = true;
        }
    }
}

/// Pairs old lines with new lines (both ascending), in order, as many as the shorter list
/// has: `(old index, new index)`. Of the ways to leave out the longer list's surplus, the
/// one whose shifts change least from pair to pair, then whose shifts are smallest.
pub fn align(old: &[i64], new: &[i64]) -> Vec<(usize, usize)> {
    if old.len() <= new.len() {
        align_shorter(old, new, |o, n| n - o)
    } else {
        align_shorter(new, old, |n, o| n - o).into_iter().map(|(n, o)| (o, n)).collect()
    }
}

/// Every element of `short` paired with one of `long`, in order: `(short index, long
/// index)`. `shift` gives how far the code moved between a short and a long line.
/// Dynamic programming over (pair number, how many of `long` were skipped so far).
fn align_shorter(short: &[i64], long: &[i64], shift: impl Fn(i64, i64) -> i64) -> Vec<(usize, usize)> {
    let (n, surplus) = (short.len(), long.len() - short.len());
    if n == 0 {
        return Vec::new();
    }
    if surplus > MAX_SKIPPED {
        return (0..n).map(|j| (j, j)).collect();
    }
    let moved = |j: usize, s: usize| shift(short[j], long[j + s]);
    // best[j][s]: least (change of shifts, size of shifts) with short[j] paired with
    // long[j + s]; from[j][s]: the skip count of the pair before it.
    let mut best = vec![vec![(u64::MAX, u64::MAX); surplus + 1]; n];
    let mut from = vec![vec![0usize; surplus + 1]; n];
    for (s, first) in best[0].iter_mut().enumerate() {
        *first = (0, moved(0, s).unsigned_abs());
    }
    for j in 1..n {
        for s in 0..=surplus {
            let here = moved(j, s);
            for before in 0..=s {
                let (change, size) = best[j - 1][before];
                let cost = (change + here.abs_diff(moved(j - 1, before)), size + here.unsigned_abs());
                if cost < best[j][s] {
                    best[j][s] = cost;
                    from[j][s] = before;
                }
            }
        }
    }
    let mut s = (0..=surplus).min_by_key(|&s| best[n - 1][s]).unwrap_or(0);
    let mut pairs = vec![(0, 0); n];
    for j in (0..n).rev() {
        pairs[j] = (j, j + s);
        s = from[j][s];
    }
    pairs
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::scan::finding::{Severity, fingerprint};

    fn at(lines: &[u32]) -> Vec<Place<'static>> {
        lines.iter().map(|&line| Place { line, line_hash: None }).collect()
    }

    /// The known lines each found line continues (`None`: new).
    fn continued(found: &[u32], known: &[u32]) -> Vec<Option<u32>> {
        pair(&at(found), &at(known)).into_iter().map(|k| k.map(|k| known[k])).collect()
    }

    #[test]
    fn ruffs_four_missing_docstrings_one_fixed_and_the_rest_moved() {
        // testdata/scanners: `price` (13) got a docstring, which moved the two below it by 1.
        assert_eq!(continued(&[8, 18, 23], &[8, 13, 17, 22]), [Some(8), Some(17), Some(22)]);
        // And back again: the docstring removed, `price` is the one that appears.
        assert_eq!(continued(&[8, 13, 17, 22], &[8, 18, 23]), [Some(8), None, Some(18), Some(23)]);
    }

    #[test]
    fn lines_inserted_above_every_look_alike_do_not_confuse_a_fix() {
        // Five lines inserted at the top, and the second of four fixed: the shifts stay +5.
        assert_eq!(continued(&[13, 22, 27], &[8, 13, 17, 22]), [Some(8), Some(17), Some(22)]);
        assert_eq!(continued(&[15, 25, 35], &[10, 20, 30]), [Some(10), Some(20), Some(30)]);
    }

    #[test]
    fn a_look_alike_added_above_or_below_is_the_new_one() {
        assert_eq!(continued(&[5, 10, 20, 30], &[10, 20, 30]), [None, Some(10), Some(20), Some(30)]);
        assert_eq!(continued(&[10, 20, 30, 40], &[10, 20, 30]), [Some(10), Some(20), Some(30), None]);
        assert_eq!(continued(&[], &[10, 20]), []);
        assert_eq!(continued(&[3], &[]), [None]);
    }

    #[test]
    fn the_flagged_lines_text_decides_before_the_place() {
        let place = |line, hash| Place { line, line_hash: Some(hash) };
        // `assert x` at 9 removed, `assert y` moved up from 18 to 9.
        let known = [place(9, "x"), place(18, "y")];
        assert_eq!(pair(&[place(9, "y")], &known), [Some(1)]);
        // A different text never continues a violation that has one...
        assert_eq!(pair(&[place(9, "z")], &known[..1]), [None]);
        // ...but one stored without a text is continued by position.
        let legacy = [Place { line: 9, line_hash: None }];
        assert_eq!(pair(&[place(10, "z")], &legacy), [Some(0)]);
        // Bandit's two identical asserts (testdata/scanners), the second moved by one.
        let asserts = [place(9, "a"), place(18, "a")];
        assert_eq!(pair(&[place(9, "a"), place(19, "a")], &asserts), [Some(0), Some(1)]);
    }

    #[test]
    fn past_the_skip_limit_look_alikes_pair_in_line_order() {
        let old: Vec<u32> = (1..=40).map(|i| i * 10).collect();
        let found = continued(&[395, 405], &old);
        assert_eq!(found, [Some(10), Some(20)]);
    }

    fn finding(line: u32, hash: Option<&str>) -> Finding {
        Finding {
            rule: "D103".into(),
            severity: Severity::Low,
            file: "shop/handlers.py".into(),
            uri: None,
            line,
            message: "Missing docstring in public function".into(),
            suggestion: None,
            fingerprint: fingerprint("D103", "shop/handlers.py", "Missing docstring in public function"),
            line_hash: hash.map(str::to_string),
            analysis: Analysis { tool: "ruff".into(), category: String::new() },
        }
    }

    #[test]
    fn groups_are_look_alikes_in_line_order_without_exact_repeats() {
        let bandit = Finding { analysis: Analysis { tool: "Bandit".into(), ..Default::default() }, ..finding(4, None) };
        let other = Finding { fingerprint: "other".into(), ..finding(1, None) };
        let found = vec![finding(22, None), bandit.clone(), finding(8, None), other.clone(), finding(22, None)];
        let groups = group(found);
        assert_eq!(groups.len(), 3);
        assert_eq!(groups[0].findings.iter().map(|f| f.line).collect::<Vec<_>>(), [8, 22]);
        assert_eq!((groups[1].findings.clone(), groups[2].findings.clone()), (vec![bandit], vec![other]));
        let same_line_other_text = group(vec![finding(9, Some("a")), finding(9, Some("b"))]);
        assert_eq!(same_line_other_text[0].findings.len(), 2);
    }

    proptest! {
        /// Whatever the lines: every pairing is one to one and in order, and as many pairs
        /// as the shorter side has.
        #[test]
        fn alignments_pair_in_order_and_as_many_as_possible(
            mut old in proptest::collection::vec(1i64..500, 0..30),
            mut new in proptest::collection::vec(1i64..500, 0..30),
        ) {
            old.sort_unstable();
            new.sort_unstable();
            let pairs = align(&old, &new);
            prop_assert_eq!(pairs.len(), old.len().min(new.len()));
            for w in pairs.windows(2) {
                prop_assert!(w[0].0 < w[1].0 && w[0].1 < w[1].1, "{:?}", pairs);
            }
            prop_assert!(pairs.iter().all(|&(o, n)| o < old.len() && n < new.len()));
        }

        /// A uniform shift with some findings removed is undone exactly, when the gaps
        /// between look-alikes are wider than the shift.
        #[test]
        fn removing_some_and_shifting_the_rest_continues_the_rest(
            count in 1usize..12, gap in 8i64..30, shift in -3i64..4, removed in proptest::collection::vec(any::<bool>(), 12),
        ) {
            let old: Vec<i64> = (0..count as i64).map(|i| 100 + i * gap).collect();
            let kept: Vec<usize> = (0..count).filter(|&i| !removed[i]).collect();
            let new: Vec<i64> = kept.iter().map(|&i| old[i] + shift).collect();
            let expected: Vec<(usize, usize)> = kept.iter().enumerate().map(|(n, &o)| (o, n)).collect();
            prop_assert_eq!(align(&old, &new), expected);
        }
    }
}
