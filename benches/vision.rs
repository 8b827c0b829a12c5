//! Vision stage alone: TorchServe's image_classifier preprocessing, step by step.
//!
//! Ids (`servebench::ids::VisionId`): `vision/{decode,resize,crop_normalize,preprocess}/<image>`
//! where `<image>` is `{noise,smooth}_{jpeg,png}_<size>`: noise is the study's incompressible
//! image, smooth compresses like a photo. `resize` is Resize(256) on the decoded image,
//! `crop_normalize` is CenterCrop(224) + ToTensor + Normalize on the resized one, `preprocess` is
//! all of it from the file's bytes; PNGs get only decode and preprocess (past decoding, their
//! pixels cost what the JPEG's do). Throughput: the encoded file's bytes for decode and
//! preprocess, the input image's pixel bytes for the others.

mod common;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use servebench::ids::{Family, Group, VisionId};

use common::workload;

fn vision(c: &mut Criterion) {
    let mut group = common::group(c, Group::Vision);
    for id in VisionId::all() {
        let mut work = workload::vision(id);
        group.throughput(Throughput::Bytes(work.bytes));
        common::bench(&mut group, id, |b| b.iter(|| work.run()));
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = common::criterion();
    targets = vision
}
criterion_main!(benches);
