//! The study's requests as id segments: `basic`, `base64_<size>`, `binary_<size>`.

use std::fmt;
use std::str::FromStr;

use super::IdError;
use crate::fixtures::{self, ImageSize, ImageSpec, STUDY_SIZES};
use crate::messages::StudyRequest;

/// One of the study's requests: its type and, for an image, the noise JPEG's size.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Payload {
    /// `basic`: small structured data.
    Basic,
    /// `base64_<size>`: the image as base64 text in JSON or protobuf.
    Base64(ImageSize),
    /// `binary_<size>`: the image as raw bytes.
    Binary(ImageSize),
}

impl Payload {
    /// Every request the study sends: basic, then base64 and binary at each study size.
    pub fn all() -> Vec<Self> {
        let images = STUDY_SIZES.iter().flat_map(|&size| [Self::Base64(size), Self::Binary(size)]);
        std::iter::once(Self::Basic).chain(images).collect()
    }

    /// The request itself, made from the fixtures.
    pub fn request(self) -> StudyRequest {
        let jpeg = |size| fixtures::image(ImageSpec::study(size));
        match self {
            Self::Basic => StudyRequest::Basic(fixtures::basic_request()),
            Self::Base64(size) => StudyRequest::Base64(fixtures::base64_request(&jpeg(size))),
            Self::Binary(size) => StudyRequest::Binary(fixtures::binary_request(jpeg(size))),
        }
    }
}

impl fmt::Display for Payload {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Basic => f.write_str("basic"),
            Self::Base64(size) => write!(f, "base64_{size}"),
            Self::Binary(size) => write!(f, "binary_{size}"),
        }
    }
}

impl FromStr for Payload {
    type Err = IdError;

    fn from_str(text: &str) -> Result<Self, IdError> {
        let image = |size: &str| size.parse::<ImageSize>().ok();
        match text.split_once('_') {
            None if text == "basic" => Some(Self::Basic),
            Some(("base64", size)) => image(size).map(Self::Base64),
            Some(("binary", size)) => image(size).map(Self::Binary),
            _ => None,
        }
        .ok_or_else(|| IdError(text.to_owned()))
    }
}
