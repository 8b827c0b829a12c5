//! The TorchServe-compatible model server (feature `torch`), driven over HTTP as curl would:
//! answers match the stages called directly, every answer carries its stage timings, bad
//! requests get TorchServe's errors, and the server keeps serving.
#![cfg(feature = "torch")]

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use bytes::Bytes;
use http::{Method, Request, StatusCode, header};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use servebench::fixtures::{self, ImageSpec, STUDY_SIZES};
use servebench::inference::{self, Classifier};
use servebench::postprocess::{self, Labels};
use servebench::server::batching::BatchConfig;
use servebench::server::torchserve::{ModelConfig, ModelServer, ModelServerConfig};
use servebench::timing::{self, Stage, StageTimings};
use servebench::{codec, vision};
use tch::Device;

const LIMIT: usize = 4 << 20;

fn resnet() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/models/resnet50.pt")
}

async fn server(batch: BatchConfig) -> ModelServer {
    let model = ModelConfig {
        name: "resnet50".into(),
        version: "1.0".into(),
        path: resnet(),
        device: Device::Cpu,
        batch,
    };
    ModelServer::start(ModelServerConfig {
        body_limit: LIMIT,
        models: vec![model],
        ..Default::default()
    })
    .await
    .unwrap()
}

async fn call(
    server: SocketAddr,
    method: Method,
    path: &str,
    content_type: &str,
    body: impl Into<Bytes>,
) -> (StatusCode, String, serde_json::Value) {
    let request = Request::builder()
        .method(method)
        .uri(format!("http://{server}{path}"))
        .header(header::CONTENT_TYPE, content_type)
        .body(Full::new(body.into()))
        .unwrap();
    let response =
        Client::builder(TokioExecutor::new()).build_http().request(request).await.unwrap();
    let status = response.status();
    let timings = response
        .headers()
        .get(timing::HEADER)
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    (
        status,
        timings,
        serde_json::from_slice(&body)
            .unwrap_or_else(|e| panic!("{path}: not JSON ({e}): {body:?}")),
    )
}

/// The answer servebench's stages give when called directly, as JSON.
fn direct_answer(image: &[u8]) -> serde_json::Value {
    let classifier = Classifier::load(&resnet(), Device::Cpu).unwrap();
    let input = inference::batch(&[vision::preprocess(image).unwrap()]).unwrap();
    let scores = inference::scores(&classifier.forward(&input).unwrap()).unwrap();
    serde_json::to_value(postprocess::classify(&scores[0], &Labels::imagenet()).unwrap()).unwrap()
}

#[tokio::test]
async fn predictions_over_raw_and_base64_bodies_match_the_stages_with_timings() {
    let server = server(BatchConfig::default()).await;
    let (status, _, health) =
        call(server.rest_addr(), Method::GET, "/ping", "text/plain", Bytes::new()).await;
    assert_eq!((status, health), (StatusCode::OK, serde_json::json!({"status": "Healthy"})));

    let image = fixtures::image(ImageSpec::study(STUDY_SIZES[0]));
    let expected = direct_answer(&image);
    assert_eq!(expected.as_object().unwrap().len(), 5);
    let base64 = serde_json::to_vec(&codec::base64::encode(&image)).unwrap();
    let requests: [(&str, &str, Bytes); 3] = [
        ("/predictions/resnet50", "image/jpeg", image.clone()),
        ("/predictions/resnet50/1.0", "application/octet-stream", image.clone()),
        ("/predictions/resnet50", "application/json", base64.into()),
    ];
    for (path, content_type, body) in requests {
        let (status, header, answer) =
            call(server.rest_addr(), Method::POST, path, content_type, body).await;
        assert_eq!(status, StatusCode::OK, "{path}: {answer}");
        assert_eq!(answer, expected, "{path} ({content_type})");
        let timings = StageTimings::parse(&header);
        for stage in Stage::ALL {
            assert!(timings.get(stage).is_some(), "{path}: no {stage:?} in {header:?}");
        }
    }
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn bad_requests_get_torchserves_errors_and_the_server_keeps_serving() {
    let server = server(BatchConfig::default()).await;
    let image = fixtures::image(ImageSpec::study(STUDY_SIZES[0]));
    let cases: [(&str, &str, Bytes, StatusCode, &str); 9] = [
        (
            "/predictions/resnet50",
            "image/jpeg",
            Bytes::from_static(b"not a jpeg at all"),
            StatusCode::BAD_REQUEST,
            "BadRequestException",
        ),
        (
            "/predictions/resnet50",
            "image/jpeg",
            image.slice(..image.len() / 2),
            StatusCode::BAD_REQUEST,
            "BadRequestException",
        ),
        (
            "/predictions/resnet50",
            "image/jpeg",
            Bytes::new(),
            StatusCode::BAD_REQUEST,
            "BadRequestException",
        ),
        (
            "/predictions/resnet50",
            "application/json",
            Bytes::from_static(br#"{"data": 1}"#),
            StatusCode::BAD_REQUEST,
            "BadRequestException",
        ),
        (
            "/predictions/resnet50",
            "application/json",
            Bytes::from_static(br#""%%% not base64""#),
            StatusCode::BAD_REQUEST,
            "BadRequestException",
        ),
        (
            "/predictions/densenet",
            "image/jpeg",
            image.clone(),
            StatusCode::NOT_FOUND,
            "ModelNotFoundException",
        ),
        (
            "/predictions/resnet50/9.9",
            "image/jpeg",
            image.clone(),
            StatusCode::NOT_FOUND,
            "ModelNotFoundException",
        ),
        (
            "/no/such/path",
            "image/jpeg",
            image.clone(),
            StatusCode::NOT_FOUND,
            "ResourceNotFoundException",
        ),
        (
            "/predictions/resnet50",
            "image/jpeg",
            Bytes::from(vec![0u8; LIMIT + 1]),
            StatusCode::PAYLOAD_TOO_LARGE,
            "RequestEntityTooLargeException",
        ),
    ];
    for (path, content_type, body, status, kind) in cases {
        let (got, _, error) =
            call(server.rest_addr(), Method::POST, path, content_type, body).await;
        assert_eq!(got, status, "{path} {content_type}: {error}");
        assert_eq!(
            (error["code"].as_u64(), error["type"].as_str()),
            (Some(u64::from(status.as_u16())), Some(kind)),
            "{error}"
        );
        assert!(!error["message"].as_str().unwrap().is_empty());
    }
    let (status, _, _) =
        call(server.rest_addr(), Method::POST, "/predictions/resnet50", "image/jpeg", image).await;
    assert_eq!(status, StatusCode::OK);
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn batched_requests_each_get_their_own_answer() {
    let batch = BatchConfig {
        batch_size: 4,
        max_batch_delay: Duration::from_millis(200),
        ..Default::default()
    };
    let server = server(batch).await;
    let images: Vec<Bytes> =
        STUDY_SIZES.iter().map(|size| fixtures::image(ImageSpec::study(*size))).collect();
    // In flight together, so they can share a batch.
    let calls: Vec<_> = images
        .iter()
        .map(|image| {
            let image = image.clone();
            tokio::spawn(call(
                server.rest_addr(),
                Method::POST,
                "/predictions/resnet50",
                "image/jpeg",
                image,
            ))
        })
        .collect();
    for (image, call) in images.iter().zip(calls) {
        let (status, _, answer) = call.await.unwrap();
        assert_eq!(status, StatusCode::OK);
        let expected = direct_answer(image);
        for (label, probability) in expected.as_object().unwrap() {
            let got =
                answer[label].as_f64().unwrap_or_else(|| panic!("{label} missing from {answer}"));
            assert!((got - probability.as_f64().unwrap()).abs() < 1e-4, "{answer} vs {expected}");
        }
    }
    server.shutdown().await.unwrap();
}
