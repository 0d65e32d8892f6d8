//! Padmé length padding (Nikitin et al., "Reducing Metadata Leakage from
//! Encrypted Files and Communication with PURBs", PETS 2019, section 4):
//! the padded length keeps only the top `floor(log2 E) + 1` bits of a
//! length whose highest bit is `E`, so a length of `L` leaks
//! `O(log log L)` bits and costs at most about 12% more (docs/FORMAT.md
//! section 9.3).

/// The Padmé length of `len`: the smallest length at least `len` whose
/// low `E - S` bits are zero, where `E = floor(log2 len)` and
/// `S = floor(log2 E) + 1`. Lengths below 2 are their own padding.
pub fn padme(len: u64) -> u64 {
    if len < 2 {
        return len;
    }
    let e = 63 - u64::from(len.leading_zeros()); // floor(log2 len), >= 1
    let s = 64 - u64::from(e.leading_zeros()); // floor(log2 e) + 1
    let low_bits = e - s;
    let mask = (1u64 << low_bits) - 1;
    // `len + mask` cannot overflow for `len < 2^64 - 2^58`, far beyond
    // any file; saturate rather than wrap in case.
    len.saturating_add(mask) & !mask
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn padme_matches_the_papers_examples_and_bounds() {
        // Lengths up to 8 keep every bit (E - S = 0).
        for len in 0..=8 {
            assert_eq!(padme(len), len);
        }
        // E = 9 (512..1023), S = 4: multiples of 32.
        assert_eq!(padme(513), 544);
        assert_eq!(padme(1000), 1024);
        // 4 KiB exactly stays; one byte more rounds to the next 256.
        assert_eq!(padme(4096), 4096);
        assert_eq!(padme(4097), 4352);
        // 1 MiB + 1: E = 20, S = 5, multiples of 2^15.
        assert_eq!(padme(1_048_577), 1_048_576 + 32_768);
    }

    #[test]
    fn padme_never_shrinks_is_monotone_and_costs_at_most_12_percent() {
        let mut previous = 0;
        for len in (0..200_000u64).chain((1u64 << 30)..(1u64 << 30) + 50_000) {
            let padded = padme(len);
            assert!(padded >= len && padded >= previous, "{len}");
            assert!(padded as f64 <= len as f64 * 1.12 + 1.0, "{len}");
            assert_eq!(padme(padded), padded, "idempotent at {len}");
            previous = padded;
        }
    }
}
