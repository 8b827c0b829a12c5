//! The Open Inference Protocol's messages (KServe's "v2" protocol: Triton, KServe, MLServer,
//! Seldon): tensors, inference requests and answers, model metadata, and how they become bytes
//! over REST ([`rest`]: JSON, with the binary tensor data extension) and gRPC ([`grpc`]:
//! `inference.GRPCInferenceService`'s messages).
//!
//! Every tensor is held as the protocol's binary layout ([`Tensor::data`]): its elements
//! little-endian and row-major, a `BYTES` element as a 4-byte little-endian length and its
//! bytes. That is what the binary extension and gRPC's raw contents carry as they are, so those
//! paths slice and never convert; JSON's numbers and gRPC's typed contents are converted to it.
//! Client and server share these types: the same bytes leave one and enter the other.

pub mod grpc;
pub mod rest;

use std::fmt;
use std::str::FromStr;

use bytes::{BufMut, Bytes, BytesMut};
use serde::{Deserialize, Serialize};

/// A tensor's element type, as the protocol names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Datatype {
    /// `BOOL`: one byte, 0 or 1.
    Bool,
    /// `UINT8`.
    Uint8,
    /// `UINT16`.
    Uint16,
    /// `UINT32`.
    Uint32,
    /// `UINT64`.
    Uint64,
    /// `INT8`.
    Int8,
    /// `INT16`.
    Int16,
    /// `INT32`.
    Int32,
    /// `INT64`.
    Int64,
    /// `FP16`: only in binary form (JSON and gRPC's typed contents have no 16-bit float).
    Fp16,
    /// `FP32`.
    Fp32,
    /// `FP64`.
    Fp64,
    /// `BYTES`: each element a byte string of its own length.
    Bytes,
}

impl Datatype {
    const ALL: [(Self, &'static str); 13] = [
        (Self::Bool, "BOOL"),
        (Self::Uint8, "UINT8"),
        (Self::Uint16, "UINT16"),
        (Self::Uint32, "UINT32"),
        (Self::Uint64, "UINT64"),
        (Self::Int8, "INT8"),
        (Self::Int16, "INT16"),
        (Self::Int32, "INT32"),
        (Self::Int64, "INT64"),
        (Self::Fp16, "FP16"),
        (Self::Fp32, "FP32"),
        (Self::Fp64, "FP64"),
        (Self::Bytes, "BYTES"),
    ];

    /// The protocol's name: `FP32`, `BYTES`.
    pub fn name(self) -> &'static str {
        Self::ALL
            .iter()
            .find(|(datatype, _)| *datatype == self)
            .map(|(_, name)| *name)
            .unwrap_or("")
    }

    /// Bytes an element takes in binary form; none for `BYTES`, whose elements vary.
    pub fn size(self) -> Option<usize> {
        Some(match self {
            Self::Bool | Self::Uint8 | Self::Int8 => 1,
            Self::Uint16 | Self::Int16 | Self::Fp16 => 2,
            Self::Uint32 | Self::Int32 | Self::Fp32 => 4,
            Self::Uint64 | Self::Int64 | Self::Fp64 => 8,
            Self::Bytes => return None,
        })
    }
}

impl fmt::Display for Datatype {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Datatype {
    type Err = TensorError;

    fn from_str(text: &str) -> Result<Self, TensorError> {
        Self::ALL
            .iter()
            .find(|(_, name)| *name == text)
            .map(|(datatype, _)| *datatype)
            .ok_or_else(|| TensorError::UnknownDatatype(text.to_owned()))
    }
}

/// Why a tensor is not what its header says.
#[derive(Debug, thiserror::Error)]
pub enum TensorError {
    /// A datatype the protocol does not have.
    #[error("unknown datatype {0:?}")]
    UnknownDatatype(String),
    /// A dimension below zero, or a shape whose element count overflows.
    #[error("tensor {name}: shape {shape:?} is not a shape")]
    BadShape {
        /// The tensor.
        name: String,
        /// Its shape.
        shape: Vec<i64>,
    },
    /// Data whose size is not the shape's.
    #[error(
        "tensor {name}: shape {shape:?} of {datatype} takes {expected} bytes, the data has {got}"
    )]
    SizeMismatch {
        /// The tensor.
        name: String,
        /// Its shape.
        shape: Vec<i64>,
        /// Its datatype.
        datatype: Datatype,
        /// Bytes the shape takes.
        expected: usize,
        /// Bytes the data has.
        got: usize,
    },
    /// `BYTES` data holding another number of elements than the shape, or cut inside one.
    #[error("tensor {name}: shape {shape:?} holds {expected} BYTES elements, the data {got}")]
    ElementCount {
        /// The tensor.
        name: String,
        /// Its shape.
        shape: Vec<i64>,
        /// Elements the shape holds.
        expected: usize,
        /// What the data holds (whole elements; a cut one makes it disagree).
        got: String,
    },
    /// Elements given in a form the datatype cannot take (text for `FP32`, numbers for `BYTES`).
    #[error("tensor {name}: {datatype} data cannot be {given}")]
    WrongData {
        /// The tensor.
        name: String,
        /// Its datatype.
        datatype: Datatype,
        /// What was given.
        given: &'static str,
    },
    /// A tensor without data.
    #[error("tensor {0}: no data")]
    NoData(String),
}

/// Why an OIP message could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum OipError {
    /// Not JSON, or JSON of the wrong shape.
    #[error("malformed JSON")]
    Json(#[from] serde_json::Error),
    /// A tensor that is not what its header says.
    #[error(transparent)]
    Tensor(#[from] TensorError),
    /// An `Inference-Header-Content-Length` longer than the body.
    #[error("Inference-Header-Content-Length says {header} bytes of JSON; the body has {body}")]
    HeaderPastBody {
        /// The header's length.
        header: usize,
        /// The body's.
        body: usize,
    },
    /// A tensor whose `binary_data_size` runs past the binary data.
    #[error(
        "tensor {tensor}: binary_data_size {size} runs past the {left} bytes of binary data left"
    )]
    BinaryShort {
        /// The tensor.
        tensor: String,
        /// Its binary_data_size.
        size: usize,
        /// The binary bytes left for it.
        left: usize,
    },
    /// Binary data no tensor's `binary_data_size` accounts for.
    #[error(
        "{left} bytes of binary data follow the JSON that no {tensors}' binary_data_size claims"
    )]
    BinaryLeftOver {
        /// Bytes unclaimed.
        left: usize,
        /// `inputs` or `outputs`.
        tensors: &'static str,
    },
    /// A tensor with data in the JSON and as binary data.
    #[error("tensor {0}: data given both in the JSON and as binary data")]
    DataTwice(String),
    /// A parameter of the wrong type.
    #[error("parameter {name}: expected {expected}")]
    Parameter {
        /// The parameter.
        name: &'static str,
        /// What it should be.
        expected: &'static str,
    },
    /// A JSON number that is not an element of the tensor's datatype.
    #[error("tensor {tensor}: {value} is not {datatype}")]
    NotANumberOf {
        /// The tensor.
        tensor: String,
        /// Its datatype.
        datatype: Datatype,
        /// The number.
        value: String,
    },
    /// Base64 text that does not decode, under `content_type: base64`.
    #[error("tensor {0}: its content_type is base64, its data is not")]
    Base64(String, #[source] crate::codec::CodecError),
    /// `FP16` asked to travel inside JSON, which has no 16-bit float.
    #[error("tensor {0}: FP16 travels only as binary data (raw contents over gRPC)")]
    NotInJson(String),
    /// gRPC: raw contents for some tensors but not all.
    #[error("{raw} raw contents for {tensors} tensors: one per tensor, or none")]
    RawCount {
        /// Entries in the raw contents.
        raw: usize,
        /// Tensors.
        tensors: usize,
    },
    /// gRPC: a tensor with typed contents as well as raw contents.
    #[error("tensor {0}: contents given as well as raw contents")]
    ContentsAndRaw(String),
}

/// One tensor: its name, datatype, shape, and its elements in the protocol's binary layout.
#[derive(Clone, Debug, PartialEq)]
pub struct Tensor {
    /// The input's or output's name.
    pub name: String,
    /// The element type.
    pub datatype: Datatype,
    /// The dimensions, outermost first.
    pub shape: Vec<i64>,
    /// The elements, little-endian, row-major; `BYTES` elements each behind a `u32` length.
    pub data: Bytes,
}

impl Tensor {
    /// An `FP32` tensor of `values`, which must hold the shape's elements.
    pub fn fp32(name: &str, shape: Vec<i64>, values: &[f32]) -> Self {
        let mut data = BytesMut::with_capacity(values.len() * 4);
        for value in values {
            data.put_f32_le(*value);
        }
        Self { name: name.to_owned(), datatype: Datatype::Fp32, shape, data: data.freeze() }
    }

    /// A `BYTES` tensor of `elements`, which must hold the shape's elements.
    pub fn bytes<E: AsRef<[u8]>>(name: &str, shape: Vec<i64>, elements: &[E]) -> Self {
        let length: usize = elements.iter().map(|element| 4 + element.as_ref().len()).sum();
        let mut data = BytesMut::with_capacity(length);
        for element in elements {
            let element = element.as_ref();
            data.put_u32_le(u32::try_from(element.len()).expect("an element under 4 GiB"));
            data.put_slice(element);
        }
        Self { name: name.to_owned(), datatype: Datatype::Bytes, shape, data: data.freeze() }
    }

    /// A tensor from its parts, checked: the data must be exactly what the shape holds.
    pub fn new(
        name: String,
        datatype: Datatype,
        shape: Vec<i64>,
        data: Bytes,
    ) -> Result<Self, TensorError> {
        let tensor = Self { name, datatype, shape, data };
        tensor.check()?;
        Ok(tensor)
    }

    /// How many elements the shape holds.
    pub fn elements(&self) -> Result<usize, TensorError> {
        elements(&self.name, &self.shape)
    }

    /// Whether the data is exactly what the shape holds.
    pub fn check(&self) -> Result<(), TensorError> {
        match self.datatype.size() {
            Some(size) => {
                let expected =
                    self.elements()?.checked_mul(size).ok_or_else(|| self.bad_shape())?;
                if expected != self.data.len() {
                    return Err(TensorError::SizeMismatch {
                        name: self.name.clone(),
                        shape: self.shape.clone(),
                        datatype: self.datatype,
                        expected,
                        got: self.data.len(),
                    });
                }
                Ok(())
            }
            None => self.byte_elements().map(drop),
        }
    }

    /// An `FP32` tensor's elements.
    pub fn to_f32(&self) -> Result<Vec<f32>, TensorError> {
        self.expect(Datatype::Fp32)?;
        self.check()?;
        Ok(self
            .data
            .chunks_exact(4)
            .map(|bytes| f32::from_le_bytes(bytes.try_into().expect("chunks of 4")))
            .collect())
    }

    /// A `BYTES` tensor's elements, sliced from its data (no copy).
    pub fn byte_elements(&self) -> Result<Vec<Bytes>, TensorError> {
        self.expect(Datatype::Bytes)?;
        let expected = self.elements()?;
        let count = |got: String| TensorError::ElementCount {
            name: self.name.clone(),
            shape: self.shape.clone(),
            expected,
            got,
        };
        let mut elements = Vec::with_capacity(expected.min(1 << 16));
        let mut rest = self.data.clone();
        while !rest.is_empty() {
            let Some(length) = rest.get(..4) else {
                return Err(count(format!("{} and 1-3 stray bytes", elements.len())));
            };
            let length = u32::from_le_bytes(length.try_into().expect("4 bytes")) as usize;
            if rest.len() - 4 < length {
                return Err(count(format!("{} and one cut short", elements.len())));
            }
            elements.push(rest.slice(4..4 + length));
            rest = rest.slice(4 + length..);
        }
        if elements.len() != expected {
            return Err(count(elements.len().to_string()));
        }
        Ok(elements)
    }

    fn expect(&self, datatype: Datatype) -> Result<(), TensorError> {
        if self.datatype == datatype {
            return Ok(());
        }
        Err(TensorError::WrongData {
            name: self.name.clone(),
            datatype: self.datatype,
            given: match datatype {
                Datatype::Bytes => "read as BYTES",
                _ => "read as FP32",
            },
        })
    }

    fn bad_shape(&self) -> TensorError {
        TensorError::BadShape { name: self.name.clone(), shape: self.shape.clone() }
    }
}

/// How many elements `shape` holds: the product of its dimensions, none negative.
fn elements(name: &str, shape: &[i64]) -> Result<usize, TensorError> {
    let bad = || TensorError::BadShape { name: name.to_owned(), shape: shape.to_vec() };
    shape.iter().try_fold(1usize, |product, &dimension| {
        let dimension = usize::try_from(dimension).map_err(|_| bad())?;
        product.checked_mul(dimension).ok_or_else(bad)
    })
}

/// An output the client asks for, and how.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RequestedOutput {
    /// The output's name.
    pub name: String,
    /// REST only: whether it comes back as binary data after the JSON (the binary tensor data
    /// extension's `binary_data`); none: the request's default.
    pub binary: Option<bool>,
    /// The classification extension: the top `n` classes as `BYTES` strings
    /// `<value>:<index>[:<label>]` instead of the output itself.
    pub classification: Option<usize>,
}

/// An inference request, whichever API carried it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct InferRequest {
    /// The request's id, echoed in the answer; empty: none.
    pub id: String,
    /// The inputs.
    pub inputs: Vec<Tensor>,
    /// The outputs asked for; none: every output, as the request's default says.
    pub outputs: Vec<RequestedOutput>,
    /// REST only: outputs come back as binary data unless they say otherwise (the extension's
    /// request parameter `binary_data_output`).
    pub binary_outputs: bool,
}

/// An output of an answer, and (REST only) whether it travels as binary data.
#[derive(Clone, Debug, PartialEq)]
pub struct Output {
    /// The tensor.
    pub tensor: Tensor,
    /// Whether it follows the JSON as binary data rather than inside it.
    pub binary: bool,
}

/// An inference answer.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct InferResponse {
    /// The model that answered.
    pub model_name: String,
    /// Its version.
    pub model_version: String,
    /// The request's id; empty: it had none.
    pub id: String,
    /// The outputs.
    pub outputs: Vec<Output>,
}

/// A tensor a model takes or gives: name, datatype, shape (-1: any size).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TensorMetadata {
    /// The name.
    pub name: String,
    /// The datatype's name.
    pub datatype: String,
    /// The shape; -1 for a dimension of any size.
    pub shape: Vec<i64>,
}

/// What `GET /v2/models/{model}` and `ModelMetadata` answer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModelMetadata {
    /// The model.
    pub name: String,
    /// The versions it is served at.
    #[serde(default)]
    pub versions: Vec<String>,
    /// Its framework (Triton's names: `pytorch_libtorch` for TorchScript).
    pub platform: String,
    /// What it takes.
    pub inputs: Vec<TensorMetadata>,
    /// What it gives.
    pub outputs: Vec<TensorMetadata>,
}

/// What `GET /v2` and `ServerMetadata` answer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServerMetadata {
    /// The server.
    pub name: String,
    /// Its version.
    pub version: String,
    /// The protocol extensions it has (`binary_tensor_data`, `classification`).
    #[serde(default)]
    pub extensions: Vec<String>,
}

/// The classification extension's element: `<value>:<index>:<label>` (or without `:<label>`).
pub fn classification(value: f32, index: usize, label: Option<&str>) -> String {
    match label {
        Some(label) => format!("{value}:{index}:{label}"),
        None => format!("{value}:{index}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tensors_hold_what_their_shape_says() {
        let scores = Tensor::fp32("scores", vec![1, 3], &[0.5, -1.0, 2.0]);
        assert_eq!(scores.data.len(), 12);
        assert_eq!(scores.to_f32().unwrap(), [0.5, -1.0, 2.0]);
        let images = Tensor::bytes("image", vec![2], &[&b"jpeg"[..], b""]);
        assert_eq!(&images.data[..], b"\x04\0\0\0jpeg\0\0\0\0");
        assert_eq!(images.byte_elements().unwrap(), [Bytes::from_static(b"jpeg"), Bytes::new()]);

        let short = Tensor { shape: vec![1, 4], ..scores.clone() };
        assert!(matches!(
            short.check(),
            Err(TensorError::SizeMismatch { expected: 16, got: 12, .. })
        ));
        let negative = Tensor { shape: vec![-1, 3], ..scores.clone() };
        assert!(matches!(negative.check(), Err(TensorError::BadShape { .. })));
        let huge = Tensor { shape: vec![i64::MAX, i64::MAX], ..scores };
        assert!(matches!(huge.check(), Err(TensorError::BadShape { .. })));
        let cut = Tensor { data: images.data.slice(..7), ..images.clone() };
        assert!(matches!(cut.check(), Err(TensorError::ElementCount { .. })), "{:?}", cut.check());
        let three = Tensor { shape: vec![3], ..images.clone() };
        assert!(matches!(three.check(), Err(TensorError::ElementCount { .. })));
        assert!(matches!(images.to_f32(), Err(TensorError::WrongData { .. })));
    }

    #[test]
    fn datatypes_have_the_protocols_names() {
        for (datatype, name) in Datatype::ALL {
            assert_eq!(name.parse::<Datatype>().unwrap(), datatype);
            assert_eq!(datatype.to_string(), name);
        }
        assert!("FLOAT32".parse::<Datatype>().is_err());
        assert_eq!(classification(2.5, 7, Some("tench")), "2.5:7:tench");
    }
}
