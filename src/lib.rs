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
//! | transport | [`server`], [`client`] | REST over HTTP/1.1, REST over HTTP/2 (h2c), gRPC |
//! | vision | [`vision`] | decode, resize, crop + normalize; noise / smooth, JPEG / PNG |
//! | inference | `inference` (feature `torch`) | CPU / CUDA, batch 1 / 8 / 20, host-device copies |
//! | postprocess | [`postprocess`] | softmax, top 5, label map |
//! | end to end | `server::torchserve` (feature `torch`), [`client::torchserve`] | REST raw / multipart / base64, gRPC; CPU / CUDA; batch 1 / 8 |
//!
//! End to end, every request carries its stage timings ([`timing`]); the benches keep their
//! means per id ([`attribution`]), and [`report`] renders a run and compares two.
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
//! use servebench::client::{Protocol, StudyClient, Target};
//! use servebench::fixtures;
//! use servebench::messages::StudyRequest;
//! use servebench::server::{ServerConfig, StudyServer};
//!
//! # #[tokio::main] async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let server = StudyServer::start(ServerConfig::default()).await?; // 127.0.0.1, port 0
//! let client = StudyClient::connect(Protocol::RestH2, &Target::local(&server)).await?;
//! let answer = client.send(&StudyRequest::Basic(fixtures::basic_request())).await?;
//! assert_eq!(answer, fixtures::basic_response());
//! server.shutdown().await?;
//! # Ok(()) }
//! ```
//!
//! ## Adding a variant
//! Add a function to the stage's module (a new codec is a module with `encode` and `decode`),
//! then one line in the stage's bench so it gets an id `<stage>/<variant>/<payload>`. Ids are
//! an interface: reports and branch comparisons key on them, so never rename one.

#![warn(missing_docs)]

pub mod allocator;
pub mod attribution;
pub mod client;
pub mod codec;
pub mod fixtures;
#[cfg(feature = "torch")]
pub mod inference;
pub mod messages;
pub mod planted;
pub mod postprocess;
pub mod report;
pub mod server;
pub mod timing;
pub mod vision;
