//! The model server's Open Inference Protocol (feature `torch`) against a client servebench did
//! not write: NVIDIA's tritonclient (HTTP, and gRPC with Triton's own generated stubs), and
//! requests written by hand from the specification where tritonclient cannot send them
//! (`scripts/reference/oip_client.py`). Health, metadata, inference on both inputs, every way a
//! tensor travels, the classification extension, and the errors, with the codes the protocol
//! gives; bad input never stops the server.
//!
//! Every score is compared, all 1000 per image, against the model run directly on the same
//! preprocessed image, within 1e-4 (a batch of several images may round differently from one
//! alone).
#![cfg(feature = "torch")]

mod common;
mod model_server;

use std::process::Command;

use serde_json::Value;
use servebench::fixtures::{self, ImageSpec, STUDY_SIZES};
use servebench::inference::{self, Classifier};
use servebench::postprocess::{self, Labels};
use servebench::server::batching::BatchConfig;
use servebench::vision;
use tch::Device;

/// How far a served score may be from the direct one.
const TOLERANCE: f64 = 1e-4;

/// A call's answer without its data past the first five values, for a failure's message.
fn summary(answer: &Value) -> Value {
    let mut answer = answer.clone();
    if let Some(data) = answer.get_mut("data").and_then(Value::as_array_mut) {
        data.truncate(5);
    }
    answer
}

/// Whether `got` (a call's `data`) holds `rows` copies of `expected`, each score within
/// [`TOLERANCE`].
fn same_scores(got: &Value, expected: &[f32], rows: usize) -> bool {
    let Some(got) = got.as_array() else { return false };
    got.len() == expected.len() * rows
        && got.iter().zip(expected.iter().cycle()).all(|(got, expected)| {
            got.as_f64().is_some_and(|got| (got - f64::from(*expected)).abs() <= TOLERANCE)
        })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tritonclient_and_the_specification_get_the_protocols_answers() {
    let server = model_server::start(BatchConfig::default()).await;
    let image = fixtures::image(ImageSpec::study(STUDY_SIZES[0]));
    let prepared = vision::preprocess(&image).unwrap();
    let classifier = Classifier::load(&model_server::resnet(), Device::Cpu).unwrap();
    let batch = inference::batch(std::slice::from_ref(&prepared)).unwrap();
    let expected = inference::scores(&classifier.forward(&batch).unwrap()).unwrap().remove(0);
    let labels = Labels::imagenet();
    let top5: Vec<String> = postprocess::top_k(&expected, 5)
        .into_iter()
        .map(|(index, _)| format!(":{index}:{}", labels.name(index).unwrap()))
        .collect();

    let dir = common::TempDir::new("oip-compat");
    let (image_path, tensor_path) = (dir.0.join("image.jpg"), dir.0.join("tensor.f32"));
    std::fs::write(&image_path, &image).unwrap();
    let tensor: Vec<u8> = prepared.data.iter().flat_map(|value| value.to_le_bytes()).collect();
    std::fs::write(&tensor_path, tensor).unwrap();
    let script =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/reference/oip_client.py");
    let mut python = Command::new(common::python());
    python.arg(script).arg(server.rest_addr().to_string()).arg(server.grpc_addr().to_string());
    python.args(["resnet50"]).arg(&image_path).arg(&tensor_path);
    python.arg(model_server::LIMIT.to_string());
    let output = tokio::task::spawn_blocking(move || python.output()).await.unwrap().unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let got: Value = serde_json::from_slice(&output.stdout).unwrap();

    // Health and metadata.
    for call in ["http_live", "http_ready", "http_model_ready", "grpc_live", "grpc_ready"] {
        assert_eq!(got[call], true, "{call}");
    }
    assert_eq!(got["grpc_model_ready"], true);
    assert_eq!(got["http_unknown_model_ready"], false);
    for call in ["http_server_metadata", "grpc_server_metadata"] {
        assert_eq!(got[call]["name"], "servebench", "{call}: {}", got[call]);
        let extensions = &got[call]["extensions"];
        assert_eq!(*extensions, serde_json::json!(["binary_tensor_data", "classification"]));
    }
    let metadata = serde_json::json!({
        "name": "resnet50",
        "versions": ["1.0"],
        "platform": "pytorch_libtorch",
        "inputs": [
            {"name": "image", "datatype": "BYTES", "shape": [-1]},
            {"name": "tensor", "datatype": "FP32", "shape": [-1, 3, 224, 224]},
        ],
        "outputs": [{"name": "scores", "datatype": "FP32", "shape": [-1, 1000]}],
    });
    assert_eq!(got["http_model_metadata"], metadata);
    assert_eq!(got["grpc_model_metadata"], metadata);

    // Inference: the JPEG and the tensor, every way they travel, give the model's scores.
    for call in [
        "http_image_binary",
        "http_tensor_binary",
        "http_tensor_json",
        "http_after_errors",
        "grpc_image",
        "grpc_tensor",
        "grpc_after_errors",
    ] {
        let answer = &got[call];
        assert_eq!(answer["ok"], true, "{call}: {}", summary(answer));
        assert_eq!(
            (&answer["datatype"], &answer["shape"]),
            (&"FP32".into(), &serde_json::json!([1, 1000]))
        );
        assert!(same_scores(&answer["data"], &expected, 1), "{call}: {}", summary(answer));
    }
    let two = &got["http_two_images"];
    assert_eq!(two["shape"], serde_json::json!([2, 1000]), "{}", summary(two));
    assert!(same_scores(&two["data"], &expected, 2), "{}", summary(two));
    let base64 = &got["rest_image_base64_json"];
    assert_eq!(base64["status"], 200, "{}", base64["body"]["error"]);
    let output = &base64["body"]["outputs"][0];
    assert!(same_scores(&output["data"], &expected, 1), "{}", summary(output));
    // Where the time went, as for the other APIs: the JPEG decoded on the server, the tensor not.
    let timing = base64["server_timing"].as_str().unwrap_or_default();
    for stage in ["receive", "decode", "queue", "preprocess", "infer", "encode"] {
        assert!(timing.contains(&format!("{stage};dur=")), "{stage} in {timing}");
    }
    let typed = &got["grpc_tensor_typed"];
    let timing = typed["server_timing"].as_str().unwrap_or_default();
    assert!(timing.contains("infer;dur=") && !timing.contains("preprocess"), "{timing}");
    assert_eq!(
        (&typed["ok"], &typed["id"], &typed["raw"]),
        (&true.into(), &"typed-1".into(), &0.into())
    );
    assert!(same_scores(&typed["data"], &expected, 1), "typed: {}", summary(typed));
    for call in ["http_classification", "grpc_classification"] {
        let answer = &got[call];
        assert_eq!(
            (&answer["datatype"], &answer["shape"]),
            (&"BYTES".into(), &serde_json::json!([1, 5]))
        );
        let classes: Vec<&str> =
            answer["data"].as_array().unwrap().iter().map(|c| c.as_str().unwrap()).collect();
        for (class, expected) in classes.iter().zip(&top5) {
            assert!(class.ends_with(expected.as_str()), "{call}: {class} is not {expected}");
        }
    }

    // Errors: the protocol's codes, REST's `{"error": ...}`.
    for (call, status, says) in [
        ("http_unknown_model", "404", "Model not found: no_such_model"),
        ("http_wrong_datatype", "400", "the model takes one input"),
        ("http_wrong_shape", "400", "the model takes one input"),
        ("http_corrupt_image", "400", "the JPEG is truncated"),
        ("grpc_unknown_model", "StatusCode.NOT_FOUND", "Model not found: no_such_model"),
        ("grpc_wrong_datatype", "StatusCode.INVALID_ARGUMENT", "the model takes one input"),
        ("grpc_wrong_shape", "StatusCode.INVALID_ARGUMENT", "the model takes one input"),
    ] {
        let answer = &got[call];
        assert_eq!(
            (&answer["ok"], &answer["status"]),
            (&false.into(), &status.into()),
            "{call}: {answer}"
        );
        assert!(answer["message"].as_str().unwrap().contains(says), "{call}: {answer}");
    }
    for (call, status, says) in [
        ("rest_malformed_json", 400, "malformed JSON"),
        ("rest_binary_size_mismatch", 400, "binary_data_size 16"),
        ("rest_oversized", 413, "limit"),
        ("rest_unknown_path", 404, "not found"),
    ] {
        let answer = &got[call];
        assert_eq!(answer["status"], status, "{call}: {answer}");
        let error = answer["body"]["error"].as_str().unwrap_or_default();
        assert!(error.contains(says), "{call}: {answer}");
        assert_eq!(answer["content_type"], "application/json", "{call}: {answer}");
    }
    assert_eq!(got["grpc_oversized"]["code"], "RESOURCE_EXHAUSTED", "{}", got["grpc_oversized"]);
    server.shutdown().await.unwrap();
}
