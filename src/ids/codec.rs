//! `codec/...`: the codec stage alone (`benches/serialization.rs`).

use super::{Family, Group, Payload, family, named};
use crate::fixtures::{ImageSize, STUDY_SIZES};

/// Which way a codec runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Direction {
    /// A value to bytes.
    Encode,
    /// Bytes to a value.
    Decode,
}

impl Direction {
    /// Both directions.
    pub const ALL: [Self; 2] = [Self::Encode, Self::Decode];

    fn name(self) -> &'static str {
        match self {
            Self::Encode => "encode",
            Self::Decode => "decode",
        }
    }
}

/// A format for the study's messages.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Format {
    /// JSON (serde_json), REST's body.
    Json,
    /// Protobuf (prost), gRPC's message.
    Protobuf,
}

impl Format {
    /// Both formats.
    pub const ALL: [Self; 2] = [Self::Json, Self::Protobuf];

    fn name(self) -> &'static str {
        match self {
            Self::Json => "json",
            Self::Protobuf => "protobuf",
        }
    }
}

/// A way to carry the image alone.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Wrapping {
    /// As base64 text.
    Base64,
    /// As a multipart form's `data` field (TorchServe's form upload).
    Multipart,
}

impl Wrapping {
    /// Both wrappings.
    pub const ALL: [Self; 2] = [Self::Base64, Self::Multipart];

    fn name(self) -> &'static str {
        match self {
            Self::Base64 => "base64",
            Self::Multipart => "multipart",
        }
    }
}

/// A study message: one of its requests, or its one answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Message {
    /// A request, named as its payload.
    Request(Payload),
    /// `response`: the answer every server gives.
    Response,
}

/// A codec id.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum CodecId {
    /// `codec/{json,protobuf}_{encode,decode}/<payload or response>`.
    Message {
        /// The format.
        format: Format,
        /// Which way.
        direction: Direction,
        /// The message.
        message: Message,
    },
    /// `codec/raw_{encode,decode}/binary_<size>`: the binary request as REST's raw body.
    Raw {
        /// Which way.
        direction: Direction,
        /// The image's size.
        size: ImageSize,
    },
    /// `codec/{base64,multipart}_{encode,decode}/<size>`: the image alone, wrapped.
    Image {
        /// How it is wrapped.
        wrapping: Wrapping,
        /// Which way.
        direction: Direction,
        /// The image's size.
        size: ImageSize,
    },
}

family!(CodecId, Codec);

impl Family for CodecId {
    const GROUP: Group = Group::Codec;

    fn function(&self) -> String {
        let (codec, direction) = match self {
            Self::Message { format, direction, .. } => (format.name(), direction),
            Self::Raw { direction, .. } => ("raw", direction),
            Self::Image { wrapping, direction, .. } => (wrapping.name(), direction),
        };
        format!("{codec}_{}", direction.name())
    }

    fn parameter(&self) -> Option<String> {
        Some(match self {
            Self::Message { message: Message::Request(payload), .. } => payload.to_string(),
            Self::Message { message: Message::Response, .. } => "response".to_owned(),
            Self::Raw { size, .. } => Payload::Binary(*size).to_string(),
            Self::Image { size, .. } => size.to_string(),
        })
    }

    fn from_segments(segments: &[&str]) -> Option<Self> {
        let [function, parameter] = segments else { return None };
        let (codec, direction) = function.rsplit_once('_')?;
        let direction = named(&Direction::ALL, Direction::name, direction)?;
        if let Some(format) = named(&Format::ALL, Format::name, codec) {
            let message = match *parameter {
                "response" => Message::Response,
                payload => Message::Request(payload.parse().ok()?),
            };
            return Some(Self::Message { format, direction, message });
        }
        if codec == "raw" {
            let Ok(Payload::Binary(size)) = parameter.parse() else { return None };
            return Some(Self::Raw { direction, size });
        }
        let wrapping = named(&Wrapping::ALL, Wrapping::name, codec)?;
        Some(Self::Image { wrapping, direction, size: parameter.parse().ok()? })
    }

    fn all() -> Vec<Self> {
        let mut all = Vec::new();
        let messages = Payload::all().into_iter().map(Message::Request);
        for message in messages.chain([Message::Response]) {
            for format in Format::ALL {
                for direction in Direction::ALL {
                    all.push(Self::Message { format, direction, message });
                }
            }
        }
        for size in STUDY_SIZES {
            for direction in Direction::ALL {
                all.push(Self::Raw { direction, size });
                for wrapping in Wrapping::ALL {
                    all.push(Self::Image { wrapping, direction, size });
                }
            }
        }
        all
    }
}
