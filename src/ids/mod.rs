//! Bench ids, the suite's interface: reports, `servebench compare` and stored baselines key on
//! them, so they are built and parsed here and nowhere else. Each family of ids is a type with
//! [`Display`](fmt::Display) and [`FromStr`]: benches name what they measure with these values,
//! the report looks results up by them, and the tests check that every id round-trips and that
//! every id the report reads is one a bench makes.
//!
//! An id is `<group>/<function>[/<parameter>]`, the three parts Criterion files results under
//! (its folders are named after them, so the split of an id is part of the interface too):
//!
//! | family | ids |
//! |---|---|
//! | [`CodecId`] | `codec/{json,protobuf}_{encode,decode}/<payload or response>`, `codec/raw_{encode,decode}/binary_<size>`, `codec/{base64,multipart}_{encode,decode}/<size>` |
//! | [`TransportId`] | `transport/{tcp_floor,rest_h1,rest_h2,grpc}[+<configuration>]/<payload>/c<concurrency>` |
//! | [`VisionId`] | `vision/{decode,resize,crop_normalize,preprocess}/<scene>_<encoding>_<size>` |
//! | [`InferenceId`] | `inference/batch/b<n>`, `inference/<model>_<device>/b<n>`, `inference/{h2d,d2h}_cuda/b<n>` |
//! | [`PostprocessId`] | `postprocess/{softmax,top_k,classify,classify_json}/imagenet` |
//! | [`EndToEndId`] | `end_to_end/<route>/<size>/<setup>` |
//!
//! `servebench load` runs are not Criterion benches; their keys ([`Workload`], [`Load`],
//! [`LoadId`]: `load/<workload>/<load>`) are built and parsed here all the same.
//!
//! A new dimension (a transport configuration, a link, a load point) is a new field of a family
//! here, never a string built in a bench.

mod codec;
mod end_to_end;
mod inference;
mod load;
mod payload;
mod postprocess;
mod transport;
mod vision;

use std::fmt;
use std::str::FromStr;

pub use codec::{CodecId, Direction, Format, Message, Wrapping};
pub use end_to_end::{Design, EndToEndId, Setup};
pub use inference::{BATCHES, Device, InferenceId, Model};
pub use load::{Arrivals, Load, LoadId, Workload};
pub use payload::Payload;
pub use postprocess::PostprocessId;
pub use transport::{Carrier, TransportId, TransportSet};
pub use vision::{VisionId, VisionStep};

/// A text that is not a bench id servebench makes.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a servebench bench id")]
pub struct IdError(pub String);

/// The first segment of an id: the stage measured, and the Criterion group it is filed under.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Group {
    /// The codec stage alone (`benches/serialization.rs`).
    Codec,
    /// Client to server and back over each protocol (`benches/transport.rs`).
    Transport,
    /// The vision stage alone (`benches/vision.rs`).
    Vision,
    /// The inference stage alone (`benches/inference.rs`).
    Inference,
    /// The postprocess stage alone (`benches/postprocess.rs`).
    Postprocess,
    /// A model server end to end (`benches/end_to_end.rs`).
    EndToEnd,
}

impl Group {
    /// Every group, in report order.
    pub const ALL: [Self; 6] = [
        Self::Codec,
        Self::Transport,
        Self::Vision,
        Self::Inference,
        Self::Postprocess,
        Self::EndToEnd,
    ];

    /// The group's name, the first segment of its ids.
    pub fn name(self) -> &'static str {
        match self {
            Self::Codec => "codec",
            Self::Transport => "transport",
            Self::Vision => "vision",
            Self::Inference => "inference",
            Self::Postprocess => "postprocess",
            Self::EndToEnd => "end_to_end",
        }
    }

    /// The bench target (`cargo bench --bench NAME`) that makes the group's ids.
    pub fn bench(self) -> &'static str {
        match self {
            Self::Codec => "serialization",
            Self::Transport => "transport",
            Self::Vision => "vision",
            Self::Inference => "inference",
            Self::Postprocess => "postprocess",
            Self::EndToEnd => "end_to_end",
        }
    }
}

impl fmt::Display for Group {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One family of ids: the group it belongs to and how its values split into Criterion's
/// function and parameter.
pub trait Family: Copy + Ord + Into<BenchId> {
    /// The group every id of the family is in.
    const GROUP: Group;

    /// Criterion's function id: the id's segments after the group, up to the parameter.
    fn function(&self) -> String;

    /// Criterion's parameter (its "value"), where the family has one.
    fn parameter(&self) -> Option<String>;

    /// The id from its segments after the group; `None` when they name no id of the family.
    fn from_segments(segments: &[&str]) -> Option<Self>;

    /// Every id of the family a bench can make, on any machine (the CUDA ids and those of an
    /// external server included).
    fn all() -> Vec<Self>;
}

/// Any bench id.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum BenchId {
    /// `codec/...`
    Codec(CodecId),
    /// `transport/...`
    Transport(TransportId),
    /// `vision/...`
    Vision(VisionId),
    /// `inference/...`
    Inference(InferenceId),
    /// `postprocess/...`
    Postprocess(PostprocessId),
    /// `end_to_end/...`
    EndToEnd(EndToEndId),
}

/// Calls `$body` with the family id inside a [`BenchId`].
macro_rules! each_family {
    ($id:expr, $inner:ident => $body:expr) => {
        match $id {
            BenchId::Codec($inner) => $body,
            BenchId::Transport($inner) => $body,
            BenchId::Vision($inner) => $body,
            BenchId::Inference($inner) => $body,
            BenchId::Postprocess($inner) => $body,
            BenchId::EndToEnd($inner) => $body,
        }
    };
}

impl BenchId {
    /// The group the id is in.
    pub fn group(&self) -> Group {
        fn group_of<F: Family>(_: &F) -> Group {
            F::GROUP
        }
        each_family!(self, id => group_of(id))
    }

    /// Criterion's function id.
    pub fn function(&self) -> String {
        each_family!(self, id => id.function())
    }

    /// Criterion's parameter, where there is one.
    pub fn parameter(&self) -> Option<String> {
        each_family!(self, id => id.parameter())
    }

    /// Whether only a machine with a CUDA device makes the id.
    pub fn needs_cuda(&self) -> bool {
        match self {
            Self::Inference(id) => id.device() == Device::Cuda,
            Self::EndToEnd(id) => id.setup.device() == Some(Device::Cuda),
            _ => false,
        }
    }

    /// Whether only a run against an external server makes the id.
    pub fn needs_external_server(&self) -> bool {
        matches!(self, Self::EndToEnd(id) if id.setup == Setup::External)
    }

    /// Every id any bench can make, family by family.
    pub fn all() -> Vec<Self> {
        let mut all = Vec::new();
        all.extend(CodecId::all().into_iter().map(Self::from));
        all.extend(TransportId::all().into_iter().map(Self::from));
        all.extend(VisionId::all().into_iter().map(Self::from));
        all.extend(InferenceId::all().into_iter().map(Self::from));
        all.extend(PostprocessId::all().into_iter().map(Self::from));
        all.extend(EndToEndId::all().into_iter().map(Self::from));
        all
    }
}

impl fmt::Display for BenchId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        each_family!(self, id => fmt::Display::fmt(id, f))
    }
}

impl FromStr for BenchId {
    type Err = IdError;

    fn from_str(text: &str) -> Result<Self, IdError> {
        let group = text.split('/').next().unwrap_or_default();
        match Group::ALL.into_iter().find(|g| g.name() == group) {
            Some(Group::Codec) => text.parse().map(Self::Codec),
            Some(Group::Transport) => text.parse().map(Self::Transport),
            Some(Group::Vision) => text.parse().map(Self::Vision),
            Some(Group::Inference) => text.parse().map(Self::Inference),
            Some(Group::Postprocess) => text.parse().map(Self::Postprocess),
            Some(Group::EndToEnd) => text.parse().map(Self::EndToEnd),
            None => Err(IdError(text.to_owned())),
        }
    }
}

impl serde::Serialize for BenchId {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// Writes the one form every id has: `group/function[/parameter]`.
fn write_id<F: Family>(id: &F, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    write!(f, "{}/{}", F::GROUP.name(), id.function())?;
    match id.parameter() {
        Some(parameter) => write!(f, "/{parameter}"),
        None => Ok(()),
    }
}

/// Reads what [`write_id`] writes.
fn parse_id<F: Family>(text: &str) -> Result<F, IdError> {
    let segments: Vec<&str> = text.split('/').collect();
    match segments.split_first() {
        Some((group, rest)) if *group == F::GROUP.name() => F::from_segments(rest),
        _ => None,
    }
    .ok_or_else(|| IdError(text.to_owned()))
}

/// Display, FromStr, serde (as the id's text) and the way into [`BenchId`] for a family.
macro_rules! family {
    ($family:ident, $variant:ident) => {
        impl ::std::fmt::Display for $family {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                super::write_id(self, f)
            }
        }

        impl ::std::str::FromStr for $family {
            type Err = super::IdError;

            fn from_str(text: &str) -> Result<Self, super::IdError> {
                super::parse_id(text)
            }
        }

        impl From<$family> for super::BenchId {
            fn from(id: $family) -> Self {
                Self::$variant(id)
            }
        }

        super::as_text!($family);
    };
}
use family;

/// serde as the value's text: written by its `Display`, read by its `FromStr`.
macro_rules! as_text {
    ($type:ident) => {
        impl ::serde::Serialize for $type {
            fn serialize<S: ::serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.collect_str(self)
            }
        }

        impl<'de> ::serde::Deserialize<'de> for $type {
            fn deserialize<D: ::serde::Deserializer<'de>>(
                deserializer: D,
            ) -> Result<Self, D::Error> {
                let text = <::std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
                text.parse().map_err(::serde::de::Error::custom)
            }
        }
    };
}
pub(crate) use as_text;

/// The value of `all` named `text` by `name`.
fn named<T: Copy>(all: &[T], name: impl Fn(T) -> &'static str, text: &str) -> Option<T> {
    crate::error::by_name("id segment", all, name, text).ok()
}

/// `b8` or `c20`: a count after a one-letter prefix, in its one canonical form.
fn counted(prefix: char, text: &str) -> Option<usize> {
    let digits = text.strip_prefix(prefix)?;
    (!digits.starts_with(['0', '+'])).then(|| digits.parse().ok()).flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_id_round_trips_and_is_unique() {
        let all = BenchId::all();
        let mut texts: Vec<String> = all.iter().map(ToString::to_string).collect();
        for (id, text) in all.iter().zip(&texts) {
            assert_eq!(text.parse::<BenchId>().as_ref(), Ok(id), "{text}");
            let parts = [Some(id.group().name().to_owned()), Some(id.function()), id.parameter()];
            assert_eq!(parts.into_iter().flatten().collect::<Vec<_>>().join("/"), *text);
        }
        texts.sort();
        texts.dedup();
        assert_eq!(texts.len(), all.len(), "two ids print the same");
    }

    #[test]
    fn ids_read_as_they_always_have() {
        let id = |text: &str| text.parse::<BenchId>().map(|id| id.to_string());
        for text in [
            "codec/json_encode/basic",
            "codec/protobuf_decode/binary_720x1280",
            "codec/json_decode/response",
            "codec/raw_encode/binary_360x640",
            "codec/base64_decode/1080x1920",
            "codec/multipart_encode/720x1280",
            "transport/rest_h1/base64_1080x1920/c20",
            "transport/grpc/basic/c1",
            "vision/crop_normalize/noise_jpeg_720x1280",
            "vision/preprocess/smooth_png_360x640",
            "inference/batch/b20",
            "inference/densenet161_cuda/b8",
            "inference/h2d_cuda/b1",
            "postprocess/classify_json/imagenet",
            "end_to_end/rest_h2_multipart/360x640/cpu_b8",
            "end_to_end/grpc_raw/1080x1920/external",
        ] {
            assert_eq!(id(text).as_deref(), Ok(text));
        }
        for wrong in [
            "",
            "codec",
            "codec/raw_encode/basic",
            "codec/base64_encode/basic",
            "codec/json_encode/360x640",
            "transport/grpc/basic/c01",
            "transport/grpc/response/c1",
            "vision/resize/smooth_gif_360x640",
            "inference/h2d_cpu/b1",
            "end_to_end/grpc_raw/360x640/cpu_b1/extra",
            "other/x/y",
        ] {
            assert!(wrong.parse::<BenchId>().is_err(), "{wrong} parsed");
        }
    }
}
