//! Generated ids and tokens: a readable prefix and random characters.

use rand::Rng as _;

/// `prefix` and 24 random lowercase letters and digits (about 124 bits).
pub(crate) fn random(prefix: &str) -> String {
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    let mut rng = rand::rng();
    let suffix: String = (0..24)
        .map(|_| char::from(ALPHABET[rng.random_range(0..ALPHABET.len())]))
        .collect();
    format!("{prefix}{suffix}")
}
