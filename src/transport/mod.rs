//! Transport stage, what both ends agree on: the protocols and routes a request can travel by,
//! where a server is ([`Target`]), how large a body may be, how a protocol is configured
//! ([`TransportConfig`]: HTTP/2 windows and frames, connections, compression) and the floor's
//! framing ([`floor`]: the same bytes over plain TCP). Servers (`server`) and clients
//! (`client`) both import this module and never each other, so either side can be swapped for
//! someone else's.

pub mod config;
pub mod floor;

use std::fmt;
use std::net::SocketAddr;
use std::str::FromStr;

use crate::error::{UnknownName, by_name};

pub use config::TransportConfig;

/// Largest request body (REST) or message (gRPC) accepted by default, by servebench's servers
/// and clients alike: 64 MiB, room for the study's largest request (2.3 MB of JPEG, 3.1 MB as
/// base64) and far past axum's 2 MB and tonic's 4 MB defaults.
pub const DEFAULT_BODY_LIMIT: usize = 64 << 20;

/// The bytes gRPC puts before each message on the wire: a compression flag and a 4-byte
/// length.
pub const GRPC_PREFIX: usize = 5;

/// Which HTTP a REST exchange speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum HttpVersion {
    /// HTTP/1.1: one request per connection at a time, a pool for concurrency.
    Http1,
    /// HTTP/2 cleartext with prior knowledge (h2c, no upgrade dance): one connection,
    /// multiplexed.
    Http2,
}

/// How the study's requests travel.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Protocol {
    /// REST over HTTP/1.1.
    RestH1,
    /// REST over HTTP/2 cleartext.
    RestH2,
    /// gRPC over one HTTP/2 channel.
    Grpc,
}

impl Protocol {
    /// Every protocol, in report order.
    pub const ALL: [Self; 3] = [Self::RestH1, Self::RestH2, Self::Grpc];

    /// The name in bench ids and on the command line: `rest_h1`, `rest_h2`, `grpc`.
    pub fn name(self) -> &'static str {
        match self {
            Self::RestH1 => "rest_h1",
            Self::RestH2 => "rest_h2",
            Self::Grpc => "grpc",
        }
    }
}

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Protocol {
    type Err = UnknownName;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        by_name("protocol", &Self::ALL, Self::name, text)
    }
}

/// How a REST request to a model server carries the image.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Body {
    /// The body is the image (`curl -T image.jpg`).
    Raw,
    /// A `multipart/form-data` form with the image as field `data` (`curl -F data=@image.jpg`).
    Multipart,
    /// A JSON string of the image in base64 (what the study's client sent).
    Base64,
}

/// How an Open Inference Protocol request's tensors travel.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum OipApi {
    /// REST over HTTP/1.1, the tensors inside the JSON (a JPEG as base64 text).
    RestJson,
    /// REST over HTTP/1.1, the tensors as binary data after the JSON (the binary tensor data
    /// extension), the answer's too.
    RestBinary,
    /// gRPC's `ModelInfer`, the tensors as raw contents.
    Grpc,
}

/// What an Open Inference Protocol client sends of an image.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum OipInput {
    /// The encoded image (`BYTES`): the server decodes and preprocesses it.
    Jpeg,
    /// The preprocessed image (`FP32 [1, 3, 224, 224]`): the client decodes and preprocesses,
    /// the server only infers.
    Tensor,
}

impl OipInput {
    /// The input it fills on servebench's model server: `image` (`BYTES [N]`) or `tensor`
    /// (`FP32 [N, 3, 224, 224]`).
    pub const fn tensor_name(self) -> &'static str {
        match self {
            Self::Jpeg => "image",
            Self::Tensor => "tensor",
        }
    }
}

/// The output of servebench's model server over the Open Inference Protocol: `scores`, `FP32
/// [N, classes]`.
pub const OIP_OUTPUT: &str = "scores";

/// How an image travels to a model server: TorchServe's inference APIs (REST with a body kind
/// over an HTTP version, or gRPC's `Predictions` with the image under input `data`), or the Open
/// Inference Protocol's (an API and an input).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Route {
    /// `POST /predictions/{model}`.
    Rest(HttpVersion, Body),
    /// `InferenceAPIsService/Predictions`.
    Grpc,
    /// `POST /v2/models/{model}/infer` or `GRPCInferenceService/ModelInfer`.
    Oip(OipApi, OipInput),
}

impl Route {
    /// TorchServe's routes, in report order: REST over HTTP/1.1 then HTTP/2, each raw,
    /// multipart and base64, then gRPC.
    pub const TORCHSERVE: [Self; 7] = [
        Self::Rest(HttpVersion::Http1, Body::Raw),
        Self::Rest(HttpVersion::Http1, Body::Multipart),
        Self::Rest(HttpVersion::Http1, Body::Base64),
        Self::Rest(HttpVersion::Http2, Body::Raw),
        Self::Rest(HttpVersion::Http2, Body::Multipart),
        Self::Rest(HttpVersion::Http2, Body::Base64),
        Self::Grpc,
    ];

    /// The Open Inference Protocol's routes, in report order: the JPEG then the tensor, each
    /// over REST with JSON, REST with binary data, and gRPC.
    pub const OIP: [Self; 6] = [
        Self::Oip(OipApi::RestJson, OipInput::Jpeg),
        Self::Oip(OipApi::RestBinary, OipInput::Jpeg),
        Self::Oip(OipApi::Grpc, OipInput::Jpeg),
        Self::Oip(OipApi::RestJson, OipInput::Tensor),
        Self::Oip(OipApi::RestBinary, OipInput::Tensor),
        Self::Oip(OipApi::Grpc, OipInput::Tensor),
    ];

    /// Every route: TorchServe's, then the Open Inference Protocol's.
    pub const ALL: [Self; 13] = {
        let mut all = [Self::Grpc; 13];
        let mut i = 0;
        while i < 7 {
            all[i] = Self::TORCHSERVE[i];
            i += 1;
        }
        while i < 13 {
            all[i] = Self::OIP[i - 7];
            i += 1;
        }
        all
    };

    /// The name in bench ids: `rest_h1_raw`, `rest_h2_multipart`, `grpc_raw`,
    /// `oip_rest_binary_tensor`, ...
    pub fn name(self) -> &'static str {
        match self {
            Self::Rest(HttpVersion::Http1, Body::Raw) => "rest_h1_raw",
            Self::Rest(HttpVersion::Http1, Body::Multipart) => "rest_h1_multipart",
            Self::Rest(HttpVersion::Http1, Body::Base64) => "rest_h1_base64",
            Self::Rest(HttpVersion::Http2, Body::Raw) => "rest_h2_raw",
            Self::Rest(HttpVersion::Http2, Body::Multipart) => "rest_h2_multipart",
            Self::Rest(HttpVersion::Http2, Body::Base64) => "rest_h2_base64",
            Self::Grpc => "grpc_raw",
            Self::Oip(OipApi::RestJson, OipInput::Jpeg) => "oip_rest_json_jpeg",
            Self::Oip(OipApi::RestBinary, OipInput::Jpeg) => "oip_rest_binary_jpeg",
            Self::Oip(OipApi::Grpc, OipInput::Jpeg) => "oip_grpc_jpeg",
            Self::Oip(OipApi::RestJson, OipInput::Tensor) => "oip_rest_json_tensor",
            Self::Oip(OipApi::RestBinary, OipInput::Tensor) => "oip_rest_binary_tensor",
            Self::Oip(OipApi::Grpc, OipInput::Tensor) => "oip_grpc_tensor",
        }
    }

    /// The protocol it travels by (the Open Inference Protocol's REST over HTTP/1.1, as
    /// Triton's perf_analyzer sends it).
    pub fn protocol(self) -> Protocol {
        match self {
            Self::Rest(HttpVersion::Http1, _)
            | Self::Oip(OipApi::RestJson | OipApi::RestBinary, _) => Protocol::RestH1,
            Self::Rest(HttpVersion::Http2, _) => Protocol::RestH2,
            Self::Grpc | Self::Oip(OipApi::Grpc, _) => Protocol::Grpc,
        }
    }
}

impl Route {
    /// Routes from a comma-separated list of route names and sets: `torchserve`
    /// ([`TORCHSERVE`](Self::TORCHSERVE)), `oip` ([`OIP`](Self::OIP)), `all`. Each route once,
    /// in the order first named.
    pub fn parse_list(text: &str) -> Result<Vec<Self>, UnknownName> {
        crate::error::by_names(text, |name| {
            Ok(match name {
                "torchserve" => Self::TORCHSERVE.to_vec(),
                "oip" => Self::OIP.to_vec(),
                "all" => Self::ALL.to_vec(),
                _ => vec![name.parse()?],
            })
        })
    }
}

impl fmt::Display for Route {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Route {
    type Err = UnknownName;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        by_name("route", &Self::ALL, Self::name, text)
    }
}

/// Environment variables naming an external server's REST and gRPC URLs (`http://host:port`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TargetEnv {
    /// The variable naming the REST URL.
    pub rest: &'static str,
    /// The variable naming the gRPC URL.
    pub grpc: &'static str,
}

/// Where the transport benches find another server speaking the study's protocol.
pub const STUDY_TARGET_ENV: TargetEnv =
    TargetEnv { rest: "SERVEBENCH_REST_TARGET", grpc: "SERVEBENCH_GRPC_TARGET" };
/// Where the end-to-end benches find another server speaking TorchServe's inference APIs (a
/// real TorchServe: `http://host:8080` and `http://host:7070`).
pub const MODEL_TARGET_ENV: TargetEnv =
    TargetEnv { rest: "SERVEBENCH_MODEL_REST_TARGET", grpc: "SERVEBENCH_MODEL_GRPC_TARGET" };

/// Where a server's two APIs are: base URLs such as `http://127.0.0.1:8000`. Empty where a
/// server does not speak that API.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Target {
    /// The REST server's base URL.
    pub rest: String,
    /// The gRPC server's base URL.
    pub grpc: String,
}

impl Target {
    /// Servers listening at these addresses, in cleartext.
    pub fn at(rest: SocketAddr, grpc: SocketAddr) -> Self {
        Self { rest: format!("http://{rest}"), grpc: format!("http://{grpc}") }
    }

    /// This target with each URL replaced by `env`'s variable where set, so the same benches
    /// measure someone else's server speaking the same protocol.
    pub fn overridden_by_env(self, env: TargetEnv) -> Self {
        self.overridden_by(env, |name| std::env::var(name).ok())
    }

    fn overridden_by(self, env: TargetEnv, lookup: impl Fn(&str) -> Option<String>) -> Self {
        let url = |name| lookup(name).filter(|url| !url.is_empty());
        Self { rest: url(env.rest).unwrap_or(self.rest), grpc: url(env.grpc).unwrap_or(self.grpc) }
    }

    /// The base URL `protocol` talks to.
    pub fn url(&self, protocol: Protocol) -> &str {
        match protocol {
            Protocol::RestH1 | Protocol::RestH2 => &self.rest,
            Protocol::Grpc => &self.grpc,
        }
    }

    /// Whether neither API has a URL.
    pub fn is_empty(&self) -> bool {
        self.rest.is_empty() && self.grpc.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_variable_redirects_only_its_protocol() {
        let local = Target { rest: "http://local:1".into(), grpc: "http://local:2".into() };
        fn env(
            rest: Option<&'static str>,
            grpc: Option<&'static str>,
        ) -> impl Fn(&str) -> Option<String> {
            move |name| match name {
                "SERVEBENCH_REST_TARGET" => rest.map(str::to_owned),
                "SERVEBENCH_GRPC_TARGET" => grpc.map(str::to_owned),
                _ => None,
            }
        }
        assert_eq!(local.clone().overridden_by(STUDY_TARGET_ENV, env(None, None)), local);
        assert_eq!(local.clone().overridden_by(STUDY_TARGET_ENV, env(Some(""), Some(""))), local);
        let rest_only =
            local.clone().overridden_by(STUDY_TARGET_ENV, env(Some("http://far:8000"), None));
        assert_eq!(rest_only.url(Protocol::RestH1), "http://far:8000");
        assert_eq!(rest_only.url(Protocol::RestH2), "http://far:8000");
        assert_eq!(rest_only.url(Protocol::Grpc), "http://local:2");
        let both = local.overridden_by(
            STUDY_TARGET_ENV,
            env(Some("http://far:8000"), Some("http://far:50051")),
        );
        assert_eq!(both.url(Protocol::Grpc), "http://far:50051");
    }

    #[test]
    fn names_parse_back() {
        for protocol in Protocol::ALL {
            assert_eq!(protocol.name().parse(), Ok(protocol));
        }
        for route in Route::ALL {
            assert_eq!(route.name().parse(), Ok(route));
        }
        assert!("rest_h3".parse::<Protocol>().is_err());
    }

    #[test]
    fn route_lists_take_sets_and_name_each_route_once() {
        let routes = Route::parse_list("grpc_raw, oip,oip_grpc_tensor").unwrap();
        assert_eq!(routes[0], Route::Grpc);
        assert_eq!(routes[1..], Route::OIP);
        assert_eq!(Route::parse_list("torchserve,all").unwrap(), Route::ALL);
        assert!(Route::parse_list("oip,fast").is_err());
    }
}
