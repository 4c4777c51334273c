//! Fuzz target: the invariants live in `wiretap::fuzzing::fuzz_capture` so `cargo test` can run
//! them over the seeds too.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| wiretap::fuzzing::fuzz_capture(data));
