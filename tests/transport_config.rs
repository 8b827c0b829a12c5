//! Transport configurations and the floor: every configuration carries the study's requests to
//! its answer; each end grants the HTTP/2 settings its configuration names, read off the wire;
//! a client opens the connections its configuration says; the floor answers every frame.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{Request, StatusCode, header};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use servebench::client::StudyClient;
use servebench::client::floor::FloorClient;
use servebench::codec::{gzip, json, protobuf};
use servebench::fixtures;
use servebench::ids::{Payload, TransportId};
use servebench::server::{ListenConfig, floor, study};
use servebench::transport::config::{LARGE_FRAME, LARGE_WINDOW};
use servebench::transport::{Protocol, Target, TransportConfig};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

fn config(text: &str) -> TransportConfig {
    text.parse().unwrap()
}

#[tokio::test]
async fn every_configuration_carries_the_study_requests_alone_and_twenty_at_once() {
    for protocol in Protocol::ALL {
        for config in TransportConfig::variants(protocol) {
            let listen = ListenConfig { transport: config, ..Default::default() };
            let server = study::start(listen).await.unwrap();
            let client = StudyClient::connect(protocol, config, &server.target()).await.unwrap();
            for payload in TransportId::CONFIG_PAYLOADS {
                let request = Arc::new(payload.request());
                let answer = client.send(&request).await;
                let answer =
                    answer.unwrap_or_else(|error| panic!("{protocol}+{config} {payload}: {error}"));
                assert_eq!(
                    answer.answer,
                    fixtures::basic_response(),
                    "{protocol}+{config} {payload}"
                );
                let answers = client.send_concurrent(&request, 20).await.unwrap();
                assert_eq!(answers.len(), 20);
                assert!(answers.iter().all(|reply| reply.answer == fixtures::basic_response()));
            }
            server.shutdown().await.unwrap();
        }
    }
}

/// HTTP/2's connection preface, which a client sends first.
const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
const SETTINGS: u8 = 0x4;
const WINDOW_UPDATE: u8 = 0x8;
const SETTINGS_INITIAL_WINDOW_SIZE: u16 = 0x4;
const SETTINGS_MAX_FRAME_SIZE: u16 = 0x5;
/// Every HTTP/2 window's size before any SETTINGS or WINDOW_UPDATE.
const SPEC_WINDOW: u32 = 65_535;

/// What an HTTP/2 end grants when it opens a connection: its SETTINGS, and the connection
/// window it asks for in a WINDOW_UPDATE on stream 0 (the spec's 64 KiB when it sends none).
#[derive(Debug, PartialEq)]
struct Grants {
    settings: HashMap<u16, u32>,
    connection_window: u32,
}

impl Grants {
    fn stream_window(&self) -> u32 {
        self.settings.get(&SETTINGS_INITIAL_WINDOW_SIZE).copied().unwrap_or(SPEC_WINDOW)
    }

    fn max_frame(&self) -> u32 {
        self.settings.get(&SETTINGS_MAX_FRAME_SIZE).copied().unwrap_or(16 * 1024)
    }
}

/// Reads frames until the peer's first SETTINGS and, if one comes within a moment after it,
/// its connection WINDOW_UPDATE.
async fn read_grants(stream: &mut TcpStream) -> Grants {
    let mut grants = Grants { settings: HashMap::new(), connection_window: SPEC_WINDOW };
    let mut seen_settings = false;
    loop {
        let mut header = [0u8; 9];
        let read = tokio::time::timeout(Duration::from_millis(300), stream.read_exact(&mut header));
        match read.await {
            Ok(result) => result.expect("an HTTP/2 frame header"),
            Err(_) if seen_settings => return grants,
            Err(_) => panic!("no SETTINGS frame"),
        };
        let length = u32::from_be_bytes([0, header[0], header[1], header[2]]) as usize;
        let (kind, flags) = (header[3], header[4]);
        let stream_id = u32::from_be_bytes(header[5..9].try_into().unwrap()) & 0x7fff_ffff;
        let mut payload = vec![0; length];
        stream.read_exact(&mut payload).await.unwrap();
        match kind {
            SETTINGS if flags & 0x1 == 0 => {
                for entry in payload.chunks_exact(6) {
                    let id = u16::from_be_bytes([entry[0], entry[1]]);
                    let value = u32::from_be_bytes(entry[2..6].try_into().unwrap());
                    grants.settings.insert(id, value);
                }
                seen_settings = true;
            }
            WINDOW_UPDATE if stream_id == 0 => {
                let increment = u32::from_be_bytes(payload[..4].try_into().unwrap());
                grants.connection_window += increment;
                return grants;
            }
            _ => {}
        }
    }
}

/// What a servebench server's `protocol` listener grants under `config`.
async fn server_grants(protocol: Protocol, config: TransportConfig) -> Grants {
    let listen = ListenConfig { transport: config, ..Default::default() };
    let server = study::start(listen).await.unwrap();
    let addr = match protocol {
        Protocol::Grpc => server.grpc_addr(),
        _ => server.rest_addr(),
    };
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(PREFACE).await.unwrap();
    stream.write_all(&[0, 0, 0, SETTINGS, 0, 0, 0, 0, 0]).await.unwrap();
    let grants = read_grants(&mut stream).await;
    drop(stream);
    server.shutdown().await.unwrap();
    grants
}

/// What servebench's `protocol` client grants under `config`, read by a listener that never
/// answers.
async fn client_grants(protocol: Protocol, config: TransportConfig) -> Grants {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let target = Target::at(listener.local_addr().unwrap(), listener.local_addr().unwrap());
    let calling = tokio::spawn(async move {
        let client = StudyClient::connect(protocol, config, &target).await?;
        client.send(&Payload::Basic.request()).await
    });
    let (mut stream, _) = listener.accept().await.unwrap();
    let mut preface = [0; PREFACE.len()];
    stream.read_exact(&mut preface).await.unwrap();
    assert_eq!(preface, PREFACE);
    let grants = read_grants(&mut stream).await;
    calling.abort();
    grants
}

#[tokio::test]
async fn each_end_grants_the_windows_and_frames_its_configuration_names() {
    for protocol in [Protocol::RestH2, Protocol::Grpc] {
        // hyper's defaults, which tonic keeps: a server grants 1 MiB a stream and the
        // connection, a client 2 MiB and 5 MiB; both take 16 KiB frames.
        let server = server_grants(protocol, TransportConfig::default()).await;
        assert_eq!((server.stream_window(), server.connection_window), (1 << 20, 1 << 20));
        assert_eq!(server.max_frame(), 16 * 1024, "{protocol}");
        let client = client_grants(protocol, TransportConfig::default()).await;
        assert_eq!((client.stream_window(), client.connection_window), (2 << 20, 5 << 20));
        assert_eq!(client.max_frame(), 16 * 1024, "{protocol}");

        let large = config("window_16m+frame_1m");
        for grants in [server_grants(protocol, large).await, client_grants(protocol, large).await] {
            assert_eq!(grants.stream_window(), LARGE_WINDOW, "{protocol}: {grants:?}");
            assert_eq!(grants.connection_window, LARGE_WINDOW, "{protocol}: {grants:?}");
            assert_eq!(grants.max_frame(), LARGE_FRAME, "{protocol}: {grants:?}");
        }

        // Adaptive windows start at the spec's 64 KiB and grow with the measured bandwidth.
        let adaptive = config("window_adaptive");
        for grants in
            [server_grants(protocol, adaptive).await, client_grants(protocol, adaptive).await]
        {
            assert_eq!(grants.stream_window(), SPEC_WINDOW, "{protocol}: {grants:?}");
        }
    }
}

/// How many connections `protocol`'s client opens under `config` to send `requests` at once,
/// counted by a listener that never answers.
async fn connections_opened(protocol: Protocol, config: TransportConfig, requests: usize) -> usize {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let target = Target::at(listener.local_addr().unwrap(), listener.local_addr().unwrap());
    let calling = tokio::spawn(async move {
        let client = StudyClient::connect(protocol, config, &target).await?;
        client.send_concurrent(&Arc::new(Payload::Basic.request()), requests).await
    });
    let mut held = Vec::new();
    while let Ok(accepted) =
        tokio::time::timeout(Duration::from_millis(500), listener.accept()).await
    {
        held.push(accepted.unwrap().0);
    }
    calling.abort();
    held.len()
}

#[tokio::test]
async fn a_client_opens_the_connections_its_configuration_says() {
    use Protocol::{Grpc, RestH1, RestH2};
    let cases = [
        (RestH1, "", 6),
        (RestH1, "conns_1", 1),
        (RestH1, "conns_4", 4),
        (RestH2, "", 1),
        (RestH2, "conns_4", 4),
        (Grpc, "", 1),
        (Grpc, "conns_4", 4),
    ];
    for (protocol, knobs, expected) in cases {
        let opened = connections_opened(protocol, config(knobs), 6).await;
        assert_eq!(opened, expected, "{protocol}+{knobs}");
    }
}

#[tokio::test]
async fn the_floor_answers_every_frame_and_drops_an_oversized_one() {
    let response = protobuf::encode(&fixtures::basic_response());
    let server =
        floor::start("127.0.0.1:0".parse().unwrap(), response.clone(), 1 << 20).await.unwrap();
    let client = FloorClient::new(server.addr(), response.len());
    let request = Bytes::from(vec![7; 512 * 1024]);
    assert_eq!(client.exchange(&request).await.unwrap(), response);
    let answers = client.exchange_concurrent(&request, 20).await.unwrap();
    assert_eq!(answers.len(), 20);
    assert!(answers.iter().all(|answer| *answer == response));

    let oversized = Bytes::from(vec![7; (1 << 20) + 1]);
    assert!(FloorClient::new(server.addr(), response.len()).exchange(&oversized).await.is_err());
    // The others are still answered.
    assert_eq!(client.exchange(&request).await.unwrap(), response);
    server.shutdown().await.unwrap();
}

/// Posts `body` to the study server's `path` with `Content-Encoding: encoding`.
async fn post_encoded(
    addr: std::net::SocketAddr,
    path: &str,
    encoding: &str,
    body: Bytes,
) -> (StatusCode, serde_json::Value) {
    let request = Request::post(format!("http://{addr}{path}"))
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::CONTENT_ENCODING, encoding)
        .body(Full::new(body))
        .unwrap();
    let client = Client::builder(TokioExecutor::new()).build_http();
    let response = client.request(request).await.unwrap();
    let status = response.status();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    (status, serde_json::from_slice(&body).unwrap_or_else(|_| panic!("not JSON: {body:?}")))
}

#[tokio::test]
async fn rest_bodies_may_come_gzipped_and_other_encodings_are_refused_with_json() {
    let limit = 512 * 1024;
    let server =
        study::start(ListenConfig { body_limit: limit, ..Default::default() }).await.unwrap();
    let addr = server.rest_addr();
    let basic = json::encode(&fixtures::basic_request()).unwrap();
    let (status, answer) = post_encoded(addr, "/basic", "gzip", gzip::encode(&basic)).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let expected: serde_json::Value =
        serde_json::from_slice(&json::encode(&fixtures::basic_response()).unwrap()).unwrap();
    assert_eq!(answer, expected);

    // A bomb: 1 KiB that inflates past the limit is refused as too large, never held.
    let bomb = gzip::encode(&vec![0; limit + 1]);
    assert!(bomb.len() < 4096);
    let cases = [
        ("/basic", "gzip", gzip::encode(b"{not json"), StatusCode::BAD_REQUEST, "MalformedRequest"),
        (
            "/basic",
            "gzip",
            Bytes::from_static(b"not gzip"),
            StatusCode::BAD_REQUEST,
            "BodyReadFailed",
        ),
        ("/binary", "gzip", bomb, StatusCode::PAYLOAD_TOO_LARGE, "PayloadTooLarge"),
        ("/basic", "br", basic.clone(), StatusCode::UNSUPPORTED_MEDIA_TYPE, "UnsupportedMediaType"),
    ];
    for (path, encoding, body, status, kind) in cases {
        let (got, error) = post_encoded(addr, path, encoding, body).await;
        assert_eq!(
            (got, error["type"].as_str()),
            (status, Some(kind)),
            "{path} {encoding}: {error}"
        );
        assert_eq!(error["code"], status.as_u16());
    }
    // And it keeps serving, compressed or not.
    let (status, _) = post_encoded(addr, "/basic", "identity", basic).await;
    assert_eq!(status, StatusCode::OK);
    server.shutdown().await.unwrap();
}
