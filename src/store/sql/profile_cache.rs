//! The access profiles lists and GETs have read, kept while they are unchanged: a page
//! whose profiles are all here reads only its keys with their versions (migration 0010:
//! `access_profiles.version` and `profile_epoch`) instead of every row, its names and
//! its links, and a GET of a kept profile reads only its version, source and the
//! epoch. An entry is used only when both the profile's version and the epoch read in
//! the same statement (or the page's own snapshot) are the ones it was read at, so a
//! profile changed by this instance, another instance or another process is read again.

use std::num::NonZeroUsize;
use std::sync::{Arc, Mutex, PoisonError};

use lru::LruCache;

use crate::domain::model::SharedProfile;

/// How many profiles are kept: a few pages of 250 for each of many clients, a few
/// megabytes (a profile with its JSON is 2–3 KB).
const CAPACITY: NonZeroUsize = NonZeroUsize::MIN.saturating_add(4095);

/// A profile as read at `version` (its row's) and `epoch` (`profile_epoch.n`).
struct Entry {
    version: i64,
    epoch: i64,
    profile: Arc<SharedProfile>,
}

/// The least recently used profile leaves first when the cache is full.
pub(super) struct ProfileCache {
    entries: Mutex<LruCache<String, Entry>>,
}

impl Default for ProfileCache {
    fn default() -> Self {
        Self {
            entries: Mutex::new(LruCache::new(CAPACITY)),
        }
    }
}

impl ProfileCache {
    /// For each `(id, version)`, the profile kept at that version and `epoch`, if any.
    pub(super) fn get_all(
        &self,
        keys: &[(String, i64)],
        epoch: i64,
    ) -> Vec<Option<Arc<SharedProfile>>> {
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        keys.iter()
            .map(|(id, version)| kept(&mut entries, id, *version, epoch))
            .collect()
    }

    /// Whether a profile `id` is kept, at any version (not counted as a use).
    pub(super) fn holds(&self, id: &str) -> bool {
        let entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        entries.contains(id)
    }

    /// The profile `id` kept at `version` and `epoch`, if any.
    pub(super) fn get(&self, id: &str, version: i64, epoch: i64) -> Option<Arc<SharedProfile>> {
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        kept(&mut entries, id, version, epoch)
    }

    /// Keeps `profiles`, each read at its version and at `epoch`.
    pub(super) fn put_all(&self, profiles: &[(i64, Arc<SharedProfile>)], epoch: i64) {
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        for (version, profile) in profiles {
            entries.put(
                profile.profile.id.clone(),
                Entry {
                    version: *version,
                    epoch,
                    profile: Arc::clone(profile),
                },
            );
        }
    }
}

/// The entry of `id` if it was read at `version` and `epoch` (and now the most recently
/// used).
fn kept(
    entries: &mut LruCache<String, Entry>,
    id: &str,
    version: i64,
    epoch: i64,
) -> Option<Arc<SharedProfile>> {
    entries
        .get(id)
        .filter(|e| e.version == version && e.epoch == epoch)
        .map(|e| Arc::clone(&e.profile))
}
