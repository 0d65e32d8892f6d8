//! The `shardlock` command: a thin front end over the library's use cases
//! (see `cli`), so the library's public API is exactly what the CLI needs.
#![forbid(unsafe_code)]
#![deny(missing_debug_implementations)]

#[macro_use]
mod cli;

fn main() {
    std::process::exit(cli::main());
}
