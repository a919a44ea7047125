//! Refresh tokens at rest: sealed with XChaCha20-Poly1305 under a key from the environment.
//!
//! Each sealed token is bound to its owner: the Discord user id is the associated data, so a
//! row copied onto another user fails to open rather than acting for them. The 24-byte random
//! nonce is large enough that random nonces never repeat in practice.
//!
//! A sealed blob is `key id (1 byte) ‖ nonce (24) ‖ ciphertext and tag`; the key id is the
//! first byte of a hash of the key, so a [`Keyring`] knows which key to try first when the
//! operator rotates (`TOKEN_ENCRYPTION_KEY_PREVIOUS`). Blobs sealed before key ids existed
//! (`nonce ‖ ciphertext`) still open; either way the cipher's tag decides, so a key id that
//! collides only costs one more attempt.

use std::fmt;

use base64::Engine as _;
use base64::alphabet;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{Key, XChaCha20Poly1305, XNonce};

use sha2::{Digest, Sha256};

use crate::secret::Secret;

/// Bytes in a key.
const KEY_LEN: usize = 32;
/// Bytes in a nonce, stored in front of the ciphertext.
const NONCE_LEN: usize = 24;
/// Bytes in Poly1305's tag, at the end of the ciphertext.
const TAG_LEN: usize = 16;

/// Padding optional: keys get pasted with or without it.
const LENIENT: GeneralPurposeConfig =
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent);
const STANDARD: GeneralPurpose = GeneralPurpose::new(&alphabet::STANDARD, LENIENT);
const URL_SAFE: GeneralPurpose = GeneralPurpose::new(&alphabet::URL_SAFE, LENIENT);

/// The key that seals refresh tokens. `Debug` never shows it.
#[derive(Clone)]
pub struct TokenKey([u8; KEY_LEN]);

/// A key setting that cannot be a key. Its `Display` never repeats the value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    /// Not base64 at all.
    #[error("is not base64; make a key with `openssl rand -base64 32`")]
    NotBase64,
    /// Base64 of the wrong number of bytes.
    #[error("must be 32 bytes of base64, e.g. from `openssl rand -base64 32`; got {0} bytes")]
    WrongLength(usize),
}

/// A sealed token that does not open: wrong key, another user's token, or damaged bytes.
/// (Which one cannot be told apart, by design of the cipher.)
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the stored token does not open (wrong key, another user's token, or damaged data)")]
pub struct CryptoError;

impl TokenKey {
    /// Reads a key: base64 (standard or url-safe, padded or not) of exactly 32 bytes.
    /// Surrounding whitespace, such as a trailing newline, is ignored.
    pub fn parse(base64: &str) -> Result<TokenKey, KeyError> {
        let text = base64.trim();
        let bytes = STANDARD
            .decode(text)
            .or_else(|_| URL_SAFE.decode(text))
            .map_err(|_| KeyError::NotBase64)?;
        let key: [u8; KEY_LEN] = bytes
            .as_slice()
            .try_into()
            .map_err(|_| KeyError::WrongLength(bytes.len()))?;
        Ok(TokenKey(key))
    }

    /// A fresh random key (for tests and for people who need one).
    pub fn generate() -> TokenKey {
        let mut key = [0; KEY_LEN];
        crate::random::fill(&mut key);
        TokenKey(key)
    }

    /// This key's id: the first byte of SHA-256 over a label and the key.
    fn id(&self) -> u8 {
        let mut hash = Sha256::new();
        hash.update(b"mentorbot token key id\0");
        hash.update(self.0);
        hash.finalize()[0]
    }

    /// Seals `plaintext` for `user`: the key id, a random nonce, then the ciphertext and its
    /// tag.
    pub fn seal(&self, user: u64, plaintext: &str) -> Vec<u8> {
        let mut nonce = [0; NONCE_LEN];
        crate::random::fill(&mut nonce);
        let payload = Payload {
            msg: plaintext.as_bytes(),
            aad: &user.to_be_bytes(),
        };
        // Invariant: encryption fails only for messages near 256 GiB; tokens are a few
        // hundred bytes.
        let ciphertext = self
            .cipher()
            .encrypt(&XNonce::from(nonce), payload)
            .expect("a token is far below XChaCha20-Poly1305's message limit");
        let mut sealed = Vec::with_capacity(1 + NONCE_LEN + ciphertext.len());
        sealed.push(self.id());
        sealed.extend_from_slice(&nonce);
        sealed.extend_from_slice(&ciphertext);
        sealed
    }

    /// Opens what [`TokenKey::seal`] made for the same `user` under the same key (also in
    /// the format from before key ids).
    pub fn open(&self, user: u64, sealed: &[u8]) -> Result<Secret, CryptoError> {
        self.open_as(user, sealed).map(|(secret, _)| secret)
    }

    /// Opens `sealed`, saying whether it was in the current format (with this key's id).
    fn open_as(&self, user: u64, sealed: &[u8]) -> Result<(Secret, bool), CryptoError> {
        if let Some((&id, rest)) = sealed.split_first()
            && id == self.id()
            && let Ok(secret) = self.open_raw(user, rest)
        {
            return Ok((secret, true));
        }
        self.open_raw(user, sealed).map(|secret| (secret, false))
    }

    /// Opens `nonce ‖ ciphertext`.
    fn open_raw(&self, user: u64, sealed: &[u8]) -> Result<Secret, CryptoError> {
        if sealed.len() < NONCE_LEN + TAG_LEN {
            return Err(CryptoError);
        }
        let (nonce, ciphertext) = sealed.split_at(NONCE_LEN);
        let nonce = <[u8; NONCE_LEN]>::try_from(nonce).map_err(|_| CryptoError)?;
        let payload = Payload {
            msg: ciphertext,
            aad: &user.to_be_bytes(),
        };
        let plaintext = self
            .cipher()
            .decrypt(&XNonce::from(nonce), payload)
            .map_err(|_| CryptoError)?;
        String::from_utf8(plaintext)
            .map(Secret::new)
            .map_err(|_| CryptoError)
    }

    fn cipher(&self) -> XChaCha20Poly1305 {
        XChaCha20Poly1305::new(&Key::from(self.0))
    }
}

impl fmt::Debug for TokenKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TokenKey([redacted])")
    }
}

/// The current key, and the one before it while the operator rotates.
#[derive(Debug, Clone)]
pub struct Keyring {
    current: TokenKey,
    previous: Option<TokenKey>,
}

/// A token that opened, and whether it should be sealed again with the current key (it was
/// sealed with the previous key, or before key ids).
#[derive(Debug, Clone)]
pub struct Opened {
    /// The token.
    pub secret: Secret,
    /// True when the stored blob is not the current key's current format.
    pub stale: bool,
}

impl From<TokenKey> for Keyring {
    fn from(current: TokenKey) -> Keyring {
        Keyring {
            current,
            previous: None,
        }
    }
}

impl Keyring {
    /// `current` seals; `previous` (`TOKEN_ENCRYPTION_KEY_PREVIOUS`) only opens.
    pub fn new(current: TokenKey, previous: Option<TokenKey>) -> Keyring {
        Keyring { current, previous }
    }

    /// Seals with the current key.
    pub fn seal(&self, user: u64, plaintext: &str) -> Vec<u8> {
        self.current.seal(user, plaintext)
    }

    /// Opens with the current key, else the previous one.
    pub fn open(&self, user: u64, sealed: &[u8]) -> Result<Opened, CryptoError> {
        if let Ok((secret, current_format)) = self.current.open_as(user, sealed) {
            return Ok(Opened {
                secret,
                stale: !current_format,
            });
        }
        let previous = self.previous.as_ref().ok_or(CryptoError)?;
        previous.open(user, sealed).map(|secret| Opened {
            secret,
            stale: true,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOKEN: &str = "1//0gLx-refresh-token-value_ABCdef";

    #[test]
    fn a_sealed_token_opens_for_its_user() {
        let key = TokenKey::generate();
        let sealed = key.seal(42, TOKEN);
        assert_eq!(key.open(42, &sealed).unwrap().expose(), TOKEN);
    }

    #[test]
    fn an_empty_token_round_trips() {
        let key = TokenKey::generate();
        assert_eq!(key.open(7, &key.seal(7, "")).unwrap().expose(), "");
    }

    #[test]
    fn another_users_id_does_not_open_it() {
        let key = TokenKey::generate();
        let sealed = key.seal(42, TOKEN);
        assert_eq!(key.open(43, &sealed), Err(CryptoError));
    }

    #[test]
    fn another_key_does_not_open_it() {
        let sealed = TokenKey::generate().seal(42, TOKEN);
        assert_eq!(TokenKey::generate().open(42, &sealed), Err(CryptoError));
    }

    #[test]
    fn any_flipped_bit_is_refused() {
        let key = TokenKey::generate();
        let sealed = key.seal(42, TOKEN);
        for i in 0..sealed.len() {
            let mut tampered = sealed.clone();
            tampered[i] ^= 0x01;
            assert_eq!(key.open(42, &tampered), Err(CryptoError), "byte {i}");
        }
    }

    #[test]
    fn truncated_or_empty_input_is_refused_without_panicking() {
        let key = TokenKey::generate();
        let sealed = key.seal(42, TOKEN);
        for len in 0..sealed.len() {
            assert_eq!(
                key.open(42, &sealed[..len]),
                Err(CryptoError),
                "length {len}"
            );
        }
    }

    #[test]
    fn sealed_bytes_do_not_contain_the_plaintext_and_differ_each_time() {
        let key = TokenKey::generate();
        let a = key.seal(42, TOKEN);
        let b = key.seal(42, TOKEN);
        assert_ne!(a, b);
        assert!(
            !a.windows(8)
                .any(|w| TOKEN.as_bytes().windows(8).any(|t| t == w))
        );
        assert_eq!(a.len(), 1 + NONCE_LEN + TOKEN.len() + TAG_LEN);
    }

    #[test]
    fn keys_parse_from_standard_or_url_safe_base64_with_or_without_padding() {
        let bytes: Vec<u8> = (0..32).map(|i| 250 - i).collect(); // has +/ vs -_ characters
        let padded = base64::engine::general_purpose::STANDARD.encode(&bytes);
        let url = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&bytes);
        assert!(padded.ends_with('=') && padded.contains(['+', '/']));
        let key = TokenKey::parse(&padded).unwrap();
        for text in [
            padded.trim_end_matches('=').to_string(),
            url.clone(),
            format!("{url}="),
            format!("  {padded}\n"),
        ] {
            assert_eq!(TokenKey::parse(&text).unwrap().0, key.0, "{text}");
        }
    }

    #[test]
    fn a_key_of_the_wrong_size_says_how_many_bytes_it_had() {
        let short = base64::engine::general_purpose::STANDARD.encode([1u8; 16]);
        let error = TokenKey::parse(&short).unwrap_err();
        assert_eq!(error, KeyError::WrongLength(16));
        assert_eq!(
            error.to_string(),
            "must be 32 bytes of base64, e.g. from `openssl rand -base64 32`; got 16 bytes"
        );
    }

    #[test]
    fn text_that_is_not_base64_is_refused_without_echoing_it() {
        let error = TokenKey::parse("not a key!").unwrap_err();
        assert_eq!(error, KeyError::NotBase64);
        assert!(!error.to_string().contains("not a key!"));
    }

    /// What sealing looked like before key ids: `nonce ‖ ciphertext`.
    fn sealed_without_key_id(key: &TokenKey, user: u64) -> Vec<u8> {
        key.seal(user, TOKEN)[1..].to_vec()
    }

    #[test]
    fn tokens_sealed_before_key_ids_still_open_and_are_marked_for_sealing_again() {
        let key = TokenKey::generate();
        let old = sealed_without_key_id(&key, 42);
        assert_eq!(key.open(42, &old).unwrap().expose(), TOKEN);
        let opened = Keyring::from(key.clone()).open(42, &old).unwrap();
        assert_eq!(opened.secret.expose(), TOKEN);
        assert!(opened.stale);
        let fresh =
            Keyring::from(key).open(42, &Keyring::from(TokenKey::generate()).seal(42, TOKEN));
        assert!(fresh.is_err(), "another key's blob");
    }

    #[test]
    fn a_rotated_keyring_opens_old_blobs_with_the_previous_key_and_seals_with_the_new_one() {
        let (old, new) = (TokenKey::generate(), TokenKey::generate());
        let before = old.seal(42, TOKEN);
        let legacy = sealed_without_key_id(&old, 42);
        let ring = Keyring::new(new.clone(), Some(old.clone()));
        for blob in [&before, &legacy] {
            let opened = ring.open(42, blob).unwrap();
            assert_eq!(opened.secret.expose(), TOKEN);
            assert!(opened.stale, "sealed with the previous key");
        }
        let resealed = ring.seal(42, TOKEN);
        let opened = ring.open(42, &resealed).unwrap();
        assert!(!opened.stale);
        // The new blob no longer needs the old key, and the old key can't open it.
        assert!(Keyring::from(new).open(42, &resealed).is_ok());
        assert!(old.open(42, &resealed).is_err());
        // Without the previous key, old blobs don't open.
        assert!(
            Keyring::from(TokenKey::generate())
                .open(42, &before)
                .is_err()
        );
        // Another user's id still refuses, whichever key.
        assert!(ring.open(43, &before).is_err());
    }

    #[test]
    fn debug_does_not_show_the_key() {
        let key = TokenKey::parse(&"A".repeat(43)).unwrap();
        assert_eq!(format!("{key:?}"), "TokenKey([redacted])");
    }
}
