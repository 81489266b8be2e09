//! Local stand-in for API Gateway's JWT authorizer: HS256 tokens signed with a
//! per-run secret, checked for signature, expiry, issuer and audience as the
//! authorizer checks them, with the verified claims passed on in the event.

use jsonwebtoken::{decode, encode, Algorithm, DecodingKey, EncodingKey, Header, Validation};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

pub const ISSUER: &str = "https://local-stack.fluss.invalid";
pub const AUDIENCE: &str = "fluss-app";

#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    sub: String,
    iss: String,
    aud: String,
    iat: i64,
    exp: i64,
}

pub struct Authorizer {
    secret: Vec<u8>,
}

impl Authorizer {
    pub fn new_random() -> Self {
        let mut secret = vec![0u8; 32];
        rand::rng().fill_bytes(&mut secret);
        Self { secret }
    }

    /// A token for `sub`, valid for `valid_for`.
    pub fn mint(&self, sub: &str, valid_for: time::Duration) -> String {
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        let claims = Claims {
            sub: sub.into(),
            iss: ISSUER.into(),
            aud: AUDIENCE.into(),
            iat: now,
            exp: now + valid_for.whole_seconds(),
        };
        encode(&Header::new(Algorithm::HS256), &claims, &EncodingKey::from_secret(&self.secret)).unwrap_or_default()
    }

    /// The claims of a valid `Authorization: Bearer …` value, as strings the way
    /// API Gateway passes them to the function.
    pub fn verify(&self, authorization: Option<&str>) -> Option<HashMap<String, String>> {
        let token = authorization?.strip_prefix("Bearer ")?.trim();
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_issuer(&[ISSUER]);
        validation.set_audience(&[AUDIENCE]);
        let claims = decode::<Claims>(token, &DecodingKey::from_secret(&self.secret), &validation).ok()?.claims;
        Some(HashMap::from([
            ("sub".to_owned(), claims.sub),
            ("iss".to_owned(), claims.iss),
            ("aud".to_owned(), claims.aud),
            ("iat".to_owned(), claims.iat.to_string()),
            ("exp".to_owned(), claims.exp.to_string()),
        ]))
    }
}
