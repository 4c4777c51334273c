//! Runs every fuzzing function over the committed seeds (and every crash that became a
//! regression input), so the invariants the fuzzers check also hold in plain `cargo test`.

use std::path::Path;

fn run_seeds(target: &str, f: fn(&[u8])) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/seeds")
        .join(target);
    let mut count = 0;
    for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry.unwrap().path();
        let data = std::fs::read(&path).unwrap();
        f(&data);
        count += 1;
    }
    assert!(count > 0, "no seeds in {}", dir.display());
}

#[test]
fn request_seeds_hold_the_invariants() {
    run_seeds("request", wiretap::fuzzing::fuzz_request);
}

#[test]
fn response_seeds_hold_the_invariants() {
    run_seeds("response", wiretap::fuzzing::fuzz_response);
}

#[test]
fn frame_seeds_hold_the_invariants() {
    run_seeds("frames", wiretap::fuzzing::fuzz_frames);
}

#[test]
fn connection_seeds_hold_the_invariants() {
    run_seeds("connection", wiretap::fuzzing::fuzz_connection);
}

#[test]
fn capture_seeds_hold_the_invariants() {
    run_seeds("capture", wiretap::fuzzing::fuzz_capture);
}

#[test]
fn capture_stream_seeds_hold_the_invariants() {
    run_seeds("capture_streams", wiretap::fuzzing::fuzz_capture_streams);
}
