//! ES256 signing keys: created on first start, persisted in the store so tokens survive
//! restarts, and reloaded when a token names a key this process has not seen.

use std::sync::RwLock;

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header};
use p256::ecdsa::SigningKey;
use p256::pkcs8::{EncodePrivateKey, EncodePublicKey, LineEnding};

use crate::domain::Clock;
use crate::store::{SigningKeyRow, Store, StoreError, StoreResult};

struct LoadedKey {
    kid: String,
    encoding: EncodingKey,
    decoding: DecodingKey,
}

pub struct KeySet {
    keys: RwLock<Vec<LoadedKey>>,
}

fn load(row: &SigningKeyRow) -> StoreResult<LoadedKey> {
    let bad = |e: jsonwebtoken::errors::Error| {
        StoreError::Corrupt(format!("signing key {}: {e}", row.kid))
    };
    Ok(LoadedKey {
        kid: row.kid.clone(),
        encoding: EncodingKey::from_ec_pem(row.private_pem.as_bytes()).map_err(bad)?,
        decoding: DecodingKey::from_ec_pem(row.public_pem.as_bytes()).map_err(bad)?,
    })
}

pub fn generate(clock: &Clock) -> StoreResult<SigningKeyRow> {
    let key = SigningKey::random(&mut rand::rngs::OsRng);
    let private_pem = key
        .to_pkcs8_pem(LineEnding::LF)
        .map_err(|e| StoreError::Corrupt(format!("encoding a new key: {e}")))?
        .to_string();
    let public_pem = key
        .verifying_key()
        .to_public_key_pem(LineEnding::LF)
        .map_err(|e| StoreError::Corrupt(format!("encoding a new key: {e}")))?;
    Ok(SigningKeyRow {
        kid: crate::domain::new_id(),
        private_pem,
        public_pem,
        created: clock.now(),
    })
}

impl KeySet {
    /// Loads the tenant's keys, creating the first one if there is none.
    pub async fn load_or_create(store: &dyn Store, clock: &Clock) -> StoreResult<Self> {
        let mut rows = store.signing_keys().await?;
        if rows.is_empty() {
            store.insert_signing_key(&generate(clock)?).await?;
            rows = store.signing_keys().await?;
        }
        let keys = rows.iter().map(load).collect::<StoreResult<Vec<_>>>()?;
        Ok(Self {
            keys: RwLock::new(keys),
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

    pub fn sign<T: serde::Serialize>(&self, claims: &T) -> Result<String, String> {
        let guard = self
            .keys
            .read()
            .map_err(|_| "key set poisoned".to_string())?;
        let key = guard.first().ok_or("no signing key")?;
        let mut header = Header::new(Algorithm::ES256);
        header.kid = Some(key.kid.clone());
        jsonwebtoken::encode(&header, claims, &key.encoding).map_err(|e| e.to_string())
    }

    /// The verification key for `kid`, if this process knows it.
    pub fn decoding_key(&self, kid: &str) -> Option<DecodingKey> {
        let guard = self.keys.read().ok()?;
        guard
            .iter()
            .find(|k| k.kid == kid)
            .map(|k| k.decoding.clone())
    }
}
