//! The model server (feature `torch`) against clients servebench did not write: Python's grpcio
//! with stubs generated from servebench's `proto/torchserve.proto`, Python's urllib, and curl
//! (when installed). Their answers and error codes must be TorchServe's.
#![cfg(feature = "torch")]

mod common;
mod model_server;

use std::process::Command;

use model_server::{direct_answer, same_answer};
use serde_json::Value;
use servebench::fixtures::{self, ImageSpec, STUDY_SIZES};
use servebench::server::batching::BatchConfig;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_grpcio_urllib_and_curl_get_torchserves_answers() {
    let server = model_server::start(BatchConfig::default()).await;
    let image = fixtures::image(ImageSpec::study(STUDY_SIZES[0]));
    let expected = direct_answer(&image);
    let dir = common::TempDir::new("compat");
    let image_path = dir.0.join("image.jpg");
    std::fs::write(&image_path, &image).unwrap();
    let rest_url = format!("http://{}", server.rest_addr());
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("scripts/reference/torchserve_client.py");

    let mut python = Command::new(common::python());
    python.arg(script).arg(&rest_url).arg(server.grpc_addr().to_string()).arg("resnet50");
    python.arg(&image_path);
    let output = tokio::task::spawn_blocking(move || python.output()).await.unwrap().unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let got: Value = serde_json::from_slice(&output.stdout).unwrap();

    // Every body, answer or error, is byte for byte what TorchServe writes for its JSON.
    let exact = |call: &str| got[call]["as_torchserve_writes"] == true;
    assert_eq!(got["rest_ping"]["body"], serde_json::json!({"status": "Healthy"}));
    assert_eq!(got["grpc_ping"]["body"], serde_json::json!({"status": "Healthy"}));
    assert!(exact("rest_ping") && exact("grpc_ping"), "{got}");
    for call in ["rest_put_raw", "rest_multipart", "rest_base64"] {
        assert_eq!(got[call]["status"], 200, "{call}: {}", got[call]);
        assert!(same_answer(&got[call]["body"], &expected), "{call}: {}", got[call]);
        assert!(exact(call), "{call}: {}", got[call]);
    }
    for (call, status, kind) in [
        ("rest_unknown_model", 404, "ModelNotFoundException"),
        ("rest_corrupt", 400, "BadRequestException"),
        ("rest_wrong_field", 400, "BadRequestException"),
    ] {
        assert_eq!(got[call]["status"], status, "{call}: {}", got[call]);
        assert_eq!(got[call]["body"]["type"], kind, "{call}: {}", got[call]);
        assert_eq!(got[call]["body"]["code"], status, "{call}: {}", got[call]);
        assert!(exact(call), "{call}: {}", got[call]);
    }
    assert_eq!(got["rest_unknown_model"]["body"]["message"], "Model not found: no_such_model");
    assert_eq!(got["grpc_predictions"]["code"], "OK", "{}", got["grpc_predictions"]);
    assert!(same_answer(&got["grpc_predictions"]["prediction"], &expected));
    assert!(exact("grpc_predictions"), "{}", got["grpc_predictions"]);
    let stream = got["grpc_stream"].as_array().unwrap();
    assert_eq!(stream.len(), 1);
    assert!(same_answer(&stream[0], &expected));
    for (call, code) in [
        ("grpc_unknown_model", "NOT_FOUND"),
        ("grpc_wrong_key", "INVALID_ARGUMENT"),
        ("grpc_corrupt", "INVALID_ARGUMENT"),
    ] {
        assert_eq!(got[call]["code"], code, "{call}: {}", got[call]);
    }

    // TorchServe's own documentation: `curl -T kitten.jpg http://127.0.0.1:8080/predictions/...`.
    if Command::new("curl").arg("--version").output().is_ok_and(|out| out.status.success()) {
        let url = format!("{rest_url}/predictions/resnet50");
        let mut curl = Command::new("curl");
        curl.args(["--silent", "--show-error", "--fail", "-T"]).arg(&image_path).arg(url);
        let output = tokio::task::spawn_blocking(move || curl.output()).await.unwrap().unwrap();
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
        let answer: Value = serde_json::from_slice(&output.stdout).unwrap();
        assert!(same_answer(&answer, &expected), "curl -T: {answer}");
    } else {
        eprintln!("curl is not installed: checked Python's clients only");
    }
    server.shutdown().await.unwrap();
}
