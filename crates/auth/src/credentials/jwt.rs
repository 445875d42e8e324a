//! Short-lived access tokens: JWTs signed with HMAC-SHA256 under a key derived from the master
//! key. The algorithm is pinned, so `alg: none` and algorithm-confusion tokens are refused
//! before any signature is checked, and time is checked against the caller's clock.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::errors::{Error as JwtError, ErrorKind};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation, decode, encode};
use serde::{Deserialize, Serialize};

use super::{CredentialError, random_bytes};

/// Clock skew tolerated between the server that issued a token and the one checking it.
const LEEWAY_SECS: i64 = 30;

/// The claims of an access token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessClaims {
    /// The person's id.
    pub sub: String,
    /// The server-side session the token belongs to; logging out revokes it.
    pub sid: String,
    /// The id of the organisation the person acts for.
    pub org: String,
    /// Issued at, in seconds since the Unix epoch.
    pub iat: i64,
    /// Expires at, in seconds since the Unix epoch.
    pub exp: i64,
    /// The issuer: which dsms deployment signed the token.
    pub iss: String,
    /// The audience: what the token may be presented to.
    pub aud: String,
    /// A unique id for this token, for audit and log correlation.
    pub jti: String,
}

/// Issues and verifies access tokens for one deployment.
pub struct JwtKeys {
    // The raw secret rather than the library's key types: their constructors can fail (on an
    // empty secret), so they are built in `issue` and `verify`, which can report an error.
    secret: [u8; 32],
    issuer: String,
    audience: String,
    validation: Validation,
    kid: Option<String>,
}

impl JwtKeys {
    /// Keys signing with `secret` (normally `MasterKey::derive` for a named purpose), for tokens
    /// from `issuer` to `audience`.
    pub fn new(secret: [u8; 32], issuer: &str, audience: &str) -> Self {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.algorithms = vec![Algorithm::HS256];
        // The library would read the system clock; `verify` checks times against the clock it is
        // given instead, so tests and the server agree on what "now" is.
        validation.validate_exp = false;
        validation.validate_nbf = false;
        validation.leeway = 0;
        validation.set_issuer(&[issuer]);
        validation.set_audience(&[audience]);
        // The library enforces exp, iss, aud and sub; `iat` (and `sid`, `org`, `jti`) are
        // required by `AccessClaims` having no defaults.
        validation.set_required_spec_claims(&["exp", "iat", "iss", "aud", "sub"]);
        Self {
            secret,
            issuer: issuer.to_owned(),
            audience: audience.to_owned(),
            validation,
            kid: None,
        }
    }

    /// The same keys, naming themselves `kid` in the header of the tokens they issue, so a
    /// verifier holding several keys (during a rotation) knows which one to check with.
    pub fn with_key_id(mut self, kid: &str) -> Self {
        self.kid = Some(kid.to_owned());
        self
    }

    /// A signed token for `person_id` acting for `organisation_id` in `session_id`, issued at
    /// `now_unix` and valid for `ttl_secs`.
    pub fn issue(
        &self,
        person_id: i64,
        organisation_id: i64,
        session_id: &str,
        now_unix: i64,
        ttl_secs: i64,
    ) -> Result<String, CredentialError> {
        if ttl_secs <= 0 {
            return Err(CredentialError::Signing(format!(
                "the lifetime must be positive, not {ttl_secs} s"
            )));
        }
        let claims = AccessClaims {
            sub: person_id.to_string(),
            sid: session_id.to_owned(),
            org: organisation_id.to_string(),
            iat: now_unix,
            exp: now_unix.saturating_add(ttl_secs),
            iss: self.issuer.clone(),
            aud: self.audience.clone(),
            jti: URL_SAFE_NO_PAD.encode(random_bytes::<16>()),
        };
        let key = EncodingKey::from_secret(&self.secret)
            .map_err(|e| CredentialError::Signing(e.to_string()))?;
        let header = Header {
            kid: self.kid.clone(),
            ..Header::new(Algorithm::HS256)
        };
        encode(&header, &claims, &key).map_err(|e| CredentialError::Signing(e.to_string()))
    }

    /// The claims of `token` if it is an HS256 token signed with these keys, for this issuer and
    /// audience, carrying every claim, issued no later than `now_unix` and not yet expired
    /// (both within 30 seconds of leeway).
    pub fn verify(&self, token: &str, now_unix: i64) -> Result<AccessClaims, CredentialError> {
        let key = DecodingKey::from_secret(&self.secret)
            .map_err(|e| CredentialError::Token(reason(&e)))?;
        let claims = decode::<AccessClaims>(token, &key, &self.validation)
            .map_err(|e| CredentialError::Token(reason(&e)))?
            .claims;
        if now_unix >= claims.exp.saturating_add(LEEWAY_SECS) {
            return Err(CredentialError::Token("expired".to_owned()));
        }
        if claims.iat > now_unix.saturating_add(LEEWAY_SECS) {
            return Err(CredentialError::Token("issued in the future".to_owned()));
        }
        if claims.exp <= claims.iat {
            return Err(CredentialError::Token(
                "expires before it was issued".to_owned(),
            ));
        }
        Ok(claims)
    }
}

/// The key id a token's header names, if any. Read before the signature is checked, only to
/// choose the key to check it with.
pub fn key_id(token: &str) -> Result<Option<String>, CredentialError> {
    jsonwebtoken::decode_header(token)
        .map(|header| header.kid)
        .map_err(|e| CredentialError::Token(reason(&e)))
}

impl fmt::Debug for JwtKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JwtKeys")
            .field("issuer", &self.issuer)
            .field("audience", &self.audience)
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

/// Why the library refused a token, in words for the log.
fn reason(error: &JwtError) -> String {
    match error.kind() {
        ErrorKind::InvalidAlgorithm
        | ErrorKind::InvalidAlgorithmName
        | ErrorKind::UnsupportedAlgorithm => "algorithm not allowed".to_owned(),
        ErrorKind::InvalidSignature => "bad signature".to_owned(),
        ErrorKind::InvalidIssuer => "wrong issuer".to_owned(),
        ErrorKind::InvalidAudience => "wrong audience".to_owned(),
        ErrorKind::MissingRequiredClaim(claim) => format!("missing claim {claim}"),
        _ => error.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use hmac::{Hmac, KeyInit, Mac};
    use serde_json::{Value, json};
    use sha2::{Sha256, Sha384, Sha512};

    use super::*;

    const SECRET: [u8; 32] = [0x5a; 32];
    const NOW: i64 = 1_790_000_000;

    fn keys() -> JwtKeys {
        JwtKeys::new(SECRET, "https://dsms.example", "dsms-api")
    }

    fn part(value: &Value) -> String {
        URL_SAFE_NO_PAD.encode(value.to_string())
    }

    fn valid_claims() -> Value {
        json!({
            "sub": "42", "sid": "session-1", "org": "7", "iat": NOW, "exp": NOW + 900,
            "iss": "https://dsms.example", "aud": "dsms-api", "jti": "j-1",
        })
    }

    /// A token assembled by hand and signed with HMAC over `secret`, as an attacker would.
    fn forge(header: Value, claims: &Value, alg: &str, secret: &[u8]) -> String {
        let input = format!("{}.{}", part(&header), part(claims));
        let signature = match alg {
            "HS256" => mac::<Hmac<Sha256>>(secret, &input),
            "HS384" => mac::<Hmac<Sha384>>(secret, &input),
            "HS512" => mac::<Hmac<Sha512>>(secret, &input),
            _ => unreachable!("{alg}"),
        };
        format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature))
    }

    fn mac<M: Mac + KeyInit>(secret: &[u8], input: &str) -> Vec<u8> {
        let mut mac = <M as KeyInit>::new_from_slice(secret).unwrap();
        mac.update(input.as_bytes());
        mac.finalize().into_bytes().to_vec()
    }

    fn hs256(claims: &Value) -> String {
        forge(
            json!({"alg": "HS256", "typ": "JWT"}),
            claims,
            "HS256",
            &SECRET,
        )
    }

    fn rejection(token: &str) -> String {
        match keys().verify(token, NOW) {
            Err(CredentialError::Token(reason)) => reason,
            other => panic!("expected a rejection, got {other:?}"),
        }
    }

    #[test]
    fn issued_tokens_verify_with_their_claims() {
        let keys = keys();
        let token = keys.issue(42, 7, "session-1", NOW, 900).unwrap();
        let header = jsonwebtoken::decode_header(&token).unwrap();
        assert_eq!(header.alg, Algorithm::HS256);
        let claims = keys.verify(&token, NOW + 10).unwrap();
        assert_eq!(
            (
                claims.sub.as_str(),
                claims.sid.as_str(),
                claims.org.as_str()
            ),
            ("42", "session-1", "7")
        );
        assert_eq!((claims.iat, claims.exp), (NOW, NOW + 900));
        assert_eq!(claims.iss, "https://dsms.example");
        assert_eq!(claims.aud, "dsms-api");
        let other = keys
            .verify(&keys.issue(42, 7, "session-1", NOW, 900).unwrap(), NOW)
            .unwrap();
        assert_ne!(claims.jti, other.jti);
        assert!(keys.issue(42, 7, "session-1", NOW, 0).is_err());
    }

    #[test]
    fn a_hand_made_token_verifies_so_the_forgeries_below_are_meaningful() {
        let claims = keys().verify(&hs256(&valid_claims()), NOW).unwrap();
        assert_eq!(claims.jti, "j-1");
    }

    #[test]
    fn expiry_is_checked_against_the_given_clock_with_30_seconds_leeway() {
        let keys = keys();
        let token = keys.issue(42, 7, "s", NOW, 60).unwrap();
        assert!(keys.verify(&token, NOW + 60 + 29).is_ok());
        let error = keys.verify(&token, NOW + 60 + 30).unwrap_err();
        assert!(
            matches!(&error, CredentialError::Token(r) if r == "expired"),
            "{error}"
        );
        assert!(keys.verify(&token, NOW + 86_400).is_err());
    }

    #[test]
    fn tokens_issued_in_the_future_are_rejected() {
        let keys = keys();
        let token = keys.issue(42, 7, "s", NOW + 31, 900).unwrap();
        assert_eq!(rejection(&token), "issued in the future");
        assert!(
            keys.verify(&keys.issue(42, 7, "s", NOW + 30, 900).unwrap(), NOW)
                .is_ok()
        );
        let mut backwards = valid_claims();
        backwards["exp"] = json!(NOW - 10);
        backwards["iat"] = json!(NOW);
        assert_eq!(
            rejection(&hs256(&backwards)),
            "expires before it was issued"
        );
    }

    #[test]
    fn the_wrong_issuer_or_audience_is_rejected() {
        let token = keys().issue(42, 7, "s", NOW, 900).unwrap();
        let elsewhere = JwtKeys::new(SECRET, "https://other.example", "dsms-api");
        assert!(
            matches!(elsewhere.verify(&token, NOW), Err(CredentialError::Token(r)) if r == "wrong issuer")
        );
        let other_audience = JwtKeys::new(SECRET, "https://dsms.example", "dsms-web");
        assert!(
            matches!(other_audience.verify(&token, NOW), Err(CredentialError::Token(r)) if r == "wrong audience")
        );
        let mut list = valid_claims();
        list["aud"] = json!(["dsms-api", "other"]);
        assert!(keys().verify(&hs256(&list), NOW).is_err());
    }

    #[test]
    fn a_token_signed_with_another_key_is_rejected() {
        let token = JwtKeys::new([0x5b; 32], "https://dsms.example", "dsms-api")
            .issue(42, 7, "s", NOW, 900)
            .unwrap();
        assert_eq!(rejection(&token), "bad signature");
    }

    #[test]
    fn tokens_name_their_key_id_when_the_keys_have_one() {
        let plain = keys().issue(7, 3, "sid", NOW, 900).expect("issue");
        assert_eq!(key_id(&plain).expect("header"), None);
        let named = keys()
            .with_key_id("k2")
            .issue(7, 3, "sid", NOW, 900)
            .expect("issue");
        assert_eq!(key_id(&named).expect("header").as_deref(), Some("k2"));
        assert!(
            keys().verify(&named, NOW).is_ok(),
            "the id selects, the key verifies"
        );
        assert!(key_id("not-a-token").is_err());
    }

    #[test]
    fn alg_none_is_rejected() {
        let header = json!({"alg": "none", "typ": "JWT"});
        let unsigned = format!("{}.{}.", part(&header), part(&valid_claims()));
        rejection(&unsigned);
        let header = json!({"alg": "None", "typ": "JWT"});
        rejection(&format!("{}.{}.", part(&header), part(&valid_claims())));
    }

    #[test]
    fn other_hmac_algorithms_with_the_same_secret_are_rejected() {
        for alg in ["HS384", "HS512"] {
            let token = forge(
                json!({"alg": alg, "typ": "JWT"}),
                &valid_claims(),
                alg,
                &SECRET,
            );
            assert_eq!(rejection(&token), "algorithm not allowed", "{alg}");
        }
    }

    #[test]
    fn an_rs256_header_is_rejected_even_with_a_valid_hmac() {
        // Algorithm confusion: the attacker signs with HMAC but claims RS256, hoping the verifier
        // treats the HMAC secret as a public key.
        let header = json!({"alg": "RS256", "typ": "JWT"});
        let token = forge(header, &valid_claims(), "HS256", &SECRET);
        assert_eq!(rejection(&token), "algorithm not allowed");
    }

    #[test]
    fn a_tampered_payload_is_rejected() {
        let token = keys().issue(42, 7, "s", NOW, 900).unwrap();
        let signature = token.rsplit('.').next().unwrap();
        let header = token.split('.').next().unwrap();
        let mut claims = valid_claims();
        claims["sub"] = json!("1");
        let tampered = format!("{header}.{}.{signature}", part(&claims));
        assert_eq!(rejection(&tampered), "bad signature");
        let mut flipped = token.clone().into_bytes();
        let middle = token.find('.').unwrap() + 5;
        flipped[middle] = if flipped[middle] == b'A' { b'B' } else { b'A' };
        rejection(&String::from_utf8(flipped).unwrap());
    }

    #[test]
    fn every_claim_is_required() {
        for claim in ["sub", "sid", "org", "iat", "exp", "iss", "aud", "jti"] {
            let mut claims = valid_claims();
            claims.as_object_mut().unwrap().remove(claim);
            let reason = rejection(&hs256(&claims));
            assert!(reason.contains(claim), "{claim}: {reason}");
        }
    }

    #[test]
    fn malformed_tokens_are_rejected() {
        for bad in [
            "",
            "abc",
            "a.b",
            "a.b.c",
            "a.b.c.d",
            "...",
            "\u{0}.\u{0}.\u{0}",
        ] {
            rejection(bad);
        }
        let token = keys().issue(42, 7, "s", NOW, 900).unwrap();
        rejection(&format!("{token}.extra"));
        rejection(&token.replacen('.', "", 1));
    }

    #[test]
    fn debug_does_not_show_the_secret() {
        let shown = format!("{:?}", keys());
        assert!(
            shown.contains("dsms-api") && !shown.contains("90, 90"),
            "{shown}"
        );
    }
}
