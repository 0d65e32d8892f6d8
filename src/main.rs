#![forbid(unsafe_code)]

fn main() {
    eprintln!("shardlock: the command-line interface is not built yet");
    std::process::exit(2);
}
