//! Time-sortable run ids (ULID: 48 bits of milliseconds, 80 random bits, Crockford base32).

use std::time::{SystemTime, UNIX_EPOCH};

const CROCKFORD: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// A new run id: 26 characters, lexicographic order = creation order (to the millisecond).
pub fn new_run_id() -> String {
    let millis = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0);
    encode(millis, fastrand::u128(..) & ((1u128 << 80) - 1))
}

fn encode(millis: u64, random: u128) -> String {
    let value: u128 = (u128::from(millis & ((1 << 48) - 1)) << 80) | random;
    (0..26)
        .rev()
        .map(|i| CROCKFORD[((value >> (i * 5)) & 0x1f) as usize] as char)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_sort_by_time_and_have_26_chars() {
        let a = encode(1_700_000_000_000, u128::MAX >> 48);
        let b = encode(1_700_000_000_001, 0);
        assert_eq!(a.len(), 26);
        assert!(a < b, "{a} < {b}");
        assert_eq!(encode(0, 0), "00000000000000000000000000");
        assert!(new_run_id().chars().all(|c| CROCKFORD.contains(&(c as u8))));
    }
}
