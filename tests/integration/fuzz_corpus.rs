//! The fuzz targets' smoke run (issue #11, item 6): every entry point of
//! `shardlock::fuzzing` over its seeds, every committed corpus file under
//! `fuzz/corpus/TARGET/` (regression inputs of past findings included), and
//! a few thousand deterministic mutations of them. The coverage-guided
//! runs themselves are `fuzz/run.sh TARGET SECONDS`.

use std::path::Path;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use shardlock::fuzzing;

/// Seeds plus the committed corpus of `target`.
fn inputs(target: &str) -> Vec<Vec<u8>> {
    let mut inputs = fuzzing::seeds(target);
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/corpus")
        .join(target);
    if let Ok(entries) = std::fs::read_dir(&dir) {
        let mut paths: Vec<_> = entries.map(|e| e.expect("entry").path()).collect();
        paths.sort();
        for path in paths {
            inputs.push(std::fs::read(&path).expect("corpus file"));
        }
    }
    inputs
}

/// Bit flips, byte changes, truncations, extensions and splices, from a
/// fixed seed so a failure reproduces.
fn mutations(inputs: &[Vec<u8>], count: usize) -> Vec<Vec<u8>> {
    let mut rng = StdRng::seed_from_u64(0x5eed);
    (0..count)
        .map(|_| {
            let mut data = inputs[rng.gen_range(0..inputs.len())].clone();
            for _ in 0..rng.gen_range(1..4) {
                match rng.gen_range(0..5) {
                    0 if !data.is_empty() => {
                        let i = rng.gen_range(0..data.len());
                        data[i] ^= 1 << rng.gen_range(0..8);
                    }
                    1 if !data.is_empty() => {
                        let i = rng.gen_range(0..data.len());
                        data[i] = rng.gen();
                    }
                    2 => data.truncate(rng.gen_range(0..=data.len())),
                    3 => data.extend((0..rng.gen_range(1..64)).map(|_| rng.gen::<u8>())),
                    _ => {
                        let other = &inputs[rng.gen_range(0..inputs.len())];
                        let at = rng.gen_range(0..=data.len());
                        data.truncate(at);
                        data.extend_from_slice(&other[rng.gen_range(0..=other.len())..]);
                    }
                }
            }
            data
        })
        .collect()
}

fn smoke(target: &str, run: fn(&[u8]), count: usize) {
    let inputs = inputs(target);
    assert!(!inputs.is_empty(), "{target}: no seeds");
    for input in inputs.iter().chain(mutations(&inputs, count).iter()) {
        run(input);
    }
}

#[test]
fn header_parsers_survive_the_corpus_and_its_mutations() {
    smoke("header", fuzzing::header, 3000);
}

#[test]
fn the_stream_decryptor_survives_the_corpus_and_its_mutations() {
    smoke("stream", fuzzing::stream, 1000);
}

#[test]
fn server_request_decoding_survives_the_corpus_and_its_mutations() {
    smoke("server_request", fuzzing::server_request, 1000);
}

#[test]
fn the_config_parser_survives_the_corpus_and_its_mutations() {
    smoke("config", fuzzing::config, 3000);
}
