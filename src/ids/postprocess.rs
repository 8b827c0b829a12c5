//! `postprocess/...`: one image's scores to TorchServe's answer (`benches/postprocess.rs`).

use super::{Family, Group, family, named};

/// `postprocess/<step>/imagenet`, over one image's 1000 ImageNet scores.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PostprocessId {
    /// Softmax of the scores.
    Softmax,
    /// The top 5 of the probabilities.
    TopK,
    /// The whole stage: softmax, top 5, names.
    Classify,
    /// The whole stage and the JSON the server sends.
    ClassifyJson,
}

impl PostprocessId {
    /// Every postprocess id, in stage order.
    pub const ALL: [Self; 4] = [Self::Softmax, Self::TopK, Self::Classify, Self::ClassifyJson];

    /// What the scores are: one image's ImageNet classes.
    const PAYLOAD: &str = "imagenet";

    fn name(self) -> &'static str {
        match self {
            Self::Softmax => "softmax",
            Self::TopK => "top_k",
            Self::Classify => "classify",
            Self::ClassifyJson => "classify_json",
        }
    }
}

family!(PostprocessId, Postprocess);

impl Family for PostprocessId {
    const GROUP: Group = Group::Postprocess;

    // Criterion's function is the whole id after the group (`softmax/imagenet`), as it has
    // always been filed.
    fn function(&self) -> String {
        format!("{}/{}", self.name(), Self::PAYLOAD)
    }

    fn parameter(&self) -> Option<String> {
        None
    }

    fn from_segments(segments: &[&str]) -> Option<Self> {
        let [step, payload] = segments else { return None };
        (*payload == Self::PAYLOAD).then(|| named(&Self::ALL, Self::name, step)).flatten()
    }

    fn all() -> Vec<Self> {
        Self::ALL.into()
    }
}
