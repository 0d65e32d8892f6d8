//! AFL++ target: `shardlock::fuzzing::stream` (see src/fuzzing.rs).
fn main() {
    afl::fuzz!(|data: &[u8]| {
        shardlock::fuzzing::stream(data);
    });
}
