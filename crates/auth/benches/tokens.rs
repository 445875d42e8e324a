//! What verifying a bearer credential costs before the one indexed lookup: the SHA-256 digest
//! of an API token, against the argon2id verification a password needs (why API tokens are
//! not hashed with argon2), and the signature check of a person's access token.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use dsms_auth::credentials::{JwtKeys, tokens};
use dsms_auth::{Argon2Settings, PasswordHasher};

fn verification(c: &mut Criterion) {
    let token = tokens::random_token("dsms_");
    c.bench_function("API token digest (SHA-256)", |b| {
        b.iter(|| tokens::digest(black_box(&token)))
    });
    let keys = JwtKeys::new([7u8; 32], "dsms", "dsms-api");
    let jwt = keys
        .issue(1, 1, "session", 1_800_000_000, 900)
        .expect("an access token");
    c.bench_function("access token verification (JWT HS256)", |b| {
        b.iter(|| keys.verify(black_box(&jwt), 1_800_000_100))
    });
    let hasher = PasswordHasher::new(Argon2Settings::default()).expect("argon2 settings");
    let hash = hasher.hash("correct horse battery staple").expect("a hash");
    let mut group = c.benchmark_group("password");
    group.sample_size(10);
    group.bench_function("argon2id verification (for comparison)", |b| {
        b.iter(|| hasher.verify(black_box("correct horse battery staple"), &hash))
    });
    group.finish();
}

criterion_group!(benches, verification);
criterion_main!(benches);
