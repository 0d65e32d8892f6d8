//! AFL++ target: `shardlock::fuzzing::header` (see src/fuzzing.rs).
fn main() {
    afl::fuzz!(|data: &[u8]| {
        shardlock::fuzzing::header(data);
    });
}
