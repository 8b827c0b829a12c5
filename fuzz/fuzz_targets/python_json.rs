//! TorchServe's answers as Python's `json.dumps(indent=2)` writes them: any labels and finite
//! probabilities must read back, as JSON, to the same labels and the same numbers.
#![no_main]

use libfuzzer_sys::fuzz_target;
use servebench::codec::python_json;
use servebench::postprocess::Prediction;

fuzz_target!(|data: &[u8]| {
    // Records of a 4-byte float and a label of up to 7 bytes (lossy UTF-8).
    let entries: Vec<(String, f32)> = data
        .chunks(12)
        .filter(|chunk| chunk.len() >= 4)
        .map(|chunk| {
            let value = f32::from_le_bytes(chunk[..4].try_into().unwrap());
            (String::from_utf8_lossy(&chunk[4..chunk.len().min(11)]).into_owned(), value)
        })
        .filter(|(_, value)| value.is_finite())
        .collect();
    let mut unique = std::collections::HashSet::new();
    let entries: Vec<_> =
        entries.into_iter().filter(|(label, _)| unique.insert(label.clone())).collect();
    let written = python_json::encode(&Prediction(entries.clone())).unwrap();
    // serde_json's map sorts its keys: look each label up (the order is tests/codec.rs's to check).
    let read: serde_json::Map<String, serde_json::Value> =
        serde_json::from_slice(&written).expect("Python's JSON reads back");
    assert_eq!(read.len(), entries.len());
    for (label, value) in &entries {
        let value = f64::from(*value);
        // Python's repr is the shortest text that reads back exactly; serde_json's own float
        // reading may be a unit in the last place off, so the exact check reads the repr.
        assert_eq!(python_json::float_repr(value).parse::<f64>().unwrap(), value);
        let read_value = read[label].as_f64().expect("a number");
        assert!((read_value - value).abs() <= value.abs() * 1e-15, "{label}: {read_value} {value}");
    }
});
