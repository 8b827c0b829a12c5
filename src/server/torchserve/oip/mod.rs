//! The model server's Open Inference Protocol (KServe's "v2", Triton's): beside TorchServe's
//! APIs, on the same ports, REST under `/v2` ([`rest`]) and gRPC's
//! `inference.GRPCInferenceService` ([`grpc`]). Both read a request into the codec's
//! [`InferRequest`] and hand it to [`infer`]; they differ only
//! in framing.
//!
//! Each served model takes one input per request, either of two:
//! - [`IMAGE_INPUT`], `BYTES` of shape `[N]`: N encoded images (JPEG, PNG), which the server
//!   decodes and preprocesses, as TorchServe's image classifier does;
//! - [`TENSOR_INPUT`], `FP32` of shape `[N, 3, 224, 224]`: N images the client already decoded,
//!   resized, cropped and normalized (the vision stage's output), so the server only infers.
//!
//! It gives [`SCORES_OUTPUT`], `FP32` `[N, classes]`: the model's output as it is (logits, as
//! Triton returns a model's output), or, with the classification extension asked for, the top
//! `n` classes as `BYTES` strings `<score>:<index>:<label>`. The N images go through the
//! model's dynamic batcher one by one, so they batch with everyone else's.

pub mod grpc;
pub mod rest;

use std::time::Duration;

use super::{Models, PredictError, ServedModel};
use crate::codec::oip::{
    self, InferRequest, InferResponse, ModelMetadata, Output, ServerMetadata, Tensor,
    TensorMetadata,
};
use crate::postprocess;
use crate::server::torchserve::worker::ModelInput;
use crate::timing::{Stage, StageTimings};
use crate::transport::{OIP_OUTPUT, OipInput};
use crate::vision::{self, ChwImage};

/// The input of encoded images: `BYTES`, `[N]`.
pub const IMAGE_INPUT: &str = OipInput::Jpeg.tensor_name();
/// The input of preprocessed images: `FP32`, `[N, 3, 224, 224]`.
pub const TENSOR_INPUT: &str = OipInput::Tensor.tensor_name();
/// The output: `FP32`, `[N, classes]`.
pub const SCORES_OUTPUT: &str = OIP_OUTPUT;
/// The models' platform, as Triton names TorchScript's.
pub const PLATFORM: &str = "pytorch_libtorch";
/// The protocol extensions the server has.
pub const EXTENSIONS: [&str; 2] = ["binary_tensor_data", "classification"];

/// What the server says of itself.
pub fn server_metadata() -> ServerMetadata {
    ServerMetadata {
        name: "servebench".to_owned(),
        version: env!("CARGO_PKG_VERSION").to_owned(),
        extensions: EXTENSIONS.map(str::to_owned).to_vec(),
    }
}

/// Values per preprocessed image.
const IMAGE_VALUES: usize = 3 * vision::CROP as usize * vision::CROP as usize;

impl Models {
    /// Model `name`'s metadata (at `version`, when given).
    pub fn metadata(
        &self,
        name: &str,
        version: Option<&str>,
    ) -> Result<ModelMetadata, PredictError> {
        let model = self.model(name, version)?;
        let side = i64::from(vision::CROP);
        let tensor = |name: &str, datatype: oip::Datatype, shape: Vec<i64>| TensorMetadata {
            name: name.to_owned(),
            datatype: datatype.name().to_owned(),
            shape,
        };
        Ok(ModelMetadata {
            name: name.to_owned(),
            versions: vec![model.version().to_owned()],
            platform: PLATFORM.to_owned(),
            inputs: vec![
                tensor(IMAGE_INPUT, oip::Datatype::Bytes, vec![-1]),
                tensor(TENSOR_INPUT, oip::Datatype::Fp32, vec![-1, 3, side, side]),
            ],
            outputs: vec![tensor(
                SCORES_OUTPUT,
                oip::Datatype::Fp32,
                vec![-1, model.classes() as i64],
            )],
        })
    }
}

/// One inference: the request's input as the model's inputs, each through the model's batcher,
/// and the scores (or the classes) as the outputs asked for. `arrived` holds the stages
/// before (the body's `receive`, reading the message under `decode`); the answer's timings
/// add the request's slowest image's (its queue, decode, preprocess and infer) and
/// `postprocess` for the classes.
pub async fn infer(
    models: &Models,
    name: &str,
    version: Option<&str>,
    request: InferRequest,
    arrived: StageTimings,
) -> Result<(InferResponse, StageTimings), PredictError> {
    let model = models.model(name, version)?;
    let InferRequest { id, inputs, outputs, binary_outputs } = request;
    let inputs = model_inputs(inputs)?;
    let count = inputs.len();
    let asked = if outputs.is_empty() {
        vec![oip::RequestedOutput { name: SCORES_OUTPUT.to_owned(), ..Default::default() }]
    } else {
        outputs
    };
    if let Some(unknown) = asked.iter().find(|output| output.name != SCORES_OUTPUT) {
        return Err(PredictError::UnknownOutput(unknown.name.clone()));
    }
    // Every image is queued before any is awaited: they batch together, and with others'.
    let pending: Vec<_> =
        inputs.into_iter().map(|input| model.submit(input)).collect::<Result<_, _>>()?;
    let mut rows = Vec::with_capacity(count);
    let mut slowest = (Duration::ZERO, StageTimings::default());
    for pending in pending {
        let (row, worked) = pending.await?;
        let took: Duration = Stage::ALL.iter().filter_map(|stage| worked.get(*stage)).sum();
        if took >= slowest.0 {
            slowest = (took, worked);
        }
        rows.push(row);
    }
    let mut timings = arrived;
    timings.merge(&slowest.1);
    let classes = model.classes();
    let mut answered = Vec::with_capacity(asked.len());
    for output in asked {
        let tensor = match output.classification {
            None => {
                let flat: Vec<f32> = rows.concat();
                Tensor::fp32(SCORES_OUTPUT, vec![count as i64, classes as i64], &flat)
            }
            Some(top) => {
                timings.time(Stage::Postprocess, || classified(model, &rows, top.min(classes)))
            }
        };
        answered.push(Output { tensor, binary: output.binary.unwrap_or(binary_outputs) });
    }
    let response = InferResponse {
        model_name: name.to_owned(),
        model_version: model.version().to_owned(),
        id,
        outputs: answered,
    };
    Ok((response, timings))
}

/// The classification extension's answer: each image's `top` classes, highest first, as
/// `<score>:<index>:<label>`.
fn classified(model: &ServedModel, rows: &[Vec<f32>], top: usize) -> Tensor {
    let elements: Vec<String> = rows
        .iter()
        .flat_map(|row| {
            postprocess::top_k(row, top)
                .into_iter()
                .map(|(index, score)| oip::classification(score, index, model.labels().name(index)))
        })
        .collect();
    Tensor::bytes(SCORES_OUTPUT, vec![rows.len() as i64, top as i64], &elements)
}

/// The model's inputs from the request's one input: its encoded images, or its preprocessed
/// ones split image by image.
fn model_inputs(inputs: Vec<Tensor>) -> Result<Vec<ModelInput>, PredictError> {
    let wrong = |what: String| PredictError::OipInput(what);
    let [input] = <[Tensor; 1]>::try_from(inputs).map_err(|inputs| {
        let names: Vec<&str> = inputs.iter().map(|input| input.name.as_str()).collect();
        wrong(format!("{} inputs ({names:?})", inputs.len()))
    })?;
    let side = i64::from(vision::CROP);
    match (input.name.as_str(), input.datatype, &input.shape[..]) {
        (IMAGE_INPUT, oip::Datatype::Bytes, [n]) if *n > 0 => {
            let images = input.byte_elements()?;
            if images.iter().any(|image| image.is_empty()) {
                return Err(PredictError::NoImage);
            }
            Ok(images.into_iter().map(ModelInput::Encoded).collect())
        }
        (TENSOR_INPUT, oip::Datatype::Fp32, [n, 3, h, w]) if *n > 0 && *h == side && *w == side => {
            let values = input.to_f32()?;
            Ok(values
                .chunks_exact(IMAGE_VALUES)
                .map(|image| {
                    ModelInput::Prepared(ChwImage {
                        data: image.to_vec(),
                        height: vision::CROP,
                        width: vision::CROP,
                    })
                })
                .collect())
        }
        (name, datatype, shape) => Err(wrong(format!("{name}, {datatype} {shape:?}"))),
    }
}
