//! Parser benches (criterion) land here with the parsers; until then an empty `main` keeps
//! `cargo bench --no-run` building.

fn main() {}
