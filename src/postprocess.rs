//! Postprocess stage: a model's scores to TorchServe's answer, as its `image_classifier`
//! handler makes it: softmax, the top 5 classes, their names from an `index_to_name.json`, as
//! one JSON object `{label: probability}` in descending order.

use std::collections::BTreeMap;

use serde::ser::{Serialize, SerializeMap, Serializer};

/// Classes in an answer, TorchServe's `topk` default.
pub const TOP_K: usize = 5;

/// ImageNet's class names by index (`fixtures/index_to_name.json`, from torchvision's metadata).
const IMAGENET_LABELS: &str = include_str!("../fixtures/index_to_name.json");

/// Why scores could not become an answer.
#[derive(Debug, thiserror::Error)]
pub enum PostprocessError {
    /// The model's output does not have one score per labelled class.
    #[error("the model gave {got} scores per image, the label map names {expected} classes")]
    ScoreCount {
        /// Scores per image.
        got: usize,
        /// Classes in the label map.
        expected: usize,
    },
    /// The label map is not TorchServe's `{"0": "name" | ["id", "name"], ...}` over 0..n.
    #[error("invalid label map: {0}")]
    Labels(String),
}

/// Class names by class index, as TorchServe's `index_to_name.json` gives them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Labels(Vec<String>);

impl Labels {
    /// ImageNet's 1000 classes.
    pub fn imagenet() -> Self {
        Self::from_json(IMAGENET_LABELS.as_bytes())
            .expect("the bundled ImageNet label map is valid")
    }

    /// Reads an `index_to_name.json`: keys `"0"` to `"n-1"`, each value a name or a list whose
    /// last element is the name (TorchServe's `["n01440764", "tench"]` form).
    pub fn from_json(json: &[u8]) -> Result<Self, PostprocessError> {
        #[derive(serde::Deserialize)]
        #[serde(untagged)]
        enum Entry {
            Name(String),
            Path(Vec<String>),
        }
        let invalid = |message: String| PostprocessError::Labels(message);
        let entries: BTreeMap<String, Entry> =
            serde_json::from_slice(json).map_err(|error| invalid(error.to_string()))?;
        let mut names = vec![None; entries.len()];
        for (key, entry) in entries {
            let index = key.parse::<usize>().ok().filter(|index| *index < names.len()).ok_or_else(
                || invalid(format!("key {key:?} is not a class index below {}", names.len())),
            )?;
            names[index] = Some(match entry {
                Entry::Name(name) => name,
                Entry::Path(path) => path
                    .last()
                    .cloned()
                    .ok_or_else(|| invalid(format!("class {key} has an empty list")))?,
            });
        }
        // Keys are distinct and all below len, so every index is filled.
        Ok(Self(
            names.into_iter().map(|name| name.expect("every index below len is a key")).collect(),
        ))
    }

    /// How many classes it names.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether it names no class.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The name of class `index`.
    pub fn name(&self, index: usize) -> Option<&str> {
        self.0.get(index).map(String::as_str)
    }
}

/// Softmax over one image's scores, in f32 with the maximum subtracted first, as torch does.
pub fn softmax(scores: &[f32]) -> Vec<f32> {
    let max = scores.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let exps: Vec<f32> = scores.iter().map(|score| (score - max).exp()).collect();
    let total: f32 = exps.iter().sum();
    exps.into_iter().map(|value| value / total).collect()
}

/// The `k` largest probabilities with their class indices, largest first (ties: lower index
/// first).
pub fn top_k(probabilities: &[f32], k: usize) -> Vec<(usize, f32)> {
    let mut ranked: Vec<(usize, f32)> = probabilities.iter().copied().enumerate().collect();
    let k = k.min(ranked.len());
    if k < ranked.len() {
        ranked.select_nth_unstable_by(k, |a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        ranked.truncate(k);
    }
    ranked.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    ranked
}

/// TorchServe's answer for one image: labels and probabilities, most probable first.
///
/// Serializes as a JSON object in that order, the probabilities as the f64 values Python's
/// `tensor.tolist()` produces; [`crate::codec::python_json`] then writes the bytes TorchServe
/// sends.
#[derive(Clone, Debug, PartialEq)]
pub struct Prediction(pub Vec<(String, f32)>);

impl Serialize for Prediction {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (label, probability) in &self.0 {
            map.serialize_entry(label, &f64::from(*probability))?;
        }
        map.end()
    }
}

/// The whole stage for one image: softmax, top [`TOP_K`], names.
pub fn classify(scores: &[f32], labels: &Labels) -> Result<Prediction, PostprocessError> {
    if scores.len() != labels.len() {
        return Err(PostprocessError::ScoreCount { got: scores.len(), expected: labels.len() });
    }
    // Two classes with one name share an entry, keeping the first's place and the second's
    // probability, as TorchServe's dict comprehension does.
    let mut answer: Vec<(String, f32)> = Vec::with_capacity(TOP_K);
    for (class, probability) in top_k(&softmax(scores), TOP_K) {
        let label = &labels.0[class];
        match answer.iter_mut().find(|(seen, _)| seen == label) {
            Some(entry) => entry.1 = probability,
            None => answer.push((label.clone(), probability)),
        }
    }
    Ok(Prediction(answer))
}
