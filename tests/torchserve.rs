//! The TorchServe-compatible model server (feature `torch`), driven as curl and TorchServe's
//! gRPC clients would: answers match the stages called directly over every route, every answer
//! carries its stage timings, bad requests get TorchServe's errors and statuses, and the server
//! keeps serving.
#![cfg(feature = "torch")]

mod common;
mod model_server;

use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use http::{Method, Request, StatusCode, header};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use model_server::{LIMIT, direct_answer, direct_scores, same_answer};
use servebench::client::torchserve::{ModelAnswer, ModelClient};
use servebench::codec;
use servebench::fixtures::{self, ImageSpec, STUDY_SIZES};
use servebench::messages::torchserve::PredictionsRequest;
use servebench::messages::torchserve::inference_ap_is_service_client::InferenceApIsServiceClient;
use servebench::server::batching::BatchConfig;
use servebench::server::torchserve::{HEALTHY, Pipeline};
use servebench::server::{ListenConfig, ServerHandle};
use servebench::timing::{self, Stage, StageTimings};
use servebench::transport::{OipInput, Route};
use servebench::vision::DecodeMode;
use tonic::Code;

async fn server(batch: BatchConfig) -> ServerHandle {
    model_server::start(batch).await
}

fn small_image() -> Bytes {
    fixtures::image(ImageSpec::study(STUDY_SIZES[0]))
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

/// POSTs `image` as the raw body to `/predictions/resnet50`.
async fn predict(server: SocketAddr, image: Bytes) -> (StatusCode, String, serde_json::Value) {
    call(server, Method::POST, "/predictions/resnet50", "image/jpeg", image).await
}

/// The stages the model server reports: every one but the study servers' `answer`.
const MODEL_STAGES: [Stage; 7] = [
    Stage::Receive,
    Stage::Queue,
    Stage::Decode,
    Stage::Preprocess,
    Stage::Infer,
    Stage::Postprocess,
    Stage::Encode,
];

#[tokio::test]
async fn predictions_over_raw_multipart_and_base64_bodies_match_the_stages_with_timings() {
    let server = server(BatchConfig::default()).await;
    let (status, _, health) =
        call(server.rest_addr(), Method::GET, "/ping", "text/plain", Bytes::new()).await;
    assert_eq!((status, health), (StatusCode::OK, serde_json::json!({"status": "Healthy"})));

    let image = small_image();
    let expected = direct_answer(&image);
    assert_eq!(expected.as_object().unwrap().len(), 5);
    let base64 = serde_json::to_vec(&codec::base64::encode(&image)).unwrap();
    let form = codec::multipart::encode("data", "kitten.jpg", "image/jpeg", &image);
    // A form as `curl -F note=hi -F body=@kitten.jpg` sends it: TorchServe also reads `body`.
    let curl_form = [
        &b"--XyZ\r\nContent-Disposition: form-data; name=\"note\"\r\n\r\nhi\r\n--XyZ\r\n\
           Content-Disposition: form-data; name=\"body\"; filename=\"k.jpg\"\r\n\r\n"[..],
        &image,
        b"\r\n--XyZ--\r\n",
    ]
    .concat();
    let requests: [(&str, &str, Bytes); 5] = [
        ("/predictions/resnet50", "image/jpeg", image.clone()),
        ("/predictions/resnet50/1.0", "application/octet-stream", image.clone()),
        ("/predictions/resnet50", "application/json", base64.into()),
        ("/predictions/resnet50", &form.content_type, form.body),
        ("/predictions/resnet50", "multipart/form-data; boundary=XyZ", curl_form.into()),
    ];
    for (path, content_type, body) in requests {
        let (status, header, answer) =
            call(server.rest_addr(), Method::POST, path, content_type, body).await;
        assert_eq!(status, StatusCode::OK, "{path}: {answer}");
        assert_eq!(answer, expected, "{path} ({content_type})");
        let timings = StageTimings::parse(&header);
        for stage in Stage::ALL {
            let reported = timings.get(stage).is_some();
            assert_eq!(reported, MODEL_STAGES.contains(&stage), "{path}: {stage:?} in {header:?}");
        }
    }
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn bad_requests_get_torchserves_errors_and_the_server_keeps_serving() {
    let server = server(BatchConfig::default()).await;
    let image = small_image();
    let no_data_field = codec::multipart::encode("file", "k.jpg", "image/jpeg", &image);
    let cases: [(&str, &str, Bytes, StatusCode, &str); 13] = [
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
            "ModelVersionNotFoundException",
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
        (
            "/predictions/resnet50",
            &no_data_field.content_type,
            no_data_field.body.clone(),
            StatusCode::BAD_REQUEST,
            "BadRequestException",
        ),
        (
            "/predictions/resnet50",
            "multipart/form-data; boundary=nope",
            image.clone(),
            StatusCode::BAD_REQUEST,
            "BadRequestException",
        ),
        (
            // The right bytes under the wrong content type: a JPEG is not JSON.
            "/predictions/resnet50",
            "application/json",
            image.clone(),
            StatusCode::BAD_REQUEST,
            "BadRequestException",
        ),
        (
            "/ping",
            "image/jpeg",
            image.clone(),
            StatusCode::METHOD_NOT_ALLOWED,
            "MethodNotAllowedException",
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
    // Messages as a real TorchServe (0.12) words them.
    for (path, message) in [
        ("/predictions/densenet", "Model not found: densenet"),
        ("/predictions/resnet50/9.9", "Model version: 9.9 does not exist for model: resnet50"),
        ("/no/such/path", "Requested resource is not found, please refer to API document."),
    ] {
        let (_, _, error) =
            call(server.rest_addr(), Method::POST, path, "image/jpeg", image.clone()).await;
        assert_eq!(error["message"], message);
    }
    let (status, _, _) = predict(server.rest_addr(), image).await;
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
            tokio::spawn(predict(server.rest_addr(), image))
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

#[tokio::test]
async fn every_client_route_gets_the_answer_with_both_sides_timings() {
    let server = server(BatchConfig::default()).await;
    let image = small_image();
    let expected = direct_answer(&image);
    let scores = direct_scores(&image);
    for route in Route::ALL {
        let client = ModelClient::connect(route, &server.target(), "resnet50").await.unwrap();
        let replies = client.predict_concurrent(&image, 2).await.unwrap();
        assert_eq!(replies.len(), 2);
        // The tensor routes preprocess on the client: the server only infers.
        let on_client = matches!(route, Route::Oip(_, OipInput::Tensor));
        for reply in replies {
            match &reply.answer {
                ModelAnswer::TorchServe(answer) => {
                    assert!(same_answer(answer, &expected), "{route}: {answer}");
                }
                ModelAnswer::Oip(answer) => {
                    let got = answer.outputs[0].tensor.to_f32().unwrap();
                    assert_eq!(answer.outputs[0].tensor.shape, [1, 1000], "{route}");
                    let close = got.iter().zip(&scores).all(|(a, b)| (a - b).abs() <= 1e-4);
                    assert!(close && got.len() == scores.len(), "{route}: {:?}", &got[..5]);
                }
            }
            assert_eq!(reply.client.preprocess.is_zero(), !on_client, "{route}: {reply:?}");
            // The Open Inference Protocol's scores are the model's output: nothing to
            // postprocess (unless the classes are asked for).
            let oip = matches!(route, Route::Oip(..));
            for stage in MODEL_STAGES {
                let skipped = (on_client && stage == Stage::Preprocess)
                    || (oip && stage == Stage::Postprocess);
                let expected = !skipped;
                let got = reply.server.get(stage).is_some();
                assert_eq!(got, expected, "{route}: server {stage:?}");
            }
            let server_total: Duration =
                Stage::ALL.iter().filter_map(|s| reply.server.get(*s)).sum();
            // The wait holds the server's whole time, and the network's.
            assert!(reply.client.wait >= server_total, "{route}: {reply:?}");
        }
    }
    server.shutdown().await.unwrap();
}

async fn grpc_client(
    server: &ServerHandle,
) -> InferenceApIsServiceClient<tonic::transport::Channel> {
    InferenceApIsServiceClient::connect(format!("http://{}", server.grpc_addr()))
        .await
        .unwrap()
        .max_encoding_message_size(2 * LIMIT)
}

fn grpc_request(model: &str, version: &str, key: &str, image: &Bytes) -> PredictionsRequest {
    PredictionsRequest {
        model_name: model.into(),
        model_version: version.into(),
        input: [(key.to_owned(), image.clone())].into(),
        sequence_id: None,
    }
}

#[tokio::test]
async fn grpc_answers_rest_bytes_with_timings_and_torchserves_codes() {
    let server = server(BatchConfig::default()).await;
    let mut client = grpc_client(&server).await;
    let health = client.ping(()).await.unwrap().into_inner().health;
    assert_eq!(health, HEALTHY);
    assert_eq!(serde_json::from_str::<serde_json::Value>(&health).unwrap()["status"], "Healthy");

    let image = small_image();
    let (_, _, rest_answer) = predict(server.rest_addr(), image.clone()).await;
    for (version, key) in [("", "data"), ("1.0", "body")] {
        let mut request = grpc_request("resnet50", version, key, &image);
        request.sequence_id = Some("seq-7".into());
        let response = client.predictions(request).await.unwrap();
        let timings = response.metadata().get(timing::HEADER).unwrap().to_str().unwrap().to_owned();
        let timings = StageTimings::parse(&timings);
        assert!(MODEL_STAGES.iter().all(|stage| timings.get(*stage).is_some()), "{timings}");
        let answer = response.into_inner();
        assert_eq!(answer.sequence_id.as_deref(), Some("seq-7"));
        let answer: serde_json::Value = serde_json::from_slice(&answer.prediction).unwrap();
        assert_eq!(answer, rest_answer, "gRPC and REST answer the same JSON");
    }

    let mut stream =
        client.stream_predictions(grpc_request("resnet50", "", "data", &image)).await.unwrap();
    assert!(stream.metadata().get(timing::HEADER).is_some());
    let stream = stream.get_mut();
    let first = stream.message().await.unwrap().expect("one streamed answer");
    assert_eq!(
        serde_json::from_slice::<serde_json::Value>(&first.prediction).unwrap(),
        rest_answer
    );
    assert!(stream.message().await.unwrap().is_none(), "the stream ends after the answer");

    let oversized = Bytes::from(vec![0u8; LIMIT + 1]);
    let cases = [
        (grpc_request("densenet", "", "data", &image), Code::NotFound),
        (grpc_request("resnet50", "9.9", "data", &image), Code::NotFound),
        (grpc_request("resnet50", "", "image", &image), Code::InvalidArgument),
        (
            grpc_request("resnet50", "", "data", &image.slice(..image.len() / 2)),
            Code::InvalidArgument,
        ),
        (
            grpc_request("resnet50", "", "data", &Bytes::from_static(b"GIF89a")),
            Code::InvalidArgument,
        ),
        (grpc_request("resnet50", "", "data", &Bytes::new()), Code::InvalidArgument),
        (grpc_request("resnet50", "", "data", &oversized), Code::ResourceExhausted),
    ];
    for (request, code) in cases {
        let what = format!(
            "{} {:?} {:?}",
            request.model_name,
            request.model_version,
            request.input.keys()
        );
        let status = client.predictions(request).await.unwrap_err();
        assert_eq!(status.code(), code, "{what}: {status:?}");
        assert!(!status.message().is_empty());
    }
    assert!(client.predictions(grpc_request("resnet50", "", "data", &image)).await.is_ok());
    server.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_full_queue_refuses_with_503_and_unavailable() {
    // One worker, room for one waiting request: a burst arriving within one inference (tens of
    // milliseconds) overflows it.
    let server = server(BatchConfig { queue_capacity: 1, ..Default::default() }).await;
    let image = small_image();
    let rest: Vec<_> =
        (0..24).map(|_| tokio::spawn(predict(server.rest_addr(), image.clone()))).collect();
    let mut grpc = grpc_client(&server).await;
    let grpc_calls: Vec<_> = (0..24)
        .map(|_| {
            let (mut client, request) =
                (grpc.clone(), grpc_request("resnet50", "", "data", &image));
            tokio::spawn(async move { client.predictions(request).await.map(drop) })
        })
        .collect();
    let mut refused = 0;
    for call in rest {
        let (status, _, body) = call.await.unwrap();
        match status {
            StatusCode::OK => {}
            StatusCode::SERVICE_UNAVAILABLE => {
                assert_eq!(body["type"], "ServiceUnavailableException");
                refused += 1;
            }
            other => panic!("{other}: {body}"),
        }
    }
    assert!(refused > 0, "24 simultaneous requests fit a queue of 1");
    let mut unavailable = 0;
    for call in grpc_calls {
        if let Err(status) = call.await.unwrap() {
            assert_eq!(status.code(), Code::Unavailable, "{status:?}");
            unavailable += 1;
        }
    }
    assert!(unavailable > 0, "24 simultaneous gRPC requests fit a queue of 1");
    assert!(grpc.ping(()).await.is_ok());
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_full_body_budget_refuses_with_503_in_each_apis_words() {
    use tokio::io::AsyncWriteExt;
    // One body of the limit, which holds twice its size while it is read and copied.
    let listen = ListenConfig { body_limit: LIMIT, body_budget: 2 * LIMIT, ..Default::default() };
    let server = model_server::start_listening(BatchConfig::default(), listen).await;
    // An upload that promises the whole budget and sends a little of it.
    let mut holder = tokio::net::TcpStream::connect(server.rest_addr()).await.unwrap();
    let head = format!(
        "POST /predictions/resnet50 HTTP/1.1\r\nhost: x\r\ncontent-length: {LIMIT}\r\n\r\n"
    );
    holder.write_all(head.as_bytes()).await.unwrap();
    while server.body_budget().held() < 2 * LIMIT {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let image = small_image();
    let (status, _, body) = predict(server.rest_addr(), image.clone()).await;
    assert_eq!(
        (status, body["type"].as_str()),
        (StatusCode::SERVICE_UNAVAILABLE, Some("ServiceUnavailableException")),
        "{body}"
    );
    assert!(body["message"].as_str().unwrap().contains("budget"), "{body}");
    let oip = serde_json::json!({"inputs": [{"name": "image", "datatype": "BYTES", "shape": [1], "data": ["x"]}]});
    let (status, _, body) = call(
        server.rest_addr(),
        Method::POST,
        "/v2/models/resnet50/infer",
        "application/json",
        oip.to_string(),
    )
    .await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert!(body["error"].as_str().unwrap().contains("budget"), "{body}");
    let refused = grpc_client(&server)
        .await
        .predictions(grpc_request("resnet50", "", "data", &image))
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::ResourceExhausted, "{refused:?}");
    drop(holder);
    while server.body_budget().held() > 0 {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let (status, _, _) = predict(server.rest_addr(), image).await;
    assert_eq!(status, StatusCode::OK);
    server.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bodies_waiting_for_a_batch_hold_their_bytes_of_the_budget_until_answered() {
    // Batches of 8 that wait up to 2 s to fill: three requests wait the whole time.
    let batch = BatchConfig {
        batch_size: 8,
        max_batch_delay: Duration::from_secs(2),
        ..Default::default()
    };
    let server = server(batch).await;
    let image = small_image();
    let calls: Vec<_> = (0..3)
        .map(|_| {
            let image = image.clone();
            let rest = server.rest_addr();
            tokio::spawn(predict(rest, image))
        })
        .collect();
    let deadline = std::time::Instant::now() + Duration::from_secs(1);
    while server.body_budget().held() < 3 * image.len() && std::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(server.body_budget().held(), 3 * image.len(), "while waiting for the batch");
    for call in calls {
        assert_eq!(call.await.unwrap().0, StatusCode::OK);
    }
    assert_eq!(server.body_budget().held(), 0, "once answered");
    server.shutdown().await.unwrap();
}

/// Writes a TorchScript classifier that passes the load check (a black image gets
/// `[1, 1000]`) and fails on any real image, as a model with a bug on some inputs would.
fn model_failing_on_images(dir: &std::path::Path) -> std::path::PathBuf {
    let path = dir.join("fails_on_images.pt");
    let script = "import sys, torch
class FailsOnImages(torch.nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if bool(x.abs().sum() > 0):
            raise RuntimeError('this model fails on every image that is not black')
        return torch.zeros(x.shape[0], 1000)
torch.jit.script(FailsOnImages()).save(sys.argv[1])
";
    let script_path = dir.join("fails_on_images.py");
    std::fs::write(&script_path, script).unwrap();
    let status =
        std::process::Command::new(common::python()).arg(&script_path).arg(&path).status().unwrap();
    assert!(status.success(), "exporting the failing model");
    path
}

#[tokio::test]
async fn a_model_failing_on_a_batch_is_a_500_and_internal_and_the_server_keeps_serving() {
    use servebench::server::torchserve::{self, ModelConfig, ModelServerConfig};
    let dir = common::TempDir::new("failing-model");
    let model = |name: &str, path| ModelConfig {
        name: name.into(),
        version: "1.0".into(),
        path,
        device: tch::Device::Cpu,
        batch: BatchConfig::default(),
        pipeline: Default::default(),
    };
    let config = ModelServerConfig {
        models: vec![
            model("broken", model_failing_on_images(&dir.0)),
            model("resnet50", model_server::resnet()),
        ],
        ..Default::default()
    };
    let server = torchserve::start(config).await.unwrap();
    let image = small_image();
    for _ in 0..2 {
        let (status, _, error) = call(
            server.rest_addr(),
            Method::PUT,
            "/predictions/broken",
            "image/jpeg",
            image.clone(),
        )
        .await;
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR, "{error}");
        assert_eq!(error["type"], "InternalServerException");
        let message = error["message"].as_str().unwrap();
        // The whole cause, down to the model's own words.
        assert!(message.starts_with("the model failed on this request's batch: "), "{message}");
        assert!(message.contains("fails on every image that is not black"), "{message}");
    }
    let status = grpc_client(&server)
        .await
        .predictions(grpc_request("broken", "", "data", &image))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Internal, "{status:?}");
    // The broken model's worker, and every other model, go on serving.
    let (status, _, answer) =
        call(server.rest_addr(), Method::PUT, "/predictions/resnet50", "image/jpeg", image.clone())
            .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert!(same_answer(&answer, &direct_answer(&image)), "{answer}");
    let (status, _, _) =
        call(server.rest_addr(), Method::PUT, "/predictions/broken", "image/jpeg", image).await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    server.shutdown().await.unwrap();
}

/// A pipelined server: `prepare_threads` decoding as `decode` says, ahead of one worker.
async fn pipelined(batch: BatchConfig, prepare_threads: usize, decode: DecodeMode) -> ServerHandle {
    let pipeline = Pipeline { prepare_threads, decode, torch_threads: None };
    let listen = ListenConfig { body_limit: LIMIT, ..Default::default() };
    model_server::start_designed(batch, pipeline, listen).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_pipelined_design_gives_each_image_its_answer_over_every_api() {
    let batch = BatchConfig {
        batch_size: 4,
        max_batch_delay: Duration::from_millis(50),
        ..Default::default()
    };
    for decode in DecodeMode::ALL {
        let server = pipelined(batch, 2, decode).await;
        let images: Vec<Bytes> =
            STUDY_SIZES.iter().map(|size| fixtures::image(ImageSpec::study(*size))).collect();
        let calls: Vec<_> = images
            .iter()
            .map(|image| tokio::spawn(predict(server.rest_addr(), image.clone())))
            .collect();
        for (image, call) in images.iter().zip(calls) {
            let (status, header, answer) = call.await.unwrap();
            assert_eq!(status, StatusCode::OK, "{decode:?}: {answer}");
            let expected = model_server::direct_answer_decoding(image, decode);
            assert!(same_answer(&answer, &expected), "{decode:?}: {answer} vs {expected}");
            let timings = StageTimings::parse(&header);
            for stage in MODEL_STAGES {
                assert!(timings.get(stage).is_some(), "{decode:?}: no {stage:?} in {header:?}");
            }
        }
        let large = &images[2];
        let mut client = grpc_client(&server).await;
        let answer = client.predictions(grpc_request("resnet50", "", "data", large)).await;
        let answer: serde_json::Value =
            serde_json::from_slice(&answer.unwrap().into_inner().prediction).unwrap();
        let expected = model_server::direct_answer_decoding(large, decode);
        assert!(same_answer(&answer, &expected), "gRPC, {decode:?}: {answer} vs {expected}");
        // A bad image fails alone, in the prepare pool, and the server keeps serving.
        let (status, _, body) =
            predict(server.rest_addr(), Bytes::from_static(b"not an image")).await;
        assert_eq!((status, body["code"].as_u64()), (StatusCode::BAD_REQUEST, Some(400)), "{body}");
        assert_eq!(predict(server.rest_addr(), images[0].clone()).await.0, StatusCode::OK);
        server.shutdown().await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_pipelined_designs_full_prepare_queue_refuses_with_503() {
    let server =
        pipelined(BatchConfig { queue_capacity: 1, ..Default::default() }, 1, DecodeMode::Exact)
            .await;
    let image = fixtures::image(ImageSpec::study(STUDY_SIZES[2]));
    let calls: Vec<_> =
        (0..24).map(|_| tokio::spawn(predict(server.rest_addr(), image.clone()))).collect();
    let (mut answered, mut refused) = (0, 0);
    for call in calls {
        let (status, _, body) = call.await.unwrap();
        match status {
            StatusCode::OK => answered += 1,
            StatusCode::SERVICE_UNAVAILABLE => {
                assert_eq!(body["type"], "ServiceUnavailableException");
                refused += 1;
            }
            other => panic!("{other}: {body}"),
        }
    }
    assert!(refused > 0 && answered > 0, "{answered} answered, {refused} refused");
    assert_eq!(predict(server.rest_addr(), image).await.0, StatusCode::OK);
    server.shutdown().await.unwrap();
}
