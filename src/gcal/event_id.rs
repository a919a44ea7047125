//! Calendar event ids derived from bookings.
//!
//! Google lets the client choose an event's id (characters `a-v` and `0-9`, 5 to 1024 long,
//! unique per calendar). Deriving it from the booking makes creation idempotent: a repeated
//! insert answers 409 instead of making a second event. A per-mentor random salt keeps ids
//! unguessable and distinct across the calendars of several bot instances.

use crate::domain::BookingId;

/// RFC 4648's base32hex alphabet, lowercase: exactly the characters Google accepts.
const BASE32HEX: &[u8; 32] = b"0123456789abcdefghijklmnopqrstuv";

/// The event id for `booking`: base32hex (lowercase, unpadded) of `salt` followed by the
/// booking id's text.
pub fn event_id(salt: &[u8], booking: &BookingId) -> String {
    let mut bytes = Vec::with_capacity(salt.len() + booking.as_str().len());
    bytes.extend_from_slice(salt);
    bytes.extend_from_slice(booking.as_str().as_bytes());
    base32hex(&bytes)
}

/// A fresh random salt for [`event_id`] (80 bits).
pub fn new_salt() -> [u8; 10] {
    let mut salt = [0; 10];
    crate::random::fill(&mut salt);
    salt
}

/// Whether `id` has only characters Google allows in event ids (and so needs no escaping in
/// a URL path).
pub fn is_valid_event_id(id: &str) -> bool {
    (5..=1024).contains(&id.len()) && id.bytes().all(|b| BASE32HEX.contains(&b))
}

/// RFC 4648 base32hex, lowercase, without padding.
fn base32hex(bytes: &[u8]) -> String {
    let mut text = String::with_capacity(bytes.len().div_ceil(5) * 8);
    let mut buffer: u16 = 0;
    let mut bits = 0;
    for &byte in bytes {
        buffer = (buffer << 8) | u16::from(byte);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            text.push(char::from(BASE32HEX[usize::from((buffer >> bits) & 0x1f)]));
        }
        // Keep only the bits not yet written, so the buffer never overflows.
        buffer &= (1 << bits) - 1;
    }
    if bits > 0 {
        text.push(char::from(
            BASE32HEX[usize::from((buffer << (5 - bits)) & 0x1f)],
        ));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn booking(id: &str) -> BookingId {
        BookingId::parse(id).unwrap()
    }

    #[test]
    fn base32hex_matches_rfc_4648s_test_vectors_in_lowercase_without_padding() {
        let vectors = [
            ("", ""),
            ("f", "co"),
            ("fo", "cpng"),
            ("foo", "cpnmu"),
            ("foob", "cpnmuog"),
            ("fooba", "cpnmuoj1"),
            ("foobar", "cpnmuoj1e8"),
        ];
        for (input, expected) in vectors {
            assert_eq!(base32hex(input.as_bytes()), expected, "{input:?}");
        }
    }

    #[test]
    fn an_event_id_encodes_the_salt_then_the_booking_id() {
        assert_eq!(
            event_id(b"foo", &booking("BAR000")),
            base32hex(b"fooBAR000")
        );
        assert_eq!(event_id(b"", &booking("K7Q2MD")), base32hex(b"K7Q2MD"));
    }

    #[test]
    fn event_ids_use_only_googles_characters_and_allowed_lengths() {
        for _ in 0..100 {
            let id = event_id(&new_salt(), &booking("K7Q2MD"));
            assert!(
                id.bytes().all(|b| matches!(b, b'a'..=b'v' | b'0'..=b'9')),
                "{id}"
            );
            assert!((5..=1024).contains(&id.len()), "{id}");
            assert_eq!(id.len(), 26);
            assert!(is_valid_event_id(&id));
        }
        assert!((5..=1024).contains(&event_id(b"", &booking("000000")).len()));
    }

    #[test]
    fn distinct_bookings_or_salts_give_distinct_ids() {
        let salt = new_salt();
        let a = event_id(&salt, &booking("K7Q2MD"));
        assert_eq!(a, event_id(&salt, &booking("K7Q2MD")));
        assert_ne!(a, event_id(&salt, &booking("K7Q2ME")));
        assert_ne!(a, event_id(&new_salt(), &booking("K7Q2MD")));
        assert_ne!(new_salt(), new_salt());
    }

    #[test]
    fn only_googles_alphabet_and_lengths_are_valid_ids() {
        assert!(is_valid_event_id("abc12"));
        assert!(!is_valid_event_id("abc1"));
        assert!(!is_valid_event_id("abcw12"));
        assert!(!is_valid_event_id("ABC12"));
        assert!(!is_valid_event_id("abc/../12"));
        assert!(!is_valid_event_id(&"a".repeat(1025)));
    }
}
