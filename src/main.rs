//! The `wiretap` command line. Only argument handling lives here; everything it runs is in
//! the library.

use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("-V" | "--version") => {
            println!("wiretap {}", env!("CARGO_PKG_VERSION"));
            ExitCode::SUCCESS
        }
        _ => {
            eprintln!(
                "wiretap {}: the protocol core is built; `serve`, `replay`, `diff` and `keep` \
                 arrive with the server, recording and dissect issues",
                env!("CARGO_PKG_VERSION")
            );
            ExitCode::from(2)
        }
    }
}
