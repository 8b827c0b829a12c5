//! Timing contract: stage timings survive the `Server-Timing` header both ways, and foreign or
//! malformed metrics in someone else's header are skipped, not fatal.

use std::time::Duration;

use servebench::timing::{Stage, StageTimings};

#[test]
fn timings_round_trip_through_the_header_in_request_order() {
    let mut timings = StageTimings::default();
    timings.record(Stage::Infer, Duration::from_micros(35_400));
    timings.record(Stage::Decode, Duration::from_micros(5_350));
    timings.record(Stage::Queue, Duration::from_micros(41));
    let header = timings.to_string();
    assert_eq!(header, "queue;dur=0.041, decode;dur=5.350, infer;dur=35.400");
    let parsed = StageTimings::parse(&header);
    for stage in Stage::ALL {
        assert_eq!(parsed.get(stage), timings.get(stage), "{stage:?}");
    }
}

#[test]
fn recording_a_stage_twice_adds_up_and_time_measures_the_work() {
    let mut timings = StageTimings::default();
    timings.record(Stage::Encode, Duration::from_millis(1));
    timings.record(Stage::Encode, Duration::from_millis(2));
    assert_eq!(timings.get(Stage::Encode), Some(Duration::from_millis(3)));
    let value = timings.time(Stage::Preprocess, || {
        std::thread::sleep(Duration::from_millis(5));
        7
    });
    assert_eq!(value, 7);
    assert!(timings.get(Stage::Preprocess).unwrap() >= Duration::from_millis(5));
    assert_eq!(StageTimings::default().to_string(), "");
}

#[test]
fn foreign_and_malformed_metrics_are_skipped() {
    let parsed = StageTimings::parse(
        r#"cache;desc="Cache Read";dur=23.2, db;dur=53, infer;desc="x";dur="12.5", decode, preprocess;dur=abc, encode;dur=-1, queue;dur=0.5"#,
    );
    assert_eq!(parsed.get(Stage::Infer), Some(Duration::from_secs_f64(0.0125)));
    assert_eq!(parsed.get(Stage::Queue), Some(Duration::from_secs_f64(0.0005)));
    for stage in [Stage::Decode, Stage::Preprocess, Stage::Encode, Stage::Postprocess] {
        assert_eq!(parsed.get(stage), None, "{stage:?}");
    }
    assert_eq!(StageTimings::parse(""), StageTimings::default());
}

mod study_servers {
    //! The study's servers time each request's stages and send them; the clients read them.

    use std::convert::Infallible;
    use std::sync::Arc;
    use std::time::{Duration, Instant};

    use bytes::{BufMut, Bytes, BytesMut};
    use http::{Request, header};
    use http_body_util::{BodyExt, StreamBody};
    use hyper::body::Frame;
    use hyper_util::client::legacy::Client;
    use hyper_util::rt::TokioExecutor;
    use servebench::client::StudyClient;
    use servebench::codec::protobuf;
    use servebench::fixtures::{self, ImageSize, STUDY_SIZES};
    use servebench::ids::Payload;
    use servebench::messages::ImageBinaryRequest;
    use servebench::server::{ListenConfig, ServerHandle, study};
    use servebench::timing::{self, Stage, StageTimings};
    use servebench::transport::{Protocol, TransportConfig};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpStream;
    use tokio::sync::mpsc;

    /// The image size the requests carry.
    const SIZE: ImageSize = STUDY_SIZES[0];

    /// How long the tests below hold back the second half of a body.
    const PAUSE: Duration = Duration::from_millis(150);

    #[tokio::test]
    async fn every_protocol_reports_receive_decode_answer_and_the_client_reads_them() {
        let server = study::start(ListenConfig::default()).await.unwrap();
        for protocol in Protocol::ALL {
            let client =
                StudyClient::connect(protocol, TransportConfig::default(), &server.target())
                    .await
                    .unwrap();
            for payload in [Payload::Basic, Payload::Base64(SIZE), Payload::Binary(SIZE)] {
                let reply = client.send(&Arc::new(payload.request())).await.unwrap();
                assert_eq!(reply.answer, fixtures::basic_response(), "{protocol} {payload}");
                let reported = |stage| reply.server.get(stage).is_some();
                for stage in [Stage::Receive, Stage::Decode, Stage::Answer] {
                    assert!(
                        reported(stage),
                        "{protocol} {payload}: no {stage:?} in {:?}",
                        reply.server
                    );
                }
                // gRPC's answer is encoded by tonic after the handler: not reported.
                assert_eq!(reported(Stage::Encode), protocol != Protocol::Grpc, "{protocol}");
                for stage in [Stage::Queue, Stage::Preprocess, Stage::Infer, Stage::Postprocess] {
                    assert!(!reported(stage), "{protocol} {payload}: {stage:?}");
                }
                let server_total: Duration =
                    Stage::ALL.iter().filter_map(|stage| reply.server.get(*stage)).sum();
                assert!(
                    reply.client.wait >= server_total,
                    "{protocol} {payload}: waited {:?} for {server_total:?} of server stages",
                    reply.client.wait
                );
            }
        }
        server.shutdown().await.unwrap();
    }

    /// A binary request over HTTP/1.1 on a bare socket, its body's second half sent `PAUSE`
    /// after the first: the server's timings.
    async fn rest_with_a_pause(server: &ServerHandle) -> StageTimings {
        let image = vec![7u8; 64 * 1024];
        let mut tcp = TcpStream::connect(server.rest_addr()).await.unwrap();
        let head = format!(
            "POST /binary HTTP/1.1\r\nhost: x\r\ncontent-type: application/octet-stream\r\n\
             content-length: {}\r\nconnection: close\r\n\r\n",
            image.len()
        );
        tcp.write_all(head.as_bytes()).await.unwrap();
        let (first, second) = image.split_at(image.len() / 2);
        tcp.write_all(first).await.unwrap();
        tokio::time::sleep(PAUSE).await;
        tcp.write_all(second).await.unwrap();
        let mut response = String::new();
        tcp.read_to_string(&mut response).await.unwrap();
        assert!(response.starts_with("HTTP/1.1 200"), "{response}");
        let value = response
            .lines()
            .find_map(|line| line.strip_prefix(&format!("{}: ", timing::HEADER)))
            .unwrap_or_else(|| panic!("no {} header: {response}", timing::HEADER));
        StageTimings::parse(value)
    }

    /// The same over gRPC: the length-prefixed message in two DATA frames, `PAUSE` apart.
    async fn grpc_with_a_pause(server: &ServerHandle) -> StageTimings {
        let message = protobuf::encode(&ImageBinaryRequest { image: vec![7u8; 64 * 1024].into() });
        let mut framed = BytesMut::new();
        framed.put_u8(0);
        framed.put_u32(message.len() as u32);
        framed.put_slice(&message);
        let framed = framed.freeze();
        let (first, second) = (framed.slice(..framed.len() / 2), framed.slice(framed.len() / 2..));
        let (frames, body) = mpsc::channel::<Result<Frame<Bytes>, Infallible>>(2);
        let body = StreamBody::new(tokio_stream::wrappers::ReceiverStream::new(body));
        let request = Request::post(format!(
            "http://{}/ai.statsbomb.com.GrpcBenchmarkApiService/BenchmarkBinaryImage",
            server.grpc_addr()
        ))
        .header(header::CONTENT_TYPE, "application/grpc")
        .header(header::TE, "trailers")
        .body(body)
        .unwrap();
        let client = Client::builder(TokioExecutor::new()).http2_only(true).build_http();
        let sending = tokio::spawn(async move {
            frames.send(Ok(Frame::data(first))).await.unwrap();
            tokio::time::sleep(PAUSE).await;
            frames.send(Ok(Frame::data(second))).await.unwrap();
        });
        let response = client.request(request).await.unwrap();
        sending.await.unwrap();
        let value = response.headers().get(timing::HEADER).expect("server-timing metadata");
        let timings = StageTimings::parse(value.to_str().unwrap());
        let (parts, body) = response.into_parts();
        let trailers = body.collect().await.unwrap().trailers().cloned().unwrap_or_default();
        let status = trailers.get("grpc-status").or(parts.headers.get("grpc-status"));
        assert_eq!(status.map(|s| s.to_str().unwrap()), Some("0"), "{trailers:?}");
        timings
    }

    #[tokio::test]
    async fn a_body_that_arrives_slowly_is_receive_time_not_decode_time() {
        let server = study::start(ListenConfig::default()).await.unwrap();
        for (protocol, timings) in
            [("rest", rest_with_a_pause(&server).await), ("grpc", grpc_with_a_pause(&server).await)]
        {
            let receive = timings.get(Stage::Receive).unwrap();
            let decode = timings.get(Stage::Decode).unwrap();
            assert!(receive >= PAUSE, "{protocol}: receive {receive:?} under the pause: {timings}");
            assert!(decode < PAUSE / 3, "{protocol}: decode {decode:?} took the pause: {timings}");
        }
        server.shutdown().await.unwrap();
    }

    #[tokio::test]
    async fn the_clients_stages_add_up_to_the_call() {
        let server = study::start(ListenConfig::default()).await.unwrap();
        let request = Arc::new(Payload::Binary(SIZE).request());
        for protocol in Protocol::ALL {
            let client =
                StudyClient::connect(protocol, TransportConfig::default(), &server.target())
                    .await
                    .unwrap();
            let started = Instant::now();
            let reply = client.send(&request).await.unwrap();
            let call = started.elapsed();
            let stages = reply.client.encode + reply.client.wait + reply.client.decode;
            assert!(stages <= call, "{protocol}: stages {stages:?} over the call's {call:?}");
            assert!(stages * 2 >= call, "{protocol}: stages {stages:?} miss most of {call:?}");
        }
        server.shutdown().await.unwrap();
    }
}
