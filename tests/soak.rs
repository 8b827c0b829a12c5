//! The study's server soaked: 10,000 requests, 64 at a time, valid and invalid mixed over
//! HTTP/1.1, h2c and gRPC. Every answer is checked, the server still answers every protocol
//! after, and resident memory after the run is within 20% of what it was after warm-up (no
//! leak). tests/torchserve_stress.rs soaks the model server the same way.

mod common;

use std::sync::Arc;

use bytes::Bytes;
use http::{Method, Request, StatusCode, header};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use servebench::client::{ClientError, Status, StudyClient};
use servebench::fixtures::{self, ImageSpec, STUDY_SIZES};
use servebench::messages::{ImageBase64Request, ImageBinaryRequest, StudyRequest};
use servebench::server::{ListenConfig, study};
use servebench::transport::{Protocol, TransportConfig};

const REQUESTS: usize = 10_000;
const WARM_UP: usize = 1_000;
const IN_FLIGHT: usize = 64;
const LIMIT: usize = 512 * 1024;

/// A bad REST request: path, content type, body, and the status and error type it must get.
type RestFault = (&'static str, &'static str, Bytes, StatusCode, &'static str);

struct Soak {
    /// The study's basic request and the 360x640 image both ways, each with its answer.
    valid: Vec<StudyRequest>,
    /// A client per protocol.
    clients: Vec<(Protocol, StudyClient)>,
    rest_faults: Vec<RestFault>,
    /// Bad gRPC requests and the code each must get.
    grpc_faults: Vec<(StudyRequest, tonic::Code)>,
    /// HTTP/1.1 and h2c.
    http: [Client<HttpConnector, Full<Bytes>>; 2],
    rest_url: String,
}

impl common::Exchange for Soak {
    /// Sends request `index`: even ones valid, odd ones a fault, each cycling over the
    /// protocols; `Err` says how the answer was wrong.
    async fn send(&self, index: usize) -> Result<(), String> {
        let turn = index / 2;
        if index.is_multiple_of(2) {
            let (protocol, client) = &self.clients[turn % self.clients.len()];
            let request = &self.valid[turn / self.clients.len() % self.valid.len()];
            let reply = client.send(request).await.map_err(|error| error.to_string())?;
            return if reply.answer == fixtures::basic_response() {
                Ok(())
            } else {
                Err(format!("{} over {}: a wrong answer", request.kind(), protocol))
            };
        }
        let faults = self.rest_faults.len() * 2 + self.grpc_faults.len();
        let fault = turn % faults;
        if let Some((request, code)) =
            self.grpc_faults.get(fault.wrapping_sub(2 * self.rest_faults.len()))
        {
            let (_, grpc) = self.clients.iter().find(|(p, _)| *p == Protocol::Grpc).unwrap();
            return match grpc.send(request).await {
                Err(ClientError::Status { status: Status::Grpc(got), .. }) if got == *code => {
                    Ok(())
                }
                other => Err(format!("gRPC {}: {:?}", request.kind(), other.map(drop))),
            };
        }
        let (path, content_type, body, status, kind) = &self.rest_faults[fault / 2];
        let http = &self.http[fault % 2];
        let request = Request::builder()
            .method(Method::POST)
            .uri(format!("{}{path}", self.rest_url))
            .header(header::CONTENT_TYPE, *content_type)
            .body(Full::new(body.clone()))
            .unwrap();
        let response = http.request(request).await.map_err(|error| error.to_string())?;
        let got = response.status();
        let body = response.into_body().collect().await.map_err(|error| error.to_string())?;
        let error: serde_json::Value =
            serde_json::from_slice(&body.to_bytes()).map_err(|error| error.to_string())?;
        if got == *status && error["type"] == *kind {
            Ok(())
        } else {
            Err(format!("{path} over HTTP/{}: {got} {error}", fault % 2 + 1))
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn ten_thousand_mixed_requests_64_at_a_time_each_get_their_answer_and_memory_holds() {
    let server =
        study::start(ListenConfig { body_limit: LIMIT, ..Default::default() }).await.unwrap();
    let image = fixtures::image(ImageSpec::study(STUDY_SIZES[0]));
    let (mut clients, target) = (Vec::new(), server.target());
    for protocol in Protocol::ALL {
        let client = StudyClient::connect(protocol, TransportConfig::default(), &target);
        clients.push((protocol, client.await.unwrap()));
    }
    let json = "application/json";
    let octets = "application/octet-stream";
    let oversize = Bytes::from(vec![7; LIMIT + 1]);
    let soak = Arc::new(Soak {
        valid: vec![
            StudyRequest::Basic(fixtures::basic_request()),
            StudyRequest::Base64(fixtures::base64_request(&image)),
            StudyRequest::Binary(fixtures::binary_request(image)),
        ],
        clients,
        rest_faults: vec![
            (
                "/basic",
                json,
                Bytes::from_static(b"{not json"),
                StatusCode::BAD_REQUEST,
                "MalformedRequest",
            ),
            (
                "/base64",
                json,
                Bytes::from_static(br#"{"image":"%%%"}"#),
                StatusCode::BAD_REQUEST,
                "MalformedRequest",
            ),
            ("/binary", octets, Bytes::new(), StatusCode::BAD_REQUEST, "EmptyImage"),
            ("/binary", octets, oversize.clone(), StatusCode::PAYLOAD_TOO_LARGE, "PayloadTooLarge"),
            ("/nowhere", json, Bytes::from_static(b"{}"), StatusCode::NOT_FOUND, "NotFound"),
        ],
        grpc_faults: vec![
            (
                StudyRequest::Base64(ImageBase64Request { image: "%%%".into() }),
                tonic::Code::InvalidArgument,
            ),
            (StudyRequest::Binary(ImageBinaryRequest::default()), tonic::Code::InvalidArgument),
            (
                StudyRequest::Binary(ImageBinaryRequest { image: oversize }),
                tonic::Code::ResourceExhausted,
            ),
        ],
        http: [
            Client::builder(TokioExecutor::new()).build_http(),
            Client::builder(TokioExecutor::new()).http2_only(true).build_http(),
        ],
        rest_url: format!("http://{}", server.rest_addr()),
    });

    let mut wrong = common::soak(&soak, 0..WARM_UP, IN_FLIGHT).await;
    let warm = common::resident_bytes();
    wrong.extend(common::soak(&soak, WARM_UP..REQUESTS, IN_FLIGHT).await);
    let after = common::resident_bytes();
    assert!(wrong.is_empty(), "{} of {REQUESTS} went wrong:\n{}", wrong.len(), wrong.join("\n"));
    for (protocol, client) in &soak.clients {
        let reply = client.send(&soak.valid[0]).await.unwrap();
        assert_eq!(reply.answer, fixtures::basic_response(), "{} after the soak", protocol);
    }
    assert_eq!(server.body_budget().held(), 0, "every request gave its budget back");
    common::assert_no_growth(warm, after);
    server.shutdown().await.unwrap();
}
