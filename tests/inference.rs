//! Inference contract (feature `torch`): servebench's pipeline gives the same top-1 class and
//! probability as TorchServe's Python path on the same model file; bad models are clear errors;
//! CUDA is refused cleanly where there is none.
#![cfg(feature = "torch")]

mod common;

use std::path::{Path, PathBuf};

use servebench::fixtures::{self, Encoding, ImageSpec, STUDY_SIZES, Scene};
use servebench::inference::{self, Classifier, InferenceError};
use servebench::postprocess::{self, Labels, Prediction};
use servebench::vision;
use tch::Device;

fn model(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/models").join(format!("{name}.pt"))
}

#[test]
fn top1_matches_torchserves_python_path_on_the_same_model() {
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
    let expected: Vec<(usize, f64)> =
        serde_json::from_slice(&common::run_reference("torch_classify.py", &args)).unwrap();

    let classifier = Classifier::load(&resnet, Device::Cpu).unwrap();
    assert_eq!(classifier.classes(), 1000);
    let inputs: Vec<_> = images.iter().map(|bytes| vision::preprocess(bytes).unwrap()).collect();
    let batch = inference::batch(&inputs).unwrap();
    let rows = inference::scores(&classifier.forward(&batch).unwrap()).unwrap();
    let labels = Labels::imagenet();
    for ((row, (class, probability)), spec) in rows.iter().zip(expected).zip(&specs) {
        let Prediction(answer) = postprocess::classify(row, &labels).unwrap();
        assert_eq!(answer[0].0, labels.name(class).unwrap(), "{spec:?}");
        assert!(
            (f64::from(answer[0].1) - probability).abs() <= 0.01,
            "{spec:?}: {answer:?} vs {probability}"
        );
    }
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
