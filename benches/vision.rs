//! Vision stage alone: TorchServe's image_classifier preprocessing, step by step.
//!
//! Ids (`servebench::ids::VisionId`): `vision/{decode,resize,crop_normalize,preprocess}/<image>`
//! where `<image>` is `{noise,smooth}_{jpeg,png}_<size>`: noise is the study's incompressible
//! image, smooth compresses like a photo. `resize` is Resize(256) on the decoded image,
//! `crop_normalize` is CenterCrop(224) + ToTensor + Normalize on the resized one, `preprocess` is
//! all of it from the file's bytes; PNGs get only decode and preprocess (past decoding, their
//! pixels cost what the JPEG's do). `decode_scaled` and `preprocess_scaled` (JPEGs only) are
//! the same with `DecodeMode::Scaled`: libjpeg decodes at 1/8, 1/4 or 1/2 of the size, the
//! smallest whose shorter side still covers 256 (none at 360x640, 1/2 at 720x1280 and 1/4 at
//! 1080x1920), then resizes to the exact path's 256. Throughput: the encoded file's bytes for decode and
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
