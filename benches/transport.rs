//! Transport stage: the study's base benchmark, each request type over each protocol, end to
//! end through client and server (encode, HTTP framing, loopback TCP, decode, answer, back),
//! held to its floor: the same bytes over plain TCP with no protocol at all.
//!
//! Ids (`servebench::ids::TransportId`):
//! `transport/{tcp_floor,rest_h1,rest_h2,grpc}[+<configuration>]/<payload>/c{1,20}`. `c1` is
//! one request's latency; `c20` is the study's unit, 20 concurrent requests timed together.
//! Throughput is request body bytes per iteration. Each carrier's server starts once, outside
//! the measured loop, on its own runtime, configured as its client is.
//!
//! `SERVEBENCH_TRANSPORT_SET` names the sets to run, comma-separated: `default` (the floor and
//! each protocol at hyper's and tonic's defaults, every payload; what runs when it is unset)
//! and `configs` (each protocol under each configuration, on the smallest and largest
//! payloads). Criterion's test mode and `--list` take both.
//!
//! `SERVEBENCH_LINKS` names the links the sets cross (`servebench::link`), comma-separated:
//! `loopback` (unset: it alone), profiles such as `1gbit` or `100mbit_rtt20ms`, and the sets
//! `bandwidth`, `rtt` and `all`. Over an emulated link the ids read
//! `transport/<carrier>@<link>/<payload>/c20`: the study's unit only, ten samples each, every
//! server and client in its side's namespace; the link is checked first (its rate and round
//! trip, kept in `servebench-links.json` for the report) and skipped, with the reason printed
//! and recorded, where it cannot be built or is not what it claims. Criterion's test mode
//! crosses loopback and `1gbit`; `--list` names every profile.
//!
//! Besides Criterion's estimates, each protocol id's measured requests leave the mean of every
//! client stage (encode, wait, decode) and of the server's (receive, decode, answer, and
//! encode for REST; from its `server-timing`) in the group's `servebench-stages.json`
//! (`servebench::attribution`), which the report's stacked bars of the transport stage are
//! drawn from. The floor sends no timings. `SERVEBENCH_REST_TARGET` /
//! `SERVEBENCH_GRPC_TARGET` point the protocols' clients elsewhere (the floor stays here); a
//! protocol such a target does not answer (a REST server without h2c, say) is skipped, said
//! on stderr and recorded for the report's "not in this run".

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use common::link::Sampling;
use common::stages;

use criterion::measurement::WallTime;
use criterion::{
    BenchmarkGroup, Criterion, SamplingMode, Throughput, criterion_group, criterion_main,
};
use servebench::attribution::Attribution;
use servebench::client::floor::FloorClient;
use servebench::client::{ClientError, Reply, StudyClient};
use servebench::codec::json;
use servebench::error::chain;
use servebench::ids::{Carrier, Group, Payload, TransportId, TransportSet};
use servebench::link::{Ends, Link};
use servebench::messages::{BasicResponse, StudyRequest};
use servebench::server::{ListenConfig, floor, study};
use servebench::transport::config::Compression;
use servebench::transport::{
    self, DEFAULT_BODY_LIMIT, Protocol, STUDY_TARGET_ENV, Target, TransportConfig,
};
use tokio::runtime::Runtime;

/// Names the sets of transport ids to run, comma-separated; unset: `default`.
const SET_ENV: &str = "SERVEBENCH_TRANSPORT_SET";

/// The sets this run measures; Criterion's test mode and `--list` take every set.
fn sets() -> Vec<TransportSet> {
    if !common::measuring() {
        return TransportSet::ALL.to_vec();
    }
    let names = std::env::var(SET_ENV).unwrap_or_default();
    if names.is_empty() {
        return vec![TransportSet::Default];
    }
    names
        .split(',')
        .map(|name| name.trim().parse().unwrap_or_else(|error| panic!("{SET_ENV}: {error}")))
        .collect()
}

/// What every cell over one link shares: the link's two ends (a runtime for the servers, one
/// for the clients, each with the machine's threads) and each payload's request, made once.
struct Runtimes<'a> {
    ends: Ends,
    requests: &'a BTreeMap<Payload, Arc<StudyRequest>>,
}

impl Runtimes<'_> {
    fn server(&self) -> &Runtime {
        self.ends.server()
    }

    fn client(&self) -> &Runtime {
        self.ends.client()
    }
}

fn transport(c: &mut Criterion) {
    let sets = sets();
    let all: Vec<TransportId> = sets.iter().flat_map(|set| set.ids()).collect();
    let payloads: BTreeSet<Payload> = all.iter().map(|id| id.payload).collect();
    let requests = payloads.into_iter().map(|payload| (payload, Arc::new(payload.request())));
    let requests: BTreeMap<_, _> = requests.collect();
    let mut group = common::group(c, Group::Transport);
    let mut skipped = BTreeMap::new();
    let mut stages = Attribution::new();
    let mut checks = BTreeMap::new();
    for link in common::link::links() {
        let mut ids: Vec<TransportId> = sets.iter().flat_map(|set| set.ids_over(link)).collect();
        ids.dedup();
        let external = !Target::default().overridden_by_env(STUDY_TARGET_ENV).is_empty();
        let ends = match common::link::ends(link) {
            Ok(_) if external && link != Link::Loopback => {
                Err("an external target (SERVEBENCH_*_TARGET) is not behind an emulated link"
                    .into())
            }
            ends => ends,
        };
        let runtimes = match ends {
            Ok(ends) => Runtimes { ends, requests: &requests },
            Err(why) => {
                eprintln!("transport: {link} skipped: {why}");
                skipped.insert(format!("{}/*@{link}", Group::Transport), why);
                continue;
            }
        };
        if let Some(check) = runtimes.ends.check() {
            checks.insert(link, check.clone());
        }
        let mut carriers: Vec<Carrier> = ids.iter().map(|id| id.carrier).collect();
        carriers.dedup();
        for carrier in carriers {
            let cells: Vec<TransportId> =
                ids.iter().copied().filter(|id| id.carrier == carrier).collect();
            match carrier {
                Carrier::Floor => floor_cells(&mut group, &runtimes, &cells),
                Carrier::Protocol(protocol, config) => {
                    let both = (protocol, config);
                    let outcome = protocol_cells(&mut group, &runtimes, both, &cells, &mut stages);
                    if let Err(why) = outcome {
                        eprintln!("transport: {carrier} skipped: {why}");
                        skipped.insert(format!("{}/{carrier}", Group::Transport), why);
                    }
                }
            }
        }
    }
    group.finish();
    if common::measuring() {
        stages::record(Group::Transport, skipped, checks, stages);
    }
}

/// Whether an external target answers `client` at all: one small request, given 10 s.
async fn probe(client: &StudyClient) -> Result<(), ClientError> {
    let basic = Payload::Basic.request();
    match tokio::time::timeout(Duration::from_secs(10), client.send(&basic)).await {
        Ok(answer) => answer.map(drop),
        Err(elapsed) => Err(ClientError::Transport(Box::new(elapsed))),
    }
}

/// The protocol's cells, against a server configured as its client; or why an external
/// target was not measured (it does not answer this protocol).
fn protocol_cells(
    group: &mut BenchmarkGroup<'_, WallTime>,
    runtimes: &Runtimes,
    (protocol, config): (Protocol, TransportConfig),
    cells: &[TransportId],
    stages: &mut Attribution<TransportId>,
) -> Result<(), String> {
    let ends = &runtimes.ends;
    let listen = ListenConfig { transport: config, ..Default::default() }.at(ends.server_addr());
    let server = ends.on_server(|| runtimes.server().block_on(study::start(listen)));
    let server = server.expect("the study server starts");
    let target = match ends.link() {
        Link::Loopback => server.target().overridden_by_env(STUDY_TARGET_ENV),
        Link::Shaped(_) => server.target(),
    };
    let url = target.url(protocol);
    let external = url != server.target().url(protocol);
    let connected = ends.on_client(|| {
        runtimes.client().block_on(async {
            let client = StudyClient::connect(protocol, config, &target).await?;
            if external {
                probe(&client).await?;
            }
            Ok::<_, ClientError>(client)
        })
    });
    let client = match connected {
        Ok(client) => client,
        Err(error) if external => {
            runtimes.server().block_on(server.shutdown()).expect("the server shuts down cleanly");
            // One line of at most 200 characters: an error page's first line says enough.
            let error = chain(&error);
            let first_line: String =
                error.lines().next().unwrap_or_default().chars().take(200).collect();
            return Err(format!("{url} did not answer it: {first_line}"));
        }
        Err(error) => panic!("{protocol} client cannot reach {url}: {}", chain(&error)),
    };
    // Compressing 20 copies of a large image takes seconds an iteration (gzip of the base64
    // 1080x1920 request: 3.6 s), so a compressed cell takes Criterion's least samples.
    let compressed = config.compression != Compression::None;
    let sampling = Sampling {
        samples: if compressed { 10 } else { common::sample_size() },
        ..loopback_sampling()
    };
    let warm_up = common::link::sampling(ends.link(), group, sampling).warm_up;
    ends.on_client(|| {
        for &id in cells {
            let request = &runtimes.requests[&id.payload];
            let bytes = body_len(protocol, request) * id.concurrency;
            group.throughput(Throughput::Bytes(bytes as u64));
            let call = || exchange(&client, request, id.concurrency);
            let measured = stages::requests(group, id, runtimes.client(), warm_up, call);
            if measured.requests() > 0 {
                stages.insert(id, measured.means());
            }
        }
    });
    runtimes.server().block_on(server.shutdown()).expect("the server shuts down cleanly");
    Ok(())
}

/// How the transport bench samples an id on loopback: Criterion's defaults as
/// `common::criterion` sets them.
fn loopback_sampling() -> Sampling {
    Sampling {
        samples: common::sample_size(),
        mode: SamplingMode::Auto,
        warm_up: common::warm_up_time(),
        measurement: common::measurement_time(),
    }
}

/// One request, or `concurrency` of them at once, and their replies.
async fn exchange(
    client: &StudyClient,
    request: &Arc<StudyRequest>,
    concurrency: usize,
) -> Result<Vec<Reply<BasicResponse>>, ClientError> {
    if concurrency == 1 {
        Ok(vec![client.send(request).await?])
    } else {
        client.send_concurrent(request, concurrency).await
    }
}

/// The floor's cells: each request's protobuf bytes, already encoded, to a server that answers
/// with the response's protobuf bytes.
fn floor_cells(
    group: &mut BenchmarkGroup<'_, WallTime>,
    runtimes: &Runtimes,
    cells: &[TransportId],
) {
    let response = transport::floor::response();
    let ends = &runtimes.ends;
    let start = floor::start(ends.server_addr(), response.clone(), DEFAULT_BODY_LIMIT);
    let server = ends.on_server(|| runtimes.server().block_on(start));
    let server = server.expect("the floor server starts");
    let client = FloorClient::new(server.addr(), response.len());
    common::link::sampling(ends.link(), group, loopback_sampling());
    ends.on_client(|| {
        for &id in cells {
            let request = transport::floor::request(&runtimes.requests[&id.payload]);
            group.throughput(Throughput::Bytes((request.len() * id.concurrency) as u64));
            common::bench(group, id, |b| {
                b.to_async(runtimes.client()).iter(|| async {
                    let outcome = if id.concurrency == 1 {
                        client.exchange(&request).await.map(drop)
                    } else {
                        client.exchange_concurrent(&request, id.concurrency).await.map(drop)
                    };
                    outcome.unwrap_or_else(|error| panic!("{id}: {}", chain(&error)))
                })
            });
        }
    });
    runtimes.server().block_on(server.shutdown()).expect("the floor server shuts down");
}

/// What one request puts in the HTTP body: JSON or the raw image for REST, a protobuf message
/// behind gRPC's 5-byte prefix.
fn body_len(protocol: Protocol, request: &StudyRequest) -> usize {
    match (protocol, request) {
        (Protocol::Grpc, request) => {
            transport::floor::request(request).len() + transport::GRPC_PREFIX
        }
        (_, StudyRequest::Basic(m)) => json::encode(m).expect("the request encodes").len(),
        (_, StudyRequest::Base64(m)) => json::encode(m).expect("the request encodes").len(),
        (_, StudyRequest::Binary(m)) => m.image.len(),
    }
}

criterion_group! {
    name = benches;
    config = common::criterion();
    targets = transport
}
criterion_main!(benches);
