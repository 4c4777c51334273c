//! The golden tests: one test per capture in `captures/corpus/`, named after it
//! (`corpus::curl-get-root`), that dissects it and compares the transcript with the blessed
//! `NAME.transcript.json` beside it, then checks that the same streams cut other ways
//! (byte at a time when small, and seeded random splits) give the same untimed transcript.
//!
//! A mismatch prints the event-level diff and how to bless, and leaves the new transcript
//! as `NAME.transcript.json.new` (git-ignored). With `WIRETAP_BLESS=1` the transcripts are
//! written instead of compared (review them with `git diff captures/corpus`); never under
//! `CI`.
//! `harness = false` with libtest-mimic: the usual filters (`cargo test --test replay --
//! curl`), `--list` and the libtest summary line.

use std::path::{Path, PathBuf};

use wiretap::dissect::{diff_transcripts, dissect, Kind, Transcript};

use libtest_mimic::{Arguments, Failed, Trial};
use wiretap::dissect::Limits;
use wiretap::fuzzing::assert_chunking_invariant;
use wiretap::replay::{self, Outcome, BLESS_HINT, BLESS_VAR};

/// Seeded random cuttings per capture (on top of whole and byte at a time).
const RANDOM_SPLITS: usize = 3;

fn main() {
    let args = Arguments::from_args();
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("captures/corpus");
    let asked = std::env::var_os(BLESS_VAR).is_some_and(|v| !v.is_empty() && v != "0");
    // CI never blesses (insta's habit): there it would turn every failure into a pass.
    let in_ci = std::env::var_os("CI").is_some_and(|v| !v.is_empty() && v != "false");
    if asked && in_ci {
        eprintln!("{BLESS_VAR} is ignored under CI: comparing instead");
    }
    let bless = asked && !in_ci;
    let captures = replay::captures_in(&corpus).unwrap_or_default();
    let mut trials = vec![Trial::test("corpus_is_not_empty", {
        let count = captures.len();
        let corpus = corpus.clone();
        move || {
            if count == 0 {
                return Err(format!("no capture in {}", corpus.display()).into());
            }
            Ok(())
        }
    })];
    trials.push(Trial::test("no_transcript_without_its_capture", {
        let corpus = corpus.clone();
        move || orphans(&corpus)
    }));
    trials.push(Trial::test(
        "harness::reports_an_altered_event_and_passes_an_unaltered_one",
        reports_an_altered_event,
    ));
    trials.push(Trial::test(
        "harness::check_finds_a_changed_and_a_missing_transcript",
        check_finds_changes,
    ));
    for capture in captures {
        let name = replay::name_of(&capture);
        let path = capture.clone();
        trials.push(Trial::test(format!("corpus::{name}"), move || {
            golden(&path, bless)
        }));
        trials.push(Trial::test(format!("rechunked::{name}"), move || {
            rechunked(&capture)
        }));
    }
    libtest_mimic::run(&args, trials).exit();
}

/// Compares (or with `bless`, writes) the transcript of `capture`.
fn golden(capture: &Path, bless: bool) -> Result<(), Failed> {
    let outcome = replay::check(capture, bless).map_err(|e| e.to_string())?;
    if bless {
        return Ok(());
    }
    let transcript = replay::transcript_path(capture);
    // NAME.transcript.json.new (git-ignored): the new transcript, to look at or compare
    // with `wiretap diff`; gone once the test passes.
    let mut pending = transcript.clone().into_os_string();
    pending.push(".new");
    let pending = PathBuf::from(pending);
    if outcome == Outcome::Unchanged {
        let _ = std::fs::remove_file(&pending);
    } else {
        let actual = replay::transcript_of(capture).map_err(|e| e.to_string())?;
        std::fs::write(&pending, actual.to_json())?;
    }
    match outcome {
        Outcome::Unchanged => Ok(()),
        Outcome::Changed(diff) => Err(format!(
            "the transcript of {} differs from {} (new one: {}):\n{diff}{BLESS_HINT}",
            capture.display(),
            transcript.display(),
            pending.display()
        )
        .into()),
        Outcome::New => Err(format!(
            "no blessed transcript {}\n{BLESS_HINT}",
            transcript.display()
        )
        .into()),
    }
}

/// The same two streams cut other ways give the same untimed transcript.
fn rechunked(capture: &Path) -> Result<(), Failed> {
    let (loaded, _) = replay::load_capture(capture).map_err(|e| e.to_string())?;
    // The helper asserts; libtest-mimic turns the panic into this test's failure.
    assert_chunking_invariant(&loaded, &Limits::default(), RANDOM_SPLITS);
    Ok(())
}

/// A blessed transcript whose capture is gone (a scenario renamed or dropped when the
/// corpus was re-recorded) would never be checked again: name it.
fn orphans(corpus: &Path) -> Result<(), Failed> {
    let mut orphans = Vec::new();
    for entry in std::fs::read_dir(corpus)? {
        let path = entry?.path();
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        if let Some(stem) = name.strip_suffix(replay::TRANSCRIPT_SUFFIX) {
            if !corpus.join(format!("{stem}.json")).exists() {
                orphans.push(name.to_owned());
            }
        }
    }
    orphans.sort();
    if orphans.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "transcripts without a capture (delete them): {}",
            orphans.join(", ")
        )
        .into())
    }
}

/// The capture the harness self-tests use.
fn sample() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("captures/corpus/curl-range.json")
}

fn check(ok: bool, what: &str, report: &str) -> Result<(), Failed> {
    if ok {
        Ok(())
    } else {
        Err(format!("{what}; the report:\n{report}").into())
    }
}

/// The comparison can fail: one event changed in the blessed transcript (in memory) is
/// reported, with that event as `-`/`+` and its neighbours as context; unaltered, it
/// matches.
fn reports_an_altered_event() -> Result<(), Failed> {
    let capture = sample();
    let (loaded, _) = replay::load_capture(&capture).map_err(|e| e.to_string())?;
    let actual = dissect(&loaded);
    let blessed: Transcript =
        replay::read_transcript(&replay::transcript_path(&capture)).map_err(|e| e.to_string())?;
    if let Some(report) = diff_transcripts(&blessed, &actual) {
        return Err(format!("the unaltered transcript differs:\n{report}").into());
    }

    // The 206 becomes a 200.
    let mut altered = blessed.clone();
    let Some(index) = altered
        .events
        .iter()
        .position(|e| matches!(&e.kind, Kind::Response(r) if r.status == 206))
    else {
        return Err("curl-range has no 206".into());
    };
    if let Kind::Response(r) = &mut altered.events[index].kind {
        r.status = 200;
    }
    let Some(report) = diff_transcripts(&altered, &actual) else {
        return Err("a changed status went unnoticed".into());
    };
    let minus = format!("- #{index} {{");
    let plus = format!("+ #{index} {{");
    let changed: Vec<&str> = report
        .lines()
        .filter(|l| l.starts_with('-') || l.starts_with('+'))
        .collect();
    check(
        changed.len() == 2,
        "exactly one event out and one in",
        &report,
    )?;
    check(
        changed[0].starts_with(&minus) && changed[0].contains("\"status\":200"),
        "the altered event as expected (-)",
        &report,
    )?;
    check(
        changed[1].starts_with(&plus) && changed[1].contains("\"status\":206"),
        "the dissected event as actual (+)",
        &report,
    )?;
    check(
        report.contains(&format!("  #{} ", index - 1))
            && report.contains(&format!("  #{} ", index + 1)),
        "one event of context on each side",
        &report,
    )?;
    check(
        report.starts_with("1 expected event removed, 1 actual event added"),
        "the counts",
        &report,
    )?;

    // A byte range moved by one.
    let mut altered = blessed;
    let last = altered.events.len() - 1;
    altered.events[last].at[1] += 1;
    let Some(report) = diff_transcripts(&altered, &actual) else {
        return Err("a changed byte range went unnoticed".into());
    };
    check(
        report.contains(&format!("- #{last} {{")) && report.contains(&format!("+ #{last} {{")),
        "the event with the moved range",
        &report,
    )
}

/// [`replay::check`], the harness's comparison on files: a capture beside an altered
/// transcript is `Changed` (with the diff), without one `New`, and blessing makes it
/// `Unchanged`.
fn check_finds_changes() -> Result<(), Failed> {
    let dir = std::env::temp_dir().join(format!("wiretap-replay-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let capture = dir.join("sample.json");
    std::fs::copy(sample(), &capture)?;
    let result = (|| -> Result<(), Failed> {
        let outcome = replay::check(&capture, false).map_err(|e| e.to_string())?;
        check(
            outcome == Outcome::New,
            "no transcript: new",
            &format!("{outcome:?}"),
        )?;
        let blessed = std::fs::read_to_string(replay::transcript_path(&sample()))?;
        std::fs::write(
            replay::transcript_path(&capture),
            blessed.replace("\"status\":206", "\"status\":200"),
        )?;
        let outcome = replay::check(&capture, false).map_err(|e| e.to_string())?;
        let Outcome::Changed(report) = outcome else {
            return Err(format!("an altered transcript is {outcome:?}").into());
        };
        check(
            report.contains("\"status\":200"),
            "the diff shows the event",
            &report,
        )?;
        replay::check(&capture, true).map_err(|e| e.to_string())?;
        let outcome = replay::check(&capture, false).map_err(|e| e.to_string())?;
        check(
            outcome == Outcome::Unchanged,
            "blessed: unchanged",
            &format!("{outcome:?}"),
        )
    })();
    let _ = std::fs::remove_dir_all(&dir);
    result
}
