//! Whole rounds in memory: every member computes the same keyset, `K`
//! survives every non-create round, and every way a relay can tamper is
//! caught and named.

use rand::rngs::OsRng;
use rand::RngCore;

use super::wire::{to_deals, WireDeal, WirePlan};
use super::*;
use crate::threshold::kem::deal as trusted_deal;
use crate::threshold::shamir::combine_elements;

struct Server {
    identity: IdentitySecret,
    share: Option<SecretShare>,
}

fn servers(n: usize) -> Vec<Server> {
    (0..n)
        .map(|_| Server {
            identity: IdentitySecret::generate(&mut OsRng),
            share: None,
        })
        .collect()
}

fn members(servers: &[Server], ids: &[u16]) -> Vec<Member> {
    servers
        .iter()
        .zip(ids)
        .map(|(s, &participant)| Member {
            participant,
            identity: s.identity.public(),
        })
        .collect()
}

fn session() -> [u8; 16] {
    let mut s = [0u8; 16];
    OsRng.fill_bytes(&mut s);
    s
}

fn create_plan(group: &[Server], threshold: u16) -> Plan {
    let ids: Vec<u16> = (1..=group.len() as u16).collect();
    Plan {
        session: session(),
        operation: Operation::Create,
        from: None,
        to_epoch: 0,
        threshold,
        dealers: ids.clone(),
        old_members: Vec::new(),
        new_members: members(group, &ids),
    }
}

/// Deals, receives and confirms; returns each member's outcome.
fn run(plan: &Plan, dealers: &[&Server], recipients: &[&Server]) -> Vec<Received> {
    let deals: Vec<Deal> = plan
        .dealers
        .iter()
        .zip(dealers)
        .map(|(&id, server)| {
            make_deal(
                plan,
                id,
                server.share.as_ref(),
                &server.identity,
                &mut OsRng,
            )
            .unwrap()
        })
        .collect();
    let received: Vec<Received> = recipients
        .iter()
        .map(|s| receive(plan, &deals, &s.identity).unwrap())
        .collect();
    let confirmations: Vec<Confirmation> = recipients
        .iter()
        .zip(&received)
        .map(|(s, r)| confirm(&s.identity, &r.transcript, r.share.id()))
        .collect();
    for r in &received {
        assert_eq!(r.transcript, received[0].transcript);
        assert_eq!(r.keyset, received[0].keyset);
        check_confirmations(plan, &r.transcript, &confirmations).unwrap();
    }
    received
}

fn decrypts(keyset: &PublicKeyset, shares: &[&SecretShare]) -> bool {
    // Z = k·W for a fresh W, through the shares, against r·K.
    let r = crate::threshold::group::random_nonzero_scalar(&mut OsRng);
    let w = crate::threshold::group::mul_base(&r);
    let points: Vec<(u16, RistrettoPoint)> = shares
        .iter()
        .map(|s| (s.id(), s.value().expose() * w))
        .collect();
    combine_elements(&points).unwrap() == r * keyset.group_key()
}

#[test]
fn key_generation_refresh_and_reshare_keep_k_and_the_id() {
    let mut group = servers(3);
    let plan = create_plan(&group, 2);
    let refs: Vec<&Server> = group.iter().collect();
    let received = run(&plan, &refs, &refs);
    let keyset = received[0].keyset.clone();
    assert_eq!(keyset.epoch(), 0);
    for (server, r) in group.iter_mut().zip(received) {
        server.share = Some(r.share);
    }
    let shares: Vec<&SecretShare> = group.iter().filter_map(|s| s.share.as_ref()).collect();
    assert!(decrypts(&keyset, &shares[..2]));
    assert!(decrypts(&keyset, &shares[1..]));

    // Refresh: dealers 1 and 3, everyone receives.
    let old_shares: Vec<SecretShare> = shares.iter().map(|s| (*s).clone()).collect();
    let refresh = Plan {
        session: session(),
        operation: Operation::Refresh,
        from: Some(keyset.clone()),
        to_epoch: 1,
        threshold: 2,
        dealers: vec![1, 3],
        old_members: vec![
            members(&group[..1], &[1]).remove(0),
            members(&group[2..], &[3]).remove(0),
        ],
        new_members: members(&group, &[1, 2, 3]),
    };
    let dealers = [&group[0], &group[2]];
    let all: Vec<&Server> = group.iter().collect();
    let received = run(&refresh, &dealers, &all);
    let refreshed = received[0].keyset.clone();
    assert_eq!(refreshed.id(), keyset.id());
    assert_eq!(refreshed.group_key(), keyset.group_key());
    assert_eq!(refreshed.epoch(), 1);
    assert_ne!(refreshed.shares(), keyset.shares());
    let fresh: Vec<SecretShare> = received.into_iter().map(|r| r.share).collect();
    assert!(decrypts(&refreshed, &[&fresh[0], &fresh[2]]));
    // An old share with a new one gives nothing.
    assert!(!decrypts(&refreshed, &[&old_shares[0], &fresh[1]]));

    // Reshare 2-of-3 to 3-of-5 (two new servers).
    for (server, share) in group.iter_mut().zip(fresh) {
        server.share = Some(share);
    }
    group.extend(servers(2));
    let reshare = Plan {
        session: session(),
        operation: Operation::Reshare,
        from: Some(refreshed.clone()),
        to_epoch: 2,
        threshold: 3,
        dealers: vec![2, 3],
        old_members: members(&group[1..3], &[2, 3]),
        new_members: members(&group, &[1, 2, 3, 4, 5]),
    };
    let dealers = [&group[1], &group[2]];
    let all: Vec<&Server> = group.iter().collect();
    let received = run(&reshare, &dealers, &all);
    let wide = received[0].keyset.clone();
    assert_eq!(wide.id(), keyset.id());
    assert_eq!(wide.group_key(), keyset.group_key());
    assert_eq!((wide.threshold(), wide.shares().len()), (3, 5));
    let shares: Vec<&SecretShare> = received.iter().map(|r| &r.share).collect();
    assert!(decrypts(&wide, &shares[2..]));
    assert!(!decrypts(&wide, &shares[..2]));
}

fn created(n: usize, t: u16) -> (Vec<Server>, PublicKeyset) {
    let mut group = servers(n);
    let ids: Vec<u16> = (1..=n as u16).collect();
    let (keyset, shares) = trusted_deal(t, &ids, &mut OsRng).unwrap();
    for (server, share) in group.iter_mut().zip(shares) {
        server.share = Some(share);
    }
    (group, keyset)
}

fn refresh_plan(group: &[Server], keyset: &PublicKeyset) -> Plan {
    Plan {
        session: session(),
        operation: Operation::Refresh,
        from: Some(keyset.clone()),
        to_epoch: 1,
        threshold: 2,
        dealers: vec![1, 2],
        old_members: members(&group[..2], &[1, 2]),
        new_members: members(group, &[1, 2, 3]),
    }
}

fn deals_for(plan: &Plan, group: &[Server]) -> Vec<Deal> {
    plan.dealers
        .iter()
        .map(|&id| {
            let s = &group[usize::from(id) - 1];
            make_deal(plan, id, s.share.as_ref(), &s.identity, &mut OsRng).unwrap()
        })
        .collect()
}

#[test]
fn altered_dropped_replayed_or_forged_deals_are_refused_and_named() {
    let (group, keyset) = created(3, 2);
    let plan = refresh_plan(&group, &keyset);
    let deals = deals_for(&plan, &group);
    let me = &group[2].identity;
    assert!(receive(&plan, &deals, me).is_ok());

    let culprit = |result: Result<Received, LifecycleError>| match result {
        Err(LifecycleError::Deal { dealer, .. }) => dealer,
        other => panic!("expected a deal error, got {other:?}"),
    };
    // A commitment altered.
    let mut altered = deals.clone();
    altered[1].commitments = deals[0].commitments.clone();
    assert_eq!(culprit(receive(&plan, &altered, me)), 2);
    // A sealed share swapped for another recipient's.
    let mut swapped = deals.clone();
    swapped[0].shares[2].sealed = deals[0].shares[1].sealed.clone();
    assert_eq!(culprit(receive(&plan, &swapped, me)), 1);
    // A deal dropped.
    assert_eq!(culprit(receive(&plan, &deals[..1], me)), 2);
    // A deal replayed from another run of the same servers.
    let other_run = refresh_plan(&group, &keyset);
    let mut replayed = deals.clone();
    replayed[1] = deals_for(&other_run, &group).remove(1);
    assert_eq!(culprit(receive(&plan, &replayed, me)), 2);
    // A deal "from" dealer 1 made by someone else (the relay).
    let relay = IdentitySecret::generate(&mut OsRng);
    let mut forged_plan = plan.clone();
    forged_plan.old_members[0].identity = relay.public();
    let forged = make_deal(&forged_plan, 1, group[0].share.as_ref(), &relay, &mut OsRng).unwrap();
    let mut with_forgery = deals.clone();
    with_forgery[0] = forged;
    assert_eq!(culprit(receive(&plan, &with_forgery, me)), 1);
    // A dealer that shares something other than its weighted share.
    let mut wrong_constant = deals.clone();
    let stranger = SecretShare::new(1, SecretScalar::random(&mut OsRng)).unwrap();
    wrong_constant[0] =
        make_deal(&plan, 1, Some(&stranger), &group[0].identity, &mut OsRng).unwrap();
    assert_eq!(culprit(receive(&plan, &wrong_constant, me)), 1);
}

#[test]
fn a_relay_showing_two_servers_different_deals_gets_no_confirmation_set() {
    let (group, keyset) = created(3, 2);
    let plan = refresh_plan(&group, &keyset);
    let a = deals_for(&plan, &group);
    let b = deals_for(&plan, &group);
    let seen_by_1 = receive(&plan, &a, &group[0].identity).unwrap();
    let seen_by_2 = receive(&plan, &a, &group[1].identity).unwrap();
    let seen_by_3 = receive(&plan, &b, &group[2].identity).unwrap();
    assert_ne!(seen_by_1.transcript, seen_by_3.transcript);
    let confirmations = vec![
        confirm(&group[0].identity, &seen_by_1.transcript, 1),
        confirm(&group[1].identity, &seen_by_2.transcript, 2),
        confirm(&group[2].identity, &seen_by_3.transcript, 3),
    ];
    for transcript in [seen_by_1.transcript, seen_by_3.transcript] {
        assert!(matches!(
            check_confirmations(&plan, &transcript, &confirmations),
            Err(LifecycleError::Confirmation { .. })
        ));
    }
    assert!(matches!(
        check_confirmations(&plan, &seen_by_1.transcript, &confirmations[..2]),
        Err(LifecycleError::Confirmation { participant: 3, .. })
    ));
}

#[test]
fn plans_round_trip_through_json_and_bad_plans_are_refused() {
    let (group, keyset) = created(3, 2);
    let plan = refresh_plan(&group, &keyset);
    let wire = WirePlan::from(&plan);
    let back = wire.to_plan().unwrap();
    assert_eq!(back.hash(), plan.hash());
    let deals = deals_for(&plan, &group);
    let wire_deals: Vec<WireDeal> = deals.iter().map(WireDeal::from).collect();
    assert_eq!(to_deals(&wire_deals).unwrap(), deals);

    let mut bad = plan.clone();
    bad.to_epoch = 5;
    assert!(bad.check().is_err());
    let mut bad = plan.clone();
    bad.dealers = vec![1];
    assert!(bad.check().is_err());
    let mut bad = plan.clone();
    bad.new_members[1].identity = bad.new_members[0].identity.clone();
    assert!(bad.check().is_err());
    let mut bad = plan.clone();
    bad.threshold = 4;
    assert!(bad.check().is_err());
    let mut bad = plan;
    bad.operation = Operation::Create;
    assert!(bad.check().is_err());
}
