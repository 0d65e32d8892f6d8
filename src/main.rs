#![forbid(unsafe_code)]

fn main() {
    std::process::exit(shardlock::cli::main());
}
