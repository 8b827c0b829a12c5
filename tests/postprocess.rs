//! Postprocess contract: the answer equals TorchServe's image_classifier postprocess run by
//! torch itself, label maps load in TorchServe's shapes, and wrong shapes are errors.

mod common;

use servebench::postprocess::{self, Labels, PostprocessError, Prediction, TOP_K};

/// Rows of ImageNet-sized scores: spread-out logits, a near-tie at the top, and a one-hot-ish
/// row. (Exact ties are left out: torch.topk leaves their order unspecified.)
fn score_rows() -> Vec<Vec<f32>> {
    let spread: Vec<f32> =
        (0..1000).map(|i| ((i * 7919 % 1000) as f32 / 100.0).sin() * 6.0).collect();
    let mut tie = vec![0.0f32; 1000];
    for (rank, class) in [10, 500, 3, 999, 42].into_iter().enumerate() {
        tie[class] = 3.0 - rank as f32 * 1e-3;
    }
    let mut peaked: Vec<f32> = (0..1000).map(|i| -5.0 + i as f32 * 4e-3).collect();
    peaked[281] = 20.0;
    vec![spread, tie, peaked]
}

#[test]
fn classify_matches_torch_softmax_topk_and_torchserves_label_mapping() {
    let rows = score_rows();
    let dir = common::TempDir::new("postprocess");
    let scores = dir.0.join("scores.f32");
    let bytes: Vec<u8> = rows.iter().flatten().flat_map(|score| score.to_le_bytes()).collect();
    std::fs::write(&scores, bytes).unwrap();
    let labels_path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/index_to_name.json");
    let output = common::run_reference(
        "torch_postprocess.py",
        &[&scores, std::path::Path::new("1000"), &labels_path],
    );
    let expected: Vec<Vec<(String, f64)>> = serde_json::from_slice(&output).unwrap();

    let labels = Labels::imagenet();
    for (row, expected) in rows.iter().zip(expected) {
        let Prediction(answer) = postprocess::classify(row, &labels).unwrap();
        assert_eq!(answer.len(), TOP_K);
        for ((label, probability), (want_label, want_probability)) in answer.iter().zip(&expected) {
            assert_eq!(label, want_label, "{answer:?} vs {expected:?}");
            assert!(
                (f64::from(*probability) - want_probability).abs() < 1e-6,
                "{answer:?} vs {expected:?}"
            );
        }
    }
}

#[test]
fn the_answer_is_a_json_object_in_descending_order() {
    let mut scores = vec![0.0f32; 1000];
    scores[281] = 10.0; // tabby cat
    scores[282] = 9.0;
    let json = serde_json::to_string(&postprocess::classify(&scores, &Labels::imagenet()).unwrap())
        .unwrap();
    assert!(json.starts_with(r#"{"tabby":0.7"#), "{json}");
    assert!(json.find(r#""tiger cat":"#).unwrap() < json.find(r#""tench":"#).unwrap(), "{json}");
    let parsed: serde_json::Map<String, serde_json::Value> = serde_json::from_str(&json).unwrap();
    assert_eq!(parsed.len(), TOP_K);
}

#[test]
fn softmax_and_top_k_behave_at_the_edges() {
    let probabilities = postprocess::softmax(&[1000.0, 1000.0, -1000.0]);
    assert_eq!(probabilities, [0.5, 0.5, 0.0]);
    assert_eq!(postprocess::top_k(&[0.1, 0.3, 0.3, 0.2], 3), [(1, 0.3), (2, 0.3), (3, 0.2)]);
    assert_eq!(postprocess::top_k(&[0.6, 0.4], 5), [(0, 0.6), (1, 0.4)]);
}

#[test]
fn label_maps_load_in_torchserves_shapes() {
    let imagenet = Labels::imagenet();
    assert_eq!(
        (imagenet.len(), imagenet.name(0), imagenet.name(999)),
        (1000, Some("tench"), Some("toilet tissue"))
    );

    let listed =
        Labels::from_json(br#"{"1": ["n01443537", "goldfish"], "0": ["n01440764", "tench"]}"#)
            .unwrap();
    assert_eq!((listed.name(0), listed.name(1)), (Some("tench"), Some("goldfish")));

    for bad in [
        &br#"{"0": "a", "2": "b"}"#[..],
        br#"{"x": "a"}"#,
        br#"{"0": []}"#,
        br#"{"0": 7}"#,
        b"[]",
        b"{",
    ] {
        let error = Labels::from_json(bad).unwrap_err();
        assert!(matches!(error, PostprocessError::Labels(_)), "{error}");
    }
}

#[test]
fn duplicate_names_share_one_entry_as_in_torchserve() {
    let labels = Labels::from_json(br#"{"0": "crane", "1": "crane", "2": "heron"}"#).unwrap();
    let Prediction(answer) = postprocess::classify(&[2.0, 1.0, 0.0], &labels).unwrap();
    assert_eq!(
        answer.iter().map(|(label, _)| label.as_str()).collect::<Vec<_>>(),
        ["crane", "heron"]
    );
    assert_eq!(answer[0].1, postprocess::softmax(&[2.0, 1.0, 0.0])[1]);
}

#[test]
fn scores_that_do_not_fit_the_label_map_are_an_error() {
    let error = postprocess::classify(&[0.0; 10], &Labels::imagenet()).unwrap_err();
    assert!(matches!(error, PostprocessError::ScoreCount { got: 10, expected: 1000 }), "{error}");
}
