//! Passwords: the salted Argon2id hash the config keeps (never the password), and checking
//! HTTP basic credentials against it in constant time.

use std::sync::Mutex;

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use base64::Engine as _;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// Credentials remembered as verified (by SHA-256 of the header): Argon2 costs tens of
/// milliseconds by design, too much for every request of a client polling each second. A few
/// users or clients at most talk to one glint; 8 covers them and bounds the memory.
const VERIFIED_CACHE: usize = 8;

#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("cannot hash the password: {0}")]
    Hash(String),
    #[error(
        "the password hash in the config is not valid ({0}); make a new one with `glint --hash-password`"
    )]
    BadHash(String),
}

/// A new salted Argon2id hash of a password, as a PHC string (`$argon2id$v=19$...`).
pub fn hash_password(password: &str) -> Result<String, AuthError> {
    let salt = SaltString::generate(&mut password_hash::rand_core::OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| AuthError::Hash(e.to_string()))
}

/// Whether `text` is an Argon2 PHC string glint can verify against.
pub fn is_password_hash(text: &str) -> bool {
    PasswordHash::new(text).is_ok_and(|h| h.algorithm.as_str().starts_with("argon2"))
}

/// The one user allowed in, and the credentials already verified.
pub struct Credentials {
    username: String,
    hash: String,
    verified: Mutex<Vec<[u8; 32]>>,
}

impl Credentials {
    pub fn new(username: &str, hash: &str) -> Result<Credentials, AuthError> {
        PasswordHash::new(hash).map_err(|e| AuthError::BadHash(e.to_string()))?;
        Ok(Credentials {
            username: username.to_string(),
            hash: hash.to_string(),
            verified: Mutex::new(Vec::new()),
        })
    }

    /// Whether an `Authorization` header value carries the right user and password.
    pub fn check(&self, authorization: &str) -> bool {
        let digest: [u8; 32] = Sha256::digest(authorization.as_bytes()).into();
        {
            let verified = self.verified.lock().unwrap_or_else(|p| p.into_inner());
            // Compare with every entry, in constant time, so timing tells nothing.
            let mut hit = subtle::Choice::from(0);
            for known in verified.iter() {
                hit |= known.ct_eq(&digest);
            }
            if bool::from(hit) {
                return true;
            }
        }
        let Some((user, password)) = decode_basic(authorization) else {
            return false;
        };
        let Ok(hash) = PasswordHash::new(&self.hash) else {
            return false;
        };
        // Hashing both names makes the comparison constant-time whatever their lengths.
        let user_ok =
            Sha256::digest(user.as_bytes()).ct_eq(&Sha256::digest(self.username.as_bytes()));
        // The password is verified even for a wrong user: the time taken tells nothing.
        let password_ok = Argon2::default()
            .verify_password(password.as_bytes(), &hash)
            .is_ok();
        let ok = bool::from(user_ok) && password_ok;
        if ok {
            let mut verified = self.verified.lock().unwrap_or_else(|p| p.into_inner());
            if verified.len() == VERIFIED_CACHE {
                verified.remove(0);
            }
            verified.push(digest);
        }
        ok
    }
}

/// The `Authorization` value a client sends: `Basic base64(user:password)`.
pub fn basic_header(user: &str, password: &str) -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
    )
}

/// `Basic base64(user:password)` → (user, password).
fn decode_basic(authorization: &str) -> Option<(String, String)> {
    let (scheme, encoded) = authorization.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let text = String::from_utf8(bytes).ok()?;
    let (user, password) = text.split_once(':')?;
    Some((user.to_string(), password.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hash_verifies_its_password_only() {
        let hash = hash_password("s3cret").unwrap_or_else(|e| panic!("{e}"));
        assert!(hash.starts_with("$argon2id$"), "{hash}");
        assert!(is_password_hash(&hash));
        assert!(!is_password_hash("s3cret"));
        // Salted: the same password hashes differently each time.
        assert_ne!(hash, hash_password("s3cret").unwrap_or_default());
        let creds = Credentials::new("glint", &hash).unwrap_or_else(|e| panic!("{e}"));
        assert!(creds.check(&basic_header("glint", "s3cret")));
        // Again, from the verified cache.
        assert!(creds.check(&basic_header("glint", "s3cret")));
        assert!(!creds.check(&basic_header("glint", "wrong")));
        assert!(!creds.check(&basic_header("admin", "s3cret")));
        assert!(!creds.check("Bearer abc"));
        assert!(!creds.check("Basic !!!"));
    }

    #[test]
    fn a_bad_hash_is_refused_with_what_to_do() {
        let e = Credentials::new("glint", "plaintext")
            .err()
            .map(|e| e.to_string());
        assert!(e.is_some_and(|e| e.contains("glint --hash-password")));
    }
}
