//! The ids that cross every layer: Discord's snowflakes as types, and the short booking id
//! people type. A leaf module, so the pure `scheduling` core and `domain` can both use them.

use std::fmt;

/// A Discord user id (snowflake).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct UserId(pub u64);

impl fmt::Display for UserId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// Crockford's base32 alphabet: no I, L, O or U, so ids survive being read aloud.
const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// Characters in a booking id.
pub const BOOKING_ID_LEN: usize = 6;

/// A short booking id people can type, like `K7Q2MD` (30 random bits, Crockford base32).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct BookingId(String);

impl BookingId {
    /// The id spelled by the low 30 bits of `random`.
    pub fn from_random(random: u32) -> BookingId {
        let id = (0..BOOKING_ID_LEN)
            .map(|i| {
                let index = (random >> (5 * (BOOKING_ID_LEN - 1 - i))) & 0x1f;
                char::from(ALPHABET[index as usize])
            })
            .collect();
        BookingId(id)
    }

    /// Reads a typed id: case-insensitive, spaces, dashes and a leading `#` ignored, and the
    /// look-alikes `I`/`L` read as `1` and `O` as `0`. `None` when it cannot be an id.
    pub fn parse(text: &str) -> Option<BookingId> {
        let mut id = String::with_capacity(BOOKING_ID_LEN);
        for c in text.trim().trim_start_matches('#').chars() {
            let c = match c.to_ascii_uppercase() {
                ' ' | '-' => continue,
                'I' | 'L' => '1',
                'O' => '0',
                c if c.is_ascii() && ALPHABET.contains(&(c as u8)) => c,
                _ => return None,
            };
            if id.len() == BOOKING_ID_LEN {
                return None;
            }
            id.push(c);
        }
        (id.len() == BOOKING_ID_LEN).then_some(BookingId(id))
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for BookingId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A Discord server, by id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct GuildId(pub u64);

/// A Discord role, by id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RoleId(pub u64);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn booking_ids_are_six_crockford_characters_and_read_forgivingly() {
        let id = BookingId::from_random(0x3fff_ffff);
        assert_eq!(id.as_str(), "ZZZZZZ");
        assert_eq!(BookingId::from_random(0).as_str(), "000000");
        assert_eq!(BookingId::parse(" #k7q2md ").unwrap().as_str(), "K7Q2MD");
        assert_eq!(BookingId::parse("k7q-2md").unwrap().as_str(), "K7Q2MD");
        assert_eq!(BookingId::parse("IoL234").unwrap().as_str(), "101234");
        assert_eq!(BookingId::parse("K7Q2M"), None);
        assert_eq!(BookingId::parse("K7Q2MDX"), None);
        assert_eq!(BookingId::parse("K7Q2M'"), None);
        assert_eq!(BookingId::parse("K7Q2MU"), None);
    }
}
