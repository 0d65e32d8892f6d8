use std::cell::RefCell;
use std::collections::BTreeMap;

use curve25519_dalek::constants::RISTRETTO_BASEPOINT_POINT;
use rand::rngs::OsRng;

use super::*;
use crate::threshold::local::LocalKeyService;

/// How a test double misbehaves for one participant.
#[derive(Clone, Copy)]
enum Behaviour {
    Down,
    /// Multiplies by the wrong key but proves with its real one.
    WrongEvaluation,
    /// Honest evaluation, proof with a flipped bit.
    BrokenProof,
    /// Drops the last element.
    ShortAnswer,
}

/// Speaks the real protocol through [`LocalKeyService`], with faults
/// injected per participant, and counts requests.
struct Faulty {
    inner: LocalKeyService,
    behaviour: BTreeMap<u16, Behaviour>,
    calls: RefCell<BTreeMap<u16, usize>>,
}

impl Faulty {
    fn new(shares: Vec<SecretShare>, behaviour: &[(u16, Behaviour)]) -> Self {
        Self {
            inner: LocalKeyService::new(shares),
            behaviour: behaviour.iter().copied().collect(),
            calls: RefCell::default(),
        }
    }

    fn calls(&self, id: u16) -> usize {
        self.calls.borrow().get(&id).copied().unwrap_or(0)
    }
}

impl KeyService for Faulty {
    fn evaluate(
        &self,
        _keyset: &PublicKeyset,
        participants: &[u16],
        blinded: &[RistrettoPoint],
    ) -> Vec<Result<Evaluation, ServiceError>> {
        participants
            .iter()
            .map(|&id| {
                *self.calls.borrow_mut().entry(id).or_default() += 1;
                let honest = self.inner.evaluate_one(id, blinded);
                match self.behaviour.get(&id) {
                    None => honest,
                    Some(Behaviour::Down) => {
                        Err(ServiceError::Unavailable("connection refused".into()))
                    }
                    Some(Behaviour::WrongEvaluation) => honest.map(|mut e| {
                        e.evaluated[0] += RISTRETTO_BASEPOINT_POINT;
                        e
                    }),
                    Some(Behaviour::BrokenProof) => honest.map(|mut e| {
                        let mut bytes = e.proof.to_bytes();
                        bytes[0] ^= 1;
                        e.proof = Proof::from_bytes(&bytes).unwrap_or(e.proof);
                        e.proof.s += Scalar::ONE;
                        e
                    }),
                    Some(Behaviour::ShortAnswer) => honest.map(|mut e| {
                        e.evaluated.pop();
                        e
                    }),
                }
            })
            .collect()
    }

    fn describe(&self, participant: u16) -> String {
        format!("https://node{participant}.test")
    }
}

fn setup(t: u16, n: u16) -> (PublicKeyset, Vec<SecretShare>) {
    let ids: Vec<u16> = (1..=n).collect();
    deal(t, &ids, &mut OsRng).unwrap()
}

/// One `W` through the batch API.
fn decapsulate_one<S: KeyService + ?Sized>(
    keyset: &PublicKeyset,
    service: &S,
    ephemeral: &[u8; 32],
) -> Result<(SharedSecret, Vec<ParticipantFault>), KemError> {
    let mut result = decapsulate_batch(keyset, service, &[*ephemeral], &mut OsRng)?;
    let secret = result.secrets.pop().expect("one answer per element")?;
    Ok((secret, result.faults))
}

#[test]
fn any_t_servers_recompute_the_encrypters_secret() {
    for (t, n) in [(1, 1), (1, 3), (2, 3), (3, 5), (5, 5)] {
        let (keyset, shares) = setup(t, n);
        let enc = encapsulate(&keyset, &mut OsRng);
        let service = LocalKeyService::new(shares);
        let (z, faults) = decapsulate_one(&keyset, &service, &enc.ephemeral).unwrap();
        assert_eq!(z, enc.secret, "{t}-of-{n}");
        assert!(faults.is_empty());
    }
}

#[test]
fn encapsulation_is_randomised() {
    let (keyset, _) = setup(2, 3);
    let a = encapsulate(&keyset, &mut OsRng);
    let b = encapsulate(&keyset, &mut OsRng);
    assert_ne!(a.ephemeral, b.ephemeral);
    assert_ne!(a.secret, b.secret);
}

#[test]
fn any_t_servers_suffice_and_a_dead_one_is_replaced() {
    let (keyset, shares) = setup(2, 3);
    let enc = encapsulate(&keyset, &mut OsRng);
    for down in 1..=3u16 {
        let service = Faulty::new(shares.clone(), &[(down, Behaviour::Down)]);
        let (z, faults) = decapsulate_one(&keyset, &service, &enc.ephemeral).unwrap();
        assert_eq!(z, enc.secret);
        // The dead server is reported only if it was asked.
        assert!(faults.iter().all(|f| f.participant == down));
    }
}

#[test]
fn lying_servers_are_detected_named_and_skipped() {
    let (keyset, shares) = setup(2, 3);
    let enc = encapsulate(&keyset, &mut OsRng);
    for behaviour in [
        Behaviour::WrongEvaluation,
        Behaviour::BrokenProof,
        Behaviour::ShortAnswer,
    ] {
        let service = Faulty::new(shares.clone(), &[(1, behaviour)]);
        let (z, faults) = decapsulate_one(&keyset, &service, &enc.ephemeral).unwrap();
        assert_eq!(z, enc.secret);
        assert_eq!(faults.len(), 1);
        assert_eq!(faults[0].participant, 1);
        assert_eq!(faults[0].name, "https://node1.test");
        assert!(matches!(
            faults[0].fault,
            Fault::BadProof | Fault::WrongCount { .. }
        ));
        assert_eq!(service.calls(3), 1, "the spare server was asked instead");
    }
}

#[test]
fn too_few_servers_is_one_error_listing_each_server() {
    let (keyset, shares) = setup(2, 3);
    let enc = encapsulate(&keyset, &mut OsRng);
    let service = Faulty::new(
        shares,
        &[(1, Behaviour::Down), (3, Behaviour::WrongEvaluation)],
    );
    let err = decapsulate_one(&keyset, &service, &enc.ephemeral).unwrap_err();
    let KemError::NotEnoughServers { needed, faults } = &err else {
        panic!("unexpected {err:?}");
    };
    assert_eq!(*needed, 2);
    let named: Vec<u16> = faults.iter().map(|f| f.participant).collect();
    assert_eq!(named, vec![1, 3]);
    let message = err.to_string();
    assert!(
        message.contains("https://node1.test") && message.contains("connection refused"),
        "{message}"
    );
    assert!(
        message.contains("https://node3.test") && message.contains("invalid proof"),
        "{message}"
    );
}

#[test]
fn batches_amortise_requests_and_skip_dead_servers_after_the_first_failure() {
    let (keyset, shares) = setup(2, 3);
    let count = MAX_BATCH * 2 + 10;
    let encs: Vec<Encapsulation> = (0..count)
        .map(|_| encapsulate(&keyset, &mut OsRng))
        .collect();
    let ephemerals: Vec<[u8; 32]> = encs.iter().map(|e| e.ephemeral).collect();
    let service = Faulty::new(shares, &[(1, Behaviour::Down)]);
    let result = decapsulate_batch(&keyset, &service, &ephemerals, &mut OsRng).unwrap();
    for (got, want) in result.secrets.iter().zip(&encs) {
        assert_eq!(got.as_ref().unwrap(), &want.secret);
    }
    assert_eq!(service.calls(1), 1, "dead server tried once, not per batch");
    assert_eq!(service.calls(2), 3, "three batches of at most {MAX_BATCH}");
    assert_eq!(service.calls(3), 3);
    assert_eq!(result.faults.len(), 1);
}

#[test]
fn an_invalid_ephemeral_fails_only_its_own_entry() {
    let (keyset, shares) = setup(2, 3);
    let good = encapsulate(&keyset, &mut OsRng);
    let service = LocalKeyService::new(shares);
    // The identity and a non-canonical encoding.
    let ephemerals = [good.ephemeral, [0; 32], [0xff; 32]];
    let result = decapsulate_batch(&keyset, &service, &ephemerals, &mut OsRng).unwrap();
    assert_eq!(result.secrets[0].as_ref().unwrap(), &good.secret);
    for bad in &result.secrets[1..] {
        assert_eq!(bad.as_ref().unwrap_err(), &KemError::InvalidEphemeral);
    }
}

#[test]
fn fewer_than_t_shares_cannot_decapsulate() {
    // With only t-1 shares available, the other servers are "down".
    let (keyset, shares) = setup(3, 5);
    let enc = encapsulate(&keyset, &mut OsRng);
    let service = LocalKeyService::new(shares.into_iter().take(2).collect());
    assert!(matches!(
        decapsulate_one(&keyset, &service, &enc.ephemeral),
        Err(KemError::NotEnoughServers { needed: 3, .. })
    ));
}

#[test]
fn keyset_id_commits_to_every_public_part() {
    let (keyset, _) = setup(2, 3);
    let again = PublicKeyset::new(2, *keyset.group_key(), keyset.shares().to_vec()).unwrap();
    assert_eq!(again.id(), keyset.id());
    // Shares given in another order: same keyset.
    let mut reversed = keyset.shares().to_vec();
    reversed.reverse();
    assert_eq!(
        PublicKeyset::new(2, *keyset.group_key(), reversed)
            .unwrap()
            .id(),
        keyset.id()
    );
    // A tampered share is caught by the consistency check.
    let mut bad = keyset.shares().to_vec();
    bad[1].1 += RISTRETTO_BASEPOINT_POINT;
    assert!(PublicKeyset::new(2, *keyset.group_key(), bad).is_err());
}

#[test]
fn dealer_refuses_bad_parameters() {
    assert!(deal(0, &[1, 2, 3], &mut OsRng).is_err());
    assert!(deal(4, &[1, 2, 3], &mut OsRng).is_err());
    assert!(deal(2, &[1, 1, 3], &mut OsRng).is_err());
    assert!(deal(2, &[0, 1, 3], &mut OsRng).is_err());
}

#[test]
fn servers_never_see_the_ephemeral_element() {
    // What a server receives is a·W for a fresh a: never W itself, and
    // different on every request for the same file.
    struct Spy(LocalKeyService, RefCell<Vec<RistrettoPoint>>);
    impl KeyService for Spy {
        fn evaluate(
            &self,
            k: &PublicKeyset,
            p: &[u16],
            b: &[RistrettoPoint],
        ) -> Vec<Result<Evaluation, ServiceError>> {
            self.1.borrow_mut().extend_from_slice(b);
            self.0.evaluate(k, p, b)
        }
    }
    let (keyset, shares) = setup(2, 3);
    let enc = encapsulate(&keyset, &mut OsRng);
    let spy = Spy(LocalKeyService::new(shares), RefCell::default());
    decapsulate_one(&keyset, &spy, &enc.ephemeral).unwrap();
    decapsulate_one(&keyset, &spy, &enc.ephemeral).unwrap();
    let seen = spy.1.borrow();
    let w = decode_element(&enc.ephemeral).unwrap();
    assert!(seen.iter().all(|b| *b != w));
    assert_ne!(seen[0], seen[1]);
}
