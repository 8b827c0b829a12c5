//! `vision/...`: TorchServe's image preprocessing step by step (`benches/vision.rs`).

use super::{Family, Group, family, named};
use crate::fixtures::{Encoding, ImageSpec, STUDY_SIZES, Scene};

/// A step of the vision stage.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum VisionStep {
    /// The file's bytes to pixels.
    Decode,
    /// Resize(256) of the decoded image.
    Resize,
    /// CenterCrop(224) + ToTensor + Normalize of the resized image.
    CropNormalize,
    /// All of it, from the file's bytes.
    Preprocess,
    /// The file's bytes to pixels at a fraction of the size (`DecodeMode::Scaled`).
    DecodeScaled,
    /// All of it, decoding at a fraction of the size (`DecodeMode::Scaled`).
    PreprocessScaled,
}

impl VisionStep {
    /// Every step: the exact path in pipeline order (the whole last), then the scaled decode's.
    pub const ALL: [Self; 6] = [
        Self::Decode,
        Self::Resize,
        Self::CropNormalize,
        Self::Preprocess,
        Self::DecodeScaled,
        Self::PreprocessScaled,
    ];

    fn name(self) -> &'static str {
        match self {
            Self::Decode => "decode",
            Self::Resize => "resize",
            Self::CropNormalize => "crop_normalize",
            Self::Preprocess => "preprocess",
            Self::DecodeScaled => "decode_scaled",
            Self::PreprocessScaled => "preprocess_scaled",
        }
    }

    /// Whether the bench measures this step on images encoded so: past decoding, a PNG's
    /// pixels cost what the JPEG's do, so only decode and the whole are measured on PNGs, and
    /// only JPEGs decode at a fraction of their size.
    pub fn measured_on(self, encoding: Encoding) -> bool {
        encoding == Encoding::Jpeg || matches!(self, Self::Decode | Self::Preprocess)
    }
}

/// `vision/<step>/<scene>_<encoding>_<size>`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct VisionId {
    /// The step.
    pub step: VisionStep,
    /// The image it runs on.
    pub image: ImageSpec,
}

impl VisionId {
    /// The kinds of image the bench measures at each study size: the study's noise JPEG, and
    /// a smooth image (compressing like a photo) as JPEG and PNG.
    pub const IMAGES: [(Scene, Encoding); 3] = [
        (Scene::Noise, Encoding::Jpeg),
        (Scene::Smooth, Encoding::Jpeg),
        (Scene::Smooth, Encoding::Png),
    ];

    /// Every image the bench measures, size by size.
    pub fn images() -> Vec<ImageSpec> {
        STUDY_SIZES
            .iter()
            .flat_map(|&size| {
                Self::IMAGES.map(|(scene, encoding)| ImageSpec { size, scene, encoding })
            })
            .collect()
    }
}

family!(VisionId, Vision);

impl Family for VisionId {
    const GROUP: Group = Group::Vision;

    fn function(&self) -> String {
        self.step.name().to_owned()
    }

    fn parameter(&self) -> Option<String> {
        Some(self.image.to_string())
    }

    fn from_segments(segments: &[&str]) -> Option<Self> {
        let [step, image] = segments else { return None };
        Some(Self {
            step: named(&VisionStep::ALL, VisionStep::name, step)?,
            image: image.parse().ok()?,
        })
    }

    fn all() -> Vec<Self> {
        Self::images()
            .into_iter()
            .flat_map(|image| {
                VisionStep::ALL
                    .into_iter()
                    .filter(move |step| step.measured_on(image.encoding))
                    .map(move |step| Self { step, image })
            })
            .collect()
    }
}
