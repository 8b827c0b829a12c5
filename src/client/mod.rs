//! Transport stage, client side: one [`StudyClient`] per protocol for the study's servers, and
//! one [`torchserve::ModelClient`] per route for TorchServe's inference APIs. Each reuses its
//! connections as a real client would (a pool of HTTP/1.1 connections, one multiplexed HTTP/2
//! connection, one gRPC channel) and points at a [`Target`]: servebench's own server or anyone
//! else's.

pub mod grpc;
pub mod rest;
pub mod torchserve;

use std::fmt;
use std::net::SocketAddr;
use std::sync::Arc;

use tokio::task::JoinSet;

use crate::codec::CodecError;
use crate::messages::{BasicResponse, StudyRequest};
use crate::server::StudyServer;

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

/// How requests travel.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Protocol {
    /// REST over HTTP/1.1: one request per connection at a time, a pool for concurrency.
    RestH1,
    /// REST over HTTP/2 cleartext with prior knowledge: one connection, multiplexed.
    RestH2,
    /// gRPC over one HTTP/2 channel.
    Grpc,
}

impl Protocol {
    /// Every protocol, in report order.
    pub const ALL: [Self; 3] = [Self::RestH1, Self::RestH2, Self::Grpc];

    /// The name used in bench ids and on the command line: `rest_h1`, `rest_h2`, `grpc`.
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

/// Where the study's servers are: base URLs such as `http://127.0.0.1:8000`.
#[derive(Clone, Debug, PartialEq, Eq)]
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

    /// The servers of a running [`StudyServer`].
    pub fn local(server: &StudyServer) -> Self {
        Self::at(server.rest_addr(), server.grpc_addr())
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
}

/// Why a call did not return the study's answer.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The target URL does not parse.
    #[error("invalid target URL {url:?}: {reason}")]
    InvalidTarget {
        /// The URL as given.
        url: String,
        /// Why it was refused.
        reason: String,
    },
    /// The connection or the exchange failed.
    #[error("transport error: {0}")]
    Transport(String),
    /// The server answered with an error status.
    #[error("server answered {status}: {body}")]
    Status {
        /// HTTP status code, or the gRPC code's name.
        status: String,
        /// The error body or gRPC message.
        body: String,
    },
    /// The answer did not parse.
    #[error(transparent)]
    Codec(#[from] CodecError),
}

/// A connected client of one protocol. Cloning is cheap and shares the connections.
#[derive(Clone, Debug)]
pub enum StudyClient {
    /// REST over HTTP/1.1 or HTTP/2.
    Rest(rest::RestClient),
    /// gRPC.
    Grpc(grpc::GrpcClient),
}

impl StudyClient {
    /// Connects to `target` with `protocol`.
    pub async fn connect(protocol: Protocol, target: &Target) -> Result<Self, ClientError> {
        let url = target.url(protocol);
        Ok(match protocol {
            Protocol::RestH1 => Self::Rest(rest::RestClient::new(url, rest::HttpVersion::Http1)?),
            Protocol::RestH2 => Self::Rest(rest::RestClient::new(url, rest::HttpVersion::Http2)?),
            Protocol::Grpc => Self::Grpc(grpc::GrpcClient::connect(url).await?),
        })
    }

    /// Sends one request and decodes the answer.
    pub async fn send(&self, request: &StudyRequest) -> Result<BasicResponse, ClientError> {
        match self {
            Self::Rest(client) => client.send(request).await,
            Self::Grpc(client) => client.send(request).await,
        }
    }

    /// Sends `concurrency` copies of `request` at once, as tasks on the current runtime, and
    /// waits for all of them: the study's unit of measurement (it used 20).
    pub async fn send_concurrent(
        &self,
        request: &Arc<StudyRequest>,
        concurrency: usize,
    ) -> Result<(), ClientError> {
        concurrently(concurrency, || {
            let (client, request) = (self.clone(), Arc::clone(request));
            async move { client.send(&request).await.map(drop) }
        })
        .await
        .map(drop)
    }
}

/// Runs `concurrency` calls made by `call` at once, as tasks on the current runtime, and
/// returns their outputs (in completion order), or the first error.
pub(crate) async fn concurrently<T, F>(
    concurrency: usize,
    mut call: impl FnMut() -> F,
) -> Result<Vec<T>, ClientError>
where
    T: Send + 'static,
    F: Future<Output = Result<T, ClientError>> + Send + 'static,
{
    let mut calls = JoinSet::new();
    for _ in 0..concurrency {
        calls.spawn(call());
    }
    let mut outputs = Vec::with_capacity(concurrency);
    while let Some(outcome) = calls.join_next().await {
        outputs.push(outcome.map_err(|error| ClientError::Transport(error.to_string()))??);
    }
    Ok(outputs)
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
}
