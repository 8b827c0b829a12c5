//! Transport stage: the study's base benchmark, each request type over each protocol, end to
//! end through client and server (encode, HTTP framing, loopback TCP, decode, answer, back).
//!
//! Ids: `transport/{rest_h1,rest_h2,grpc}/<payload>/c{1,20}`. `c1` is one request's latency;
//! `c20` is the study's unit, 20 concurrent requests timed together. Throughput is request
//! body bytes per iteration. The server starts once, outside the measured loop, on its own
//! runtime; `SERVEBENCH_REST_TARGET` / `SERVEBENCH_GRPC_TARGET` point the clients elsewhere.

mod common;

use std::sync::Arc;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use servebench::client::{Protocol, STUDY_TARGET_ENV, StudyClient, Target};
use servebench::codec::{json, protobuf};
use servebench::fixtures;
use servebench::messages::StudyRequest;
use servebench::server::{ServerConfig, StudyServer};

/// The study's unit of measurement, and a single request for latency.
const CONCURRENCY: [usize; 2] = [1, 20];

fn transport(c: &mut Criterion) {
    let server_runtime = common::runtime();
    let server = server_runtime
        .block_on(StudyServer::start(ServerConfig::default()))
        .expect("the study server starts on loopback");
    let target = Target::local(&server).overridden_by_env(STUDY_TARGET_ENV);
    eprintln!("transport: REST at {}, gRPC at {}", target.rest, target.grpc);

    let client_runtime = common::runtime();
    let payloads = fixtures::study_payloads();
    let mut group = c.benchmark_group("transport");
    for protocol in Protocol::ALL {
        let client =
            client_runtime.block_on(StudyClient::connect(protocol, &target)).unwrap_or_else(
                |error| panic!("{protocol} client cannot reach {}: {error}", target.url(protocol)),
            );
        for payload in &payloads {
            let request = Arc::new(payload.request.clone());
            for concurrency in CONCURRENCY {
                let bytes = body_bytes(protocol, &request) * concurrency as u64;
                group.throughput(Throughput::Bytes(bytes));
                let id =
                    BenchmarkId::new(protocol.name(), format!("{}/c{concurrency}", payload.name));
                group.bench_function(id, |b| {
                    b.to_async(&client_runtime).iter(|| async {
                        let outcome = if concurrency == 1 {
                            client.send(&request).await.map(drop)
                        } else {
                            client.send_concurrent(&request, concurrency).await
                        };
                        outcome
                            .unwrap_or_else(|error| panic!("{protocol} {}: {error}", payload.name))
                    })
                });
            }
        }
    }
    group.finish();
    server_runtime.block_on(server.shutdown()).expect("the server shuts down cleanly");
}

/// What one request puts in the HTTP body: JSON or the raw image for REST, a framed protobuf
/// message for gRPC.
fn body_bytes(protocol: Protocol, request: &StudyRequest) -> u64 {
    let len = match (protocol, request) {
        (Protocol::Grpc, StudyRequest::Basic(m)) => protobuf::encode(m).len() + 5,
        (Protocol::Grpc, StudyRequest::Base64(m)) => protobuf::encode(m).len() + 5,
        (Protocol::Grpc, StudyRequest::Binary(m)) => protobuf::encode(m).len() + 5,
        (_, StudyRequest::Basic(m)) => json::encode(m).unwrap().len(),
        (_, StudyRequest::Base64(m)) => json::encode(m).unwrap().len(),
        (_, StudyRequest::Binary(m)) => m.image.len(),
    };
    len as u64
}

criterion_group! {
    name = benches;
    config = common::criterion();
    targets = transport
}
criterion_main!(benches);
