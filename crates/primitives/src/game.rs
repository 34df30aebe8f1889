//! The arithmetic of the k-ary bisection game, mirroring `contracts/libraries/Bisection.sol`.

/// The number of commitments a bisection of `[lo, hi]` posts: `min(arity, hi - lo) - 1`.
pub fn point_count(lo: u64, hi: u64, arity: u64) -> u64 {
    let span = hi - lo;
    span.min(arity) - 1
}

/// The number of sub-segments a bisection of `[lo, hi]` makes.
pub fn parts(lo: u64, hi: u64, arity: u64) -> u64 {
    point_count(lo, hi, arity) + 1
}

/// The step number of split point `j` (0..=parts) of `[lo, hi]` cut into `parts`.
pub fn split_point(lo: u64, hi: u64, parts: u64, j: u64) -> u64 {
    lo + ((u128::from(hi - lo) * u128::from(j)) / u128::from(parts)) as u64
}

/// All split points `1..parts` of `[lo, hi]`: the steps whose commitments a bisection posts.
pub fn interior_points(lo: u64, hi: u64, arity: u64) -> Vec<u64> {
    let parts = parts(lo, hi, arity);
    (1..parts).map(|j| split_point(lo, hi, parts, j)).collect()
}

/// The most rounds a game over `n` steps takes: `ceil(log_arity(n))`.
pub fn rounds(n: u64, arity: u64) -> u32 {
    let mut span: u128 = 1;
    let mut r = 0;
    while span < u128::from(n) {
        span *= u128::from(arity);
        r += 1;
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn same_values_as_the_contract_tests() {
        assert_eq!(point_count(0, 1000, 16), 15);
        assert_eq!(point_count(10, 15, 16), 4);
        assert_eq!(split_point(0, 100, 4, 1), 25);
        assert_eq!(split_point(7, 10, 3, 2), 9);
        assert_eq!(split_point(0, u64::MAX, 32, 32), u64::MAX);
        assert_eq!(rounds(1 << 32, 16), 8);
        assert_eq!(rounds(17, 16), 2);
        assert_eq!(rounds(1, 16), 0);
    }

    proptest! {
        #[test]
        fn split_points_strictly_increase(lo in 0u64..1 << 40, span in 2u64..1 << 40, arity in 2u64..=32) {
            let hi = lo + span;
            let parts = parts(lo, hi, arity);
            let mut previous = lo;
            for j in 1..=parts {
                let p = split_point(lo, hi, parts, j);
                prop_assert!(p > previous);
                previous = p;
            }
            prop_assert_eq!(previous, hi);
        }
    }
}
