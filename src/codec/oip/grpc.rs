//! The Open Inference Protocol over gRPC: `inference.GRPCInferenceService`'s inference messages
//! to and from [`InferRequest`] and [`InferResponse`]. A tensor's elements travel either in
//! `raw_input_contents` / `raw_output_contents`, the binary layout [`Tensor::data`] already has
//! (sliced, not copied), or typed in `contents`, converted. The server answers in the form it
//! was asked in.

use bytes::{BufMut, Bytes, BytesMut};

use super::{Datatype, InferRequest, InferResponse, OipError, Output, RequestedOutput, Tensor};
use crate::messages::inference::infer_parameter::ParameterChoice;
use crate::messages::inference::model_infer_request::{
    InferInputTensor, InferRequestedOutputTensor,
};
use crate::messages::inference::model_infer_response::InferOutputTensor;
use crate::messages::inference::{
    InferParameter, InferTensorContents, ModelInferRequest, ModelInferResponse,
};

/// A requested output's parameter: the classification extension's top-n.
const CLASSIFICATION: &str = "classification";

/// A `ModelInferRequest` read: the model, its version (empty: the server's choice), the
/// request, and whether its inputs came as raw contents.
pub struct Received {
    /// The model asked for.
    pub model_name: String,
    /// Its version; empty: any.
    pub model_version: String,
    /// The request.
    pub request: InferRequest,
    /// Whether the inputs were raw contents (the answer's outputs are then raw too).
    pub raw: bool,
}

/// Reads a `ModelInferRequest`.
pub fn decode_request(message: ModelInferRequest) -> Result<Received, OipError> {
    let raw = !message.raw_input_contents.is_empty();
    let headers = message.inputs.into_iter().map(|input| Header {
        name: input.name,
        datatype: input.datatype,
        shape: input.shape,
        contents: input.contents,
    });
    let inputs = tensors(headers.collect(), message.raw_input_contents)?;
    let outputs = message
        .outputs
        .into_iter()
        .map(|output| {
            let classification = match output.parameters.get(CLASSIFICATION) {
                None => None,
                Some(parameter) => Some(count(parameter).ok_or(OipError::Parameter {
                    name: CLASSIFICATION,
                    expected: "a positive integer",
                })?),
            };
            Ok(RequestedOutput { name: output.name, binary: None, classification })
        })
        .collect::<Result<Vec<_>, OipError>>()?;
    Ok(Received {
        model_name: message.model_name,
        model_version: message.model_version,
        request: InferRequest { id: message.id, inputs, outputs, binary_outputs: false },
        raw,
    })
}

/// Writes a `ModelInferRequest` for `model` (at `version`; empty: any), its inputs as raw
/// contents when `raw`, else typed.
pub fn encode_request(
    model: &str,
    version: &str,
    request: &InferRequest,
    raw: bool,
) -> Result<ModelInferRequest, OipError> {
    let inputs = request
        .inputs
        .iter()
        .map(|tensor| {
            Ok(InferInputTensor {
                name: tensor.name.clone(),
                datatype: tensor.datatype.name().to_owned(),
                shape: tensor.shape.clone(),
                parameters: Default::default(),
                contents: if raw { None } else { Some(to_contents(tensor)?) },
            })
        })
        .collect::<Result<Vec<_>, OipError>>()?;
    let outputs = request
        .outputs
        .iter()
        .map(|output| InferRequestedOutputTensor {
            name: output.name.clone(),
            parameters: output
                .classification
                .map(|count| {
                    let count = i64::try_from(count).unwrap_or(i64::MAX);
                    (CLASSIFICATION.to_owned(), int64(count))
                })
                .into_iter()
                .collect(),
        })
        .collect();
    Ok(ModelInferRequest {
        model_name: model.to_owned(),
        model_version: version.to_owned(),
        id: request.id.clone(),
        parameters: Default::default(),
        inputs,
        outputs,
        raw_input_contents: if raw {
            request.inputs.iter().map(|tensor| tensor.data.clone()).collect()
        } else {
            Vec::new()
        },
    })
}

/// Writes a `ModelInferResponse`, its outputs as raw contents when `raw`, else typed.
pub fn encode_response(response: InferResponse, raw: bool) -> Result<ModelInferResponse, OipError> {
    let mut raw_output_contents = Vec::new();
    let mut outputs = Vec::with_capacity(response.outputs.len());
    for Output { tensor, .. } in response.outputs {
        tensor.check()?;
        let contents = if raw { None } else { Some(to_contents(&tensor)?) };
        outputs.push(InferOutputTensor {
            name: tensor.name,
            datatype: tensor.datatype.name().to_owned(),
            shape: tensor.shape,
            parameters: Default::default(),
            contents,
        });
        if raw {
            raw_output_contents.push(tensor.data);
        }
    }
    Ok(ModelInferResponse {
        model_name: response.model_name,
        model_version: response.model_version,
        id: response.id,
        parameters: Default::default(),
        outputs,
        raw_output_contents,
    })
}

/// Reads a `ModelInferResponse` (raw or typed outputs).
pub fn decode_response(message: ModelInferResponse) -> Result<InferResponse, OipError> {
    let raw = !message.raw_output_contents.is_empty();
    let headers = message.outputs.into_iter().map(|output| Header {
        name: output.name,
        datatype: output.datatype,
        shape: output.shape,
        contents: output.contents,
    });
    let tensors = tensors(headers.collect(), message.raw_output_contents)?;
    let outputs = tensors.into_iter().map(|tensor| Output { tensor, binary: raw }).collect();
    Ok(InferResponse {
        model_name: message.model_name,
        model_version: message.model_version,
        id: message.id,
        outputs,
    })
}

/// A tensor of a message: what input and output tensors share.
struct Header {
    name: String,
    datatype: String,
    shape: Vec<i64>,
    contents: Option<InferTensorContents>,
}

/// A message's tensors, each with its raw contents (the entry at its position) or, where the
/// message has none, its typed contents.
fn tensors(headers: Vec<Header>, raw: Vec<Bytes>) -> Result<Vec<Tensor>, OipError> {
    if !raw.is_empty() && raw.len() != headers.len() {
        return Err(OipError::RawCount { raw: raw.len(), tensors: headers.len() });
    }
    let mut raw = raw.into_iter();
    headers
        .into_iter()
        .map(|header| {
            let datatype: Datatype = header.datatype.parse()?;
            let data = match (raw.next(), header.contents) {
                (Some(_), Some(contents)) if !is_empty(&contents) => {
                    return Err(OipError::ContentsAndRaw(header.name));
                }
                (Some(data), _) => data,
                (None, Some(contents)) => from_contents(&header.name, datatype, contents)?,
                (None, None) => return Err(super::TensorError::NoData(header.name).into()),
            };
            Ok(Tensor::new(header.name, datatype, header.shape, data)?)
        })
        .collect()
}

fn int64(value: i64) -> InferParameter {
    InferParameter { parameter_choice: Some(ParameterChoice::Int64Param(value)) }
}

/// A count from an integer parameter of either sign's kind.
fn count(parameter: &InferParameter) -> Option<usize> {
    let count = match parameter.parameter_choice.as_ref()? {
        ParameterChoice::Int64Param(value) => usize::try_from(*value).ok()?,
        ParameterChoice::Uint64Param(value) => usize::try_from(*value).ok()?,
        _ => return None,
    };
    (count > 0).then_some(count)
}

fn is_empty(contents: &InferTensorContents) -> bool {
    contents.bool_contents.is_empty()
        && contents.int_contents.is_empty()
        && contents.int64_contents.is_empty()
        && contents.uint_contents.is_empty()
        && contents.uint64_contents.is_empty()
        && contents.fp32_contents.is_empty()
        && contents.fp64_contents.is_empty()
        && contents.bytes_contents.is_empty()
}

/// Typed contents in the binary layout of `datatype`; the field it reads is the datatype's.
fn from_contents(
    name: &str,
    datatype: Datatype,
    contents: InferTensorContents,
) -> Result<Bytes, OipError> {
    let out_of_range =
        |value: String| OipError::NotANumberOf { tensor: name.to_owned(), datatype, value };
    let mut data = BytesMut::new();
    macro_rules! narrow {
        ($values:expr, $type:ty, $put:ident) => {
            for value in $values {
                let narrow =
                    <$type>::try_from(value).map_err(|_| out_of_range(value.to_string()))?;
                data.$put(narrow);
            }
        };
    }
    match datatype {
        Datatype::Bool => data.extend(contents.bool_contents.into_iter().map(u8::from)),
        Datatype::Int8 => narrow!(contents.int_contents, i8, put_i8),
        Datatype::Int16 => narrow!(contents.int_contents, i16, put_i16_le),
        Datatype::Int32 => contents.int_contents.iter().for_each(|v| data.put_i32_le(*v)),
        Datatype::Int64 => contents.int64_contents.iter().for_each(|v| data.put_i64_le(*v)),
        Datatype::Uint8 => narrow!(contents.uint_contents, u8, put_u8),
        Datatype::Uint16 => narrow!(contents.uint_contents, u16, put_u16_le),
        Datatype::Uint32 => contents.uint_contents.iter().for_each(|v| data.put_u32_le(*v)),
        Datatype::Uint64 => contents.uint64_contents.iter().for_each(|v| data.put_u64_le(*v)),
        Datatype::Fp32 => contents.fp32_contents.iter().for_each(|v| data.put_f32_le(*v)),
        Datatype::Fp64 => contents.fp64_contents.iter().for_each(|v| data.put_f64_le(*v)),
        Datatype::Fp16 => return Err(OipError::NotInJson(name.to_owned())),
        Datatype::Bytes => {
            for element in contents.bytes_contents {
                let length = u32::try_from(element.len())
                    .map_err(|_| out_of_range(format!("an element of {} bytes", element.len())))?;
                data.put_u32_le(length);
                data.put_slice(&element);
            }
        }
    }
    Ok(data.freeze())
}

/// A tensor's elements as typed contents, in its datatype's field.
fn to_contents(tensor: &Tensor) -> Result<InferTensorContents, OipError> {
    let mut contents = InferTensorContents::default();
    let data = &tensor.data;
    macro_rules! le {
        ($type:ty, $size:expr) => {
            data.chunks_exact($size)
                .map(|bytes| <$type>::from_le_bytes(bytes.try_into().expect("size")))
        };
    }
    match tensor.datatype {
        Datatype::Bool => contents.bool_contents = data.iter().map(|byte| *byte != 0).collect(),
        Datatype::Int8 => contents.int_contents = le!(i8, 1).map(i32::from).collect(),
        Datatype::Int16 => contents.int_contents = le!(i16, 2).map(i32::from).collect(),
        Datatype::Int32 => contents.int_contents = le!(i32, 4).collect(),
        Datatype::Int64 => contents.int64_contents = le!(i64, 8).collect(),
        Datatype::Uint8 => contents.uint_contents = le!(u8, 1).map(u32::from).collect(),
        Datatype::Uint16 => contents.uint_contents = le!(u16, 2).map(u32::from).collect(),
        Datatype::Uint32 => contents.uint_contents = le!(u32, 4).collect(),
        Datatype::Uint64 => contents.uint64_contents = le!(u64, 8).collect(),
        Datatype::Fp32 => contents.fp32_contents = le!(f32, 4).collect(),
        Datatype::Fp64 => contents.fp64_contents = le!(f64, 8).collect(),
        Datatype::Fp16 => return Err(OipError::NotInJson(tensor.name.clone())),
        Datatype::Bytes => contents.bytes_contents = tensor.byte_elements()?,
    }
    Ok(contents)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_and_answers_round_trip_raw_and_typed() {
        let request = InferRequest {
            id: "9".into(),
            inputs: vec![
                Tensor::fp32("tensor", vec![1, 3], &[0.5, -1.0, 7.25]),
                Tensor::bytes("image", vec![1], &[b"\xff\xd8"]),
            ],
            outputs: vec![RequestedOutput {
                name: "scores".into(),
                binary: None,
                classification: Some(5),
            }],
            binary_outputs: false,
        };
        for raw in [false, true] {
            let message = encode_request("resnet50", "1.0", &request, raw).unwrap();
            assert_eq!(message.raw_input_contents.len(), if raw { 2 } else { 0 });
            let received = decode_request(message).unwrap();
            assert_eq!(received.request, request, "raw: {raw}");
            assert_eq!((received.raw, &received.model_name[..]), (raw, "resnet50"));
        }
        let answer = InferResponse {
            model_name: "resnet50".into(),
            model_version: "1.0".into(),
            id: "9".into(),
            outputs: vec![Output {
                tensor: Tensor::fp32("scores", vec![1, 2], &[1.0, 2.0]),
                binary: false,
            }],
        };
        for raw in [false, true] {
            let message = encode_response(answer.clone(), raw).unwrap();
            assert_eq!(message.outputs[0].contents.is_some(), !raw);
            let mut read = decode_response(message).unwrap();
            read.outputs[0].binary = false;
            assert_eq!(read, answer, "raw: {raw}");
        }
    }

    #[test]
    fn raw_contents_must_match_the_inputs() {
        let request = InferRequest {
            inputs: vec![Tensor::fp32("a", vec![1], &[1.0]), Tensor::fp32("b", vec![1], &[2.0])],
            ..Default::default()
        };
        let mut message = encode_request("m", "", &request, true).unwrap();
        message.raw_input_contents.pop();
        assert!(matches!(decode_request(message), Err(OipError::RawCount { raw: 1, tensors: 2 })));
        let mut message = encode_request("m", "", &request, true).unwrap();
        message.inputs[0].contents = Some(to_contents(&request.inputs[0]).unwrap());
        assert!(matches!(decode_request(message), Err(OipError::ContentsAndRaw(_))));
        let mut message = encode_request("m", "", &request, false).unwrap();
        message.inputs[1].contents.as_mut().unwrap().fp32_contents.push(3.0);
        assert!(matches!(decode_request(message), Err(OipError::Tensor(_))));
        let mut message = encode_request("m", "", &request, false).unwrap();
        message.inputs[1].datatype = "INT8".into();
        message.inputs[1].contents =
            Some(InferTensorContents { int_contents: vec![300], ..Default::default() });
        assert!(matches!(decode_request(message), Err(OipError::NotANumberOf { .. })));
    }
}
