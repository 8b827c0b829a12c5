//! The study's wire messages, generated from `proto/study.proto`, and the one enum that lets
//! clients, servers and benches handle the three request types alike; TorchServe's gRPC
//! inference API ([`torchserve`], from `proto/torchserve.proto`); and the Open Inference
//! Protocol's ([`inference`], from `proto/inference.proto`).
//!
//! The generated types derive both `prost::Message` (gRPC) and serde (REST's JSON, with the proto
//! field names as keys), maps are `BTreeMap`s (deterministic JSON) and `bytes` fields are
//! `bytes::Bytes` (zero-copy protobuf decoding).

#![allow(missing_docs)]

tonic::include_proto!("ai.statsbomb.com");

/// TorchServe's gRPC inference API: `org.pytorch.serve.grpc.inference.InferenceAPIsService`.
pub use org::pytorch::serve::grpc::inference as torchserve;

// Generated code names other packages by relative path, so the modules mirror the packages.
#[doc(hidden)]
pub mod org {
    pub mod pytorch {
        pub mod serve {
            pub mod grpc {
                pub mod inference {
                    tonic::include_proto!("org.pytorch.serve.grpc.inference");
                }
            }
        }
    }
}

/// The Open Inference Protocol's gRPC API (KServe's v2, Triton's):
/// `inference.GRPCInferenceService`.
pub mod inference {
    tonic::include_proto!("inference");
}

/// `google.rpc`: the `Status` message TorchServe's answers may carry.
pub mod google {
    /// `google.rpc.Status`.
    pub mod rpc {
        tonic::include_proto!("google.rpc");
    }
}

/// One request of the study, whichever of its three types.
#[derive(Clone, Debug, PartialEq)]
pub enum StudyRequest {
    /// Small structured data: `POST /basic`, `BenchmarkBasicRequest`.
    Basic(BasicRequest),
    /// An image as base64 text: `POST /base64`, `BenchmarkB64Image`.
    Base64(ImageBase64Request),
    /// An image as raw bytes: `POST /binary` (the body is the image), `BenchmarkBinaryImage`.
    Binary(ImageBinaryRequest),
}

impl StudyRequest {
    /// The request type's name, its REST path: `/basic`, `/base64`, `/binary`.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Basic(_) => "basic",
            Self::Base64(_) => "base64",
            Self::Binary(_) => "binary",
        }
    }
}
