//! The public surface against published vectors (testdata/signature-vectors.json), and the
//! edges a receiver meets: rotation lists, the tolerance window, malformed headers.

use std::time::Duration;

use scanhook_verify::hmac::{self, Encoding};
use scanhook_verify::standard::{self, Verifier};
use scanhook_verify::{VerifyError, bearer, ed25519, hmac_hex};
use serde_json::Value;

fn cases(kind: &str) -> Vec<Value> {
    let raw = include_str!("../../../testdata/signature-vectors.json");
    let all: Value = serde_json::from_str(raw).expect("vectors parse");
    let cases = all[kind].as_array().cloned().unwrap_or_default();
    assert!(!cases.is_empty(), "no {kind} vectors");
    cases
}

fn field(case: &Value, key: &str) -> String {
    case[key].as_str().unwrap_or_else(|| panic!("vector field {key}")).to_string()
}

#[test]
fn standard_webhooks_published_vectors() {
    for case in cases("standard_webhooks") {
        let (secret, id, ts, body) =
            (field(&case, "secret"), field(&case, "msg_id"), field(&case, "timestamp"), field(&case, "payload"));
        let expected = field(&case, "expected");
        let now: i64 = ts.parse().expect("timestamp");
        assert_eq!(standard::sign(&secret, &id, now, body.as_bytes()), expected, "{}", field(&case, "source"));

        let verifier = Verifier::new(&secret);
        verifier.verify(&id, &ts, &expected, body.as_bytes(), now).expect("verifies");
        standard::verify(&secret, &id, &ts, &expected, body.as_bytes(), now, 300).expect("verifies");
        // Unknown versions are skipped, not fatal.
        verifier.verify(&id, &ts, &format!("v2,abc {expected}"), body.as_bytes(), now).expect("v2 ignored");
        assert_eq!(verifier.verify(&id, &ts, &expected, b"tampered", now), Err(VerifyError::Mismatch));
        assert_eq!(verifier.verify("msg_other", &ts, &expected, body.as_bytes(), now), Err(VerifyError::Mismatch));
        assert_eq!(
            Verifier::new("whsec_AAAAAAAAAAAAAAAAAAAAAAAA").verify(&id, &ts, &expected, body.as_bytes(), now),
            Err(VerifyError::Mismatch)
        );
    }
}

#[test]
fn hex_vectors_including_githubs_documented_example() {
    for case in cases("hmac_sha256_hex") {
        let (secret, prefix, body, expected) =
            (field(&case, "secret"), field(&case, "prefix"), field(&case, "payload"), field(&case, "expected"));
        assert_eq!(hmac::sign(&secret, &prefix, Encoding::Hex, body.as_bytes()), expected);
        assert_eq!(hmac_hex::sign(&secret, &prefix, body.as_bytes()), expected);
        hmac::verify(&secret, &prefix, Encoding::Hex, &expected, body.as_bytes()).expect("verifies");
        hmac_hex::verify(&secret, &prefix, &expected, body.as_bytes()).expect("verifies");
        hmac_hex::verify(&secret, &prefix, &expected.to_uppercase().replace("SHA256=", "sha256="), body.as_bytes())
            .expect("hex is case-insensitive");
        assert_eq!(hmac_hex::verify(&secret, &prefix, &expected, b"other"), Err(VerifyError::Mismatch));
    }
    // Pinned here too, so a change to the data file cannot drop it.
    hmac_hex::verify(
        "It's a Secret to Everybody",
        "sha256=",
        "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17",
        b"Hello, World!",
    )
    .expect("GitHub's X-Hub-Signature-256 example");
}

#[test]
fn base64_vectors() {
    for case in cases("hmac_sha256_base64") {
        let (secret, body, expected) = (field(&case, "secret"), field(&case, "payload"), field(&case, "expected"));
        assert_eq!(hmac::sign(&secret, "", Encoding::Base64, body.as_bytes()), expected);
        hmac::verify(&secret, "", Encoding::Base64, &expected, body.as_bytes()).expect("verifies");
        let prefixed = format!("sha256={expected}");
        assert_eq!(hmac::sign(&secret, "sha256=", Encoding::Base64, body.as_bytes()), prefixed);
        hmac::verify(&secret, "sha256=", Encoding::Base64, &prefixed, body.as_bytes()).expect("prefixed verifies");
        assert_eq!(hmac::verify(&secret, "", Encoding::Base64, &expected, b"x"), Err(VerifyError::Mismatch));
    }
}

#[test]
fn rotation_lists_verify_with_either_secret() {
    let body = br#"{"type":"scan.completed"}"#;
    let (old, new) = ("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD");

    let header = standard::sign_all(&[new, old], "evt_1", 1000, body);
    assert_eq!(
        header,
        format!("{} {}", standard::sign(new, "evt_1", 1000, body), standard::sign(old, "evt_1", 1000, body))
    );
    for secret in [old, new] {
        Verifier::new(secret).verify("evt_1", "1000", &header, body, 1000).expect("either secret verifies");
    }
    assert_eq!(
        Verifier::new("whsec_AAAAAAAAAAAAAAAAAAAAAAAA").verify("evt_1", "1000", &header, body, 1000),
        Err(VerifyError::Mismatch)
    );

    for encoding in [Encoding::Hex, Encoding::Base64] {
        let header = hmac::sign_all(&[new, old], "sha256=", encoding, body);
        assert_eq!(header.split(", ").count(), 2, "{header}");
        for secret in [old, new] {
            hmac::verify(secret, "sha256=", encoding, &header, body).expect("either secret verifies");
        }
        assert_eq!(hmac::verify("third", "sha256=", encoding, &header, body), Err(VerifyError::Mismatch));
        // A garbled entry beside a good one does not spoil it.
        hmac::verify(old, "sha256=", encoding, &format!("garbage, {header}"), body).expect("garbage skipped");
    }
    hmac_hex::verify(old, "sha256=", &hmac::sign_all(&[new, old], "sha256=", Encoding::Hex, body), body)
        .expect("the hex shorthand takes lists too");
}

#[test]
fn tolerance_edges() {
    let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    let body = b"{}";
    let ts = 1_700_000_000;
    let sig = standard::sign(secret, "evt_1", ts, body);
    let check = |v: &Verifier, now: i64| v.verify("evt_1", "1700000000", &sig, body, now);

    let default = Verifier::new(secret);
    assert_eq!(check(&default, ts + 300), Ok(()), "exactly 5 minutes old");
    assert_eq!(check(&default, ts - 300), Ok(()), "exactly 5 minutes ahead");
    assert_eq!(check(&default, ts + 301), Err(VerifyError::TimestampOutOfTolerance(301)));
    assert_eq!(check(&default, ts - 301), Err(VerifyError::TimestampOutOfTolerance(-301)));

    let strict = Verifier::new(secret).with_tolerance(Duration::from_secs(10));
    assert_eq!(check(&strict, ts + 10), Ok(()));
    assert_eq!(check(&strict, ts + 11), Err(VerifyError::TimestampOutOfTolerance(11)));

    // The replay window is checked before the signature: an old, valid delivery fails on time.
    assert_eq!(check(&default, i64::MIN), Err(VerifyError::TimestampOutOfTolerance(i64::MIN)));
    assert!(matches!(
        default.verify("evt_1", "-9223372036854775808", &sig, body, i64::MAX),
        Err(VerifyError::TimestampOutOfTolerance(_))
    ));
    // The system clock is today, far from 2023's timestamp.
    assert!(matches!(
        default.verify_now("evt_1", "1700000000", &sig, body),
        Err(VerifyError::TimestampOutOfTolerance(_))
    ));
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("clock").as_secs() as i64;
    let fresh = standard::sign(secret, "evt_1", now, body);
    default.verify_now("evt_1", &now.to_string(), &fresh, body).expect("a fresh delivery verifies");
}

#[test]
fn bad_standard_headers() {
    let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    let v = Verifier::new(secret);
    let sig = standard::sign(secret, "evt_1", 1000, b"{}");
    assert_eq!(v.verify("", "1000", &sig, b"{}", 1000), Err(VerifyError::MissingHeader("webhook-id")));
    assert_eq!(v.verify("evt_1", " ", &sig, b"{}", 1000), Err(VerifyError::MissingHeader("webhook-timestamp")));
    assert_eq!(v.verify("evt_1", "10.5", &sig, b"{}", 1000), Err(VerifyError::MalformedTimestamp));
    assert_eq!(v.verify("evt_1", "2023-11-14", &sig, b"{}", 1000), Err(VerifyError::MalformedTimestamp));
    assert_eq!(v.verify("evt_1", "1000", "", b"{}", 1000), Err(VerifyError::MissingSignature));
    assert_eq!(v.verify("evt_1", "1000", "garbage", b"{}", 1000), Err(VerifyError::MalformedSignature("no v1 entry")));
    assert_eq!(v.verify("evt_1", "1000", "v2,abc", b"{}", 1000), Err(VerifyError::MalformedSignature("no v1 entry")));
    assert_eq!(v.verify("evt_1", "1000", "v1,not-base64!", b"{}", 1000), Err(VerifyError::Mismatch));
    let truncated = &sig[..sig.len() - 4];
    assert_eq!(v.verify("evt_1", "1000", truncated, b"{}", 1000), Err(VerifyError::Mismatch));
}

#[test]
fn bad_hmac_headers() {
    let good = hmac::sign("s", "sha256=", Encoding::Hex, b"{}");
    assert_eq!(hmac::verify("s", "sha256=", Encoding::Hex, "  ", b"{}"), Err(VerifyError::MissingSignature));
    let missing_prefix = good.trim_start_matches("sha256=");
    assert!(matches!(
        hmac::verify("s", "sha256=", Encoding::Hex, missing_prefix, b"{}"),
        Err(VerifyError::MalformedSignature(_))
    ));
    assert!(matches!(
        hmac::verify("s", "sha256=", Encoding::Hex, "sha256=xyz", b"{}"),
        Err(VerifyError::MalformedSignature(_))
    ));
    let base64 = hmac::sign("s", "sha256=", Encoding::Base64, b"{}");
    assert!(matches!(
        hmac::verify("s", "sha256=", Encoding::Hex, &base64, b"{}"),
        Err(VerifyError::MalformedSignature(_))
    ));
    // Too short or too long a tag decodes but never matches.
    assert_eq!(hmac::verify("s", "sha256=", Encoding::Hex, &good[..good.len() - 2], b"{}"), Err(VerifyError::Mismatch));
    assert_eq!(hmac::verify("s", "sha256=", Encoding::Hex, &format!("{good}00"), b"{}"), Err(VerifyError::Mismatch));
    assert_eq!(hmac::verify("s", "", Encoding::Hex, "", b"{}"), Err(VerifyError::MissingSignature));
}

#[test]
fn bearer_tokens() {
    bearer::verify("tok_123", "Bearer tok_123").expect("exact");
    bearer::verify("tok_123", "bearer  tok_123 ").expect("scheme case and spaces");
    assert_eq!(bearer::verify("tok_123", ""), Err(VerifyError::MissingHeader("Authorization")));
    assert_eq!(bearer::verify("tok_123", "tok_123"), Err(VerifyError::NotBearer));
    assert_eq!(bearer::verify("tok_123", "Basic tok_123"), Err(VerifyError::NotBearer));
    assert_eq!(bearer::verify("tok_123", "Bearer tok_1234"), Err(VerifyError::Mismatch));
    assert_eq!(bearer::verify("tok_123", "Bearer "), Err(VerifyError::NotBearer));
    assert_eq!(bearer::verify("", "Bearer x"), Err(VerifyError::Mismatch), "an unset token never matches");
}

#[test]
fn ed25519_published_vectors() {
    for case in cases("standard_webhooks_ed25519") {
        let (secret, public, id, ts, body) = (
            field(&case, "secret_key"),
            field(&case, "public_key"),
            field(&case, "msg_id"),
            field(&case, "timestamp"),
            field(&case, "payload"),
        );
        let expected = field(&case, "expected");
        let now: i64 = ts.parse().expect("timestamp");
        let key = ed25519::SecretKey::parse(&secret).expect("the published whsk_ key reads");
        assert_eq!(key.to_whsk(), secret, "written back as it was published");
        assert_eq!(key.public_key().to_string(), public);
        // Ed25519 is deterministic: the same key and content give the published bytes.
        assert_eq!(key.sign(&id, now, body.as_bytes()), expected, "{}", field(&case, "source"));

        let verifier = ed25519::Verifier::new(ed25519::PublicKey::parse(&public).expect("whpk_ reads"));
        verifier.verify(&id, &ts, &expected, body.as_bytes(), now).expect("verifies");
        // Beside a v1 entry, as the spec's example header has it.
        let mixed = format!("v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE= {expected}");
        verifier.verify(&id, &ts, &mixed, body.as_bytes(), now).expect("v1 entries are skipped");
        assert_eq!(verifier.verify(&id, &ts, &expected, b"tampered", now), Err(VerifyError::Mismatch));
        assert_eq!(verifier.verify("msg_other", &ts, &expected, body.as_bytes(), now), Err(VerifyError::Mismatch));
        let other = ed25519::Verifier::new(ed25519::SecretKey::from_seed([3; 32]).public_key());
        assert_eq!(other.verify(&id, &ts, &expected, body.as_bytes(), now), Err(VerifyError::Mismatch));
    }
    for case in cases("standard_webhooks_ed25519_keys") {
        let key = ed25519::SecretKey::parse(&field(&case, "secret_key")).expect("reads");
        assert_eq!(key.public_key().to_string(), field(&case, "public_key"), "{}", field(&case, "source"));
    }
}

#[test]
fn ed25519_rotation_and_bad_headers() {
    let body = br#"{"type":"scan.completed"}"#;
    let (old, new) = (ed25519::SecretKey::from_seed([1; 32]), ed25519::SecretKey::from_seed([2; 32]));
    let header = ed25519::sign_all(&[new.clone(), old.clone()], "evt_1", 1000, body);
    assert_eq!(header, format!("{} {}", new.sign("evt_1", 1000, body), old.sign("evt_1", 1000, body)));
    for key in [&old, &new] {
        ed25519::Verifier::new(key.public_key()).verify("evt_1", "1000", &header, body, 1000).expect("either verifies");
    }
    let third = ed25519::Verifier::new(ed25519::SecretKey::from_seed([3; 32]).public_key());
    assert_eq!(third.verify("evt_1", "1000", &header, body, 1000), Err(VerifyError::Mismatch));

    let v = ed25519::Verifier::new(new.public_key()).with_tolerance(Duration::from_secs(10));
    let sig = new.sign("evt_1", 1000, body);
    assert_eq!(v.verify("evt_1", "1000", &sig, body, 1010), Ok(()));
    assert_eq!(v.verify("evt_1", "1000", &sig, body, 1011), Err(VerifyError::TimestampOutOfTolerance(11)));
    assert_eq!(v.verify("", "1000", &sig, body, 1000), Err(VerifyError::MissingHeader("webhook-id")));
    assert_eq!(v.verify("evt_1", "", &sig, body, 1000), Err(VerifyError::MissingHeader("webhook-timestamp")));
    assert_eq!(v.verify("evt_1", "1e3", &sig, body, 1000), Err(VerifyError::MalformedTimestamp));
    assert_eq!(v.verify("evt_1", "1000", " ", body, 1000), Err(VerifyError::MissingSignature));
    // An HMAC signature is not an Ed25519 one, whatever its key.
    let hmac_only = standard::sign("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "evt_1", 1000, body);
    assert_eq!(v.verify("evt_1", "1000", &hmac_only, body, 1000), Err(VerifyError::MalformedSignature("no v1a entry")));
    // Garbled, truncated or re-labelled entries never match and do not spoil a good one.
    assert_eq!(v.verify("evt_1", "1000", "v1a,not-base64!", body, 1000), Err(VerifyError::Mismatch));
    assert_eq!(v.verify("evt_1", "1000", &sig[..sig.len() - 4], body, 1000), Err(VerifyError::Mismatch));
    v.verify("evt_1", "1000", &format!("v1a,AAAA {sig}"), body, 1000).expect("a garbled entry is skipped");
    let relabelled = sig.replacen("v1a,", "v1,", 1);
    assert_eq!(
        v.verify("evt_1", "1000", &relabelled, body, 1000),
        Err(VerifyError::MalformedSignature("no v1a entry"))
    );
}

#[test]
fn ed25519_keys_are_checked() {
    use ed25519::{KeyError, PublicKey, SecretKey};
    let key = SecretKey::from_seed([5; 32]);
    assert_eq!(SecretKey::parse("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap_err(), KeyError::Prefix("whsk_"));
    assert_eq!(SecretKey::parse("whsk_***").unwrap_err(), KeyError::NotBase64);
    assert_eq!(SecretKey::parse("whsk_AAAA").unwrap_err(), KeyError::Length(3, "64 (or 32)"));
    // A key pair whose public half belongs to another seed.
    let mut pair = key.to_whsk();
    pair.replace_range(50..54, "AAAA");
    assert_eq!(SecretKey::parse(&pair).unwrap_err(), KeyError::MismatchedPair);
    // A public key is not a secret key, and the other way round.
    let public = key.public_key().to_string();
    assert_eq!(SecretKey::parse(&public).unwrap_err(), KeyError::Prefix("whsk_"));
    assert_eq!(PublicKey::parse(&key.to_whsk()).unwrap_err(), KeyError::Prefix("whpk_"));
    assert!(matches!(PublicKey::parse("whpk_AAAA").unwrap_err(), KeyError::Length(3, _)));
    // 32 bytes that are no point of the curve (y = 2 has no x).
    let mut not_a_point = [0u8; 32];
    not_a_point[0] = 2;
    let text = format!("whpk_{}", base64_of(&not_a_point));
    assert_eq!(PublicKey::parse(&text).unwrap_err(), KeyError::NotAPublicKey);
}

fn base64_of(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}
