//! The TorchServe-compatible model server (feature `torch`): the vision, inference and
//! postprocess stages composed behind TorchServe's inference API, with dynamic batching and
//! every request's stage timings in its response.
//!
//! REST so far: `GET /ping`, `POST /predictions/{model}[/{version}]` (see [`rest`]).

pub mod rest;

use std::collections::HashMap;
use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;

use bytes::Bytes;
use tch::Device;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::batching::{BatchConfig, Batcher};
use crate::inference::{self, Classifier, InferenceError};
use crate::postprocess::{self, Labels, Prediction};
use crate::timing::{Stage, StageTimings};
use crate::vision;

/// One model to serve.
#[derive(Clone, Debug)]
pub struct ModelConfig {
    /// The name in `/predictions/{name}`.
    pub name: String,
    /// The version in `/predictions/{name}/{version}`.
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
    /// Largest accepted request body, in bytes.
    pub body_limit: usize,
    /// The models.
    pub models: Vec<ModelConfig>,
}

impl Default for ModelServerConfig {
    fn default() -> Self {
        Self {
            rest_addr: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
            body_limit: super::DEFAULT_BODY_LIMIT,
            models: Vec::new(),
        }
    }
}

/// What one image request gets back from its model's workers.
pub type Answer = Result<(Prediction, StageTimings), vision::VisionError>;

/// A served model: its batcher, whose workers run decode, preprocess, infer and postprocess.
pub struct ServedModel {
    version: String,
    batcher: Batcher<Bytes, Answer>,
}

impl ServedModel {
    /// Loads the model (a load error is returned here, before serving) and starts its workers.
    pub fn start(config: &ModelConfig, labels: Arc<Labels>) -> io::Result<Self> {
        let classifier = Classifier::load(&config.path, config.device).map_err(io::Error::other)?;
        if classifier.classes() != labels.len() {
            return Err(io::Error::other(format!(
                "{} gives {} scores per image; the label map names {} classes",
                config.path.display(),
                classifier.classes(),
                labels.len()
            )));
        }
        let classifier = Arc::new(classifier);
        let batcher = Batcher::start(config.batch, |_| {
            let (classifier, labels) = (Arc::clone(&classifier), Arc::clone(&labels));
            move |images: Vec<Bytes>| run_batch(&classifier, &labels, &images)
        });
        Ok(Self { version: config.version.clone(), batcher })
    }

    /// The batcher requests are submitted to.
    pub fn batcher(&self) -> &Batcher<Bytes, Answer> {
        &self.batcher
    }
}

/// TorchServe's image_classifier on one batch: every image decoded and preprocessed alone (a
/// bad one fails alone), the good ones inferred together, each answer postprocessed alone.
/// The batch's inference time is charged to each of its requests.
fn run_batch(classifier: &Classifier, labels: &Labels, images: &[Bytes]) -> Vec<Answer> {
    let mut timings = vec![StageTimings::default(); images.len()];
    let prepared: Vec<Result<vision::ChwImage, vision::VisionError>> = images
        .iter()
        .zip(&mut timings)
        .map(|(bytes, timing)| {
            let decoded = timing.time(Stage::Decode, || vision::decode(bytes))?;
            Ok(timing.time(Stage::Preprocess, || vision::prepare(&decoded)))
        })
        .collect();
    let inputs: Vec<&vision::ChwImage> = prepared.iter().filter_map(|r| r.as_ref().ok()).collect();
    let mut scores = if inputs.is_empty() {
        Vec::new().into_iter()
    } else {
        let started = std::time::Instant::now();
        // A libtorch failure here is the server's, not the request's: the batcher turns the
        // panic into a 500 for this batch's requests and the worker goes on serving.
        let rows =
            infer(classifier, &inputs).expect("a loaded classifier runs a batch of 224x224 images");
        let elapsed = started.elapsed();
        for (timing, _) in timings.iter_mut().zip(&prepared).filter(|(_, p)| p.is_ok()) {
            timing.record(Stage::Infer, elapsed);
        }
        rows.into_iter()
    };
    prepared
        .into_iter()
        .zip(timings)
        .map(|(prepared, mut timing)| {
            prepared?;
            let row = scores.next().expect("one row of scores per prepared image");
            let prediction = timing
                .time(Stage::Postprocess, || postprocess::classify(&row, labels))
                .expect("the classifier's class count was checked against the labels at start");
            Ok((prediction, timing))
        })
        .collect()
}

fn infer(
    classifier: &Classifier,
    inputs: &[&vision::ChwImage],
) -> Result<Vec<Vec<f32>>, InferenceError> {
    let batch =
        inference::to_device(&inference::batch(inputs.iter().copied())?, classifier.device())?;
    inference::scores(&classifier.forward(&batch)?)
}

/// The model server, running on the current tokio runtime until shut down or dropped.
pub struct ModelServer {
    rest_addr: SocketAddr,
    shutdown: watch::Sender<()>,
    task: JoinHandle<io::Result<()>>,
}

impl ModelServer {
    /// Loads every model, then binds and serves. Models are served under their name and version.
    pub async fn start(config: ModelServerConfig) -> io::Result<Self> {
        let labels = Arc::new(Labels::imagenet());
        let mut models: HashMap<String, ServedModel> = HashMap::new();
        for model in &config.models {
            let served = ServedModel::start(model, Arc::clone(&labels))?;
            models.insert(model.name.clone(), served);
        }
        let listener = TcpListener::bind(config.rest_addr).await?;
        let rest_addr = listener.local_addr()?;
        let (shutdown, signal) = watch::channel(());
        let router = rest::router(Arc::new(models), config.body_limit);
        let task = tokio::spawn(super::serve_rest(listener, router, super::stopped(signal)));
        Ok(Self { rest_addr, shutdown, task })
    }

    /// The REST listener's bound address.
    pub fn rest_addr(&self) -> SocketAddr {
        self.rest_addr
    }

    /// Stops serving and waits for in-flight requests.
    pub async fn shutdown(self) -> io::Result<()> {
        self.shutdown.send_replace(());
        self.task.await.map_err(io::Error::other)?
    }
}
