//! `X-Hub-Signature-256` verification: HMAC-SHA256 of the raw body, compared in constant time,
//! before anything in the body is looked at.

use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::config::Secret;

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("missing X-Hub-Signature-256 header")]
    Missing,
    #[error("X-Hub-Signature-256 is not `sha256=` followed by 64 hex digits")]
    Malformed,
    #[error("signature does not match")]
    Mismatch,
}

/// The digest an `X-Hub-Signature-256` header claims, checked for form only. Cheap, so that a
/// request without a well-formed signature is refused before its body is read.
pub fn claimed_digest(header: Option<&[u8]>) -> Result<[u8; 32], SignatureError> {
    let header = header.ok_or(SignatureError::Missing)?;
    let hex_part = header
        .strip_prefix(b"sha256=")
        .ok_or(SignatureError::Malformed)?;
    if hex_part.len() != 64 {
        return Err(SignatureError::Malformed);
    }
    let mut expected = [0u8; 32];
    hex::decode_to_slice(hex_part, &mut expected).map_err(|_| SignatureError::Malformed)?;
    Ok(expected)
}

/// Accepts the body when its signature matches any configured secret (several are allowed
/// while a secret is being rotated).
pub fn verify(
    secrets: &[Secret],
    header: Option<&[u8]>,
    body: &[u8],
) -> Result<(), SignatureError> {
    let expected = claimed_digest(header)?;
    let mut ok = false;
    // Every secret is tried, so the time taken does not tell which one matched.
    for secret in secrets {
        let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret.expose().as_bytes()) else {
            continue;
        };
        mac.update(body);
        ok |= mac.verify_slice(&expected).is_ok();
    }
    if ok {
        Ok(())
    } else {
        Err(SignatureError::Mismatch)
    }
}

/// `sha256=<hex>` for a body: what GitHub sends, and what tests and benchmarks need.
pub fn sign(secret: &str, body: &[u8]) -> String {
    // HMAC accepts keys of any length, so this cannot fail.
    let mut mac = match Hmac::<Sha256>::new_from_slice(secret.as_bytes()) {
        Ok(m) => m,
        Err(_) => return String::new(),
    };
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn secrets(list: &[&str]) -> Vec<Secret> {
        list.iter().map(|s| Secret::new(*s)).collect()
    }

    #[test]
    fn github_documented_test_vector() {
        // From GitHub's "Validating webhook deliveries" documentation.
        let header = b"sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";
        assert_eq!(
            verify(
                &secrets(&["It's a Secret to Everybody"]),
                Some(header),
                b"Hello, World!"
            ),
            Ok(())
        );
        assert_eq!(
            sign("It's a Secret to Everybody", b"Hello, World!").as_bytes(),
            header
        );
    }

    #[test]
    fn rotation_accepts_either_secret() {
        let body = b"{}";
        let sig = sign("new", body);
        assert!(verify(&secrets(&["old", "new"]), Some(sig.as_bytes()), body).is_ok());
        assert_eq!(
            verify(&secrets(&["old"]), Some(sig.as_bytes()), body),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn malformed_headers() {
        let s = secrets(&["k"]);
        assert_eq!(verify(&s, None, b"x"), Err(SignatureError::Missing));
        assert_eq!(
            verify(&s, Some(b"sha1=abc"), b"x"),
            Err(SignatureError::Malformed)
        );
        assert_eq!(
            verify(&s, Some(b"sha256=abc"), b"x"),
            Err(SignatureError::Malformed)
        );
        let not_hex = format!("sha256={}", "z".repeat(64));
        assert_eq!(
            verify(&s, Some(not_hex.as_bytes()), b"x"),
            Err(SignatureError::Malformed)
        );
        assert_eq!(
            verify(&[], Some(sign("k", b"x").as_bytes()), b"x"),
            Err(SignatureError::Mismatch)
        );
    }

    proptest! {
        #[test]
        fn any_body_change_is_rejected(body in proptest::collection::vec(any::<u8>(), 0..512),
                                       idx in any::<usize>(), flip in 1u8..=255) {
            let sig = sign("secret", &body);
            prop_assert!(verify(&secrets(&["secret"]), Some(sig.as_bytes()), &body).is_ok());
            let mut tampered = body.clone();
            if tampered.is_empty() {
                tampered.push(flip);
            } else {
                let i = idx % tampered.len();
                tampered[i] ^= flip;
            }
            prop_assert_eq!(verify(&secrets(&["secret"]), Some(sig.as_bytes()), &tampered),
                            Err(SignatureError::Mismatch));
        }

        #[test]
        fn any_signature_change_is_rejected(body in proptest::collection::vec(any::<u8>(), 0..256),
                                            idx in 7usize..71, c in "[0-9a-f]") {
            let sig = sign("secret", &body);
            let mut bytes = sig.into_bytes();
            let replacement = c.as_bytes()[0];
            prop_assume!(bytes[idx] != replacement);
            bytes[idx] = replacement;
            prop_assert!(verify(&secrets(&["secret"]), Some(&bytes), &body).is_err());
        }

        #[test]
        fn arbitrary_headers_never_panic(header in proptest::collection::vec(any::<u8>(), 0..100)) {
            let _ = verify(&secrets(&["secret"]), Some(&header), b"body");
        }
    }
}
