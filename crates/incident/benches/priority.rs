//! Impact × urgency → priority, computed on every raise and every impact or urgency change.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use dsms_incident::{Impact, PriorityMatrix, Urgency};

fn matrix(c: &mut Criterion) {
    let matrix = PriorityMatrix::default();
    c.bench_function("priority of all 16 impact × urgency pairs", |b| {
        b.iter(|| {
            let mut sum = 0u32;
            for i in 1..=4 {
                for u in 1..=4 {
                    let impact = Impact::parse(black_box(i)).expect("impact 1 to 4");
                    let urgency = Urgency::parse(black_box(u)).expect("urgency 1 to 4");
                    sum += u32::from(matrix.priority(impact, urgency).get());
                }
            }
            sum
        })
    });
}

criterion_group!(benches, matrix);
criterion_main!(benches);
