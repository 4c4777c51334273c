//! Criterion benches (to come): our parsers against httparse and tungstenite on the same input.

fn main() {}
