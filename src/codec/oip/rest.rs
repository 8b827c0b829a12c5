//! The Open Inference Protocol over REST: inference requests and answers as JSON, with
//! Triton's binary tensor data extension (which KServe adopted): a tensor whose parameters say
//! `binary_data_size` has its elements after the JSON, in order, and the
//! `Inference-Header-Content-Length` header says where the JSON ends.
//!
//! In JSON a tensor's `data` is its elements flattened row-major (nested arrays are flattened
//! too): numbers, booleans, or strings for `BYTES`. A `BYTES` element that is not text (a JPEG)
//! cannot be a JSON string: it travels as base64 with the input's parameter
//! `"content_type": "base64"` (MLServer's convention; the protocol itself has none), or as
//! binary data.

use std::collections::BTreeMap;
use std::fmt;

use bytes::{BufMut, Bytes, BytesMut};
use serde::de::{self, DeserializeSeed, Deserializer, SeqAccess, Visitor};
use serde::ser::{SerializeSeq, Serializer};
use serde::{Deserialize, Serialize};
use serde_json::{Number, Value};

use super::{Datatype, InferRequest, InferResponse, OipError, Output, RequestedOutput, Tensor};

/// The header that says how long the JSON part of a body with binary data is.
pub const HEADER_LENGTH: &str = "inference-header-content-length";

/// A tensor parameter: its binary data's size in bytes, after the JSON.
const BINARY_DATA_SIZE: &str = "binary_data_size";
/// A requested output's parameter: send it back as binary data.
const BINARY_DATA: &str = "binary_data";
/// A request parameter: every output back as binary data unless it says otherwise.
const BINARY_DATA_OUTPUT: &str = "binary_data_output";
/// A requested output's parameter: the classification extension's top-n.
const CLASSIFICATION: &str = "classification";
/// An input's parameter saying how its `BYTES` elements are written: `base64`.
const CONTENT_TYPE: &str = "content_type";

type Parameters = BTreeMap<String, Value>;

/// An error's body, as the protocol has every REST error say it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// What went wrong.
    pub error: String,
}

/// What `GET /v2/health/live` answers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Live {
    /// Whether the server takes requests.
    pub live: bool,
}

/// What `GET /v2/health/ready` answers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ready {
    /// Whether every model is ready.
    pub ready: bool,
}

/// What `GET /v2/models/{model}/ready` answers.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModelReady {
    /// The model.
    pub name: String,
    /// Whether it is ready.
    pub ready: bool,
}

#[derive(Deserialize)]
struct RequestJson {
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    parameters: Parameters,
    inputs: Vec<TensorJson>,
    #[serde(default)]
    outputs: Vec<RequestedOutputJson>,
}

#[derive(Deserialize)]
struct ResponseJson {
    model_name: String,
    #[serde(default)]
    model_version: Option<String>,
    #[serde(default)]
    id: Option<String>,
    outputs: Vec<TensorJson>,
}

#[derive(Deserialize)]
struct TensorJson {
    name: String,
    shape: Vec<i64>,
    datatype: String,
    #[serde(default)]
    parameters: Parameters,
    #[serde(default)]
    data: Option<Flat>,
}

#[derive(Deserialize, Serialize)]
struct RequestedOutputJson {
    name: String,
    #[serde(default, skip_serializing_if = "Parameters::is_empty")]
    parameters: Parameters,
}

/// Reads an inference request: the JSON, and the binary data after it where `json_length` (the
/// `Inference-Header-Content-Length` header) says the JSON ends before the body does.
pub fn decode_request(body: &Bytes, json_length: Option<usize>) -> Result<InferRequest, OipError> {
    let (json, mut binary) = split(body, json_length)?;
    let request: RequestJson = serde_json::from_slice(&json)?;
    let inputs = request
        .inputs
        .into_iter()
        .map(|input| input.into_tensor(&mut binary))
        .collect::<Result<Vec<_>, _>>()?;
    no_more(&binary, "inputs")?;
    let outputs = request
        .outputs
        .into_iter()
        .map(|output| {
            Ok(RequestedOutput {
                binary: flag(&output.parameters, BINARY_DATA)?,
                classification: count(&output.parameters, CLASSIFICATION)?,
                name: output.name,
            })
        })
        .collect::<Result<Vec<_>, OipError>>()?;
    Ok(InferRequest {
        id: request.id.unwrap_or_default(),
        inputs,
        outputs,
        binary_outputs: flag(&request.parameters, BINARY_DATA_OUTPUT)?.unwrap_or(false),
    })
}

/// Writes an inference request, every input as binary data when `binary` (the JSON's length
/// is then returned, for the `Inference-Header-Content-Length` header), else in the JSON.
pub fn encode_request(
    request: &InferRequest,
    binary: bool,
) -> Result<(Bytes, Option<usize>), OipError> {
    let mut object = serde_json::Map::new();
    if !request.id.is_empty() {
        object.insert("id".into(), Value::String(request.id.clone()));
    }
    if request.binary_outputs {
        object.insert("parameters".into(), serde_json::json!({ BINARY_DATA_OUTPUT: true }));
    }
    let outputs = request.outputs.iter().map(|output| {
        let mut parameters = Parameters::new();
        if let Some(binary) = output.binary {
            parameters.insert(BINARY_DATA.into(), Value::Bool(binary));
        }
        if let Some(count) = output.classification {
            parameters.insert(CLASSIFICATION.into(), Value::from(count));
        }
        RequestedOutputJson { name: output.name.clone(), parameters }
    });
    let outputs: Vec<RequestedOutputJson> = outputs.collect();
    if !outputs.is_empty() {
        object.insert("outputs".into(), serde_json::to_value(outputs)?);
    }
    let tensors: Vec<(&Tensor, bool)> =
        request.inputs.iter().map(|tensor| (tensor, binary)).collect();
    encode(object, "inputs", &tensors)
}

/// Writes an inference answer; the JSON's length comes back when some output follows it as
/// binary data.
pub fn encode_response(response: &InferResponse) -> Result<(Bytes, Option<usize>), OipError> {
    let mut object = serde_json::Map::new();
    object.insert("model_name".into(), Value::String(response.model_name.clone()));
    if !response.model_version.is_empty() {
        object.insert("model_version".into(), Value::String(response.model_version.clone()));
    }
    if !response.id.is_empty() {
        object.insert("id".into(), Value::String(response.id.clone()));
    }
    let tensors: Vec<(&Tensor, bool)> =
        response.outputs.iter().map(|output| (&output.tensor, output.binary)).collect();
    encode(object, "outputs", &tensors)
}

/// Reads an inference answer (what [`encode_response`] writes, or any OIP server's).
pub fn decode_response(
    body: &Bytes,
    json_length: Option<usize>,
) -> Result<InferResponse, OipError> {
    let (json, mut binary) = split(body, json_length)?;
    let response: ResponseJson = serde_json::from_slice(&json)?;
    let outputs = response
        .outputs
        .into_iter()
        .map(|output| {
            let binary_data = output.parameters.contains_key(BINARY_DATA_SIZE);
            Ok(Output { tensor: output.into_tensor(&mut binary)?, binary: binary_data })
        })
        .collect::<Result<Vec<_>, OipError>>()?;
    no_more(&binary, "outputs")?;
    Ok(InferResponse {
        model_name: response.model_name,
        model_version: response.model_version.unwrap_or_default(),
        id: response.id.unwrap_or_default(),
        outputs,
    })
}

/// The JSON part of `body` and the binary data after it.
fn split(body: &Bytes, json_length: Option<usize>) -> Result<(Bytes, Bytes), OipError> {
    match json_length {
        None => Ok((body.clone(), Bytes::new())),
        Some(length) if length <= body.len() => Ok((body.slice(..length), body.slice(length..))),
        Some(length) => Err(OipError::HeaderPastBody { header: length, body: body.len() }),
    }
}

/// Whether the tensors took every binary byte there was.
fn no_more(binary: &Bytes, tensors: &'static str) -> Result<(), OipError> {
    if binary.is_empty() {
        return Ok(());
    }
    Err(OipError::BinaryLeftOver { left: binary.len(), tensors })
}

/// A JSON object of `object`'s fields and `tensors` under `key`, each in the JSON or, where
/// marked, as binary data after it.
fn encode(
    mut object: serde_json::Map<String, Value>,
    key: &str,
    tensors: &[(&Tensor, bool)],
) -> Result<(Bytes, Option<usize>), OipError> {
    let json_tensors: Vec<TensorOut<'_>> = tensors
        .iter()
        .map(|&(tensor, binary)| TensorOut::new(tensor, binary))
        .collect::<Result<_, _>>()?;
    object.insert(key.into(), Value::Null);
    // The tensors are written straight from their binary layout, not through `Value`s: a
    // 224x224 image is 150,528 numbers.
    let json = serde_json::to_vec(&Body { object: &object, key, tensors: &json_tensors })?;
    let binary: Vec<&Bytes> =
        tensors.iter().filter(|(_, binary)| *binary).map(|(tensor, _)| &tensor.data).collect();
    if binary.is_empty() {
        return Ok((json.into(), None));
    }
    let length = json.len();
    let mut body =
        BytesMut::with_capacity(length + binary.iter().map(|data| data.len()).sum::<usize>());
    body.put_slice(&json);
    for data in binary {
        body.put_slice(data);
    }
    Ok((body.freeze(), Some(length)))
}

/// The object with `key` holding the tensors (in place of the `Null` put there for order).
struct Body<'a> {
    object: &'a serde_json::Map<String, Value>,
    key: &'a str,
    tensors: &'a [TensorOut<'a>],
}

impl Serialize for Body<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = serializer.serialize_map(Some(self.object.len()))?;
        for (name, value) in self.object {
            if name == self.key {
                map.serialize_entry(name, self.tensors)?;
            } else {
                map.serialize_entry(name, value)?;
            }
        }
        map.end()
    }
}

/// A tensor as JSON: its header, and its data inline or its binary size.
#[derive(Serialize)]
struct TensorOut<'a> {
    name: &'a str,
    datatype: &'static str,
    shape: &'a [i64],
    #[serde(skip_serializing_if = "Parameters::is_empty")]
    parameters: Parameters,
    #[serde(skip_serializing_if = "Option::is_none")]
    data: Option<Data<'a>>,
}

impl<'a> TensorOut<'a> {
    fn new(tensor: &'a Tensor, binary: bool) -> Result<Self, OipError> {
        tensor.check()?;
        let mut parameters = Parameters::new();
        let data = if binary {
            parameters.insert(BINARY_DATA_SIZE.into(), Value::from(tensor.data.len()));
            None
        } else {
            let data = Data::of(tensor)?;
            if matches!(data, Data::Base64(_)) {
                parameters.insert(CONTENT_TYPE.into(), Value::from("base64"));
            }
            Some(data)
        };
        Ok(Self {
            name: &tensor.name,
            datatype: tensor.datatype.name(),
            shape: &tensor.shape,
            parameters,
            data,
        })
    }
}

/// A tensor's elements as a JSON array, written from its binary layout.
enum Data<'a> {
    /// Fixed-size elements.
    Numbers(&'a Tensor),
    /// `BYTES` elements that are all text.
    Text(Vec<&'a str>),
    /// `BYTES` elements that are not all text, as base64.
    Base64(Vec<Bytes>),
}

impl<'a> Data<'a> {
    fn of(tensor: &'a Tensor) -> Result<Self, OipError> {
        match tensor.datatype {
            Datatype::Fp16 => Err(OipError::NotInJson(tensor.name.clone())),
            Datatype::Bytes => {
                let elements = tensor.byte_elements()?;
                let text: Option<Vec<&'a str>> = tensor_text(tensor, elements.len());
                Ok(match text {
                    Some(text) => Self::Text(text),
                    None => Self::Base64(elements),
                })
            }
            _ => Ok(Self::Numbers(tensor)),
        }
    }
}

/// The `BYTES` tensor's elements as text borrowed from its data, if every one is UTF-8.
fn tensor_text(tensor: &Tensor, count: usize) -> Option<Vec<&str>> {
    let mut text = Vec::with_capacity(count);
    let mut rest = &tensor.data[..];
    while let Some((length, after)) = rest.split_first_chunk::<4>() {
        let length = u32::from_le_bytes(*length) as usize;
        text.push(std::str::from_utf8(after.get(..length)?).ok()?);
        rest = &after[length..];
    }
    Some(text)
}

impl Serialize for Data<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Self::Text(text) => text.serialize(serializer),
            Self::Base64(elements) => serializer
                .collect_seq(elements.iter().map(|element| crate::codec::base64::encode(element))),
            Self::Numbers(tensor) => {
                let data = &tensor.data;
                let size = tensor.datatype.size().expect("fixed-size");
                let mut seq = serializer.serialize_seq(Some(data.len() / size))?;
                for bytes in data.chunks_exact(size) {
                    number(&mut seq, tensor.datatype, bytes)?;
                }
                seq.end()
            }
        }
    }
}

/// One element of `datatype` from its little-endian bytes, into `seq`.
fn number<S: SerializeSeq>(seq: &mut S, datatype: Datatype, bytes: &[u8]) -> Result<(), S::Error> {
    macro_rules! le {
        ($type:ty) => {
            <$type>::from_le_bytes(bytes.try_into().expect("the datatype's size"))
        };
    }
    match datatype {
        Datatype::Bool => seq.serialize_element(&(bytes[0] != 0)),
        Datatype::Uint8 => seq.serialize_element(&le!(u8)),
        Datatype::Uint16 => seq.serialize_element(&le!(u16)),
        Datatype::Uint32 => seq.serialize_element(&le!(u32)),
        Datatype::Uint64 => seq.serialize_element(&le!(u64)),
        Datatype::Int8 => seq.serialize_element(&le!(i8)),
        Datatype::Int16 => seq.serialize_element(&le!(i16)),
        Datatype::Int32 => seq.serialize_element(&le!(i32)),
        Datatype::Int64 => seq.serialize_element(&le!(i64)),
        Datatype::Fp32 => seq.serialize_element(&le!(f32)),
        Datatype::Fp64 => seq.serialize_element(&le!(f64)),
        Datatype::Fp16 | Datatype::Bytes => unreachable!("Data::of keeps them out"),
    }
}

impl TensorJson {
    /// The tensor, its data from the JSON or from the front of `binary`.
    fn into_tensor(self, binary: &mut Bytes) -> Result<Tensor, OipError> {
        let datatype: Datatype = self.datatype.parse()?;
        let size = match self.parameters.get(BINARY_DATA_SIZE) {
            None => None,
            Some(size) => Some(
                size.as_u64()
                    .and_then(|size| usize::try_from(size).ok())
                    .ok_or_else(|| parameter(BINARY_DATA_SIZE, "a byte count"))?,
            ),
        };
        let data = match (size, self.data) {
            (Some(_), Some(_)) => return Err(OipError::DataTwice(self.name)),
            (None, None) => return Err(super::TensorError::NoData(self.name).into()),
            (Some(size), None) => {
                if size > binary.len() {
                    return Err(OipError::BinaryShort {
                        tensor: self.name,
                        size,
                        left: binary.len(),
                    });
                }
                binary.split_to(size)
            }
            (None, Some(flat)) => {
                let base64 = match self.parameters.get(CONTENT_TYPE) {
                    None => false,
                    Some(Value::String(kind)) if kind == "base64" => true,
                    Some(_) => return Err(parameter(CONTENT_TYPE, "\"base64\" or absent")),
                };
                flat.into_data(&self.name, datatype, base64)?
            }
        };
        Ok(Tensor::new(self.name, datatype, self.shape, data)?)
    }
}

fn parameter(name: &'static str, expected: &'static str) -> OipError {
    OipError::Parameter { name, expected }
}

/// A boolean parameter, if given.
fn flag(parameters: &Parameters, name: &'static str) -> Result<Option<bool>, OipError> {
    parameters
        .get(name)
        .map(|value| value.as_bool().ok_or_else(|| parameter(name, "a boolean")))
        .transpose()
}

/// A count parameter, if given.
fn count(parameters: &Parameters, name: &'static str) -> Result<Option<usize>, OipError> {
    parameters
        .get(name)
        .map(|value| {
            value
                .as_u64()
                .and_then(|count| usize::try_from(count).ok())
                .filter(|count| *count > 0)
                .ok_or_else(|| parameter(name, "a positive integer"))
        })
        .transpose()
}

/// A tensor's JSON `data`, flattened: all numbers, all strings or all booleans.
#[derive(Debug, Default)]
enum Flat {
    #[default]
    Empty,
    Numbers(Vec<Number>),
    Strings(Vec<String>),
    Bools(Vec<bool>),
}

impl Flat {
    fn kind(&self) -> &'static str {
        match self {
            Self::Empty => "empty",
            Self::Numbers(_) => "numbers",
            Self::Strings(_) => "strings",
            Self::Bools(_) => "booleans",
        }
    }

    /// The elements in the binary layout of `datatype`.
    fn into_data(self, name: &str, datatype: Datatype, base64: bool) -> Result<Bytes, OipError> {
        let wrong =
            |given| super::TensorError::WrongData { name: name.to_owned(), datatype, given };
        let mut data = BytesMut::new();
        match (self, datatype) {
            (Self::Empty, _) => {}
            (Self::Bools(values), Datatype::Bool) => {
                data.extend(values.into_iter().map(u8::from));
            }
            (Self::Strings(values), Datatype::Bytes) => {
                for value in values {
                    let element = match base64 {
                        true => crate::codec::base64::decode(value.as_bytes())
                            .map_err(|error| OipError::Base64(name.to_owned(), error))?,
                        false => Bytes::from(value),
                    };
                    let length = u32::try_from(element.len()).map_err(|_| wrong("over 4 GiB"))?;
                    data.put_u32_le(length);
                    data.put_slice(&element);
                }
            }
            (Self::Numbers(values), _) => {
                for value in values {
                    put_number(&mut data, datatype, &value).ok_or_else(|| {
                        OipError::NotANumberOf {
                            tensor: name.to_owned(),
                            datatype,
                            value: value.to_string(),
                        }
                    })?;
                }
            }
            (flat, _) => return Err(wrong(flat.kind()).into()),
        }
        Ok(data.freeze())
    }
}

/// `value` as an element of `datatype`; none where it does not fit (a fraction for an integer,
/// a number out of range, any number for `FP16`, `BYTES` or `BOOL`).
fn put_number(data: &mut BytesMut, datatype: Datatype, value: &Number) -> Option<()> {
    let integer = || value.as_i64().map(i128::from).or_else(|| value.as_u64().map(i128::from));
    match datatype {
        Datatype::Uint8 => data.put_u8(u8::try_from(integer()?).ok()?),
        Datatype::Uint16 => data.put_u16_le(u16::try_from(integer()?).ok()?),
        Datatype::Uint32 => data.put_u32_le(u32::try_from(integer()?).ok()?),
        Datatype::Uint64 => data.put_u64_le(u64::try_from(integer()?).ok()?),
        Datatype::Int8 => data.put_i8(i8::try_from(integer()?).ok()?),
        Datatype::Int16 => data.put_i16_le(i16::try_from(integer()?).ok()?),
        Datatype::Int32 => data.put_i32_le(i32::try_from(integer()?).ok()?),
        Datatype::Int64 => data.put_i64_le(i64::try_from(integer()?).ok()?),
        Datatype::Fp32 => data.put_f32_le(value.as_f64()? as f32),
        Datatype::Fp64 => data.put_f64_le(value.as_f64()?),
        Datatype::Bool | Datatype::Fp16 | Datatype::Bytes => return None,
    }
    Some(())
}

impl<'de> Deserialize<'de> for Flat {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let mut flat = Self::Empty;
        deserializer.deserialize_any(Collect(&mut flat))?;
        Ok(flat)
    }
}

/// Collects a (nested) array's scalars into a [`Flat`].
struct Collect<'a>(&'a mut Flat);

impl Collect<'_> {
    fn push<E: de::Error>(self, scalar: Scalar) -> Result<(), E> {
        match (&mut *self.0, scalar) {
            (Flat::Numbers(values), Scalar::Number(value)) => values.push(value),
            (Flat::Strings(values), Scalar::String(value)) => values.push(value),
            (Flat::Bools(values), Scalar::Bool(value)) => values.push(value),
            (flat @ Flat::Empty, scalar) => {
                *flat = match scalar {
                    Scalar::Number(value) => Flat::Numbers(vec![value]),
                    Scalar::String(value) => Flat::Strings(vec![value]),
                    Scalar::Bool(value) => Flat::Bools(vec![value]),
                }
            }
            (flat, _) => {
                return Err(E::custom(format!(
                    "tensor data mixes {} with other kinds",
                    flat.kind()
                )));
            }
        }
        Ok(())
    }
}

enum Scalar {
    Number(Number),
    String(String),
    Bool(bool),
}

impl<'de> DeserializeSeed<'de> for Collect<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Collect<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("tensor data: numbers, strings or booleans, in arrays")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while seq.next_element_seed(Collect(&mut *self.0))?.is_some() {}
        Ok(())
    }

    fn visit_bool<E: de::Error>(self, value: bool) -> Result<(), E> {
        self.push(Scalar::Bool(value))
    }

    fn visit_i64<E: de::Error>(self, value: i64) -> Result<(), E> {
        self.push(Scalar::Number(value.into()))
    }

    fn visit_u64<E: de::Error>(self, value: u64) -> Result<(), E> {
        self.push(Scalar::Number(value.into()))
    }

    fn visit_f64<E: de::Error>(self, value: f64) -> Result<(), E> {
        let number =
            Number::from_f64(value).ok_or_else(|| E::custom("a number that is not finite"))?;
        self.push(Scalar::Number(number))
    }

    fn visit_str<E: de::Error>(self, value: &str) -> Result<(), E> {
        self.push(Scalar::String(value.to_owned()))
    }

    fn visit_string<E: de::Error>(self, value: String) -> Result<(), E> {
        self.push(Scalar::String(value))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::oip::TensorError;

    fn request(inputs: Vec<Tensor>) -> InferRequest {
        let outputs = vec![
            RequestedOutput { name: "scores".into(), binary: Some(true), classification: None },
            RequestedOutput { name: "top".into(), binary: None, classification: Some(3) },
        ];
        InferRequest { id: "7".into(), inputs, outputs, binary_outputs: true }
    }

    #[test]
    fn requests_and_answers_round_trip_in_json_and_as_binary_data() {
        let tensor = Tensor::fp32("tensor", vec![1, 2, 2], &[0.1, -2.5, 3e-7, 1e9]);
        let jpeg = Tensor::bytes("image", vec![2], &[&b"\xff\xd8\xff\xe0"[..], b"\x89PNG"]);
        let text = Tensor::bytes("text", vec![1], &["plain"]);
        let sent = request(vec![tensor, jpeg, text]);
        for binary in [false, true] {
            let (body, length) = encode_request(&sent, binary).unwrap();
            assert_eq!(length.is_some(), binary);
            assert_eq!(decode_request(&body, length).unwrap(), sent, "binary: {binary}");
        }
        // In JSON, a JPEG is base64 under content_type; text stays text.
        let (body, _) = encode_request(&sent, false).unwrap();
        let json: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(json["inputs"][1]["parameters"]["content_type"], "base64");
        assert_eq!(json["inputs"][1]["data"][0], "/9j/4A==");
        assert_eq!(json["inputs"][2]["data"], serde_json::json!(["plain"]));
        assert_eq!(json["outputs"][1]["parameters"]["classification"], 3);

        let answer = InferResponse {
            model_name: "resnet50".into(),
            model_version: "1.0".into(),
            id: "7".into(),
            outputs: vec![
                Output { tensor: Tensor::fp32("scores", vec![1, 2], &[1.5, -0.25]), binary: true },
                Output {
                    tensor: Tensor::bytes("top", vec![1, 1], &["1.5:0:tench"]),
                    binary: false,
                },
            ],
        };
        let (body, length) = encode_response(&answer).unwrap();
        let json_length = length.expect("a binary output");
        assert_eq!(body.len(), json_length + 8, "the scores' 8 bytes follow the JSON");
        assert_eq!(decode_response(&body, length).unwrap(), answer);
        let json: Value = serde_json::from_slice(&body[..json_length]).unwrap();
        assert_eq!(json["outputs"][0]["parameters"]["binary_data_size"], 8);
        assert!(json["outputs"][0].get("data").is_none());
        assert_eq!(json["outputs"][1]["data"], serde_json::json!(["1.5:0:tench"]));
    }

    #[test]
    fn json_data_may_be_nested_and_numbers_are_checked_against_the_datatype() {
        let body = br#"{"inputs": [
            {"name": "a", "shape": [2, 2], "datatype": "FP32", "data": [[1, 2.5], [-3, 4e2]]},
            {"name": "b", "shape": [3], "datatype": "INT8", "data": [-128, 0, 127]},
            {"name": "c", "shape": [2], "datatype": "BOOL", "data": [true, false]}
        ]}"#;
        let request = decode_request(&Bytes::from_static(body), None).unwrap();
        assert_eq!(request.inputs[0].to_f32().unwrap(), [1.0, 2.5, -3.0, 400.0]);
        assert_eq!(&request.inputs[1].data[..], [0x80, 0, 0x7f]);
        assert_eq!(&request.inputs[2].data[..], [1, 0]);
        assert!(request.outputs.is_empty() && request.id.is_empty() && !request.binary_outputs);
    }

    #[test]
    fn bodies_that_do_not_add_up_are_errors_that_say_so() {
        let fail = |body: &[u8], length: Option<usize>| {
            decode_request(&Bytes::copy_from_slice(body), length).unwrap_err()
        };
        let input = |rest: &str| format!(r#"{{"inputs": [{{"name": "t", {rest}}}]}}"#);
        let fp32 = |rest: &str| input(&format!(r#""shape": [2], "datatype": "FP32", {rest}"#));
        assert!(matches!(fail(b"{\"inputs\": [", None), OipError::Json(_)));
        assert!(matches!(fail(b"{}", Some(3)), OipError::HeaderPastBody { header: 3, body: 2 }));
        let header = fp32(r#""parameters": {"binary_data_size": 8}"#);
        let length = Some(header.len());
        let short = [header.as_bytes(), &[0; 4]].concat();
        assert!(matches!(fail(&short, length), OipError::BinaryShort { size: 8, left: 4, .. }));
        let long = [header.as_bytes(), &[0; 12]].concat();
        assert!(matches!(fail(&long, length), OipError::BinaryLeftOver { left: 4, .. }));
        let both = fp32(r#""parameters": {"binary_data_size": 8}, "data": [1, 2]"#);
        let both = [both.as_bytes(), &[0; 8]].concat();
        assert!(matches!(fail(&both, Some(both.len() - 8)), OipError::DataTwice(_)));
        let none = fp32(r#""parameters": {}"#);
        assert!(matches!(fail(none.as_bytes(), None), OipError::Tensor(TensorError::NoData(_))));
        let three = fp32(r#""data": [1, 2, 3]"#);
        assert!(matches!(
            fail(three.as_bytes(), None),
            OipError::Tensor(TensorError::SizeMismatch { .. })
        ));
        let text = fp32(r#""data": ["1", "2"]"#);
        assert!(matches!(
            fail(text.as_bytes(), None),
            OipError::Tensor(TensorError::WrongData { .. })
        ));
        let mixed = fp32(r#""data": [1, "2"]"#);
        assert!(matches!(fail(mixed.as_bytes(), None), OipError::Json(_)));
        let big = input(r#""shape": [1], "datatype": "UINT8", "data": [256]"#);
        assert!(matches!(fail(big.as_bytes(), None), OipError::NotANumberOf { .. }));
        let unknown = input(r#""shape": [1], "datatype": "FLOAT", "data": [1]"#);
        assert!(matches!(
            fail(unknown.as_bytes(), None),
            OipError::Tensor(TensorError::UnknownDatatype(_))
        ));
        let base64 = input(
            r#""shape": [1], "datatype": "BYTES", "parameters": {"content_type": "base64"}, "data": ["*"]"#,
        );
        assert!(matches!(fail(base64.as_bytes(), None), OipError::Base64(..)));
        let size = fp32(r#""parameters": {"binary_data_size": "8"}"#);
        assert!(matches!(fail(size.as_bytes(), Some(size.len())), OipError::Parameter { .. }));
    }
}
