//! Transport contract: every protocol carries every request type to the study's answer, bad
//! input gets a clear error (HTTP 4xx with a JSON body, or a gRPC status), and the server keeps
//! serving everyone else afterwards.

use std::sync::Arc;

use bytes::{BufMut, Bytes, BytesMut};
use http::{Method, Request, StatusCode, header};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use servebench::client::{ClientError, Status, StudyClient};
use servebench::codec::protobuf;
use servebench::fixtures::{self, ImageSpec, STUDY_SIZES};
use servebench::ids::Payload;
use servebench::messages::{BasicRequest, ImageBase64Request, ImageBinaryRequest, StudyRequest};
use servebench::server::{ListenConfig, ServerHandle, study};
use servebench::transport::{Protocol, Target, TransportConfig};

const SMALL_LIMIT: usize = 512 * 1024;

async fn small_limit_server() -> ServerHandle {
    study::start(ListenConfig { body_limit: SMALL_LIMIT, ..Default::default() }).await.unwrap()
}

async fn client(protocol: Protocol, server: &ServerHandle) -> StudyClient {
    StudyClient::connect(protocol, TransportConfig::default(), &server.target()).await.unwrap()
}

/// The study's requests that fit under [`SMALL_LIMIT`]: basic and the 360x640 image both ways.
fn small_requests() -> Vec<StudyRequest> {
    let image = fixtures::image(ImageSpec::study(STUDY_SIZES[0]));
    vec![
        StudyRequest::Basic(fixtures::basic_request()),
        StudyRequest::Base64(fixtures::base64_request(&image)),
        StudyRequest::Binary(fixtures::binary_request(image)),
    ]
}

/// Every protocol still answers every small request correctly.
async fn assert_serving(server: &ServerHandle) {
    for protocol in Protocol::ALL {
        let client = client(protocol, server).await;
        for request in small_requests() {
            let answer = client
                .send(&request)
                .await
                .unwrap_or_else(|error| panic!("{protocol} {}: {error}", request.kind()));
            assert_eq!(answer.answer, fixtures::basic_response());
        }
    }
}

#[tokio::test]
async fn every_protocol_answers_every_study_request_at_every_size() {
    let server = study::start(ListenConfig::default()).await.unwrap();
    let target = server.target();
    for protocol in Protocol::ALL {
        let client =
            StudyClient::connect(protocol, TransportConfig::default(), &target).await.unwrap();
        for payload in Payload::all() {
            let answer = client
                .send(&payload.request())
                .await
                .unwrap_or_else(|error| panic!("{protocol} {payload}: {error}"));
            assert_eq!(answer.answer, fixtures::basic_response(), "{protocol} {payload}");
        }
    }
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn twenty_concurrent_requests_are_each_answered_on_every_protocol() {
    let server = study::start(ListenConfig::default()).await.unwrap();
    for protocol in Protocol::ALL {
        let client = client(protocol, &server).await;
        for request in small_requests() {
            let kind = request.kind();
            let answers = client.send_concurrent(&Arc::new(request), 20).await.unwrap();
            assert_eq!(answers.len(), 20, "{protocol} {kind}");
            for reply in answers {
                assert_eq!(reply.answer, fixtures::basic_response(), "{protocol} {kind}");
            }
        }
    }
    server.shutdown().await.unwrap();
}

/// A hyper client pinned to one HTTP version, for requests the study client would never send.
fn raw_http(http2: bool) -> Client<HttpConnector, Full<Bytes>> {
    Client::builder(TokioExecutor::new()).http2_only(http2).build_http()
}

async fn post(
    http2: bool,
    server: &ServerHandle,
    method: Method,
    path: &str,
    body: impl Into<Bytes>,
) -> (StatusCode, serde_json::Value) {
    let request = Request::builder()
        .method(method)
        .uri(format!("http://{}{path}", server.rest_addr()))
        .header(header::CONTENT_TYPE, "application/json")
        .body(Full::new(body.into()))
        .unwrap();
    let response = raw_http(http2).request(request).await.unwrap();
    let status = response.status();
    assert_eq!(response.headers()[header::CONTENT_TYPE], "application/json", "{path}");
    let body = response.into_body().collect().await.unwrap().to_bytes();
    let json: serde_json::Value = serde_json::from_slice(&body)
        .unwrap_or_else(|error| panic!("{path}: body is not JSON ({error}): {body:?}"));
    (status, json)
}

#[tokio::test]
async fn rest_bad_input_gets_4xx_with_a_json_error_and_the_server_keeps_serving() {
    let server = small_limit_server().await;
    let oversize = vec![b'x'; SMALL_LIMIT + 1];
    let cases: [(Method, &str, Bytes, StatusCode, &str); 9] = [
        (
            Method::POST,
            "/basic",
            Bytes::from_static(b"{not json"),
            StatusCode::BAD_REQUEST,
            "MalformedRequest",
        ),
        (
            Method::POST,
            "/basic",
            Bytes::from_static(br#"{"field3":"a string"}"#),
            StatusCode::BAD_REQUEST,
            "MalformedRequest",
        ),
        (
            Method::POST,
            "/base64",
            Bytes::from_static(br#"{"image":"%%% not base64"}"#),
            StatusCode::BAD_REQUEST,
            "MalformedRequest",
        ),
        (
            Method::POST,
            "/base64",
            Bytes::from_static(br#"{"image":""}"#),
            StatusCode::BAD_REQUEST,
            "EmptyImage",
        ),
        (Method::POST, "/binary", Bytes::new(), StatusCode::BAD_REQUEST, "EmptyImage"),
        (
            Method::POST,
            "/binary",
            Bytes::from(oversize.clone()),
            StatusCode::PAYLOAD_TOO_LARGE,
            "PayloadTooLarge",
        ),
        (
            Method::POST,
            "/base64",
            Bytes::from(oversize),
            StatusCode::PAYLOAD_TOO_LARGE,
            "PayloadTooLarge",
        ),
        (Method::POST, "/nowhere", Bytes::new(), StatusCode::NOT_FOUND, "NotFound"),
        (Method::GET, "/basic", Bytes::new(), StatusCode::METHOD_NOT_ALLOWED, "MethodNotAllowed"),
    ];
    for http2 in [false, true] {
        for (method, path, body, status, kind) in cases.clone() {
            let (got_status, json) = post(http2, &server, method.clone(), path, body).await;
            assert_eq!(
                got_status,
                status,
                "{method} {path} over h{}: {json}",
                if http2 { 2 } else { 1 }
            );
            assert_eq!(json["code"], status.as_u16(), "{json}");
            assert_eq!(json["type"], kind, "{json}");
            assert!(!json["message"].as_str().unwrap().is_empty(), "{json}");
        }
    }
    assert_serving(&server).await;
    server.shutdown().await.unwrap();
}

/// Calls a study method with an arbitrary message body, framed by hand as gRPC does.
async fn grpc_call(server: &ServerHandle, method: &str, message: &[u8]) -> (String, String) {
    let mut framed = BytesMut::with_capacity(message.len() + 5);
    framed.put_u8(0);
    framed.put_u32(message.len() as u32);
    framed.put_slice(message);
    let request = Request::builder()
        .method(Method::POST)
        .uri(format!(
            "http://{}/ai.statsbomb.com.GrpcBenchmarkApiService/{method}",
            server.grpc_addr()
        ))
        .header(header::CONTENT_TYPE, "application/grpc")
        .header("te", "trailers")
        .body(Full::new(framed.freeze()))
        .unwrap();
    let response = raw_http(true).request(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let headers = response.headers().clone();
    let collected = response.into_body().collect().await.unwrap();
    // A failed unary call is "trailers-only": the status comes in the headers.
    let trailers = collected.trailers().cloned().unwrap_or(headers);
    let field = |name: &str| {
        trailers.get(name).map(|value| value.to_str().unwrap().to_owned()).unwrap_or_default()
    };
    (field("grpc-status"), field("grpc-message"))
}

#[tokio::test]
async fn grpc_bad_input_gets_the_status_grpc_servers_send_and_the_server_keeps_serving() {
    let server = small_limit_server().await;
    let invalid_argument = (tonic::Code::InvalidArgument as i32).to_string();
    let resource_exhausted = (tonic::Code::ResourceExhausted as i32).to_string();
    let truncated = protobuf::encode(&fixtures::basic_request());
    let bad_base64 = protobuf::encode(&ImageBase64Request { image: "%%% not base64".into() });
    let empty_image = protobuf::encode(&ImageBinaryRequest::default());
    let oversize = protobuf::encode(&ImageBinaryRequest { image: vec![7; SMALL_LIMIT + 1].into() });
    let unimplemented = (tonic::Code::Unimplemented as i32).to_string();
    // (method, message, status, what the status message must say)
    let cases: [(&str, &[u8], &str, &str); 7] = [
        ("BenchmarkBasicRequest", &truncated[..truncated.len() - 2], &invalid_argument, "protobuf"),
        ("BenchmarkBasicRequest", &[0xff; 12], &invalid_argument, "protobuf"),
        ("BenchmarkB64Image", &bad_base64, &invalid_argument, "base64"),
        ("BenchmarkB64Image", &[], &invalid_argument, "no%20image"),
        ("BenchmarkBinaryImage", &empty_image, &invalid_argument, "no%20image"),
        ("BenchmarkBinaryImage", &oversize, &resource_exhausted, "too%20large"),
        ("NoSuchMethod", &[], &unimplemented, ""),
    ];
    for (method, message, status, says) in cases {
        let (got, text) = grpc_call(&server, method, message).await;
        assert_eq!(got, status, "{method} with {} bytes: {text}", message.len());
        assert!(text.contains(says), "{method}: {text:?} does not say {says:?}");
    }
    // The typed client sees the same through its error.
    let client = client(Protocol::Grpc, &server).await;
    let error = client
        .send(&StudyRequest::Base64(ImageBase64Request { image: "???".into() }))
        .await
        .unwrap_err();
    assert!(
        matches!(
            &error,
            ClientError::Status { status: Status::Grpc(tonic::Code::InvalidArgument), .. }
        ),
        "{error}"
    );

    assert_serving(&server).await;
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn the_study_client_reports_server_errors_and_unreachable_targets() {
    let server = small_limit_server().await;
    let rest = client(Protocol::RestH1, &server).await;
    let error = rest.send(&StudyRequest::Binary(ImageBinaryRequest::default())).await.unwrap_err();
    assert!(
        matches!(
            &error,
            ClientError::Status { status: Status::Http(StatusCode::BAD_REQUEST), body }
                if body.contains("EmptyImage")
        ),
        "{error}"
    );
    let basic = StudyRequest::Basic(BasicRequest::default());
    assert_eq!(rest.send(&basic).await.unwrap().answer, fixtures::basic_response());

    let addr = server.rest_addr();
    server.shutdown().await.unwrap();
    let error = rest.send(&basic).await.unwrap_err();
    assert!(matches!(error, ClientError::Transport(_)), "{error}");

    let gone = Target { rest: format!("http://{addr}"), grpc: format!("http://{addr}") };
    assert!(StudyClient::connect(Protocol::Grpc, TransportConfig::default(), &gone).await.is_err());
    let bad = Target { rest: "not a url".into(), grpc: "not a url".into() };
    for protocol in Protocol::ALL {
        let error =
            StudyClient::connect(protocol, TransportConfig::default(), &bad).await.unwrap_err();
        assert!(matches!(error, ClientError::InvalidTarget { .. }), "{protocol}: {error}");
    }
}
