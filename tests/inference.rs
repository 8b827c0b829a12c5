//! Inference contract (feature `torch`): servebench's pipeline gives every probability that
//! TorchServe's Python path gives on the same model file, to float rounding; bad models are clear
//! errors; CUDA is refused cleanly where there is none.
#![cfg(feature = "torch")]

mod common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use servebench::fixtures::{self, Encoding, ImageSpec, STUDY_SIZES, Scene};
use servebench::inference::{self, Classifier, InferenceError};
use servebench::postprocess::{self, Labels, Prediction};
use servebench::vision::{self, ChwImage, MEAN, STD};
use tch::Device;

/// The largest relative difference allowed between a probability servebench computes and the
/// one torch computes: float rounding through the same libtorch, nothing a preprocessing
/// mistake could hide under (README, "The inference stage").
const RELATIVE_TOLERANCE: f64 = 1e-4;

fn model(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/models").join(format!("{name}.pt"))
}

/// Softmax probabilities of every class for `inputs`, run as one batch.
fn probabilities(classifier: &Classifier, inputs: &[ChwImage]) -> Vec<Vec<f32>> {
    let batch = inference::batch(inputs).unwrap();
    let scores = inference::scores(&classifier.forward(&batch).unwrap()).unwrap();
    scores.iter().map(|row| postprocess::softmax(row)).collect()
}

/// The largest relative difference of each image's probabilities from torch's.
fn relative_differences(ours: &[Vec<f32>], reference: &[Vec<f64>]) -> Vec<f64> {
    assert_eq!(ours.len(), reference.len());
    ours.iter()
        .zip(reference)
        .map(|(ours, theirs)| {
            assert_eq!(ours.len(), theirs.len());
            ours.iter().zip(theirs).map(|(a, b)| (f64::from(*a) - b).abs() / b).fold(0.0, f64::max)
        })
        .collect()
}

/// `values` as `[1.2e-5, ...]`.
fn scientific(values: &[f64]) -> String {
    let values: Vec<String> = values.iter().map(|value| format!("{value:.1e}")).collect();
    format!("[{}]", values.join(", "))
}

/// `inputs` as a preprocessing that got one thing wrong would make them: `mistake` maps a
/// pixel's RGB values in [0, 1] to its normalized value in channel `c`.
fn mistaken(inputs: &[ChwImage], mistake: impl Fn(&[f32; 3], usize) -> f32) -> Vec<ChwImage> {
    inputs
        .iter()
        .map(|input| {
            let plane = input.data.len() / 3;
            let mut data = vec![0.0; input.data.len()];
            for pixel in 0..plane {
                let rgb: [f32; 3] =
                    std::array::from_fn(|c| input.data[c * plane + pixel] * STD[c] + MEAN[c]);
                for channel in 0..3 {
                    data[channel * plane + pixel] = mistake(&rgb, channel);
                }
            }
            ChwImage { data, ..input.clone() }
        })
        .collect()
}

#[test]
fn every_probability_matches_torchserves_python_path_on_the_same_model() {
    let dir = common::TempDir::new("inference");
    let specs = [
        ImageSpec { size: STUDY_SIZES[1], scene: Scene::Smooth, encoding: Encoding::Jpeg },
        ImageSpec::study(STUDY_SIZES[0]),
        ImageSpec { size: STUDY_SIZES[0], scene: Scene::Smooth, encoding: Encoding::Png },
    ];
    let images: Vec<_> = specs.iter().map(|spec| fixtures::image(*spec)).collect();
    let paths: Vec<PathBuf> = specs
        .iter()
        .zip(&images)
        .map(|(spec, bytes)| {
            let path = dir.0.join(spec.file_name());
            std::fs::write(&path, bytes).unwrap();
            path
        })
        .collect();
    let resnet = model("resnet50");
    let mut args = vec![resnet.as_path()];
    args.extend(paths.iter().map(PathBuf::as_path));
    let reference: Vec<Vec<f64>> =
        serde_json::from_slice(&common::run_reference("torch_classify.py", &args)).unwrap();

    let classifier = Classifier::load(&resnet, Device::Cpu).unwrap();
    assert_eq!(classifier.classes(), 1000);
    let inputs: Vec<_> = images.iter().map(|bytes| vision::preprocess(bytes).unwrap()).collect();
    let ours = probabilities(&classifier, &inputs);
    let differences = relative_differences(&ours, &reference);
    eprintln!("largest relative difference from torch per image: {}", scientific(&differences));
    for (spec, difference) in specs.iter().zip(&differences) {
        assert!(
            *difference <= RELATIVE_TOLERANCE,
            "{spec:?}: a probability differs by {difference:e}"
        );
    }

    // The top-1 answer through the postprocess stage, on images the model tells apart
    // (scripts/export_models.py calibrates the random weights so the answer follows the image).
    let labels = Labels::imagenet();
    let mut classes = BTreeSet::new();
    for ((row, theirs), spec) in ours.iter().zip(&reference).zip(&specs) {
        let top = (0..theirs.len()).max_by(|&a, &b| theirs[a].total_cmp(&theirs[b])).unwrap();
        classes.insert(top);
        let Prediction(answer) = postprocess::classify(row, &labels).unwrap();
        assert_eq!(answer[0].0, labels.name(top).unwrap(), "{spec:?}");
    }
    assert!(classes.len() > 1, "the model answers class {classes:?} for every image: re-export it");

    // The check bites: each of these mistakes puts every image outside the tolerance.
    let mistakes: [(&str, Vec<ChwImage>); 2] = [
        ("channels in BGR order", mistaken(&inputs, |rgb, c| (rgb[2 - c] - MEAN[c]) / STD[c])),
        (
            "red's mean 0.486, not 0.485",
            mistaken(&inputs, |rgb, c| {
                let mean = if c == 0 { 0.486 } else { MEAN[c] };
                (rgb[c] - mean) / STD[c]
            }),
        ),
    ];
    for (mistake, wrong) in mistakes {
        let differences = relative_differences(&probabilities(&classifier, &wrong), &reference);
        eprintln!("{mistake}: largest relative differences {}", scientific(&differences));
        assert!(
            differences.iter().all(|difference| *difference > RELATIVE_TOLERANCE),
            "{mistake} passed the reference check: {differences:?}"
        );
    }
}

#[test]
fn the_run_record_names_the_libtorch_it_links() {
    let output = std::process::Command::new(common::python())
        .args(["-c", "import torch; print(torch.__version__)"])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let version = String::from_utf8(output.stdout).unwrap();
    let libtorch = servebench::report::run::RunInfo::here().libtorch;
    assert!(
        libtorch.starts_with(&format!("PyTorch {}", version.trim())),
        "{libtorch} vs {version}"
    );
}

#[test]
fn batching_gives_each_image_the_scores_it_gets_alone() {
    let classifier = Classifier::load(&model("resnet50"), Device::Cpu).unwrap();
    let inputs: Vec<_> = STUDY_SIZES
        .iter()
        .map(|size| vision::preprocess(&fixtures::image(ImageSpec::study(*size))).unwrap())
        .collect();
    let together =
        inference::scores(&classifier.forward(&inference::batch(&inputs).unwrap()).unwrap())
            .unwrap();
    for (input, batched) in inputs.iter().zip(&together) {
        let alone = inference::scores(
            &classifier.forward(&inference::batch(std::slice::from_ref(input)).unwrap()).unwrap(),
        )
        .unwrap();
        let difference =
            alone[0].iter().zip(batched).map(|(a, b)| (a - b).abs()).fold(0.0f32, f32::max);
        assert!(difference < 1e-3, "batched scores differ by {difference}");
    }
}

#[test]
fn bad_models_and_batches_are_clear_errors() {
    let missing = Classifier::load(Path::new("/nonexistent/model.pt"), Device::Cpu).unwrap_err();
    assert!(matches!(missing, InferenceError::Missing(_)), "{missing}");

    let dir = common::TempDir::new("bad-model");
    let not_torchscript = dir.0.join("labels.pt");
    std::fs::write(&not_torchscript, b"this is not a zip archive").unwrap();
    let error = Classifier::load(&not_torchscript, Device::Cpu).unwrap_err();
    assert!(matches!(error, InferenceError::NotTorchScript { .. }), "{error}");

    assert!(matches!(inference::batch(&[]), Err(InferenceError::Batch(_))));
    let small = vision::ChwImage { data: vec![0.0; 3 * 4], height: 2, width: 2 };
    let large = vision::ChwImage { data: vec![0.0; 3 * 9], height: 3, width: 3 };
    assert!(matches!(inference::batch(&[small, large]), Err(InferenceError::Batch(_))));
}

#[test]
fn a_model_that_is_not_an_image_classifier_is_refused_at_load() {
    // A TorchScript module answering [1, 3, 224, 224] with the image itself.
    let dir = common::TempDir::new("identity-model");
    let path = dir.0.join("identity.pt");
    let script = "import sys, torch\nclass Identity(torch.nn.Module):\n    def forward(self, x):\n        return x\ntorch.jit.script(Identity()).save(sys.argv[1])\n";
    let script_path = dir.0.join("identity.py");
    std::fs::write(&script_path, script).unwrap();
    let status =
        std::process::Command::new(common::python()).arg(&script_path).arg(&path).status().unwrap();
    assert!(status.success());
    let error = Classifier::load(&path, Device::Cpu).unwrap_err();
    assert!(
        matches!(&error, InferenceError::OutputShape { shape, .. } if shape == &[1, 3, 224, 224]),
        "{error}"
    );
}

#[test]
fn cuda_runs_when_present_and_is_refused_cleanly_when_not() {
    let resnet = model("resnet50");
    if !inference::cuda_available() {
        let error = Classifier::load(&resnet, Device::Cuda(0)).unwrap_err();
        assert!(matches!(error, InferenceError::NoCuda), "{error}");
        eprintln!("no CUDA device: checked that CUDA is refused with a clear error");
        return;
    }
    let input = vision::preprocess(&fixtures::image(ImageSpec::study(STUDY_SIZES[0]))).unwrap();
    let host = inference::batch(&[input]).unwrap();
    let cpu = Classifier::load(&resnet, Device::Cpu).unwrap();
    let gpu = Classifier::load(&resnet, Device::Cuda(0)).unwrap();
    let on_cpu = inference::scores(&cpu.forward(&host).unwrap()).unwrap();
    let on_gpu = inference::scores(
        &gpu.forward(&inference::to_device(&host, gpu.device()).unwrap()).unwrap(),
    )
    .unwrap();
    let labels = Labels::imagenet();
    let (a, b) = (
        postprocess::classify(&on_cpu[0], &labels).unwrap(),
        postprocess::classify(&on_gpu[0], &labels).unwrap(),
    );
    assert_eq!(a.0[0].0, b.0[0].0);
    assert!((a.0[0].1 - b.0[0].1).abs() < 0.01);
}

/// The top `k` classes of one image's probabilities, best first.
fn top(probabilities: &[f32], k: usize) -> Vec<usize> {
    let mut classes: Vec<usize> = (0..probabilities.len()).collect();
    classes.sort_by(|&a, &b| probabilities[b].total_cmp(&probabilities[a]));
    classes.truncate(k);
    classes
}

/// Of the fixtures the scaled decode shrinks (the JPEGs at 720x1280 and 1080x1920), on how many
/// its top-1 class must be the exact path's, and how many of their top-5 classes (5 each) it
/// must share: the README's figures. The model's weights are random (scripts/export_models.py),
/// its classes close together, so this is a sensitivity check, not an ImageNet accuracy.
const SCALED_TOP1_AGREEING: usize = 3;
const SCALED_TOP5_SHARED: usize = 13;

#[test]
fn the_scaled_decode_mostly_gives_the_exact_paths_answers() {
    let classifier = Classifier::load(&model("resnet50"), Device::Cpu).unwrap();
    let specs = servebench::ids::VisionId::images();
    let preprocessed = |mode| -> Vec<ChwImage> {
        let preprocess = |spec: &ImageSpec| vision::preprocess_with(&fixtures::image(*spec), mode);
        specs.iter().map(|spec| preprocess(spec).unwrap()).collect()
    };
    let exact = probabilities(&classifier, &preprocessed(vision::DecodeMode::Exact));
    let scaled = probabilities(&classifier, &preprocessed(vision::DecodeMode::Scaled));
    let (mut shrunk, mut top1, mut top5) = (0, 0, 0);
    for ((spec, exact), scaled) in specs.iter().zip(&exact).zip(&scaled) {
        let (exact_top, scaled_top) = (top(exact, 5), top(scaled, 5));
        let shared = scaled_top.iter().filter(|class| exact_top.contains(class)).count();
        let largest = exact.iter().zip(scaled).map(|(a, b)| (a - b).abs()).fold(0.0f32, f32::max);
        eprintln!(
            "{spec}: top-1 {} / {}, top-5 shared {shared} of 5, largest probability difference \
             {largest:.2e}",
            exact_top[0], scaled_top[0]
        );
        let numerator = vision::jpeg_scale(spec.size.width, spec.size.height, 256);
        if spec.encoding == Encoding::Png || numerator == 8 {
            assert_eq!(exact, scaled, "{spec}: nothing to scale, yet the answer differs");
            continue;
        }
        shrunk += 1;
        top1 += usize::from(exact_top[0] == scaled_top[0]);
        top5 += shared;
    }
    eprintln!(
        "of {shrunk} shrunk fixtures: top-1 agrees on {top1}, top-5 shares {top5} of {}",
        5 * shrunk
    );
    assert_eq!(shrunk, 4);
    assert!(top1 >= SCALED_TOP1_AGREEING, "top-1 agrees on {top1} of {shrunk}");
    assert!(top5 >= SCALED_TOP5_SHARED, "top-5 shares {top5} of {}", 5 * shrunk);
}
