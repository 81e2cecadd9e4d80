//! How the partitions of ordered delivery are shared: from the number of instances alive
//! (the [roster](crate::roster)) each works out its fair share ([`fair_share`]), takes free
//! or expired partitions up to it and gives up those beyond it ([`surplus`]), so partitions
//! spread over the instances and move when one comes or goes.

use hookwire_protocol::ordered::PARTITIONS;

/// The partitions each of `live` instances should run: all of them divided evenly,
/// rounded up (so every partition finds an owner).
pub(super) fn fair_share(live: usize) -> usize {
    usize::from(PARTITIONS).div_ceil(live.max(1))
}

/// Of the partitions `held`, those to give up to keep `fair`: the highest numbered.
pub(super) fn surplus(held: &[u8], fair: usize) -> Vec<u8> {
    let mut held = held.to_vec();
    held.sort_unstable();
    held.split_off(fair.min(held.len()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partitions_are_shared_evenly_rounding_up() {
        assert_eq!(fair_share(0), 16);
        assert_eq!(fair_share(1), 16);
        assert_eq!(fair_share(2), 8);
        assert_eq!(fair_share(3), 6);
        assert_eq!(fair_share(5), 4);
        assert_eq!(fair_share(16), 1);
        assert_eq!(fair_share(40), 1);
        for live in 1..=20 {
            assert!(fair_share(live) * live >= usize::from(PARTITIONS));
        }
    }

    #[test]
    fn the_surplus_is_the_highest_partitions_beyond_the_share() {
        assert_eq!(surplus(&[3, 0, 9, 5], 2), vec![5, 9]);
        assert_eq!(surplus(&[3, 0], 2), Vec::<u8>::new());
        assert_eq!(surplus(&[3], 8), Vec::<u8>::new());
        assert_eq!(surplus(&[1, 2], 0), vec![1, 2]);
        assert_eq!(surplus(&[], 1), Vec::<u8>::new());
    }
}
