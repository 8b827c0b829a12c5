//! Codec stage alone: what turning each study message into bytes and back costs, per format.
//!
//! Ids (`servebench::ids::CodecId`): `codec/{json,protobuf,raw}_{encode,decode}/<payload>` for
//! the study's requests (`basic`, `base64_<size>`, `binary_<size>`) and its answer
//! (`response`), and `codec/{base64,multipart}_{encode,decode}/<size>` for the image alone (as
//! base64 text, as a form's `data` field). Throughput is the encoded size, the image's for the
//! image alone.

mod common;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use servebench::ids::{CodecId, Family, Group};

use common::workload;

fn codec(c: &mut Criterion) {
    let mut group = common::group(c, Group::Codec);
    for id in CodecId::all() {
        let mut work = workload::codec(id);
        group.throughput(Throughput::Bytes(work.bytes));
        common::bench(&mut group, id, |b| b.iter(|| work.run()));
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = common::criterion();
    targets = codec
}
criterion_main!(benches);
