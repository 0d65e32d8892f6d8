//! AFL++ target: `shardlock::fuzzing::config` (see src/fuzzing.rs).
fn main() {
    afl::fuzz!(|data: &[u8]| {
        shardlock::fuzzing::config(data);
    });
}
