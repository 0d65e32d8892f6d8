use proptest::prelude::*;

use super::*;

fn threshold(seed: u8) -> ThresholdStanza {
    ThresholdStanza {
        keyset_id: [seed; KEYSET_ID_LEN],
        ephemeral: [seed.wrapping_add(1); ELEMENT_LEN],
        wrapped_key: [seed.wrapping_add(2); WRAPPED_KEY_LEN],
    }
}

fn sample() -> Header {
    Header {
        stanzas: vec![
            Stanza::Threshold(threshold(1)),
            Stanza::Metadata(vec![7; metadata::MIN_SEALED_LEN + 5]),
            Stanza::Unknown {
                kind: 0x33,
                body: b"from the future".to_vec(),
            },
        ],
    }
}

#[test]
fn header_round_trips_byte_for_byte() {
    let header = sample();
    let bytes = header.to_bytes().unwrap();
    assert_eq!(&bytes[..9], b"shardlock");
    assert_eq!(bytes[9], VERSION);
    assert_eq!(header_len(&bytes).unwrap(), bytes.len());
    let mut with_body = bytes.clone();
    with_body.extend_from_slice(b"body bytes follow");
    let (parsed, len) = Header::parse(&with_body).unwrap();
    assert_eq!(len, bytes.len());
    assert_eq!(parsed, header);
    assert_eq!(parsed.to_bytes().unwrap(), bytes);
}

#[test]
fn minimal_header_layout_is_as_documented() {
    // FORMAT.md: preamble (14) + threshold stanza (3 + 112) = 129 bytes.
    let header = Header {
        stanzas: vec![Stanza::Threshold(threshold(0xaa))],
    };
    let bytes = header.to_bytes().unwrap();
    assert_eq!(bytes.len(), 129);
    assert_eq!(&bytes[10..14], &129u32.to_be_bytes());
    assert_eq!(&bytes[14..17], &[STANZA_THRESHOLD, 0, 112]);
    assert_eq!(&bytes[17..49], &[0xaa; 32]);
}

#[test]
fn foreign_and_future_files_get_clear_errors() {
    assert_eq!(
        Header::parse(b"age-encryption.org/v1\n"),
        Err(FormatError::NotShardlock)
    );
    assert_eq!(
        Header::parse(b"\x89PNG\r\n\x1a\n......"),
        Err(FormatError::NotShardlock)
    );
    let mut future = sample().to_bytes().unwrap();
    future[9] = 2;
    assert_eq!(
        Header::parse(&future),
        Err(FormatError::UnsupportedVersion(2))
    );
    assert_eq!(Header::parse(b"shard"), Err(FormatError::Truncated));
}

#[test]
fn truncation_at_every_byte_is_rejected() {
    let bytes = sample().to_bytes().unwrap();
    for cut in 0..bytes.len() {
        assert!(Header::parse(&bytes[..cut]).is_err(), "cut at {cut}");
    }
}

#[test]
fn declared_length_outside_bounds_is_rejected() {
    let mut bytes = sample().to_bytes().unwrap();
    for bad in [0u32, 13, MAX_HEADER_LEN as u32 + 1, u32::MAX] {
        bytes[10..14].copy_from_slice(&bad.to_be_bytes());
        assert_eq!(
            header_len(&bytes),
            Err(FormatError::BadHeaderLength(bad.into()))
        );
    }
}

#[test]
fn unknown_critical_stanza_is_refused_and_noncritical_is_kept() {
    let mut header = sample();
    header.stanzas.push(Stanza::Unknown {
        kind: 0x81,
        body: vec![],
    });
    assert!(header.to_bytes().is_err());

    // Hand-build one: a reader must refuse what it cannot process.
    let mut bytes = sample().to_bytes().unwrap();
    bytes.extend_from_slice(&[0x81, 0, 1, 0]);
    let len = bytes.len() as u32;
    bytes[10..14].copy_from_slice(&len.to_be_bytes());
    assert_eq!(
        Header::parse(&bytes),
        Err(FormatError::UnknownCriticalStanza(0x81))
    );
}

#[test]
fn a_header_without_key_stanza_or_with_two_metadata_is_rejected() {
    let no_key = Header {
        stanzas: vec![Stanza::Metadata(vec![0; metadata::MIN_SEALED_LEN])],
    };
    assert_eq!(no_key.to_bytes(), Err(FormatError::NoKeyStanza));
    let two_meta = Header {
        stanzas: vec![
            Stanza::Threshold(threshold(1)),
            Stanza::Metadata(vec![0; metadata::MIN_SEALED_LEN]),
            Stanza::Metadata(vec![0; metadata::MIN_SEALED_LEN]),
        ],
    };
    assert_eq!(two_meta.to_bytes(), Err(FormatError::DuplicateMetadata));
}

#[test]
fn stanza_count_and_size_limits_hold() {
    let many = Header {
        stanzas: (0..=MAX_STANZAS as u8)
            .map(|i| Stanza::Threshold(threshold(i)))
            .collect(),
    };
    assert_eq!(many.to_bytes(), Err(FormatError::TooManyStanzas));
    let huge = Header {
        stanzas: vec![
            Stanza::Threshold(threshold(1)),
            Stanza::Unknown {
                kind: 0x10,
                body: vec![0; 70_000],
            },
        ],
    };
    assert!(huge.to_bytes().is_err());
    let big = Header {
        stanzas: vec![
            Stanza::Threshold(threshold(1)),
            Stanza::Metadata(vec![0; 9000]),
        ],
    };
    assert!(
        Header::parse(&big.to_bytes().unwrap()).is_err(),
        "metadata above its own bound"
    );
}

#[test]
fn several_threshold_stanzas_are_allowed() {
    let header = Header {
        stanzas: vec![
            Stanza::Threshold(threshold(1)),
            Stanza::Threshold(threshold(2)),
        ],
    };
    let (parsed, _) = Header::parse(&header.to_bytes().unwrap()).unwrap();
    assert_eq!(parsed.threshold_stanzas().count(), 2);
    assert!(parsed.sealed_metadata().is_none());
}

#[test]
fn debug_output_does_not_dump_wrapped_keys() {
    let printed = format!("{:?}", threshold(0xab));
    assert!(printed.contains("abababab"), "keyset id is shown");
    assert!(!printed.contains("173"), "wrapped key bytes (0xad) are not");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn parsing_random_bytes_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        let _ = Header::parse(&bytes);
    }

    #[test]
    fn parsing_random_bytes_after_the_magic_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        let mut input = MAGIC.to_vec();
        input.push(VERSION);
        input.extend_from_slice(&bytes);
        if let Ok((header, len)) = Header::parse(&input) {
            // Whatever parses re-encodes to exactly the bytes it came from.
            prop_assert_eq!(header.to_bytes().unwrap(), input[..len].to_vec());
        }
    }

    #[test]
    fn mutated_headers_never_panic_and_round_trip_if_accepted(
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..6),
        cut in any::<prop::sample::Index>(),
    ) {
        let mut bytes = sample().to_bytes().unwrap();
        for (at, value) in edits {
            let i = at.index(bytes.len());
            bytes[i] = value;
        }
        let cut = cut.index(bytes.len() + 1);
        if let Ok((header, len)) = Header::parse(&bytes[..cut]) {
            prop_assert_eq!(header.to_bytes().unwrap(), bytes[..len].to_vec());
        }
    }
}

#[test]
fn short_inputs_are_foreign_unless_they_start_like_a_shardlock_file() {
    assert_eq!(header_len(b""), Err(FormatError::NotShardlock));
    assert_eq!(header_len(b"hi\n"), Err(FormatError::NotShardlock));
    assert_eq!(header_len(b"shard"), Err(FormatError::Truncated));
    assert_eq!(
        header_len(b"shardlock\x01\x00"),
        Err(FormatError::Truncated)
    );
}
