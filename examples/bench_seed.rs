//! Seeds a migrated database for `scripts/bench.sh`, with plain SQL and without the
//! HTTP API (`benches/common/seed.rs` holds the SQL):
//!
//! ```text
//! cargo run --release --example bench_seed -- DATABASE_URL N OUT_DIR
//! ```
//!
//! N access profiles named `Profile %07d` (so `name sw "Profile 0001"` matches 1,000
//! and `name sw "Profile 000123"` matches 10 at every N ≥ 10,000), each with two
//! entitlements of its own; even ones requestable; half of them (i mod 4 < 2) used by
//! a role of their own. `created` follows the name order, `modified` a permutation of
//! it. Ids are derived from the row's kind and number, so every run seeds the same
//! ids. Writes `OUT_DIR/seed.env` (the ids a run needs, as shell assignments) and
//! `OUT_DIR/profile-ids.txt` (1,000 profile ids spread over the table).

// Tests, benchmarks and tools may panic (the `[lints]` table denies it for the server).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::todo)]

use std::io::Write;
use std::time::Instant;

use chrono::{TimeZone, Utc};
use sha2::{Digest, Sha256};

#[path = "../benches/common/seed.rs"]
mod seed;

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let [_, url, n, out] = &args[..] else {
        panic!("usage: bench_seed DATABASE_URL N OUT_DIR");
    };
    let n: usize = n.parse().expect("N: a number");
    let out = std::path::Path::new(out);
    std::fs::create_dir_all(out).expect("OUT_DIR");
    let started = Instant::now();

    let t0 = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
    let at = |secs: usize| {
        (t0 + chrono::Duration::seconds(secs as i64))
            .format("%Y-%m-%dT%H:%M:%S%.3fZ")
            .to_string()
    };
    let ts = at(0);
    let owner = id("identity", 0);
    let source = id("source", 0);
    let profile = |i: usize| id("access_profile", i);
    let entitlement = |i: usize| id("entitlement", i);
    let used = |i: usize| i % 4 < 2;

    let mut load = seed::Loader::open_alone(url).await;
    load.identity(&owner, "Bench Owner", "bench.owner", &ts)
        .await;
    load.source(&source, 1, "Bench", &owner, &ts).await;
    for i in 0..2 * n {
        let name = format!("Entitlement {:07} {}", i / 2, i % 2);
        load.entitlement(&entitlement(i), &source, &name, &ts).await;
    }
    for i in 0..n {
        let name = format!("Profile {i:07}");
        // A permutation of 0..n when n is not a multiple of the prime 7919.
        let modified = at(n + (i * 7919) % n);
        load.access_profile(
            &profile(i),
            &name,
            Some("bench"),
            &owner,
            &source,
            true,
            i % 2 == 0,
            &at(i),
            &modified,
        )
        .await;
    }
    for i in 0..n {
        for k in 0..2 {
            load.access_profile_entitlement(&profile(i), &entitlement(2 * i + k), k)
                .await;
        }
    }
    for i in (0..n).filter(|&i| used(i)) {
        load.role(&id("role", i), &format!("Role {i:07}"), &owner, &ts)
            .await;
    }
    for i in (0..n).filter(|&i| used(i)) {
        load.role_access_profile(&id("role", i), &profile(i), 0)
            .await;
    }
    load.finish().await;

    let mut env = std::fs::File::create(out.join("seed.env")).expect("seed.env");
    writeln!(env, "SEED_OWNER_ID={owner}").unwrap();
    writeln!(env, "SEED_SOURCE_ID={source}").unwrap();
    writeln!(env, "SEED_ENTITLEMENT_ID={}", entitlement(0)).unwrap();
    writeln!(env, "SEED_PROFILE_ID={}", profile(n / 2)).unwrap();
    let mut ids = std::fs::File::create(out.join("profile-ids.txt")).expect("ids");
    let step = (n / 1000).max(1);
    for i in (0..n).step_by(step).take(1000) {
        writeln!(ids, "{}", profile(i)).unwrap();
    }
    println!(
        "seeded {n} access profiles, {} entitlements, {} roles in {:.1?}",
        2 * n,
        (0..n).filter(|&i| used(i)).count(),
        started.elapsed()
    );
}

/// A 32-hex-digit id (the shape accessd issues), the same for the same kind and number.
fn id(kind: &str, i: usize) -> String {
    let digest = Sha256::new()
        .chain_update(kind)
        .chain_update(i.to_le_bytes())
        .finalize();
    hex::encode(&digest[..16])
}
