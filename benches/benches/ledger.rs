//! Criterion: one reserve + commit pair on the handle fast path, and one on
//! the keyed path, on a single thread (events off and on).

use criterion::{Criterion, criterion_group, criterion_main};
use std::hint::black_box;
use std::sync::Arc;
use uoom::ledger::{Ledger, ReservationId, SlotId};
use uoom::{ChannelId, SystemClock};

fn pairs(c: &mut Criterion) {
    for events in [false, true] {
        let ledger = Ledger::builder(Arc::new(SystemClock))
            .with_events(events)
            .with_retention_ms(1_000)
            .build()
            .unwrap();
        let ch = ChannelId::from("bench");
        ledger.set_capacity(&ch, SlotId(0), u32::MAX).unwrap();
        let h = ledger.account(&ch, SlotId(0)).unwrap();
        let mut n: u128 = 0;
        c.bench_function(&format!("ledger/reserve_on+commit/events={events}"), |b| {
            b.iter(|| {
                n += 1;
                ledger.reserve_on(ReservationId(n), &h, 1, 30_000).unwrap();
                black_box(ledger.commit(ReservationId(n), None).unwrap());
                if events && n.is_multiple_of(4096) {
                    black_box(ledger.drain_events());
                }
            })
        });
        c.bench_function(&format!("ledger/reserve+commit/events={events}"), |b| {
            b.iter(|| {
                n += 1;
                ledger
                    .reserve(ReservationId(n), &ch, SlotId(0), 1, 30_000)
                    .unwrap();
                black_box(ledger.commit(ReservationId(n), None).unwrap());
                if events && n.is_multiple_of(4096) {
                    black_box(ledger.drain_events());
                }
            })
        });
    }
}

criterion_group!(benches, pairs);
criterion_main!(benches);
