//! The TorchServe-compatible model server (feature `torch`): the vision, inference and
//! postprocess stages composed behind TorchServe's inference APIs, REST ([`rest`]) and gRPC
//! ([`grpc`]), and the Open Inference Protocol's ([`oip`]), with dynamic batching and every
//! request's stage timings in its response.
//!
//! TorchServe's two APIs hand the image to the same [`Models::predict`], the OIP's two their
//! tensors to the same [`oip::infer`], so each pair answers the same bytes and fails the same
//! way ([`PredictError`]); they differ only in framing. [`start`] serves all four on the shared
//! [`ServerHandle`]: REST on one port, gRPC's two services on the other.

mod error;
pub mod grpc;
pub mod oip;
pub mod rest;
mod worker;

use std::collections::HashMap;
use std::io;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use tch::Device;

pub use error::PredictError;
pub use worker::{Answer, ModelInput, Pipeline, ServedModel};

use super::batching::BatchConfig;
use super::{ListenConfig, ServerHandle};
use crate::codec;
use crate::ids::{Model, Setup};
use crate::postprocess::{self, Labels};
use crate::timing::{Stage, StageTimings};

/// What a healthy server answers to gRPC's `Ping`, as TorchServe does; REST's `GET /ping` sends
/// it followed by a newline, as TorchServe's frontend ends every JSON body it writes itself.
pub const HEALTHY: &str = "{\n  \"status\": \"Healthy\"\n}";

pub use crate::codec::image_body::INPUT_NAMES;

/// Largest request body or gRPC message the model server takes by default: 16 MiB. TorchServe's
/// `max_request_size` is 6.5 MB (6,553,500 bytes), which a 12-megapixel phone photo sent as
/// base64 JSON can pass; 16 MiB takes that, and a batch of eight 224x224 float tensors over
/// the Open Inference Protocol (4.8 MB binary, 13 MB as JSON), while 32 bodies this size fit
/// the default [body budget](crate::server::DEFAULT_BODY_BUDGET) (each holds twice its size
/// while it is read and copied). The study's server keeps
/// [`crate::transport::DEFAULT_BODY_LIMIT`], room for its raw-pixel payloads.
pub const DEFAULT_BODY_LIMIT: usize = 16 << 20;

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
    /// Whether its images are decoded and preprocessed ahead of its workers, and how.
    pub pipeline: Pipeline,
}

/// Where and what to serve. By default loopback, port 0 for both APIs (tests and benches),
/// [`DEFAULT_BODY_LIMIT`] and no models; `servebench serve` uses TorchServe's ports, 8080 (REST)
/// and 7070 (gRPC).
#[derive(Clone, Debug)]
pub struct ModelServerConfig {
    /// Where it listens and the largest body it takes.
    pub listen: ListenConfig,
    /// The models.
    pub models: Vec<ModelConfig>,
}

impl Default for ModelServerConfig {
    fn default() -> Self {
        let listen = ListenConfig { body_limit: DEFAULT_BODY_LIMIT, ..ListenConfig::default() };
        Self { listen, models: Vec::new() }
    }
}

impl ModelServerConfig {
    /// servebench's model server for an end-to-end setup, on loopback: the generated ResNet-50
    /// served as `name` on the setup's device, one worker, TorchServe's batching defaults at
    /// batch 1 and a 10 ms longest wait for larger batches, and the setup's design
    /// ([`Pipeline::of`]); none for an external setup.
    pub fn setup(setup: Setup, name: &str) -> Option<Self> {
        let Setup::Local { device, batch, design } = setup else { return None };
        let batch = match batch {
            1 => BatchConfig::default(),
            batch_size => BatchConfig {
                batch_size,
                max_batch_delay: Duration::from_millis(10),
                ..Default::default()
            },
        };
        let model = ModelConfig {
            name: name.to_owned(),
            version: "1.0".to_owned(),
            path: crate::inference::model_path(Model::Resnet50),
            device: crate::inference::device(device),
            batch,
            pipeline: Pipeline::of(design),
        };
        Some(Self { models: vec![model], ..Self::default() })
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

    /// Model `name` (at `version`, when given).
    pub fn model(&self, name: &str, version: Option<&str>) -> Result<&ServedModel, PredictError> {
        let model = self.0.get(name).ok_or_else(|| PredictError::ModelNotFound(name.to_owned()))?;
        if let Some(version) = version.filter(|version| *version != model.version()) {
            return Err(PredictError::ModelVersionNotFound {
                model: name.to_owned(),
                version: version.to_owned(),
            });
        }
        Ok(model)
    }

    /// Runs `image` through model `name` (at `version`, when given): queue, decode, preprocess,
    /// infer, postprocess (TorchServe's top 5), encode. `arrived` holds the stages before: the
    /// body's `receive`, and under `decode` what getting the image out of the request took
    /// (base64, a form).
    pub async fn predict(
        &self,
        name: &str,
        version: Option<&str>,
        image: Bytes,
        arrived: StageTimings,
    ) -> Result<Predicted, PredictError> {
        let model = self.model(name, version)?;
        if image.is_empty() {
            return Err(PredictError::NoImage);
        }
        let (scores, worked) = model.submit(ModelInput::Encoded(image))?.await?;
        let mut timings = arrived;
        timings.merge(&worked);
        let prediction = timings
            .time(Stage::Postprocess, || postprocess::classify(&scores, model.labels()))
            .map_err(PredictError::Postprocess)?;
        let body = timings
            .time(Stage::Encode, || codec::python_json::encode(&prediction))
            .map_err(PredictError::Encode)?;
        Ok(Predicted { body, timings })
    }
}

/// Loads every model, then binds both ports, TorchServe's APIs and the Open Inference
/// Protocol's on each, and serves them in background tasks.
pub async fn start(config: ModelServerConfig) -> io::Result<ServerHandle> {
    let models = Arc::new(Models::start(&config.models)?);
    let limit = config.listen.body_limit;
    let router = rest::router(Arc::clone(&models)).merge(oip::rest::router(Arc::clone(&models)));
    let routes =
        grpc::routes(Arc::clone(&models), limit).add_service(oip::grpc::service(models, limit));
    ServerHandle::start(&config.listen, router, routes).await
}
