//! AFL++ target: `shardlock::fuzzing::server_request` (see src/fuzzing.rs).
fn main() {
    afl::fuzz!(|data: &[u8]| {
        shardlock::fuzzing::server_request(data);
    });
}
