use std::cell::RefCell;
use std::collections::BTreeMap;

use curve25519_dalek::constants::RISTRETTO_BASEPOINT_POINT;
use rand::rngs::OsRng;

use super::*;

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

fn dek(seed: u8) -> DataKey {
    DataKey::new([seed; 32])
}

#[test]
fn round_trip_for_several_thresholds() {
    for (t, n) in [(1, 1), (1, 3), (2, 3), (3, 5), (5, 5)] {
        let (keyset, shares) = setup(t, n);
        let stanza = encapsulate(&keyset, &dek(7), &mut OsRng);
        assert_eq!(stanza.keyset_id, *keyset.id());
        let service = LocalKeyService::new(shares);
        let (key, faults) = decapsulate(&keyset, &service, &stanza, &mut OsRng).unwrap();
        assert_eq!(key, dek(7), "{t}-of-{n}");
        assert!(faults.is_empty());
    }
}

#[test]
fn encapsulation_is_randomised() {
    let (keyset, _) = setup(2, 3);
    let a = encapsulate(&keyset, &dek(1), &mut OsRng);
    let b = encapsulate(&keyset, &dek(1), &mut OsRng);
    assert_ne!(a.ephemeral, b.ephemeral);
    assert_ne!(a.wrapped_key, b.wrapped_key);
}

#[test]
fn any_t_servers_suffice_and_a_dead_one_is_replaced() {
    let (keyset, shares) = setup(2, 3);
    let stanza = encapsulate(&keyset, &dek(3), &mut OsRng);
    for down in 1..=3u16 {
        let service = Faulty::new(shares.clone(), &[(down, Behaviour::Down)]);
        let (key, faults) = decapsulate(&keyset, &service, &stanza, &mut OsRng).unwrap();
        assert_eq!(key, dek(3));
        // The dead server is reported only if it was asked.
        assert!(faults.iter().all(|f| f.participant == down));
    }
}

#[test]
fn lying_servers_are_detected_named_and_skipped() {
    let (keyset, shares) = setup(2, 3);
    let stanza = encapsulate(&keyset, &dek(4), &mut OsRng);
    for behaviour in [
        Behaviour::WrongEvaluation,
        Behaviour::BrokenProof,
        Behaviour::ShortAnswer,
    ] {
        let service = Faulty::new(shares.clone(), &[(1, behaviour)]);
        let (key, faults) = decapsulate(&keyset, &service, &stanza, &mut OsRng).unwrap();
        assert_eq!(key, dek(4));
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
    let stanza = encapsulate(&keyset, &dek(5), &mut OsRng);
    let service = Faulty::new(
        shares,
        &[(1, Behaviour::Down), (3, Behaviour::WrongEvaluation)],
    );
    let err = decapsulate(&keyset, &service, &stanza, &mut OsRng).unwrap_err();
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
    let keys: Vec<DataKey> = (0..count).map(|i| dek(i as u8)).collect();
    let stanzas: Vec<ThresholdStanza> = keys
        .iter()
        .map(|k| encapsulate(&keyset, k, &mut OsRng))
        .collect();
    let refs: Vec<&ThresholdStanza> = stanzas.iter().collect();
    let service = Faulty::new(shares, &[(1, Behaviour::Down)]);
    let result = decapsulate_batch(&keyset, &service, &refs, &mut OsRng).unwrap();
    for (got, want) in result.keys.iter().zip(&keys) {
        assert_eq!(got.as_ref().unwrap(), want);
    }
    assert_eq!(service.calls(1), 1, "dead server tried once, not per batch");
    assert_eq!(service.calls(2), 3, "three batches of at most {MAX_BATCH}");
    assert_eq!(service.calls(3), 3);
    assert_eq!(result.faults.len(), 1);
}

#[test]
fn per_file_problems_fail_only_that_file() {
    let (keyset, shares) = setup(2, 3);
    let (other_keyset, _) = setup(2, 3);
    let good = encapsulate(&keyset, &dek(1), &mut OsRng);
    let foreign = encapsulate(&other_keyset, &dek(2), &mut OsRng);
    let mut identity = encapsulate(&keyset, &dek(3), &mut OsRng);
    identity.ephemeral = [0; 32];
    let mut non_canonical = encapsulate(&keyset, &dek(4), &mut OsRng);
    non_canonical.ephemeral = [0xff; 32];
    let mut tampered = encapsulate(&keyset, &dek(5), &mut OsRng);
    tampered.wrapped_key[40] ^= 1;
    let mut swapped_w = encapsulate(&keyset, &dek(6), &mut OsRng);
    swapped_w.ephemeral = good.ephemeral;

    let service = LocalKeyService::new(shares);
    let all = [
        &good,
        &foreign,
        &identity,
        &non_canonical,
        &tampered,
        &swapped_w,
    ];
    let result = decapsulate_batch(&keyset, &service, &all, &mut OsRng).unwrap();
    assert_eq!(result.keys[0].as_ref().unwrap(), &dek(1));
    assert!(matches!(result.keys[1], Err(KemError::WrongKeyset(_))));
    assert_eq!(
        result.keys[2].as_ref().unwrap_err(),
        &KemError::InvalidEphemeral
    );
    assert_eq!(
        result.keys[3].as_ref().unwrap_err(),
        &KemError::InvalidEphemeral
    );
    assert_eq!(
        result.keys[4].as_ref().unwrap_err(),
        &KemError::UnwrapFailed
    );
    assert_eq!(
        result.keys[5].as_ref().unwrap_err(),
        &KemError::UnwrapFailed
    );
}

#[test]
fn fewer_than_t_shares_cannot_decapsulate() {
    // With only t-1 shares available, the other servers are "down".
    let (keyset, shares) = setup(3, 5);
    let stanza = encapsulate(&keyset, &dek(9), &mut OsRng);
    let service = LocalKeyService::new(shares.into_iter().take(2).collect());
    assert!(matches!(
        decapsulate(&keyset, &service, &stanza, &mut OsRng),
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
    let stanza = encapsulate(&keyset, &dek(1), &mut OsRng);
    let spy = Spy(LocalKeyService::new(shares), RefCell::default());
    decapsulate(&keyset, &spy, &stanza, &mut OsRng).unwrap();
    decapsulate(&keyset, &spy, &stanza, &mut OsRng).unwrap();
    let seen = spy.1.borrow();
    let w = decode_element(&stanza.ephemeral).unwrap();
    assert!(seen.iter().all(|b| *b != w));
    assert_ne!(seen[0], seen[1]);
}
