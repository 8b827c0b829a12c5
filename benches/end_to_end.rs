//! End to end: the study's TorchServe experiment against servebench's model server (or any
//! server speaking TorchServe's inference APIs or the Open Inference Protocol), every request's
//! time attributed to its stages.
//!
//! Ids (`servebench::ids::EndToEndId`): `end_to_end/<route>/<size>/<setup>`, where `route` is
//! how the image travels (TorchServe's: `rest_h1_raw`, `rest_h1_multipart`, `rest_h1_base64`,
//! the same over `rest_h2`, and `grpc_raw`; the Open Inference Protocol's, with
//! `SERVEBENCH_ROUTES=oip`: `oip_{rest_json,rest_binary,grpc}_{jpeg,tensor}`, the tensor ones
//! preprocessing on the client), `size` the study's noise JPEG (`360x640`, `720x1280`, `1080x1920`) and `setup`
//! the server's device and batching: `cpu_b1` (TorchServe's default: batch 1), `cpu_b8` (batch
//! up to 8, 10 ms max delay), `cuda_b1` and `cuda_b8` where libtorch sees a GPU (skipped with the
//! reason printed where not). Those are TorchServe's design, one worker decoding, preprocessing
//! and inferring in turn; `SERVEBENCH_SETUPS=pipelined` (or `all`, or setup names) measures the
//! pipelined designs instead (`<device>_b<batch>_pipelined`: a pool of prepare threads decodes
//! and preprocesses as images arrive, the worker only infers; `..._pipelined_scaled`: the same
//! decoding JPEGs at a fraction of their size). One iteration is the study's unit: 20 concurrent requests, timed
//! together; throughput is requests per second. The model is the generated ResNet-50, one
//! worker. In Criterion's test mode (`cargo test --benches`) and in the quick mode only the
//! 360x640 ids run: every route and setup once, since an id costs at least its ten samples of
//! 20 requests through ResNet-50 (1.3 to 2.6 s each on 2 cores), and the 42 ids of every size
//! took 13 minutes of a quick run alone.
//!
//! Besides Criterion's estimates, the mean of every client stage (encode, wait, decode) and
//! server stage (receive, queue, decode, preprocess, infer, postprocess, encode) over each
//! id's measured requests goes to `target/criterion/end_to_end/servebench-stages.json` (see
//! `servebench::attribution`).
//!
//! `SERVEBENCH_LINKS` names the links the requests cross, as for the transport bench
//! (`benches/transport.rs`): over an emulated link the ids read
//! `end_to_end/<route>@<link>/<size>/<setup>`, for the routes of `EndToEndId::LINK_ROUTES`
//! (the study's three columns and raw REST over HTTP/2) and the batch-1 setups, the model
//! server in the link's server namespace. An external server is measured on loopback only.
//!
//! `SERVEBENCH_MODEL_REST_TARGET` / `SERVEBENCH_MODEL_GRPC_TARGET` point the clients at another
//! server (a real TorchServe: `http://host:8080`, `http://host:7070`) serving the model named by
//! `SERVEBENCH_MODEL_NAME` (default `resnet50`); its ids end in `external`.

mod common;

use common::link::Sampling;
use common::stages;

use std::collections::BTreeMap;
use std::time::Duration;

use bytes::Bytes;
use criterion::{Criterion, SamplingMode, Throughput, criterion_group, criterion_main};
use servebench::attribution::Attribution;
use servebench::client::torchserve::ModelClient;
use servebench::error::chain;
use servebench::fixtures::{self, ImageSize, ImageSpec, STUDY_SIZES};
use servebench::ids::{EndToEndId, Group, Setup};
use servebench::inference;
use servebench::link::Ends;
use servebench::server::ServerHandle;
use servebench::server::torchserve::{self, ModelServerConfig};
use servebench::transport::{MODEL_TARGET_ENV, Route, Target};

/// The study's unit of measurement: 20 concurrent requests.
const CONCURRENCY: usize = 20;

/// Names the routes to measure, comma-separated: sets (`torchserve`, `oip`, `all`) and route
/// names (`oip_grpc_tensor`); unset: `torchserve`, the study's experiment.
const ROUTES_ENV: &str = "SERVEBENCH_ROUTES";

/// The routes this run measures: [`ROUTES_ENV`]'s; Criterion's test mode and `--list` take
/// every route.
fn routes() -> Vec<Route> {
    if !common::measuring() {
        return Route::ALL.to_vec();
    }
    match std::env::var(ROUTES_ENV) {
        Ok(names) if !names.trim().is_empty() => {
            Route::parse_list(&names).unwrap_or_else(|error| panic!("{ROUTES_ENV}: {error}"))
        }
        _ => Route::TORCHSERVE.to_vec(),
    }
}

/// Names the model server setups to measure, comma-separated: sets (`serial`, `pipelined`,
/// `all`) and setup names (`cpu_b8_pipelined_scaled`); unset: `serial`, TorchServe's design.
const SETUPS_ENV: &str = "SERVEBENCH_SETUPS";

/// The model server setups this run measures and this machine can run: [`SETUPS_ENV`]'s
/// (Criterion's test mode and `--list` take every one), the CUDA ones only where libtorch sees
/// a GPU.
fn setups() -> Vec<Setup> {
    let named = match std::env::var(SETUPS_ENV) {
        _ if !common::measuring() => Setup::all_local().collect(),
        Ok(names) if !names.trim().is_empty() => {
            Setup::parse_list(&names).unwrap_or_else(|error| panic!("{SETUPS_ENV}: {error}"))
        }
        _ => Setup::LOCAL.to_vec(),
    };
    let cuda = inference::cuda_available();
    let (runnable, skipped): (Vec<Setup>, Vec<Setup>) = named
        .into_iter()
        .partition(|setup| cuda || setup.device() != Some(servebench::ids::Device::Cuda));
    if !skipped.is_empty() {
        let names: Vec<String> = skipped.iter().map(ToString::to_string).collect();
        eprintln!("end_to_end: no CUDA device (libtorch sees none): skipping {}", names.join(", "));
    }
    runnable
}

fn end_to_end(c: &mut Criterion) {
    // Criterion's test mode (`cargo test --benches`) only shows the bench works, and the quick
    // mode is a smoke run: every route and setup once, at the smallest size.
    let smallest = common::testing() || common::quick();
    let sizes = if smallest { &STUDY_SIZES[..1] } else { &STUDY_SIZES[..] };
    let images: BTreeMap<ImageSize, Bytes> =
        sizes.iter().map(|&size| (size, fixtures::image(ImageSpec::study(size)))).collect();
    let model = std::env::var("SERVEBENCH_MODEL_NAME").unwrap_or_else(|_| "resnet50".to_owned());
    let external = Target::default().overridden_by_env(MODEL_TARGET_ENV);
    let loopback_sampling = Sampling {
        samples: 10,
        // One iteration takes up to seconds: ten of them, each its own sample.
        mode: SamplingMode::Flat,
        warm_up: if common::quick() { Duration::from_millis(300) } else { Duration::from_secs(2) },
        measurement: if common::quick() { Duration::from_secs(1) } else { Duration::from_secs(10) },
    };
    let mut attribution = Attribution::new();
    let mut skipped = BTreeMap::new();
    let mut checks = BTreeMap::new();

    // Each setup's server starts when its turn comes and stops after it: one model in memory.
    let runs = if external.is_empty() {
        setups()
    } else {
        eprintln!("end_to_end: measuring REST at {:?}, gRPC at {:?}", external.rest, external.grpc);
        vec![Setup::External]
    };

    let routes = routes();
    let mut group = common::group(c, Group::EndToEnd);
    group.throughput(Throughput::Elements(CONCURRENCY as u64));
    for link in common::link::links() {
        let cells: Vec<EndToEndId> = runs
            .iter()
            .flat_map(|&setup| EndToEndId::over(link, setup))
            .filter(|id| images.contains_key(&id.size) && routes.contains(&id.route))
            .collect();
        if cells.is_empty() {
            continue;
        }
        let ends = match common::link::ends(link) {
            Ok(ends) => ends,
            Err(why) => {
                eprintln!("end_to_end: {link} skipped: {why}");
                skipped.insert(format!("{}/*@{link}", Group::EndToEnd), why);
                continue;
            }
        };
        if let Some(check) = ends.check() {
            checks.insert(link, check.clone());
        }
        let warm_up = common::link::sampling(link, &mut group, loopback_sampling).warm_up;
        for &setup in &runs {
            let setup_cells: Vec<EndToEndId> =
                cells.iter().copied().filter(|id| id.setup == setup).collect();
            if setup_cells.is_empty() {
                continue;
            }
            let server = ends.on_server(|| ends.server().block_on(start(setup, &model, &ends)));
            let target = server.as_ref().map_or_else(|| external.clone(), ServerHandle::target);
            ends.on_client(|| {
                for route in Route::ALL {
                    let route_cells = setup_cells.iter().filter(|id| id.route == route);
                    let route_cells: Vec<EndToEndId> = route_cells.copied().collect();
                    if route_cells.is_empty() || target.url(route.protocol()).is_empty() {
                        continue;
                    }
                    let client = ends
                        .client()
                        .block_on(ModelClient::connect(route, &target, &model))
                        .unwrap_or_else(|error| {
                            panic!("{route} cannot reach {target:?}: {}", chain(&error))
                        });
                    for id in route_cells {
                        let image = &images[&id.size];
                        let call = || client.predict_concurrent(image, CONCURRENCY);
                        let measured =
                            stages::requests(&mut group, id, ends.client(), warm_up, call);
                        if measured.requests() > 0 {
                            attribution.insert(id, measured.means());
                        }
                    }
                }
            });
            if let Some(server) = server {
                ends.server()
                    .block_on(server.shutdown())
                    .expect("the model server shuts down cleanly");
            }
        }
    }
    group.finish();
    if common::measuring() {
        stages::record(Group::EndToEnd, skipped, checks, attribution);
    }
}

/// servebench's model server for a local setup, serving the generated ResNet-50 as `model` on
/// the server's end of `ends`' link; none for an external one.
async fn start(setup: Setup, model: &str, ends: &Ends) -> Option<ServerHandle> {
    let mut config = ModelServerConfig::setup(setup, model)?;
    config.listen = config.listen.at(ends.server_addr());
    let server = torchserve::start(config).await;
    Some(server.unwrap_or_else(|error| {
        panic!("{setup}: the model server does not start: {}", chain(&error))
    }))
}

criterion_group! {
    name = benches;
    config = common::criterion();
    targets = end_to_end
}
criterion_main!(benches);
