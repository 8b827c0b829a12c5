//! Vision stage alone: TorchServe's image_classifier preprocessing, step by step.
//!
//! Ids: `vision/{decode,resize,crop_normalize,preprocess}/<image>` where `<image>` is
//! `{noise,smooth}_{jpeg,png}_<size>`: noise is the study's incompressible image, smooth
//! compresses like a photo. `resize` is Resize(256) on the decoded image, `crop_normalize` is
//! CenterCrop(224) + ToTensor + Normalize on the resized one, `preprocess` is all of it from the
//! file's bytes. Throughput: the encoded file's bytes for decode and preprocess, the input
//! image's pixel bytes for the others.

mod common;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use servebench::fixtures::{self, Encoding, ImageSpec, STUDY_SIZES, Scene};
use servebench::vision::{self, CROP, RESIZE_SHORTER};

fn vision(c: &mut Criterion) {
    let mut group = c.benchmark_group("vision");
    let kinds = [
        (Scene::Noise, Encoding::Jpeg),
        (Scene::Smooth, Encoding::Jpeg),
        (Scene::Smooth, Encoding::Png),
    ];
    for size in STUDY_SIZES {
        for (scene, encoding) in kinds {
            let spec = ImageSpec { size, scene, encoding };
            let name = spec.name();
            let bytes = fixtures::image(spec);
            let decoded = vision::decode(&bytes).expect("fixtures decode");
            let resized = vision::resize_shorter(&decoded, RESIZE_SHORTER);

            group.throughput(Throughput::Bytes(bytes.len() as u64));
            group.bench_with_input(BenchmarkId::new("decode", &name), &bytes, |b, bytes| {
                b.iter(|| vision::decode(bytes).unwrap())
            });
            group.bench_with_input(BenchmarkId::new("preprocess", &name), &bytes, |b, bytes| {
                b.iter(|| vision::preprocess(bytes).unwrap())
            });
            if encoding == Encoding::Png {
                continue; // past decoding, a PNG's pixels cost what the JPEG's do
            }
            group.throughput(Throughput::Bytes(decoded.as_raw().len() as u64));
            group.bench_with_input(BenchmarkId::new("resize", &name), &decoded, |b, decoded| {
                b.iter(|| vision::resize_shorter(decoded, RESIZE_SHORTER))
            });
            group.throughput(Throughput::Bytes(resized.as_raw().len() as u64));
            group.bench_with_input(
                BenchmarkId::new("crop_normalize", &name),
                &resized,
                |b, resized| b.iter(|| vision::normalize(&vision::center_crop(resized, CROP))),
            );
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
