//! Key-share server and client costs on one core (issue #3): the server's
//! RFC 9497 batch evaluation (1024 elements + one DLEQ proof) in elements
//! per second, and the client's side of a batch decapsulation (blind,
//! verify t proofs, recombine, unwrap), in files per second. Run with
//! `cargo bench --bench threshold`.

use std::time::{Duration, Instant};

use curve25519_dalek::ristretto::RistrettoPoint;
use rand::rngs::OsRng;
use shardlock::envelope::keywrap::{unwrap_batch, wrap};
use shardlock::secret::DataKey;
use shardlock::threshold::kem::{deal, encapsulate, MAX_BATCH};
use shardlock::threshold::local::LocalKeyService;
use shardlock::threshold::voprf::blind_evaluate_batch;

fn best_of<F: FnMut()>(runs: usize, mut f: F) -> Duration {
    (0..runs)
        .map(|_| {
            let start = Instant::now();
            f();
            start.elapsed()
        })
        .min()
        .unwrap_or_default()
}

fn main() {
    if std::env::args().any(|a| a == "--test" || a == "--list") {
        return;
    }
    let (keyset, shares) = deal(2, &[1, 2, 3], &mut OsRng).expect("deal");
    let share = &shares[0];
    let blinded: Vec<RistrettoPoint> = (0..MAX_BATCH)
        .map(|_| RistrettoPoint::random(&mut OsRng))
        .collect();
    let evaluate = best_of(5, || {
        blind_evaluate_batch(share.value(), &share.public_share(), &blinded, &mut OsRng)
            .expect("evaluate");
    });
    println!(
        "server evaluate, batch of {MAX_BATCH}: {:.1} ms = {:.0} elements/s on one core",
        evaluate.as_secs_f64() * 1e3,
        MAX_BATCH as f64 / evaluate.as_secs_f64()
    );

    let keys: Vec<DataKey> = (0..MAX_BATCH)
        .map(|_| DataKey::random(&mut OsRng))
        .collect();
    let stanzas: Vec<_> = keys.iter().map(|k| wrap(&keyset, k, &mut OsRng)).collect();
    let refs: Vec<_> = stanzas.iter().collect();
    let service = LocalKeyService::new(shares.clone());
    let total = best_of(3, || {
        let out = unwrap_batch(&keyset, &service, &refs, &mut OsRng).expect("unwrap");
        assert!(out.keys.iter().all(|k| k.is_ok()));
    });
    // The in-process service evaluates for both servers on this thread;
    // subtract that to get the client's own share of the work.
    let client = total.saturating_sub(evaluate * 2);
    println!(
        "2-of-3 batch decapsulation of {MAX_BATCH} files, in process: {:.1} ms (client side {:.1} ms = {:.0} files/s on one core)",
        total.as_secs_f64() * 1e3,
        client.as_secs_f64() * 1e3,
        MAX_BATCH as f64 / client.as_secs_f64()
    );
    let encaps = best_of(3, || {
        for _ in &keys {
            encapsulate(&keyset, &mut OsRng);
        }
    });
    println!(
        "offline encapsulation: {:.1} us per file",
        encaps.as_secs_f64() * 1e6 / MAX_BATCH as f64
    );
}
