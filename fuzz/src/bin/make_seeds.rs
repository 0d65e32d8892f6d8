//! Writes the seed inputs of every target into `corpus/TARGET/seed-N`.
fn main() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus");
    for target in ["header", "stream", "server_request", "config"] {
        let dir = root.join(target);
        std::fs::create_dir_all(&dir).expect("corpus directory");
        for (i, seed) in shardlock::fuzzing::seeds(target).iter().enumerate() {
            std::fs::write(dir.join(format!("seed-{i}")), seed).expect("seed");
        }
    }
}
