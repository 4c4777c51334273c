//! Dissection throughput: capture file bytes in, transcript out, on two corpus captures.
//!
//! | input | what it is |
//! |---|---|
//! | `http` | `captures/corpus/wrk-keep-alive.json`: one keep-alive connection, thousands of small requests and 1 KiB responses (HTTP-heavy) |
//! | `ws-binary` | `captures/corpus/python-ws-1mib.json`: a 1 MiB binary message and its echo (large frames) |
//!
//! Each input is measured three ways, all from the same file bytes:
//! `load` ([`Capture::from_slice`]: JSON parsing and hex decoding), `dissect` (the parsers
//! on an already loaded capture) and `load+dissect` (what `wiretap replay` does per file).
//! Throughput is reported in the capture's **raw bytes** (the bytes that crossed the wire,
//! both directions), so "1 GB/s" means a second per gigabyte of traffic, whatever the file's
//! hex overhead; the file sizes are printed once at the start.
//!
//! Run: `cargo bench --bench dissect`; results in `benches/RESULTS.md`.

use std::hint::black_box;
use std::path::Path;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use wiretap::capture::{Capture, Direction};
use wiretap::dissect::dissect;

const INPUTS: [(&str, &str); 2] = [
    ("http", "captures/corpus/wrk-keep-alive.json"),
    ("ws-binary", "captures/corpus/python-ws-1mib.json"),
];

fn benches(c: &mut Criterion) {
    for (name, path) in INPUTS {
        let file = std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join(path))
            .unwrap_or_else(|e| panic!("{path}: {e}"));
        let capture = Capture::from_slice(&file).expect("a corpus capture loads");
        let raw = capture.stream(Direction::ClientToServer).len()
            + capture.stream(Direction::ServerToClient).len();
        let events = dissect(&capture).events.len();
        eprintln!(
            "{name}: {path}, {} file bytes, {raw} raw bytes, {} chunks, {events} events",
            file.len(),
            capture.chunks.len()
        );

        let mut group = c.benchmark_group(name);
        group.throughput(Throughput::Bytes(raw as u64));
        group.measurement_time(Duration::from_secs(5));
        group.bench_function("load", |b| {
            b.iter(|| Capture::from_slice(black_box(&file)).unwrap())
        });
        group.bench_function("dissect", |b| b.iter(|| dissect(black_box(&capture))));
        group.bench_function("load+dissect", |b| {
            b.iter(|| dissect(&Capture::from_slice(black_box(&file)).unwrap()))
        });
        group.finish();
    }
}

criterion_group!(dissection, benches);
criterion_main!(dissection);
