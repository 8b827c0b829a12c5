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
use servebench::fixtures;
use servebench::ids::{Group, VisionId, VisionStep};
use servebench::vision::{self, CROP, RESIZE_SHORTER};

fn vision(c: &mut Criterion) {
    let mut group = common::group(c, Group::Vision);
    for image in VisionId::images() {
        let bytes = fixtures::image(image);
        let decoded = vision::decode(&bytes).expect("fixtures decode");
        let resized = vision::resize_shorter(&decoded, RESIZE_SHORTER);
        let id = |step| VisionId { step, image };
        let measured = |step: VisionStep| step.measured_on(image.encoding);

        group.throughput(Throughput::Bytes(bytes.len() as u64));
        common::bench(&mut group, id(VisionStep::Decode), |b| {
            b.iter(|| vision::decode(&bytes).unwrap())
        });
        common::bench(&mut group, id(VisionStep::Preprocess), |b| {
            b.iter(|| vision::preprocess(&bytes).unwrap())
        });
        if measured(VisionStep::Resize) {
            group.throughput(Throughput::Bytes(decoded.as_raw().len() as u64));
            common::bench(&mut group, id(VisionStep::Resize), |b| {
                b.iter(|| vision::resize_shorter(&decoded, RESIZE_SHORTER))
            });
        }
        if measured(VisionStep::CropNormalize) {
            group.throughput(Throughput::Bytes(resized.as_raw().len() as u64));
            common::bench(&mut group, id(VisionStep::CropNormalize), |b| {
                b.iter(|| vision::normalize(&vision::center_crop(&resized, CROP)))
            });
        }
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = common::criterion();
    targets = vision
}
criterion_main!(benches);
