//! The model server soaked (feature `torch`): 10,000 requests, 64 in flight at a time, valid
//! ones over every route mixed with every kind of bad one over HTTP/1.1, h2c and gRPC. Every
//! valid request must get its own image's answer, every bad one its own error, the server must
//! answer `/ping` after, and its resident memory after the run must be within 20% of what it
//! was after warm-up (no leak).
#![cfg(feature = "torch")]

mod common;
mod model_server;

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{Method, Request, StatusCode, header};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use model_server::{direct_answer, same_answer};
use servebench::client::torchserve::ModelClient;
use servebench::codec;
use servebench::fixtures::{self, ImageSize, ImageSpec, Scene};
use servebench::messages::torchserve::PredictionsRequest;
use servebench::messages::torchserve::inference_ap_is_service_client::InferenceApIsServiceClient;
use servebench::server::batching::BatchConfig;
use servebench::transport::Route;
use tonic::Code;
use tonic::transport::Channel;

const REQUESTS: usize = 10_000;
const WARM_UP: usize = 1_000;
const IN_FLIGHT: usize = 64;
const LIMIT: usize = 1 << 20;
/// One request in this many is valid (inference is what takes time).
const VALID_EVERY: usize = 16;

/// What a request of the storm sends, and so what it must get back.
#[derive(Clone, Copy, Debug)]
enum Kind {
    /// A valid image (which of the two) over a route: its own answer.
    Valid(usize, Route),
    /// REST over HTTP/1.1 (0) or h2c (1): 400, 404 or 413 with TorchServe's error type.
    Rest(&'static str, &'static str, StatusCode, &'static str, usize),
    /// gRPC: the status code.
    Grpc(&'static str, Code),
}

const REST_FAULTS: [(&str, &str, StatusCode, &str); 8] = [
    ("corrupt", "/predictions/resnet50", StatusCode::BAD_REQUEST, "BadRequestException"),
    ("empty", "/predictions/resnet50", StatusCode::BAD_REQUEST, "BadRequestException"),
    ("wrong_field", "/predictions/resnet50", StatusCode::BAD_REQUEST, "BadRequestException"),
    ("bad_base64", "/predictions/resnet50", StatusCode::BAD_REQUEST, "BadRequestException"),
    ("jpeg_as_json", "/predictions/resnet50", StatusCode::BAD_REQUEST, "BadRequestException"),
    ("valid", "/predictions/vgg16", StatusCode::NOT_FOUND, "ModelNotFoundException"),
    ("valid", "/predictions/resnet50/2.0", StatusCode::NOT_FOUND, "ModelVersionNotFoundException"),
    (
        "oversized",
        "/predictions/resnet50",
        StatusCode::PAYLOAD_TOO_LARGE,
        "RequestEntityTooLargeException",
    ),
];

const GRPC_FAULTS: [(&str, Code); 4] = [
    ("corrupt", Code::InvalidArgument),
    ("wrong_key", Code::InvalidArgument),
    ("unknown_model", Code::NotFound),
    ("oversized", Code::ResourceExhausted),
];

fn kind(index: usize) -> Kind {
    if index.is_multiple_of(VALID_EVERY) {
        let valid = index / VALID_EVERY;
        return Kind::Valid(valid % 2, Route::TORCHSERVE[valid % Route::TORCHSERVE.len()]);
    }
    let fault = index / VALID_EVERY + index % VALID_EVERY;
    if index.is_multiple_of(3) {
        let (name, code) = GRPC_FAULTS[fault % GRPC_FAULTS.len()];
        Kind::Grpc(name, code)
    } else {
        let (name, path, status, kind) = REST_FAULTS[fault % REST_FAULTS.len()];
        Kind::Rest(name, path, status, kind, fault / REST_FAULTS.len() % 2)
    }
}

struct Storm {
    images: [Bytes; 2],
    answers: [serde_json::Value; 2],
    clients: Vec<ModelClient>,
    /// HTTP/1.1 and h2c.
    http: [Client<HttpConnector, Full<Bytes>>; 2],
    rest_url: String,
    grpc: InferenceApIsServiceClient<Channel>,
}

impl common::Exchange for Storm {
    /// Sends request `index`; `Err` says how its answer was wrong.
    async fn send(&self, index: usize) -> Result<(), String> {
        match kind(index) {
            Kind::Valid(image, route) => {
                let client = self.clients.iter().find(|c| c.route() == route).unwrap();
                let reply = client.predict(&self.images[image]).await.map_err(|e| e.to_string())?;
                match reply.answer.torchserve() {
                    Some(answer) if same_answer(answer, &self.answers[image]) => Ok(()),
                    _ => Err(format!("image {image} over {route} got {:?}", reply.answer)),
                }
            }
            Kind::Rest(name, path, status, kind, version) => {
                let (content_type, body) = self.rest_fault(name);
                let request = Request::builder()
                    .method(Method::POST)
                    .uri(format!("{}{path}", self.rest_url))
                    .header(header::CONTENT_TYPE, content_type)
                    .body(Full::new(body))
                    .unwrap();
                let response =
                    self.http[version].request(request).await.map_err(|e| e.to_string())?;
                let got = response.status();
                let body = response.into_body().collect().await.map_err(|e| e.to_string())?;
                let error: serde_json::Value =
                    serde_json::from_slice(&body.to_bytes()).map_err(|e| e.to_string())?;
                if got == status && error["type"] == kind && error["code"] == status.as_u16() {
                    Ok(())
                } else {
                    Err(format!("{name} {path} over HTTP/{}: {got} {error}", version + 1))
                }
            }
            Kind::Grpc(name, code) => {
                let image = self.images[0].clone();
                let (model, key, data) = match name {
                    "corrupt" => ("resnet50", "data", image.slice(..image.len() / 3)),
                    "wrong_key" => ("resnet50", "img", image),
                    "unknown_model" => ("vgg16", "data", image),
                    _ => ("resnet50", "data", Bytes::from(vec![0xff; LIMIT + 1])),
                };
                let request = PredictionsRequest {
                    model_name: model.into(),
                    input: [(key.to_owned(), data)].into(),
                    ..Default::default()
                };
                match self.grpc.clone().predictions(request).await {
                    Err(status) if status.code() == code => Ok(()),
                    other => Err(format!("gRPC {name}: {:?}", other.map(drop))),
                }
            }
        }
    }
}

impl Storm {
    fn rest_fault(&self, name: &str) -> (String, Bytes) {
        let image = &self.images[0];
        match name {
            "corrupt" => ("image/jpeg".into(), image.slice(..image.len() / 2)),
            "empty" => ("image/jpeg".into(), Bytes::new()),
            "wrong_field" => {
                let form = codec::multipart::encode("file", "x.jpg", "image/jpeg", image);
                (form.content_type, form.body)
            }
            "bad_base64" => ("application/json".into(), Bytes::from_static(b"\"not*base64\"")),
            "jpeg_as_json" => ("application/json".into(), image.clone()),
            "oversized" => ("image/jpeg".into(), Bytes::from(vec![0xff; LIMIT + 1])),
            _ => ("image/jpeg".into(), image.clone()),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn ten_thousand_mixed_requests_64_at_a_time_each_get_their_own_answer_and_memory_holds() {
    let batch = BatchConfig {
        batch_size: 4,
        max_batch_delay: Duration::from_millis(5),
        ..Default::default()
    };
    let server = model_server::start_with_limit(batch, LIMIT).await;
    let size = ImageSize { height: 240, width: 320 };
    let images = [Scene::Noise, Scene::Smooth]
        .map(|scene| fixtures::image(ImageSpec { scene, ..ImageSpec::study(size) }));
    let answers = [direct_answer(&images[0]), direct_answer(&images[1])];
    assert!(!same_answer(&answers[0], &answers[1]), "the two images must be told apart");
    let mut clients = Vec::new();
    for route in Route::TORCHSERVE {
        clients.push(ModelClient::connect(route, &server.target(), "resnet50").await.unwrap());
    }
    let storm = Arc::new(Storm {
        images,
        answers,
        clients,
        http: [
            Client::builder(TokioExecutor::new()).build_http(),
            Client::builder(TokioExecutor::new()).http2_only(true).build_http(),
        ],
        rest_url: format!("http://{}", server.rest_addr()),
        grpc: InferenceApIsServiceClient::connect(format!("http://{}", server.grpc_addr()))
            .await
            .unwrap()
            .max_encoding_message_size(2 * LIMIT),
    });

    let mut wrong = common::soak(&storm, 0..WARM_UP, IN_FLIGHT).await;
    let warm = common::resident_bytes();
    wrong.extend(common::soak(&storm, WARM_UP..REQUESTS, IN_FLIGHT).await);
    let after = common::resident_bytes();
    assert!(wrong.is_empty(), "{} of {REQUESTS} went wrong:\n{}", wrong.len(), wrong.join("\n"));

    let health = storm.grpc.clone().ping(()).await.unwrap().into_inner().health;
    assert!(health.contains("Healthy"));
    let ping = Request::get(format!("{}/ping", storm.rest_url)).body(Full::default()).unwrap();
    let ping = storm.http[0].request(ping).await.unwrap();
    assert_eq!(ping.status(), StatusCode::OK);
    let valid = (0..REQUESTS).filter(|&index| matches!(kind(index), Kind::Valid(..))).count();
    let grpc = (0..REQUESTS).filter(|&index| matches!(kind(index), Kind::Grpc(..))).count();
    let h2 = (0..REQUESTS).filter(|&index| matches!(kind(index), Kind::Rest(.., 1))).count();
    assert!(valid >= REQUESTS / VALID_EVERY && grpc > REQUESTS / 4, "{valid} valid, {grpc} gRPC");
    assert!(h2 > REQUESTS / 5, "{h2} over h2c");
    assert_eq!(server.body_budget().held(), 0, "every request gave its budget back");
    common::assert_no_growth(warm, after);
    server.shutdown().await.unwrap();
}
