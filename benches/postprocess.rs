//! Postprocess stage alone: one image's 1000 ImageNet scores to TorchServe's answer.
//!
//! Ids (`servebench::ids::PostprocessId`): `postprocess/{softmax,top_k,classify,classify_json}/
//! imagenet`: softmax, top 5 of the probabilities, the whole stage (softmax, top 5, names) and
//! the whole stage plus the JSON the server sends (as TorchServe's Python writes it).
//! Throughput: the scores' bytes.

mod common;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use servebench::codec::python_json;
use servebench::ids::{Group, PostprocessId};
use servebench::postprocess::{self, Labels, TOP_K};

fn postprocess(c: &mut Criterion) {
    let labels = Labels::imagenet();
    let scores: Vec<f32> =
        (0..labels.len()).map(|i| ((i * 7919 % 1000) as f32 / 100.0).sin() * 6.0).collect();
    let probabilities = postprocess::softmax(&scores);

    let mut group = common::group(c, Group::Postprocess);
    group.throughput(Throughput::Bytes(std::mem::size_of_val(scores.as_slice()) as u64));
    common::bench(&mut group, PostprocessId::Softmax, |b| b.iter(|| postprocess::softmax(&scores)));
    common::bench(&mut group, PostprocessId::TopK, |b| {
        b.iter(|| postprocess::top_k(&probabilities, TOP_K))
    });
    common::bench(&mut group, PostprocessId::Classify, |b| {
        b.iter(|| postprocess::classify(&scores, &labels).unwrap())
    });
    common::bench(&mut group, PostprocessId::ClassifyJson, |b| {
        b.iter(|| python_json::encode(&postprocess::classify(&scores, &labels).unwrap()).unwrap())
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = common::criterion();
    targets = postprocess
}
criterion_main!(benches);
