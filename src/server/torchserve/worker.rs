//! A served model's workers: TorchServe's image_classifier handler as servebench's stages,
//! decode and preprocess per image, one forward pass per batch, postprocess per image.

use std::io;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;

use super::{ModelConfig, PredictError};
use crate::inference::{self, Classifier, InferenceError};
use crate::postprocess::{self, Labels, Prediction};
use crate::server::batching::Batcher;
use crate::timing::{Stage, StageTimings};
use crate::vision;

/// What one image request gets back from its model's workers: its prediction, or why there is
/// none (its image, or its batch's inference, failed).
pub type Answer = Result<(Prediction, StageTimings), PredictError>;

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

    /// The version it is served as.
    pub fn version(&self) -> &str {
        &self.version
    }

    /// The batcher requests are submitted to.
    pub fn batcher(&self) -> &Batcher<Bytes, Answer> {
        &self.batcher
    }
}

/// TorchServe's image_classifier on one batch: every image decoded and preprocessed alone (a
/// bad one fails alone), the good ones inferred together, each answer postprocessed alone.
/// The batch's inference time is charged to each of its requests, and the time its
/// batch-mates take to prepare to its queue time.
fn run_batch(classifier: &Classifier, labels: &Labels, images: &[Bytes]) -> Vec<Answer> {
    let batch_started = Instant::now();
    let mut timings = vec![StageTimings::default(); images.len()];
    let prepared: Vec<Result<vision::ChwImage, vision::VisionError>> = images
        .iter()
        .zip(&mut timings)
        .map(|(bytes, timing)| {
            let decoded = timing.time(Stage::Decode, || vision::decode(bytes))?;
            Ok(timing.time(Stage::Preprocess, || vision::prepare(&decoded)))
        })
        .collect();
    // While its batch-mates are decoded and preprocessed, a request waits for its batch: that
    // is queue time, so that its stages add up to its time in the server.
    let all_prepared = batch_started.elapsed();
    for timing in &mut timings {
        let own: Duration =
            [Stage::Decode, Stage::Preprocess].iter().filter_map(|s| timing.get(*s)).sum();
        timing.record(Stage::Queue, all_prepared.saturating_sub(own));
    }
    let inputs: Vec<&vision::ChwImage> = prepared.iter().filter_map(|r| r.as_ref().ok()).collect();
    // A libtorch failure is the server's, not the request's: every request of the batch is
    // answered with it (500), and the worker goes on serving.
    let mut scores = if inputs.is_empty() {
        Ok(Vec::new().into_iter())
    } else {
        let started = Instant::now();
        let rows = infer(classifier, &inputs);
        let elapsed = started.elapsed();
        for (timing, _) in timings.iter_mut().zip(&prepared).filter(|(_, p)| p.is_ok()) {
            timing.record(Stage::Infer, elapsed);
        }
        rows.map(Vec::into_iter).map_err(Arc::new)
    };
    prepared
        .into_iter()
        .zip(timings)
        .map(|(prepared, mut timing)| {
            prepared?;
            let rows =
                scores.as_mut().map_err(|error| PredictError::Inference(Arc::clone(error)))?;
            let row = rows.next().expect("infer checked: one row of scores per prepared image");
            let prediction = timing
                .time(Stage::Postprocess, || postprocess::classify(&row, labels))
                .map_err(PredictError::Postprocess)?;
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
    let rows = inference::scores(&classifier.forward(&batch)?)?;
    if rows.len() != inputs.len() {
        return Err(InferenceError::RowCount { images: inputs.len(), rows: rows.len() });
    }
    Ok(rows)
}
