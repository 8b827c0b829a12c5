//! Postprocess stage alone: one image's 1000 ImageNet scores to TorchServe's answer.
//!
//! Ids (`servebench::ids::PostprocessId`): `postprocess/{softmax,top_k,classify,classify_json}/
//! imagenet`: softmax, top 5 of the probabilities, the whole stage (softmax, top 5, names) and
//! the whole stage plus the JSON the server sends (as TorchServe's Python writes it).
//! Throughput: the scores' bytes.

mod common;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use servebench::ids::{Family, Group, PostprocessId};

use common::workload;

fn postprocess(c: &mut Criterion) {
    let mut group = common::group(c, Group::Postprocess);
    for id in PostprocessId::all() {
        let mut work = workload::postprocess(id);
        group.throughput(Throughput::Bytes(work.bytes));
        common::bench(&mut group, id, |b| b.iter(|| work.run()));
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = common::criterion();
    targets = postprocess
}
criterion_main!(benches);
