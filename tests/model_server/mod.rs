//! Shared by the model server's tests: a server over the generated ResNet-50, and the answer
//! servebench's stages give when called directly.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use servebench::codec::python_json;
use servebench::inference::{self, Classifier};
use servebench::postprocess::{self, Labels};
use servebench::server::batching::BatchConfig;
use servebench::server::torchserve::{self, ModelConfig, ModelServerConfig, Pipeline};
use servebench::server::{ListenConfig, ServerHandle};
use servebench::vision::{self, DecodeMode};
use tch::Device;

/// The body limit the test servers run with.
pub const LIMIT: usize = 4 << 20;

/// The generated ResNet-50 (`scripts/setup` makes it).
pub fn resnet() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/models/resnet50.pt")
}

/// A model server on loopback serving ResNet-50 as `resnet50` version `1.0`, taking bodies up
/// to [`LIMIT`].
pub async fn start(batch: BatchConfig) -> ServerHandle {
    start_with_limit(batch, LIMIT).await
}

/// [`start`] with another body limit.
pub async fn start_with_limit(batch: BatchConfig, body_limit: usize) -> ServerHandle {
    start_listening(batch, ListenConfig { body_limit, ..Default::default() }).await
}

/// [`start`] listening as `listen` says.
pub async fn start_listening(batch: BatchConfig, listen: ListenConfig) -> ServerHandle {
    start_designed(batch, Pipeline::default(), listen).await
}

/// [`start_listening`] with the model's images prepared as `pipeline` says.
pub async fn start_designed(
    batch: BatchConfig,
    pipeline: Pipeline,
    listen: ListenConfig,
) -> ServerHandle {
    let model = ModelConfig {
        name: "resnet50".into(),
        version: "1.0".into(),
        path: resnet(),
        device: Device::Cpu,
        batch,
        pipeline,
    };
    torchserve::start(ModelServerConfig { listen, models: vec![model] }).await.unwrap()
}

/// The model's scores for `image`, its stages called directly: what the Open Inference
/// Protocol's `scores` output holds.
pub fn direct_scores(image: &[u8]) -> Vec<f32> {
    direct_scores_decoding(image, DecodeMode::Exact)
}

/// [`direct_scores`] decoding the image as `decode` says.
pub fn direct_scores_decoding(image: &[u8], decode: DecodeMode) -> Vec<f32> {
    let classifier = Classifier::load(&resnet(), Device::Cpu).unwrap();
    let input = inference::batch(&[vision::preprocess_with(image, decode).unwrap()]).unwrap();
    inference::scores(&classifier.forward(&input).unwrap()).unwrap().remove(0)
}

/// The answer servebench's stages give for `image` when called directly, as the server writes
/// it (Python's JSON) read back: a float goes through the same text either way, so answers
/// compare exactly.
pub fn direct_answer(image: &[u8]) -> serde_json::Value {
    direct_answer_decoding(image, DecodeMode::Exact)
}

/// [`direct_answer`] decoding the image as `decode` says.
pub fn direct_answer_decoding(image: &[u8], decode: DecodeMode) -> serde_json::Value {
    let scores = direct_scores_decoding(image, decode);
    let prediction = postprocess::classify(&scores, &Labels::imagenet()).unwrap();
    serde_json::from_slice(&python_json::encode(&prediction).unwrap()).unwrap()
}

/// Whether two answers name the same classes with probabilities within `1e-4` (a batch of
/// several images may round differently from one alone).
pub fn same_answer(got: &serde_json::Value, expected: &serde_json::Value) -> bool {
    let (Some(got), Some(expected)) = (got.as_object(), expected.as_object()) else {
        return false;
    };
    got.len() == expected.len()
        && expected.iter().all(|(label, probability)| {
            got.get(label)
                .and_then(serde_json::Value::as_f64)
                .zip(probability.as_f64())
                .is_some_and(|(got, expected)| (got - expected).abs() < 1e-4)
        })
}
