//! The one door to the operating system's random source (keys, nonces, ids, jitter,
//! reference codes).
//!
//! Invariant: the OS random source does not fail on the platforms mentorbot runs on
//! (Linux's `getrandom(2)` blocks until seeded and then never fails). If it ever did, no key,
//! nonce or id made without it would be safe, so stopping is right; and one policy here is
//! simpler to trust than a fallback per caller.

/// Fills `bytes` from the operating system's random source.
pub fn fill(bytes: &mut [u8]) {
    // Invariant above: the OS random source does not fail.
    getrandom::fill(bytes).expect("the operating system's random source failed");
}

/// A random `u32`.
pub fn u32() -> u32 {
    let mut bytes = [0u8; 4];
    fill(&mut bytes);
    u32::from_le_bytes(bytes)
}

/// A random `u64`.
pub fn u64() -> u64 {
    let mut bytes = [0u8; 8];
    fill(&mut bytes);
    u64::from_le_bytes(bytes)
}
