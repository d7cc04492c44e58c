//! Verification of access tokens (CONTRACT §6): ES256 only, signed with one of this
//! tenant's keys, issued for this tenant, and not expired by the server's clock.
//!
//! A signature check costs tens of microseconds, and a client sends the same token
//! with every request for its whole lifetime, so verified tokens are remembered, keyed
//! by the token's full text. A remembered token is accepted only while it has not
//! expired and while the key that signed it still verifies (a retired or superseded
//! key stops its tokens at once, cached or not).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use jsonwebtoken::{Algorithm, Validation};
use serde::{Deserialize, Serialize};

use super::keys::{self, KeyLookup, KeySet};
use crate::domain::Clock;
use crate::store::{Store, StoreError};

/// Access-token claims (CONTRACT §6).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Claims {
    pub tenant_id: String,
    pub org: String,
    pub pod: String,
    pub identity_id: Option<String>,
    pub user_name: Option<String>,
    pub authorities: Vec<String>,
    pub scope: Vec<String>,
    pub client_id: String,
    pub iat: i64,
    pub exp: i64,
    pub jti: String,
}

/// Why a token was refused; the text completes "JWT validation failed: …".
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error("JWT validation failed: {0}")]
    Refused(&'static str),
    /// The keys could not be re-read; not the token's fault.
    #[error(transparent)]
    Store(#[from] StoreError),
}

fn refused(why: &'static str) -> TokenError {
    TokenError::Refused(why)
}

/// The most tokens remembered at once; past it the oldest half is forgotten.
const CACHE_CAPACITY: usize = 10_000;

/// How many bytes of a token's text its cache slot is chosen by: the end of its
/// signature, which is random (a token is hundreds of bytes; hashing all of them
/// was a visible part of each request).
const HASHED_TAIL: usize = 32;

/// Hashes the last [`HASHED_TAIL`] bytes of each string (its signature's end), with
/// the standard library's keyed hash. Keys are compared whole, so tokens ending
/// alike only share a slot; and only verified tokens are ever stored, so nobody can
/// fill the cache with such tokens.
#[derive(Clone, Default)]
struct TailHash(std::hash::RandomState);

impl std::hash::BuildHasher for TailHash {
    type Hasher = TailHasher;

    fn build_hasher(&self) -> TailHasher {
        TailHasher(self.0.build_hasher())
    }
}

struct TailHasher(std::hash::DefaultHasher);

impl std::hash::Hasher for TailHasher {
    fn write(&mut self, bytes: &[u8]) {
        let tail = bytes.len().saturating_sub(HASHED_TAIL);
        self.0.write(bytes.get(tail..).unwrap_or(bytes));
    }

    fn finish(&self) -> u64 {
        self.0.finish()
    }
}

struct Verified {
    claims: Arc<Claims>,
    kid: String,
}

/// Verifies bearer tokens for one tenant.
pub struct Verifier {
    keys: Arc<KeySet>,
    store: Arc<dyn Store>,
    clock: Clock,
    tenant_id: String,
    /// How long a superseded key keeps verifying: every token it can have signed has
    /// expired by then (the token lifetime, plus the time other instances may still
    /// sign with it before they reload).
    grace: chrono::Duration,
    cache: Mutex<HashMap<Box<str>, Verified, TailHash>>,
}

impl Verifier {
    pub fn new(
        keys: Arc<KeySet>,
        store: Arc<dyn Store>,
        clock: Clock,
        tenant_id: String,
        token_ttl_secs: u64,
    ) -> Self {
        let grace = token_ttl_secs
            .checked_add(keys::RELOAD_EVERY.as_secs())
            .and_then(|secs| i64::try_from(secs).ok())
            .and_then(chrono::Duration::try_seconds)
            .unwrap_or(chrono::Duration::MAX);
        Self {
            keys,
            store,
            clock,
            tenant_id,
            grace,
            cache: Mutex::new(HashMap::default()),
        }
    }

    /// The claims of `token`, or why it is refused.
    pub async fn verify(&self, token: &str) -> Result<Arc<Claims>, TokenError> {
        let now = self.clock.now();
        if let Some(claims) = self.remembered(token, now) {
            return claims;
        }
        let (claims, kid) = self.check_signature(token, now).await?;
        let claims = Arc::new(claims);
        self.remember(token, &claims, kid, now);
        Ok(claims)
    }

    /// A remembered token's answer, re-checking what can change after it verified:
    /// the clock and the key.
    fn remembered(
        &self,
        token: &str,
        now: DateTime<Utc>,
    ) -> Option<Result<Arc<Claims>, TokenError>> {
        let cache = self.cache.lock().ok()?;
        let hit = cache.get(token)?;
        if hit.claims.exp <= now.timestamp() {
            return Some(Err(refused("JWT is expired")));
        }
        if !self.keys.accepts(&hit.kid, now, self.grace) {
            // Let the full check say why (retired, or unknown after a reload).
            return None;
        }
        Some(Ok(hit.claims.clone()))
    }

    fn remember(&self, token: &str, claims: &Arc<Claims>, kid: String, now: DateTime<Utc>) {
        let Ok(mut cache) = self.cache.lock() else {
            return;
        };
        if cache.len() >= CACHE_CAPACITY {
            let now = now.timestamp();
            cache.retain(|_, v| v.claims.exp > now);
            if cache.len() >= CACHE_CAPACITY / 2 {
                cache.clear();
            }
        }
        cache.insert(
            token.into(),
            Verified {
                claims: claims.clone(),
                kid,
            },
        );
    }

    async fn check_signature(
        &self,
        token: &str,
        now: DateTime<Utc>,
    ) -> Result<(Claims, String), TokenError> {
        let header = jsonwebtoken::decode_header(token).map_err(|_| refused("JWT is malformed"))?;
        if header.alg != Algorithm::ES256 {
            return Err(refused("JWT algorithm is not accepted"));
        }
        let kid = header.kid.ok_or_else(|| refused("JWT has no key id"))?;
        let mut lookup = self.keys.lookup(&kid, now, self.grace);
        if matches!(lookup, KeyLookup::Unknown) && self.keys.claim_forced_reload() {
            // Another instance may have created the key since we loaded ours. At most
            // one such read a second, so tokens with made-up key ids cannot turn into a
            // database query each.
            self.keys.reload(self.store.as_ref()).await?;
            lookup = self.keys.lookup(&kid, now, self.grace);
        }
        let key = match lookup {
            KeyLookup::Valid(key) => key,
            KeyLookup::Retired => return Err(refused("JWT was signed with a retired key")),
            KeyLookup::Unknown => return Err(refused("JWT was not signed by this tenant")),
        };
        let mut validation = Validation::new(Algorithm::ES256);
        // Expiry is checked below against the server's clock, which tests can move.
        validation.validate_exp = false;
        validation.required_spec_claims.clear();
        let data = jsonwebtoken::decode::<Claims>(token, &key, &validation).map_err(|e| match e
            .kind()
        {
            jsonwebtoken::errors::ErrorKind::InvalidSignature => {
                refused("JWT signature does not match locally computed signature")
            }
            _ => refused("JWT is malformed"),
        })?;
        let claims = data.claims;
        if claims.tenant_id != self.tenant_id {
            return Err(refused("JWT was not issued for this tenant"));
        }
        if claims.exp <= now.timestamp() {
            return Err(refused("JWT is expired"));
        }
        Ok((claims, kid))
    }
}
