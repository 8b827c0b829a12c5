//! # servebench
//!
//! Where the time goes when an image travels to a model server and back.
//!
//! A request lives through a fixed sequence of stages, and each stage is a module of plain
//! functions over [`bytes::Bytes`] and small structs. Servers, clients and benches are thin
//! compositions of them, so every stage can be timed alone and end to end:
//!
//! ```text
//! client: request -> encode ──transport──> server: decode -> preprocess (vision) -> answer -> encode
//! client: decode  <──────────transport──── server
//! ```
//!
//! | stage | module | variants measured |
//! |---|---|---|
//! | fixtures | [`fixtures`] | noise / smooth images, JPEG / PNG, the study's 3 sizes; its payloads |
//! | codec | [`codec`] | JSON / protobuf, base64 / raw / multipart |
//! | transport | [`transport`] (what both ends agree on), [`server`], [`client`] | REST over HTTP/1.1, REST over HTTP/2 (h2c), gRPC |
//! | vision | [`vision`] | decode, resize, crop + normalize; noise / smooth, JPEG / PNG |
//! | inference | `inference` (feature `torch`) | CPU / CUDA, batch 1 / 8 / 20, host-device copies |
//! | postprocess | [`postprocess`] | softmax, top 5, label map |
//! | end to end | `server::torchserve` (feature `torch`), [`client::torchserve`] | REST raw / multipart / base64, gRPC; CPU / CUDA; batch 1 / 8 |
//!
//! End to end, every request carries its stage timings ([`timing`]); the benches keep their
//! means per id ([`attribution`]), and [`report`] renders a run and compares two. Every bench
//! id is a typed value from [`ids`]: benches name what they measure with it, and the report
//! and the tests look results up by it. [`load`] drives any route at a concurrency or a rate
//! instead of the study's 20 at once: latency percentiles, throughput and the server's stages
//! per load point (`servebench load`). [`link`] moves the two ends apart: client and server in
//! network namespaces of their own, joined by a veth pair shaped to a profile's rate (and round
//! trip), checked before use, so the transport and end-to-end benches can cross `100mbit` as
//! well as loopback.
//!
//! Layers import downward: the stages know nothing of servers or clients; [`transport`] is
//! what both ends agree on (protocols, routes, a [`Target`](transport::Target), the body
//! limit); [`server`] and [`client`] each import it and never each other. Errors keep their
//! causes as sources, and whoever shows one prints the whole chain ([`error::chain`]).
//!
//! The messages are the study's own ([`messages`], from `proto/study.proto`), wire-compatible
//! with its Python client and servers, and TorchServe's gRPC inference API
//! (`proto/torchserve.proto`).
//!
//! ## Using the stages
//! Each stage is usable on its own. The codec stage, timed by `benches/serialization.rs`:
//!
//! ```
//! use servebench::codec::{json, protobuf};
//! use servebench::fixtures;
//!
//! let request = fixtures::basic_request();
//! let text = json::encode(&request)?;
//! let wire = protobuf::encode(&request);
//! assert!(wire.len() < text.len());
//! assert_eq!(protobuf::decode::<servebench::messages::BasicRequest>(wire)?, request);
//! # Ok::<(), servebench::codec::CodecError>(())
//! ```
//!
//! The transport stage composes the codec with a server and a client, as `benches/transport.rs`
//! does:
//!
//! ```
//! use servebench::client::StudyClient;
//! use servebench::fixtures;
//! use servebench::messages::StudyRequest;
//! use servebench::server::{ListenConfig, study};
//! use servebench::transport::{Protocol, TransportConfig};
//!
//! # #[tokio::main] async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! // Both ends of HTTP/2 with 16 MiB windows and 1 MiB frames; "" is hyper's defaults.
//! let transport: TransportConfig = "window_16m+frame_1m".parse()?;
//! let server = study::start(ListenConfig { transport, ..Default::default() }).await?; // 127.0.0.1:0
//! let client = StudyClient::connect(Protocol::RestH2, transport, &server.target()).await?;
//! let reply = client.send(&StudyRequest::Basic(fixtures::basic_request())).await?;
//! assert_eq!(reply.answer, fixtures::basic_response());
//! // Where the time went: the client's stages, and the server's from its `server-timing`.
//! println!("waited {:?}, of which the body took {:?} to arrive", reply.client.wait,
//!     reply.server.get(servebench::timing::Stage::Receive));
//! server.shutdown().await?;
//! # Ok(()) }
//! ```
//!
//! ## Adding a variant
//! Add a function to the stage's module (a new codec is a module with `encode` and `decode`),
//! a value to the stage's id type in [`ids`] (its `all()` lists it), then one line in the
//! stage's bench, `common::bench(&mut group, id, ...)`. Ids are an interface: reports and
//! branch comparisons key on them, so never rename one (`tests/ids.rs` holds the benches to
//! the ids module, and the report to the benches).

#![warn(missing_docs)]

pub mod allocator;
pub mod attribution;
pub mod client;
pub mod codec;
pub mod error;
pub mod fixtures;
pub mod ids;
#[cfg(feature = "torch")]
pub mod inference;
pub mod link;
pub mod load;
pub mod messages;
pub mod planted;
pub mod postprocess;
pub mod report;
pub mod server;
pub mod timing;
pub mod transport;
pub mod vision;
