//! A served model's workers: TorchServe's image_classifier handler as servebench's stages,
//! decode and preprocess per image (unless the client sent it preprocessed), one forward pass
//! per batch. Each image's scores go back to its request's handler, which postprocesses them
//! as its API says (TorchServe's top 5, the Open Inference Protocol's scores or classes).

use std::io;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;

use super::{ModelConfig, PredictError};
use crate::inference::{self, Classifier, InferenceError};
use crate::postprocess::Labels;
use crate::server::batching::Batcher;
use crate::timing::{Stage, StageTimings};
use crate::vision::{self, ChwImage};

/// One image for a model's workers.
#[derive(Debug)]
pub enum ModelInput {
    /// Encoded (JPEG, PNG): the workers decode and preprocess it.
    Encoded(Bytes),
    /// Already decoded, resized, cropped and normalized by the client: the workers only infer.
    Prepared(ChwImage),
}

/// What one image gets back from its model's workers: the model's scores for it (one per
/// class) and where its time went, or why there are none (its image, or its batch's inference,
/// failed).
pub type Answer = Result<(Vec<f32>, StageTimings), PredictError>;

/// A served model: its batcher, whose workers run decode, preprocess and infer, and the labels
/// of its classes.
pub struct ServedModel {
    version: String,
    labels: Arc<Labels>,
    batcher: Batcher<ModelInput, Answer>,
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
            let classifier = Arc::clone(&classifier);
            move |images: Vec<ModelInput>| run_batch(&classifier, images)
        });
        Ok(Self { version: config.version.clone(), labels, batcher })
    }

    /// The version it is served as.
    pub fn version(&self) -> &str {
        &self.version
    }

    /// The names of its classes.
    pub fn labels(&self) -> &Labels {
        &self.labels
    }

    /// How many scores it gives an image: one per class.
    pub fn classes(&self) -> usize {
        self.labels.len()
    }

    /// The batcher requests are submitted to.
    pub fn batcher(&self) -> &Batcher<ModelInput, Answer> {
        &self.batcher
    }
}

/// TorchServe's image_classifier on one batch: every encoded image decoded and preprocessed
/// alone (a bad one fails alone), the good ones inferred together. The batch's inference time
/// is charged to each of its images, and the time its batch-mates take to prepare to its
/// queue time.
fn run_batch(classifier: &Classifier, images: Vec<ModelInput>) -> Vec<Answer> {
    let batch_started = Instant::now();
    let mut timings = vec![StageTimings::default(); images.len()];
    let prepared: Vec<Result<ChwImage, vision::VisionError>> = images
        .into_iter()
        .zip(&mut timings)
        .map(|(image, timing)| match image {
            ModelInput::Prepared(image) => Ok(image),
            ModelInput::Encoded(bytes) => {
                let decoded = timing.time(Stage::Decode, || vision::decode(&bytes))?;
                Ok(timing.time(Stage::Preprocess, || vision::prepare(&decoded)))
            }
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
    let inputs: Vec<&ChwImage> = prepared.iter().filter_map(|r| r.as_ref().ok()).collect();
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
        .map(|(prepared, timing)| {
            prepared?;
            let rows =
                scores.as_mut().map_err(|error| PredictError::Inference(Arc::clone(error)))?;
            let row = rows.next().expect("infer checked: one row of scores per prepared image");
            Ok((row, timing))
        })
        .collect()
}

fn infer(classifier: &Classifier, inputs: &[&ChwImage]) -> Result<Vec<Vec<f32>>, InferenceError> {
    let batch =
        inference::to_device(&inference::batch(inputs.iter().copied())?, classifier.device())?;
    let rows = inference::scores(&classifier.forward(&batch)?)?;
    if rows.len() != inputs.len() {
        return Err(InferenceError::RowCount { images: inputs.len(), rows: rows.len() });
    }
    Ok(rows)
}
