//! Event-level comparison of two transcripts: what the replay harness, `wiretap replay
//! --check` and `wiretap diff` print when a transcript is not the blessed one.
//!
//! Events are compared whole (time, direction, range and fields); the diff is a longest
//! common subsequence of the two event lists, so one changed event shows as one `-` line
//! and one `+` line and an inserted event does not shift everything after it. Each change
//! is shown with one unchanged event of context before and after. Every line is an event's
//! JSON line as in [`Transcript::to_json`], prefixed with its index in its transcript. An
//! added event that replaces a removed one (the first of the same direction and kind in
//! the same run of changes) is followed by `~ path: old -> new` for each field that
//! differs.

use std::fmt::Write as _;

use super::{Event, Transcript};

/// Past this many cells (events left in one list times events left in the other, once the
/// common start and end are set aside) the middle is shown as all removed then all added
/// rather than aligned: the alignment table would take too much memory.
const MAX_ALIGN_CELLS: usize = 4_000_000;

/// Compares `expected` with `actual` event by event: `None` when they are equal, else a
/// short report: a summary line, then the changed events with one event of context, `-`
/// for `expected`, `+` for `actual`.
///
/// ```
/// use wiretap::dissect::{diff_transcripts, Transcript};
///
/// let empty = Transcript::default();
/// assert_eq!(diff_transcripts(&empty, &empty), None);
/// ```
pub fn diff_transcripts(expected: &Transcript, actual: &Transcript) -> Option<String> {
    if expected == actual {
        return None;
    }
    let ops = align(&expected.events, &actual.events);
    let removed = ops.iter().filter(|op| matches!(op, Op::Removed(_))).count();
    let added = ops.iter().filter(|op| matches!(op, Op::Added(_))).count();
    let mut out = format!(
        "{removed} expected event{} removed, {added} actual event{} added \
         (expected {} events, actual {})\n",
        plural(removed),
        plural(added),
        expected.events.len(),
        actual.events.len()
    );
    // Which ops to show: the changes and one op on each side of every run of changes.
    let changed: Vec<bool> = ops.iter().map(|op| !matches!(op, Op::Same(..))).collect();
    let shown = |i: usize| {
        changed[i] || (i > 0 && changed[i - 1]) || changed.get(i + 1).copied().unwrap_or(false)
    };
    let mut last_shown = None;
    // The index in each list that the next op stands at.
    let (mut next_e, mut next_a) = (0, 0);
    // The removed events of the current run of changes not yet paired with an added one:
    // an added event is paired with the first of them of its direction and kind, for its
    // field summary.
    let mut run_removed: Vec<usize> = Vec::new();
    for (i, op) in ops.iter().enumerate() {
        let (e, a) = (next_e, next_a);
        match op {
            Op::Same(..) => {
                (next_e, next_a) = (e + 1, a + 1);
                run_removed.clear();
            }
            Op::Removed(_) => next_e += 1,
            Op::Added(_) => next_a += 1,
        }
        if !shown(i) {
            continue;
        }
        if last_shown.is_none_or(|last| last + 1 != i) {
            let _ = writeln!(out, "@@ expected #{e}, actual #{a} @@");
        }
        last_shown = Some(i);
        let _ = match *op {
            Op::Same(e, _) => writeln!(out, "  #{e} {}", line(&expected.events[e])),
            Op::Removed(e) => {
                run_removed.push(e);
                writeln!(out, "- #{e} {}", line(&expected.events[e]))
            }
            Op::Added(a) => {
                let _ = writeln!(out, "+ #{a} {}", line(&actual.events[a]));
                let new = &actual.events[a];
                let pair = run_removed.iter().position(|&e| {
                    let old = &expected.events[e];
                    old.dir == new.dir
                        && std::mem::discriminant(&old.kind) == std::mem::discriminant(&new.kind)
                });
                if let Some(k) = pair {
                    fields_changed(&mut out, &expected.events[run_removed.remove(k)], new);
                }
                Ok(())
            }
        };
    }
    Some(out)
}

/// At most this many `~` lines per pair of events.
const MAX_FIELD_LINES: usize = 6;

/// The longest value a `~` line shows (in characters); longer ones end with `…`.
const MAX_FIELD_VALUE: usize = 60;

/// Writes `    ~ path: old -> new` for each field that differs between a removed event
/// and the added event that replaces it, so a change inside a long line is easy to spot.
fn fields_changed(out: &mut String, old: &Event, new: &Event) {
    let (Ok(old), Ok(new)) = (serde_json::to_value(old), serde_json::to_value(new)) else {
        return;
    };
    let mut changes = Vec::new();
    walk(&mut changes, String::new(), &old, &new);
    for (path, old, new) in changes.iter().take(MAX_FIELD_LINES) {
        let _ = writeln!(out, "    ~ {path}: {} -> {}", short(old), short(new));
    }
    if changes.len() > MAX_FIELD_LINES {
        let _ = writeln!(
            out,
            "    ~ … and {} more fields",
            changes.len() - MAX_FIELD_LINES
        );
    }
}

/// Collects the paths at which `old` and `new` differ (objects by key, lists of the same
/// length by index; anything else as a whole).
fn walk(
    out: &mut Vec<(String, String, String)>,
    path: String,
    old: &serde_json::Value,
    new: &serde_json::Value,
) {
    use serde_json::Value;
    let join = |key: &dyn std::fmt::Display| {
        if path.is_empty() {
            key.to_string()
        } else {
            format!("{path}.{key}")
        }
    };
    match (old, new) {
        _ if old == new => {}
        (Value::Object(a), Value::Object(b)) => {
            for (key, value) in a {
                walk(out, join(key), value, b.get(key).unwrap_or(&Value::Null));
            }
            for (key, value) in b {
                if !a.contains_key(key) {
                    walk(out, join(key), &Value::Null, value);
                }
            }
        }
        (Value::Array(a), Value::Array(b)) if a.len() == b.len() => {
            for (i, (x, y)) in a.iter().zip(b).enumerate() {
                walk(out, join(&i), x, y);
            }
        }
        _ => out.push((path, old.to_string(), new.to_string())),
    }
}

fn short(value: &str) -> String {
    if value.chars().count() <= MAX_FIELD_VALUE {
        value.to_owned()
    } else {
        let cut: String = value.chars().take(MAX_FIELD_VALUE).collect();
        format!("{cut}…")
    }
}

/// One step of the alignment: an event in both (indices in expected, actual), only in
/// expected, only in actual.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Same(usize, usize),
    Removed(usize),
    Added(usize),
}

/// Aligns the two lists: the common start and end, and a longest common subsequence of
/// the middle (or, past [`MAX_ALIGN_CELLS`], the middle as removed then added).
fn align(expected: &[Event], actual: &[Event]) -> Vec<Op> {
    let prefix = expected
        .iter()
        .zip(actual)
        .take_while(|(e, a)| e == a)
        .count();
    let suffix = expected[prefix..]
        .iter()
        .rev()
        .zip(actual[prefix..].iter().rev())
        .take_while(|(e, a)| e == a)
        .count();
    let e_mid = &expected[prefix..expected.len() - suffix];
    let a_mid = &actual[prefix..actual.len() - suffix];
    let mut ops: Vec<Op> = (0..prefix).map(|i| Op::Same(i, i)).collect();
    if e_mid.len().saturating_mul(a_mid.len()) > MAX_ALIGN_CELLS {
        ops.extend((0..e_mid.len()).map(|i| Op::Removed(prefix + i)));
        ops.extend((0..a_mid.len()).map(|j| Op::Added(prefix + j)));
    } else {
        // lcs[i][j]: the longest common subsequence of e_mid[i..] and a_mid[j..].
        let (n, m) = (e_mid.len(), a_mid.len());
        let mut lcs = vec![0u32; (n + 1) * (m + 1)];
        let at = |i: usize, j: usize| i * (m + 1) + j;
        for i in (0..n).rev() {
            for j in (0..m).rev() {
                lcs[at(i, j)] = if e_mid[i] == a_mid[j] {
                    lcs[at(i + 1, j + 1)] + 1
                } else {
                    lcs[at(i + 1, j)].max(lcs[at(i, j + 1)])
                };
            }
        }
        let (mut i, mut j) = (0, 0);
        while i < n || j < m {
            if i < n && j < m && e_mid[i] == a_mid[j] {
                ops.push(Op::Same(prefix + i, prefix + j));
                i += 1;
                j += 1;
            } else if j == m || (i < n && lcs[at(i + 1, j)] >= lcs[at(i, j + 1)]) {
                ops.push(Op::Removed(prefix + i));
                i += 1;
            } else {
                ops.push(Op::Added(prefix + j));
                j += 1;
            }
        }
    }
    let (e_end, a_end) = (expected.len() - suffix, actual.len() - suffix);
    ops.extend((0..suffix).map(|k| Op::Same(e_end + k, a_end + k)));
    ops
}

/// An event as its line in [`Transcript::to_json`].
fn line(event: &Event) -> String {
    // An event is plain data: serializing cannot fail.
    serde_json::to_string(event).unwrap_or_default()
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capture::{Direction, EndBy};
    use crate::dissect::{End, Kind, Leftover};

    /// An `eof` event at `n`: distinct events that are cheap to make.
    fn event(n: u64) -> Event {
        Event {
            t: n,
            dir: Direction::ClientToServer,
            at: [n, n],
            kind: Kind::Eof(End {
                by: EndBy::Client,
                detail: None,
                left: Leftover::default(),
            }),
        }
    }

    fn transcript(ns: &[u64]) -> Transcript {
        Transcript {
            events: ns.iter().copied().map(event).collect(),
        }
    }

    /// The `-`, `+` and context lines of a report, as (mark, index) pairs.
    fn marks(report: &str) -> Vec<(char, usize)> {
        report
            .lines()
            .filter_map(|l| {
                let mark = l.chars().next()?;
                let index = l.get(3..)?.split(' ').next()?.parse().ok()?;
                Some((mark, index))
            })
            .collect()
    }

    #[test]
    fn equal_transcripts_have_no_diff() {
        assert_eq!(
            diff_transcripts(&transcript(&[1, 2]), &transcript(&[1, 2])),
            None
        );
    }

    #[test]
    fn an_inserted_event_does_not_shift_the_rest() {
        let report = diff_transcripts(
            &transcript(&[1, 2, 3, 4, 5]),
            &transcript(&[1, 2, 9, 3, 4, 5]),
        )
        .unwrap();
        assert!(report.starts_with("0 expected events removed, 1 actual event added"));
        assert_eq!(marks(&report), [(' ', 1), ('+', 2), (' ', 2)], "{report}");
    }

    #[test]
    fn separate_changes_make_separate_hunks_with_one_event_of_context() {
        let expected = transcript(&[1, 2, 3, 4, 5, 6, 7, 8]);
        let actual = transcript(&[10, 2, 3, 4, 5, 6, 7, 80]);
        let report = diff_transcripts(&expected, &actual).unwrap();
        assert_eq!(report.matches("@@").count(), 4, "{report}");
        assert_eq!(
            marks(&report),
            [('-', 0), ('+', 0), (' ', 1), (' ', 6), ('-', 7), ('+', 7)],
            "{report}"
        );
    }

    #[test]
    fn a_changed_event_names_its_changed_fields() {
        let mut actual = transcript(&[1, 2, 3]);
        actual.events[1].at = [2, 7];
        let report = diff_transcripts(&transcript(&[1, 2, 3]), &actual).unwrap();
        assert!(report.contains("    ~ at.1: 2 -> 7\n"), "{report}");
        assert_eq!(report.matches(" ~ ").count(), 1, "{report}");
    }

    #[test]
    fn only_events_of_one_direction_and_kind_are_compared_field_by_field() {
        let mut actual = transcript(&[1, 9]);
        actual.events[1].dir = Direction::ServerToClient;
        let report = diff_transcripts(&transcript(&[1, 2]), &actual).unwrap();
        assert!(!report.contains(" ~ "), "{report}");
    }

    #[test]
    fn a_huge_middle_is_shown_removed_then_added() {
        let expected: Vec<u64> = (0..3000).collect();
        let actual: Vec<u64> = (0..3000).map(|n| n + 10_000).collect();
        let report = diff_transcripts(&transcript(&expected), &transcript(&actual)).unwrap();
        assert!(report.starts_with("3000 expected events removed, 3000 actual events added"));
    }
}
