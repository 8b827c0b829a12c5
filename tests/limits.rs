//! The servers' limits against hostile clients, on the study's server (they are the shared
//! lifecycle's, so the model server has the same; tests/torchserve.rs checks its error bodies):
//! the body budget refuses before reading and comes back, a refused upload reads its answer,
//! and slow headers, slow bodies, silent and idle connections and unanswered HTTP/2 pings are
//! cut off at the configured times.

use std::convert::Infallible;
use std::time::{Duration, Instant};

use bytes::{BufMut, Bytes, BytesMut};
use http::{Method, Request, StatusCode, header};
use http_body_util::{BodyExt, Full, StreamBody};
use hyper::body::Frame;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use servebench::server::{ListenConfig, ServerHandle, Timeouts, study};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::mpsc;

const LIMIT: usize = 1 << 20;

/// The study's server with a [`LIMIT`] body limit, a budget of one such body (which holds
/// twice its size while it is read and copied), and `timeouts`.
async fn server(timeouts: Timeouts) -> ServerHandle {
    let budget = 2 * LIMIT;
    let listen =
        ListenConfig { body_limit: LIMIT, body_budget: budget, timeouts, ..Default::default() };
    study::start(listen).await.unwrap()
}

/// Short time limits, so that the tests wait fractions of a second.
fn short() -> Timeouts {
    Timeouts {
        header_read: Duration::from_millis(500),
        body_read: Duration::from_millis(500),
        body_min_rate: 1 << 20,
        keepalive_interval: Duration::from_millis(300),
        keepalive_timeout: Duration::from_millis(300),
        ..Timeouts::default()
    }
}

/// The head of a POST of `length` bytes to `path` over HTTP/1.1.
fn head(path: &str, length: usize) -> Vec<u8> {
    format!("POST {path} HTTP/1.1\r\nhost: x\r\ncontent-length: {length}\r\n\r\n").into_bytes()
}

/// What the server sent on `tcp` until it closed (or 5 s passed): the bytes, and how long.
async fn until_closed(tcp: &mut TcpStream) -> (Vec<u8>, Duration) {
    let started = Instant::now();
    let mut got = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(5), tcp.read_to_end(&mut got)).await;
    assert!(read.is_ok(), "the server kept the connection open for 5 s; sent {got:?}");
    (got, started.elapsed())
}

/// The status line's code in an HTTP/1.1 answer.
fn status(answer: &[u8]) -> &str {
    std::str::from_utf8(answer).unwrap_or_default().split(' ').nth(1).unwrap_or_default()
}

/// POSTs `body` to the study's REST `path`; the status and the error body's `type`.
async fn post(server: &ServerHandle, path: &str, body: &'static [u8]) -> (StatusCode, String) {
    let client = Client::builder(TokioExecutor::new()).build_http::<Full<Bytes>>();
    let request = Request::post(format!("http://{}{path}", server.rest_addr()))
        .body(Full::new(Bytes::from_static(body)))
        .unwrap();
    let response = client.request(request).await.unwrap();
    let status = response.status();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    let kind = serde_json::from_slice::<serde_json::Value>(&body)
        .ok()
        .and_then(|error| error["type"].as_str().map(str::to_owned))
        .unwrap_or_default();
    (status, kind)
}

/// A gRPC call to the study's `BenchmarkBinaryImage` whose body is what `frames` sends; the
/// grpc-status and grpc-message it ended with.
async fn grpc_call(
    server: &ServerHandle,
    frames: mpsc::Receiver<Bytes>,
) -> (Option<tonic::Code>, String) {
    let frames = tokio_stream::wrappers::ReceiverStream::new(frames);
    let body = StreamBody::new(tokio_stream::StreamExt::map(frames, |chunk| {
        Ok::<_, Infallible>(Frame::data(chunk))
    }));
    let request = Request::builder()
        .method(Method::POST)
        .uri(format!(
            "http://{}/ai.statsbomb.com.GrpcBenchmarkApiService/BenchmarkBinaryImage",
            server.grpc_addr()
        ))
        .header(header::CONTENT_TYPE, "application/grpc")
        .header("te", "trailers")
        .body(body)
        .unwrap();
    let client = Client::builder(TokioExecutor::new()).http2_only(true).build_http();
    let response = client.request(request).await.unwrap();
    let headers = response.headers().clone();
    let collected = response.into_body().collect().await.unwrap();
    // A failed unary call is "trailers-only": the status comes in the headers.
    let trailers = collected.trailers().cloned().unwrap_or(headers);
    let field = |name| trailers.get(name).map(|value| value.to_str().unwrap().to_owned());
    let code = field("grpc-status").map(|code| tonic::Code::from_i32(code.parse().unwrap()));
    (code, field("grpc-message").unwrap_or_default())
}

/// A gRPC message prefix for `length` bytes, uncompressed.
fn grpc_prefix(length: usize) -> Bytes {
    let mut prefix = BytesMut::new();
    prefix.put_u8(0);
    prefix.put_u32(length as u32);
    prefix.freeze()
}

/// Waits until the server holds `bytes` of its budget (at most 5 s).
async fn until_held(server: &ServerHandle, bytes: usize) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while server.body_budget().held() != bytes {
        assert!(
            Instant::now() < deadline,
            "held {} bytes, not {bytes}",
            server.body_budget().held()
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn a_body_the_budget_cannot_take_is_refused_before_it_is_read_and_the_budget_comes_back() {
    let server = server(Timeouts::default()).await;
    // One upload promises the whole budget and sends a little of it.
    let mut holder = TcpStream::connect(server.rest_addr()).await.unwrap();
    holder.write_all(&head("/binary", LIMIT)).await.unwrap();
    holder.write_all(&[0; 1000]).await.unwrap();
    until_held(&server, 2 * LIMIT).await;

    // Anything more with a body is refused at once, over REST and gRPC...
    assert_eq!(
        post(&server, "/binary", b"0123456789").await,
        (StatusCode::SERVICE_UNAVAILABLE, "ServiceUnavailable".to_owned())
    );
    let (sender, frames) = mpsc::channel(4);
    sender.send(grpc_prefix(10)).await.unwrap();
    sender.send(Bytes::from_static(&[0; 10])).await.unwrap();
    drop(sender);
    let (code, message) = grpc_call(&server, frames).await;
    assert_eq!(code, Some(tonic::Code::ResourceExhausted), "{message}");
    assert!(message.contains("budget"), "{message}");
    // A body that promises nothing (chunked) is refused as it arrives.
    let mut chunked = TcpStream::connect(server.rest_addr()).await.unwrap();
    chunked.write_all(CHUNKED).await.unwrap();
    let (answer, _) = until_closed(&mut chunked).await;
    assert_eq!(status(&answer), "503", "{}", String::from_utf8_lossy(&answer));
    // ...and a request without a body is not.
    assert_eq!(post(&server, "/nowhere", b"").await.0, StatusCode::NOT_FOUND);
    assert_eq!(server.body_budget().held(), 2 * LIMIT, "the refusals held nothing");

    // The holder gives up: its share comes back, and requests are served again.
    drop(holder);
    until_held(&server, 0).await;
    assert_eq!(post(&server, "/binary", b"0123456789").await.0, StatusCode::OK);
    let mut chunked = TcpStream::connect(server.rest_addr()).await.unwrap();
    chunked.write_all(CHUNKED).await.unwrap();
    let (answer, _) = until_closed(&mut chunked).await;
    assert_eq!(status(&answer), "200", "{}", String::from_utf8_lossy(&answer));
    assert_eq!(server.body_budget().held(), 0);
    server.shutdown().await.unwrap();
}

/// A chunked upload of 1000 bytes (no length up front), the last request on its connection.
const CHUNKED: &[u8] = b"POST /binary HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\
    transfer-encoding: chunked\r\n\r\n3e8\r\n\
    0123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789\
    0123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789\
    0123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789\
    0123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789\
    0123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789\
    0123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789\
    0123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789\
    0123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789\
    0123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789\
    0123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789\
    \r\n0\r\n\r\n";

#[tokio::test]
async fn an_upload_refused_before_it_was_read_still_reads_its_answer() {
    let server = server(Timeouts::default()).await;
    for (declared, expected) in [(8 * LIMIT, "413"), (LIMIT / 2, "200")] {
        // A naive client: it sends the whole body before it reads anything.
        let mut tcp = TcpStream::connect(server.rest_addr()).await.unwrap();
        let mut request = head("/binary", declared);
        request.resize(request.len() + declared, 7);
        request.extend_from_slice(b"GET /basic HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n");
        tcp.write_all(&request).await.expect("the server reads the body it refused");
        let (answer, _) = until_closed(&mut tcp).await;
        assert_eq!(status(&answer), expected, "{}", String::from_utf8_lossy(&answer));
    }
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn slow_headers_and_silent_or_idle_connections_are_closed_after_the_header_timeout() {
    let server = server(short()).await;
    let header_read = short().header_read;

    let mut silent = TcpStream::connect(server.rest_addr()).await.unwrap();
    let (sent, waited) = until_closed(&mut silent).await;
    assert!(sent.is_empty() && waited >= header_read * 4 / 5, "{sent:?} after {waited:?}");

    let mut slowloris = TcpStream::connect(server.rest_addr()).await.unwrap();
    slowloris.write_all(b"POST /binary HTTP/1.1\r\nhost: x\r\n").await.unwrap();
    for _ in 0..3 {
        tokio::time::sleep(header_read / 4).await;
        slowloris.write_all(b"x-slow: 1\r\n").await.unwrap();
    }
    let (sent, _) = until_closed(&mut slowloris).await;
    // hyper answers 408 when it can still write, or just closes.
    assert!(sent.is_empty() || status(&sent) == "408", "{}", String::from_utf8_lossy(&sent));

    let mut idle = TcpStream::connect(server.rest_addr()).await.unwrap();
    idle.write_all(b"GET /nowhere HTTP/1.1\r\nhost: x\r\n\r\n").await.unwrap();
    let mut answer = [0; 12];
    idle.read_exact(&mut answer).await.unwrap();
    assert_eq!(status(&answer), "404");
    let (_, waited) = until_closed(&mut idle).await;
    assert!(waited >= header_read * 4 / 5, "idle keep-alive closed after {waited:?}");
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_body_slower_than_the_minimum_rate_gets_408_and_over_grpc_deadline_exceeded() {
    let server = server(short()).await;
    let mut slow = TcpStream::connect(server.rest_addr()).await.unwrap();
    slow.write_all(&head("/binary", 1000)).await.unwrap();
    slow.write_all(&[0; 10]).await.unwrap();
    let (answer, waited) = until_closed(&mut slow).await;
    let answer = String::from_utf8_lossy(&answer);
    assert_eq!(status(answer.as_bytes()), "408", "{answer}");
    assert!(answer.contains("RequestTimeout") && answer.contains("too slowly"), "{answer}");
    assert!(waited >= short().body_read * 4 / 5, "cut off after {waited:?}");

    let (sender, frames) = mpsc::channel(4);
    sender.send(grpc_prefix(1000)).await.unwrap();
    sender.send(Bytes::from_static(&[0; 10])).await.unwrap();
    let (code, message) = grpc_call(&server, frames).await;
    assert_eq!(code, Some(tonic::Code::DeadlineExceeded), "{message}");
    drop(sender);
    assert_eq!(server.body_budget().held(), 0);

    // A body that keeps the rate is served.
    assert_eq!(post(&server, "/binary", &[1; 1000]).await.0, StatusCode::OK);
    server.shutdown().await.unwrap();
}

/// HTTP/2's PING frame type.
const PING: u8 = 6;

/// The types of the HTTP/2 frames in `bytes`, a server's side of a connection.
fn frame_types(bytes: &[u8]) -> Vec<u8> {
    let mut types = Vec::new();
    let mut rest = bytes;
    while rest.len() >= 9 {
        let length = usize::from(rest[0]) << 16 | usize::from(rest[1]) << 8 | usize::from(rest[2]);
        types.push(rest[3]);
        rest = &rest[(9 + length).min(rest.len())..];
    }
    types
}

#[tokio::test]
async fn an_http2_client_that_does_not_answer_pings_is_closed_on_both_listeners() {
    let server = server(short()).await;
    for addr in [server.rest_addr(), server.grpc_addr()] {
        let mut tcp = TcpStream::connect(addr).await.unwrap();
        // The preface and an empty SETTINGS frame, then nothing: no SETTINGS ack, no PING ack.
        tcp.write_all(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\0\0\0\x04\0\0\0\0\0").await.unwrap();
        let (sent, waited) = until_closed(&mut tcp).await;
        assert!(frame_types(&sent).contains(&PING), "{addr}: no PING in {sent:?}");
        assert!(waited >= short().keepalive_interval, "{addr}: closed after {waited:?}");
    }
    server.shutdown().await.unwrap();
}
