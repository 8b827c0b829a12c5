//! A served model's workers: TorchServe's image_classifier handler as servebench's stages,
//! decode and preprocess per image (unless the client sent it preprocessed), one forward pass
//! per batch. Each image's scores go back to its request's handler, which postprocesses them
//! as its API says (TorchServe's top 5, the Open Inference Protocol's scores or classes).
//!
//! Two designs ([`Pipeline`]): TorchServe's, where a model's worker decodes and preprocesses
//! its batch's images and then infers, one after the other, so the forward pass waits for the
//! decoding and the decoding for the forward pass; and a pipelined one, where a pool of threads
//! decodes and preprocesses each image as it arrives and the worker only stacks, infers and
//! hands back. Both queue through the same [`Batcher`], so a full queue is a 503 in either.

use std::io;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;

use super::{ModelConfig, PredictError};
use crate::ids::Design;
use crate::inference::{self, Classifier, InferenceError};
use crate::postprocess::Labels;
use crate::server::batching::{BatchConfig, Batcher, Ticket};
use crate::timing::{Stage, StageTimings};
use crate::vision::{self, ChwImage, DecodeMode};

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

/// One image decoded and preprocessed, with the time each took, or why it could not be.
type Prepared = Result<(ChwImage, StageTimings), PredictError>;

/// What the prepare pool makes of one image: its preparation's timings and its place in the
/// model's queue, or why it has none.
type Forwarded = Result<(StageTimings, Ticket<Answer>), PredictError>;

/// How a model's server spends its CPU on an image. The default is TorchServe's design.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Pipeline {
    /// Threads that decode and preprocess encoded images as they arrive, each image on its own,
    /// ahead of the model's queue (bounded like it: full, a request is refused with 503); the
    /// model's workers then only stack, infer and hand back. 0: the workers decode and
    /// preprocess each batch's images themselves, before its forward pass (TorchServe's design).
    pub prepare_threads: usize,
    /// How JPEGs are decoded.
    pub decode: DecodeMode,
    /// libtorch's intra-op threads on each of the model's workers; `None`: libtorch's default,
    /// one per core. With a prepare pool the two share the cores.
    pub torch_threads: Option<usize>,
}

impl Pipeline {
    /// An end-to-end setup's design: TorchServe's (the default), or pipelined with one prepare
    /// thread per two cores (at least one) beside libtorch's default threads, decoding exactly
    /// or scaled.
    pub fn of(design: Design) -> Self {
        let pipelined = |decode| {
            let cores = std::thread::available_parallelism().map_or(1, usize::from);
            Self { prepare_threads: (cores / 2).max(1), decode, torch_threads: None }
        };
        match design {
            Design::Serial => Self::default(),
            Design::Pipelined => pipelined(DecodeMode::Exact),
            Design::PipelinedScaled => pipelined(DecodeMode::Scaled),
        }
    }
}

/// A served model: its batcher, whose workers infer (and decode and preprocess, unless a
/// prepare pool does), the pool if any, and the labels of its classes.
pub struct ServedModel {
    version: String,
    labels: Arc<Labels>,
    /// The pipelined design's pool (batches of one image), which queues each image it has
    /// prepared into `batcher`. Declared first, so it is dropped (its queue drained into the
    /// model's) before the model's workers stop.
    preparer: Option<Batcher<Bytes, Forwarded>>,
    batcher: Arc<Batcher<ModelInput, Answer>>,
}

/// A request in the pipelined design's pool, or in the model's own queue.
enum Pending {
    Preparing(Ticket<Forwarded>),
    Queued(Ticket<Answer>),
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
        let Pipeline { prepare_threads, decode, torch_threads } = config.pipeline;
        let batcher = Arc::new(Batcher::start(config.batch, |_| {
            let classifier = Arc::clone(&classifier);
            // libtorch's thread count belongs to the thread that runs the model: set it there.
            let mut threads = torch_threads;
            move |images: Vec<ModelInput>| {
                if let Some(threads) = threads.take() {
                    inference::set_threads(threads);
                }
                run_batch(&classifier, images, decode)
            }
        }));
        let preparer = (prepare_threads > 0).then(|| {
            let pool = BatchConfig { batch_size: 1, workers: prepare_threads, ..config.batch };
            Batcher::start(pool, |_| {
                let batcher = Arc::clone(&batcher);
                move |images: Vec<Bytes>| {
                    images.iter().map(|bytes| forward(&batcher, bytes, decode)).collect::<Vec<_>>()
                }
            })
        });
        Ok(Self { version: config.version.clone(), labels, preparer, batcher })
    }

    /// Queues one image; the future resolves to its scores and where its server time went
    /// (`queue` is the time waiting for the prepare pool, if any, and for the model's worker).
    /// Refuses at once, without waiting, when the first queue it meets is full. With a prepare
    /// pool, the image moves on to the model's queue as soon as it is prepared, whether or not
    /// the future is being awaited, so a request's images batch together.
    pub fn submit(
        &self,
        input: ModelInput,
    ) -> Result<impl Future<Output = Answer> + use<>, PredictError> {
        let pending = match (input, &self.preparer) {
            (ModelInput::Encoded(bytes), Some(preparer)) => {
                Pending::Preparing(preparer.submit(bytes)?)
            }
            (input, _) => Pending::Queued(self.batcher.submit(input)?),
        };
        Ok(async move {
            let mut timings = StageTimings::default();
            let queued = match pending {
                Pending::Queued(queued) => queued,
                Pending::Preparing(preparing) => {
                    let forwarded = preparing.await?;
                    let (prepared_in, queued) = forwarded.output?;
                    timings.merge(&prepared_in);
                    timings.record(Stage::Queue, forwarded.queued);
                    queued
                }
            };
            let batched = queued.await?;
            let (scores, worked) = batched.output?;
            timings.merge(&worked);
            timings.record(Stage::Queue, batched.queued);
            Ok((scores, timings))
        })
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
}

/// One encoded image decoded (as `decode` says) and preprocessed, each step timed.
fn prepare(bytes: &[u8], decode: DecodeMode) -> Prepared {
    let mut timings = StageTimings::default();
    let decoded = timings.time(Stage::Decode, || vision::decode_with(bytes, decode))?;
    let image = timings.time(Stage::Preprocess, || vision::prepare_decoded(&decoded));
    Ok((image, timings))
}

/// The prepare pool's work on one image: prepared, then queued for the model (a full queue
/// refuses it, as it would have refused the request).
fn forward(batcher: &Batcher<ModelInput, Answer>, bytes: &[u8], decode: DecodeMode) -> Forwarded {
    let (image, timings) = prepare(bytes, decode)?;
    Ok((timings, batcher.submit(ModelInput::Prepared(image))?))
}

/// TorchServe's image_classifier on one batch: every encoded image decoded and preprocessed
/// alone (a bad one fails alone), the good ones inferred together. The batch's inference time
/// is charged to each of its images, and the time its batch-mates take to prepare to its
/// queue time.
fn run_batch(classifier: &Classifier, images: Vec<ModelInput>, decode: DecodeMode) -> Vec<Answer> {
    let batch_started = Instant::now();
    let mut timings = vec![StageTimings::default(); images.len()];
    let prepared: Vec<Result<ChwImage, PredictError>> = images
        .into_iter()
        .zip(&mut timings)
        .map(|(image, timing)| match image {
            ModelInput::Prepared(image) => Ok(image),
            ModelInput::Encoded(bytes) => {
                let (image, took) = prepare(&bytes, decode)?;
                timing.merge(&took);
                Ok(image)
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
