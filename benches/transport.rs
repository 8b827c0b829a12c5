//! Transport stage: the study's base benchmark, each request type over each protocol, end to
//! end through client and server (encode, HTTP framing, loopback TCP, decode, answer, back).
//!
//! Ids (`servebench::ids::TransportId`): `transport/{rest_h1,rest_h2,grpc}/<payload>/c{1,20}`.
//! `c1` is one request's latency; `c20` is the study's unit, 20 concurrent requests timed
//! together. Throughput is request body bytes per iteration. The server starts once, outside
//! the measured loop, on its own runtime; `SERVEBENCH_REST_TARGET` / `SERVEBENCH_GRPC_TARGET`
//! point the clients elsewhere.

mod common;

use std::sync::Arc;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use servebench::client::StudyClient;
use servebench::codec::{json, protobuf};
use servebench::error::chain;
use servebench::ids::{Group, Payload, TransportId};
use servebench::messages::StudyRequest;
use servebench::server::{ListenConfig, study};
use servebench::transport::{Protocol, STUDY_TARGET_ENV};

fn transport(c: &mut Criterion) {
    let server_runtime = common::runtime();
    let server = server_runtime
        .block_on(study::start(ListenConfig::default()))
        .expect("the study server starts on loopback");
    let target = server.target().overridden_by_env(STUDY_TARGET_ENV);
    eprintln!("transport: REST at {}, gRPC at {}", target.rest, target.grpc);

    let client_runtime = common::runtime();
    let payloads: Vec<(Payload, Arc<StudyRequest>)> =
        Payload::all().into_iter().map(|payload| (payload, Arc::new(payload.request()))).collect();
    let mut group = common::group(c, Group::Transport);
    for protocol in Protocol::ALL {
        let client = client_runtime
            .block_on(StudyClient::connect(protocol, &target))
            .unwrap_or_else(|error| {
                panic!("{protocol} client cannot reach {}: {}", target.url(protocol), chain(&error))
            });
        for (payload, request) in &payloads {
            for concurrency in TransportId::CONCURRENCY {
                let bytes = body_bytes(protocol, request) * concurrency as u64;
                group.throughput(Throughput::Bytes(bytes));
                let id = TransportId { protocol, payload: *payload, concurrency };
                common::bench(&mut group, id, |b| {
                    b.to_async(&client_runtime).iter(|| async {
                        let outcome = if concurrency == 1 {
                            client.send(request).await.map(drop)
                        } else {
                            client.send_concurrent(request, concurrency).await.map(drop)
                        };
                        outcome.unwrap_or_else(|error| panic!("{id}: {}", chain(&error)))
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
