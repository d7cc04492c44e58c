//! ES256 signing keys: created on first start, persisted in the store so tokens survive
//! restarts, and reloaded when a token names a key this process has not seen (and
//! periodically, so rotations and retirements reach running instances).
//!
//! Rotation (`accessd rotate-key`) adds a key; new tokens are signed with the newest.
//! A key retired in the store signs no token, whatever an instance has loaded
//! ([`KeySet::sign_active`]).
//! An older key keeps verifying for a grace period after its successor was created —
//! long enough for every token it signed to expire — and is refused after that. A key
//! marked inactive (`rotate-key --retire-old`, e.g. after a leak) is refused at once.

use std::sync::RwLock;
use std::time::Duration;

use chrono::{DateTime, Utc};

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header};
use ring::rand::SystemRandom;
use ring::signature::{EcdsaKeyPair, KeyPair, ECDSA_P256_SHA256_FIXED_SIGNING};

use crate::domain::Clock;
use crate::store::{SigningKeyRow, Store, StoreError, StoreResult};

/// How often an instance re-reads the keys, so it signs with a rotated key and stops
/// accepting a retired one within this long.
pub const RELOAD_EVERY: Duration = Duration::from_secs(60);

struct LoadedKey {
    kid: String,
    created: DateTime<Utc>,
    encoding: EncodingKey,
    decoding: DecodingKey,
}

pub struct KeySet {
    /// Newest first: the first signs.
    keys: RwLock<Vec<LoadedKey>>,
    /// When a token with an unknown key id last made this instance re-read the keys.
    last_forced: std::sync::Mutex<Option<std::time::Instant>>,
}

/// The shortest time between two reloads forced by unknown key ids.
const FORCED_RELOAD_EVERY: Duration = Duration::from_secs(1);

/// Why no token could be signed.
#[derive(Debug, thiserror::Error)]
pub enum SignError {
    /// The keys could not be checked or re-read.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// No usable key (none loaded, or encoding failed).
    #[error("signing failed: {0}")]
    Key(String),
}

/// What the key set says about a token's key id.
pub enum KeyLookup {
    Valid(DecodingKey),
    /// Superseded longer ago than the grace period.
    Retired,
    /// Not an active key of this tenant (as far as this process knows).
    Unknown,
}

fn load(row: &SigningKeyRow) -> StoreResult<LoadedKey> {
    let bad = |e: jsonwebtoken::errors::Error| {
        StoreError::Corrupt(format!("signing key {}: {e}", row.kid))
    };
    Ok(LoadedKey {
        kid: row.kid.clone(),
        created: row.created,
        encoding: EncodingKey::from_ec_pem(row.private_pem.as_bytes()).map_err(bad)?,
        decoding: DecodingKey::from_ec_pem(row.public_pem.as_bytes()).map_err(bad)?,
    })
}

/// The DER prefix of a P-256 public key's SubjectPublicKeyInfo (RFC 5480 §2: algorithm
/// id-ecPublicKey with the secp256r1 curve, then the BIT STRING header); the 65-byte
/// uncompressed point follows it.
const P256_SPKI_PREFIX: [u8; 26] = [
    0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a,
    0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00,
];

/// A new ES256 key: the PKCS#8 private key and the SubjectPublicKeyInfo public key, as
/// PEM (the forms `jsonwebtoken` reads back in `load`).
pub fn generate(clock: &Clock) -> StoreResult<SigningKeyRow> {
    let bad =
        |e: ring::error::Unspecified| StoreError::Corrupt(format!("generating a new key: {e}"));
    let rng = SystemRandom::new();
    let pkcs8 =
        EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).map_err(bad)?;
    let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref(), &rng)
        .map_err(|e| StoreError::Corrupt(format!("reading a new key: {e}")))?;
    let mut spki = P256_SPKI_PREFIX.to_vec();
    spki.extend_from_slice(pair.public_key().as_ref());
    let encode = |tag: &str, der: Vec<u8>| {
        pem::encode_config(
            &pem::Pem::new(tag, der),
            pem::EncodeConfig::new().set_line_ending(pem::LineEnding::LF),
        )
    };
    Ok(SigningKeyRow {
        kid: crate::domain::new_id(),
        private_pem: encode("PRIVATE KEY", pkcs8.as_ref().to_vec()),
        public_pem: encode("PUBLIC KEY", spki),
        created: clock.now(),
    })
}

impl KeySet {
    /// Loads the tenant's keys, creating the first one if there is none.
    pub async fn load_or_create(store: &dyn Store, clock: &Clock) -> StoreResult<Self> {
        let mut rows = store.signing_keys().await?;
        if rows.is_empty() {
            // Instances starting together on a new database: one key wins, all load it.
            store.insert_first_signing_key(&generate(clock)?).await?;
            rows = store.signing_keys().await?;
        }
        let keys = rows.iter().map(load).collect::<StoreResult<Vec<_>>>()?;
        Ok(Self {
            keys: RwLock::new(keys),
            last_forced: std::sync::Mutex::new(None),
        })
    }

    /// Re-reads the keys from the store (another instance may have added one).
    pub async fn reload(&self, store: &dyn Store) -> StoreResult<()> {
        let keys = store
            .signing_keys()
            .await?
            .iter()
            .map(load)
            .collect::<StoreResult<Vec<_>>>()?;
        if let Ok(mut guard) = self.keys.write() {
            *guard = keys;
        }
        Ok(())
    }

    /// Whether a token with an unknown key id may make this instance re-read the keys
    /// now: at most once per `FORCED_RELOAD_EVERY`. Claims the slot when it may.
    pub fn claim_forced_reload(&self) -> bool {
        let Ok(mut last) = self.last_forced.lock() else {
            return false;
        };
        let now = std::time::Instant::now();
        match *last {
            Some(at) if now.duration_since(at) < FORCED_RELOAD_EVERY => false,
            _ => {
                *last = Some(now);
                true
            }
        }
    }

    /// `claims` signed with the newest key this instance has loaded; returns the key id
    /// and the token. See [`KeySet::sign_active`] for what a token endpoint uses.
    pub fn sign<T: serde::Serialize>(&self, claims: &T) -> Result<(String, String), SignError> {
        let guard = self
            .keys
            .read()
            .map_err(|_| SignError::Key("key set poisoned".to_string()))?;
        let key = guard
            .first()
            .ok_or_else(|| SignError::Key("no signing key".to_string()))?;
        let mut header = Header::new(Algorithm::ES256);
        header.kid = Some(key.kid.clone());
        let token = jsonwebtoken::encode(&header, claims, &key.encoding)
            .map_err(|e| SignError::Key(e.to_string()))?;
        Ok((key.kid.clone(), token))
    }

    /// `claims` signed with a key the store holds active at the moment the token is
    /// handed out. A key retired since this instance last loaded (`rotate-key
    /// --retire-old`, from another process) would sign tokens every instance refuses
    /// after its next reload (the Python SDK never fetches another); so the key is
    /// checked after signing, and when it is retired the keys are re-read and the
    /// claims signed again. The check comes after the signature, so a retirement
    /// committed while signing is seen too: a token returned was signed before its
    /// key was retired, like every other token the retirement refuses.
    pub async fn sign_active<T: serde::Serialize>(
        &self,
        store: &dyn Store,
        claims: &T,
    ) -> Result<String, SignError> {
        // A second retirement between the reload and the check is the only way past
        // one retry; an operator does not rotate keys twice within a query.
        for _ in 0..3 {
            let (kid, token) = self.sign(claims)?;
            if store.signing_key_active(&kid).await? {
                return Ok(token);
            }
            tracing::info!(kid = %kid, "the signing key was retired: reloading the keys");
            self.reload(store).await?;
        }
        Err(SignError::Key(
            "the signing keys kept being retired while signing".to_string(),
        ))
    }

    /// The verification key for `kid` at `now`: the newest key always, an older one
    /// until `grace` after its successor was created.
    pub fn lookup(&self, kid: &str, now: DateTime<Utc>, grace: chrono::Duration) -> KeyLookup {
        let Ok(guard) = self.keys.read() else {
            return KeyLookup::Unknown;
        };
        match position(&guard, kid, now, grace) {
            Some(Ok(i)) => KeyLookup::Valid(guard[i].decoding.clone()),
            Some(Err(())) => KeyLookup::Retired,
            None => KeyLookup::Unknown,
        }
    }

    /// Whether `kid` still verifies at `now` (the check a cached token repeats).
    pub fn accepts(&self, kid: &str, now: DateTime<Utc>, grace: chrono::Duration) -> bool {
        self.keys
            .read()
            .is_ok_and(|guard| matches!(position(&guard, kid, now, grace), Some(Ok(_))))
    }
}

/// Where `kid` is among `keys` (newest first): `Ok` while it verifies, `Err` once it
/// has been superseded for longer than `grace`; `None` for a key this set lacks.
fn position(
    keys: &[LoadedKey],
    kid: &str,
    now: DateTime<Utc>,
    grace: chrono::Duration,
) -> Option<Result<usize, ()>> {
    let i = keys.iter().position(|k| k.kid == kid)?;
    let retired_at = i
        .checked_sub(1)
        .and_then(|newer| keys.get(newer))
        .and_then(|newer| newer.created.checked_add_signed(grace));
    Some(match retired_at {
        Some(at) if now >= at => Err(()),
        _ => Ok(i),
    })
}

/// Adds a new signing key (new tokens are signed with it once instances reload) and,
/// with `retire_old`, marks every other key inactive so their tokens are refused.
/// Returns the new key id and how many keys were retired.
pub async fn rotate(
    store: &dyn Store,
    clock: &Clock,
    retire_old: bool,
) -> StoreResult<(String, u64)> {
    let mut key = generate(clock)?;
    // Strictly newer than every existing key, even within one millisecond.
    if let Some(newest) = store.signing_keys().await?.first() {
        key.created = key
            .created
            .max(newest.created + chrono::Duration::milliseconds(1));
    }
    store.insert_signing_key(&key).await?;
    let retired = if retire_old {
        store.retire_signing_keys(&key.kid).await?
    } else {
        0
    };
    Ok((key.kid, retired))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_generated_key_signs_tokens_its_public_key_verifies() {
        let row = generate(&Clock::system()).unwrap();
        assert!(row.private_pem.starts_with("-----BEGIN PRIVATE KEY-----\n"));
        assert!(row.public_pem.starts_with("-----BEGIN PUBLIC KEY-----\n"));
        let key = load(&row).unwrap();
        let claims = serde_json::json!({"sub": "x", "exp": 4_102_444_800u64});
        let token =
            jsonwebtoken::encode(&Header::new(Algorithm::ES256), &claims, &key.encoding).unwrap();
        let mut validation = jsonwebtoken::Validation::new(Algorithm::ES256);
        validation.required_spec_claims.clear();
        let decoded =
            jsonwebtoken::decode::<serde_json::Value>(&token, &key.decoding, &validation).unwrap();
        assert_eq!(decoded.claims["sub"], "x");
        // Another key's public half refuses the token.
        let other = load(&generate(&Clock::system()).unwrap()).unwrap();
        assert!(
            jsonwebtoken::decode::<serde_json::Value>(&token, &other.decoding, &validation)
                .is_err()
        );
    }

    #[test]
    fn unknown_key_ids_force_at_most_one_reload_a_second() {
        let keys = KeySet {
            keys: RwLock::new(Vec::new()),
            last_forced: std::sync::Mutex::new(None),
        };
        assert!(keys.claim_forced_reload(), "the first one reloads");
        assert!(!keys.claim_forced_reload(), "the next, at once, does not");
        // As if the last forced reload was over a second ago.
        *keys.last_forced.lock().unwrap() =
            std::time::Instant::now().checked_sub(FORCED_RELOAD_EVERY);
        assert!(keys.claim_forced_reload(), "a second later one may again");
    }
}
