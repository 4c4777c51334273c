//! The golden tests: one test per capture in `captures/corpus/`, named after it
//! (`corpus::curl-get-root`), that dissects it and compares the transcript with the blessed
//! `NAME.transcript.json` beside it, then checks that the same streams cut other ways
//! (byte at a time when small, and seeded random splits) give the same untimed transcript.
//!
//! A mismatch prints the event-level diff and how to bless. With `WIRETAP_BLESS=1` the
//! transcripts are written instead of compared (review them with `git diff captures/corpus`).
//! `harness = false` with libtest-mimic: the usual filters (`cargo test --test replay --
//! curl`), `--list` and the libtest summary line.

use std::path::{Path, PathBuf};

use libtest_mimic::{Arguments, Failed, Trial};
use wiretap::dissect::Limits;
use wiretap::fuzzing::assert_chunking_invariant;
use wiretap::replay::{self, Outcome, BLESS_HINT, BLESS_VAR};

/// Seeded random cuttings per capture (on top of whole and byte at a time).
const RANDOM_SPLITS: usize = 3;

fn main() {
    let args = Arguments::from_args();
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("captures/corpus");
    let bless = std::env::var_os(BLESS_VAR).is_some_and(|v| !v.is_empty() && v != "0");
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
    match outcome {
        Outcome::Unchanged => Ok(()),
        Outcome::Changed(diff) => Err(format!(
            "the transcript of {} differs from {}:\n{diff}{BLESS_HINT}",
            capture.display(),
            transcript.display()
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
fn rechunked(capture: &PathBuf) -> Result<(), Failed> {
    let (loaded, _) = replay::load_capture(capture).map_err(|e| e.to_string())?;
    // The helper asserts; libtest-mimic turns the panic into this test's failure.
    assert_chunking_invariant(&loaded, &Limits::default(), RANDOM_SPLITS);
    Ok(())
}
