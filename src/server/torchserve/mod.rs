//! The TorchServe-compatible model server (feature `torch`): the vision, inference and
//! postprocess stages composed behind TorchServe's inference APIs, REST ([`rest`]) and gRPC
//! ([`grpc`]), with dynamic batching and every request's stage timings in its response.
//!
//! Both APIs hand the image to the same [`Models::predict`], so they answer the same bytes and
//! fail the same way ([`PredictError`]); they differ only in framing.

mod error;
pub mod grpc;
pub mod rest;
mod worker;

use std::collections::HashMap;
use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use tch::Device;

pub use error::PredictError;
pub use worker::{Answer, ServedModel};

use super::Serving;
use super::batching::BatchConfig;
use crate::client::Target;
use crate::codec;
use crate::postprocess::Labels;
use crate::timing::{Stage, StageTimings};

/// What a healthy server answers to gRPC's `Ping`, as TorchServe does; REST's `GET /ping` sends
/// it followed by a newline, as TorchServe's frontend ends every JSON body it writes itself.
pub const HEALTHY: &str = "{\n  \"status\": \"Healthy\"\n}";

/// The input names TorchServe's handlers read the image from (a form field over REST, an
/// `input` key over gRPC), in order of preference.
pub const INPUT_NAMES: [&str; 2] = ["data", "body"];

/// One model to serve.
#[derive(Clone, Debug)]
pub struct ModelConfig {
    /// The name in `/predictions/{name}` and gRPC's `model_name`.
    pub name: String,
    /// The version in `/predictions/{name}/{version}` and gRPC's `model_version`.
    pub version: String,
    /// A TorchScript image classifier.
    pub path: PathBuf,
    /// Where it runs.
    pub device: Device,
    /// How its requests are batched.
    pub batch: BatchConfig,
}

/// Where and what to serve.
#[derive(Clone, Debug)]
pub struct ModelServerConfig {
    /// REST listener (HTTP/1.1 and h2c).
    pub rest_addr: SocketAddr,
    /// gRPC listener.
    pub grpc_addr: SocketAddr,
    /// Largest accepted request body or gRPC message, in bytes.
    pub body_limit: usize,
    /// The models.
    pub models: Vec<ModelConfig>,
}

/// Loopback, port 0 for both APIs (tests and benches); `servebench serve` uses TorchServe's
/// ports, 8080 (REST) and 7070 (gRPC).
impl Default for ModelServerConfig {
    fn default() -> Self {
        let loopback = SocketAddr::from((Ipv4Addr::LOCALHOST, 0));
        Self {
            rest_addr: loopback,
            grpc_addr: loopback,
            body_limit: super::DEFAULT_BODY_LIMIT,
            models: Vec::new(),
        }
    }
}

/// A successful prediction, ready for either API.
#[derive(Clone, Debug)]
pub struct Predicted {
    /// The answer's JSON, as TorchServe's image_classifier writes it (indented, top 5 first).
    pub body: Bytes,
    /// Where the request's server time went, `encode` (writing `body`) included.
    pub timings: StageTimings,
}

/// The served models by name.
pub struct Models(HashMap<String, ServedModel>);

impl Models {
    /// Loads every model and starts its workers; a model that does not load fails the start.
    pub fn start(configs: &[ModelConfig]) -> io::Result<Self> {
        let labels = Arc::new(Labels::imagenet());
        let mut models = HashMap::new();
        for config in configs {
            models.insert(config.name.clone(), ServedModel::start(config, Arc::clone(&labels))?);
        }
        Ok(Self(models))
    }

    /// Runs `image` through model `name` (at `version`, when given): queue, decode, preprocess,
    /// infer, postprocess, encode. `unwrapped` is what getting the image out of the request
    /// took (base64, a form), added to `decode`.
    pub async fn predict(
        &self,
        name: &str,
        version: Option<&str>,
        image: Bytes,
        unwrapped: Duration,
    ) -> Result<Predicted, PredictError> {
        let model = self.0.get(name).ok_or_else(|| PredictError::ModelNotFound(name.to_owned()))?;
        if let Some(version) = version.filter(|version| *version != model.version()) {
            return Err(PredictError::ModelVersionNotFound {
                model: name.to_owned(),
                version: version.to_owned(),
            });
        }
        if image.is_empty() {
            return Err(PredictError::BadRequest("the request has no image: send one".to_owned()));
        }
        let batched = model.batcher().submit(image)?.await?;
        let (prediction, mut timings) = batched.output?;
        timings.record(Stage::Queue, batched.queued);
        timings.record(Stage::Decode, unwrapped);
        let body = timings
            .time(Stage::Encode, || codec::python_json::encode(&prediction))
            .map_err(|error| PredictError::Internal(error.to_string()))?;
        Ok(Predicted { body, timings })
    }
}

/// The model server, running on the current tokio runtime until shut down or dropped.
pub struct ModelServer {
    serving: Serving,
}

impl ModelServer {
    /// Loads every model, then binds both APIs and serves.
    pub async fn start(config: ModelServerConfig) -> io::Result<Self> {
        let models = Arc::new(Models::start(&config.models)?);
        let router = rest::router(Arc::clone(&models), config.body_limit);
        let routes = grpc::routes(models, config.body_limit);
        let serving = Serving::start(config.rest_addr, config.grpc_addr, router, routes).await?;
        Ok(Self { serving })
    }

    /// The REST listener's bound address.
    pub fn rest_addr(&self) -> SocketAddr {
        self.serving.rest_addr
    }

    /// The gRPC listener's bound address.
    pub fn grpc_addr(&self) -> SocketAddr {
        self.serving.grpc_addr
    }

    /// Both listeners as a client [`Target`].
    pub fn target(&self) -> Target {
        Target::at(self.rest_addr(), self.grpc_addr())
    }

    /// Stops accepting, lets in-flight requests finish, and returns the first serving error.
    pub async fn shutdown(self) -> io::Result<()> {
        self.serving.shutdown().await
    }
}
