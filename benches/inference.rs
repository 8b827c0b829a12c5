//! Inference stage alone: the forward pass per model, device and batch size, with the
//! host-to-device and device-to-host copies timed apart from it.
//!
//! Ids (`servebench::ids::InferenceId`): `inference/batch/b<n>` (stacking preprocessed images
//! on the host),
//! `inference/<model>_<device>/b<n>` (the forward pass, input already on the device),
//! `inference/h2d_cuda/b<n>` and `inference/d2h_cuda/b<n>` (the copies; CPU has none). Models
//! are `resnet50` and `densenet161` from `fixtures/models` (scripts/setup makes them), batches
//! 1, 8 and 20, devices `cpu` and `cuda` (skipped, with the reason printed, where there is no
//! GPU). `SERVEBENCH_TORCH_THREADS` sets libtorch's CPU threads. Throughput: images for the
//! forward pass, bytes for the copies. The C allocator keeps freed blocks for reuse
//! (`servebench::allocator`), so no id's time depends on the ids run before it.

mod common;

use criterion::measurement::WallTime;
use criterion::{BenchmarkGroup, Criterion, Throughput, criterion_group, criterion_main};
use servebench::error::chain;
use servebench::fixtures::{self, ImageSpec, STUDY_SIZES};
use servebench::ids::{self, BATCHES, Group, InferenceId, Model};
use servebench::inference::{self, Classifier};
use servebench::vision;
use tch::{Device, Tensor};

fn inference(c: &mut Criterion) {
    // Else the forward pass's tensors are page-faulted in or not depending on which ids ran
    // before it in this process.
    servebench::allocator::keep_freed_memory();
    if let Some(threads) =
        std::env::var("SERVEBENCH_TORCH_THREADS").ok().and_then(|t| t.parse().ok())
    {
        inference::set_threads(threads);
    }
    let image = vision::preprocess(&fixtures::image(ImageSpec::study(STUDY_SIZES[1])))
        .expect("fixture preprocesses");
    let batches: Vec<(usize, Tensor)> = BATCHES
        .iter()
        .map(|&n| (n, inference::batch(&vec![image.clone(); n]).expect("a batch of equal images")))
        .collect();

    let mut group = common::group(c, Group::Inference);
    // A forward pass takes up to seconds on a CPU: ten samples are what such benches can afford.
    group.sample_size(10);
    for (images, host) in &batches {
        let stacked = vec![image.clone(); *images];
        group.throughput(Throughput::Bytes((host.numel() * 4) as u64));
        common::bench(&mut group, InferenceId::Batch { images: *images }, |b| {
            b.iter(|| inference::batch(&stacked).unwrap())
        });
    }
    let cuda = inference::cuda_available();
    if !cuda {
        eprintln!("inference: no CUDA device (libtorch sees none): skipping the cuda groups");
    }
    let devices: &[ids::Device] =
        if cuda { &[ids::Device::Cpu, ids::Device::Cuda] } else { &[ids::Device::Cpu] };
    for &device_id in devices {
        let device = inference::device(device_id);
        for model in Model::ALL {
            let path = inference::model_path(model);
            let classifier = Classifier::load(&path, device)
                .unwrap_or_else(|error| panic!("{}: {}", model.name(), chain(&error)));
            for (images, host) in &batches {
                let input = inference::to_device(host, device).unwrap();
                group.throughput(Throughput::Elements(*images as u64));
                let id = InferenceId::Forward { model, device: device_id, images: *images };
                common::bench(&mut group, id, |b| {
                    b.iter(|| {
                        let output = classifier.forward(&input).unwrap();
                        inference::synchronize(device);
                        output
                    })
                });
            }
        }
        if device != Device::Cpu {
            copies(&mut group, device, &batches);
        }
    }
    group.finish();
}

/// Host-to-device copies of each batch, and device-to-host copies of its ImageNet scores.
fn copies(group: &mut BenchmarkGroup<'_, WallTime>, device: Device, batches: &[(usize, Tensor)]) {
    for &(images, ref host) in batches {
        group.throughput(Throughput::Bytes((host.numel() * 4) as u64));
        common::bench(group, InferenceId::HostToDevice { images }, |b| {
            b.iter(|| inference::to_device(host, device).unwrap())
        });
        let scores = Tensor::zeros([images as i64, 1000], (tch::Kind::Float, device));
        group.throughput(Throughput::Bytes((scores.numel() * 4) as u64));
        common::bench(group, InferenceId::DeviceToHost { images }, |b| {
            b.iter(|| inference::scores(&scores).unwrap())
        });
    }
}

criterion_group! {
    name = benches;
    config = common::criterion();
    targets = inference
}
criterion_main!(benches);
