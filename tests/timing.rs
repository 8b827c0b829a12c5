//! Timing contract: stage timings survive the `Server-Timing` header both ways, and foreign or
//! malformed metrics in someone else's header are skipped, not fatal.

use std::time::Duration;

use servebench::timing::{Stage, StageTimings};

#[test]
fn timings_round_trip_through_the_header_in_request_order() {
    let mut timings = StageTimings::default();
    timings.record(Stage::Infer, Duration::from_micros(35_400));
    timings.record(Stage::Decode, Duration::from_micros(5_350));
    timings.record(Stage::Queue, Duration::from_micros(41));
    let header = timings.to_string();
    assert_eq!(header, "queue;dur=0.041, decode;dur=5.350, infer;dur=35.400");
    let parsed = StageTimings::parse(&header);
    for stage in Stage::ALL {
        assert_eq!(parsed.get(stage), timings.get(stage), "{stage:?}");
    }
}

#[test]
fn recording_a_stage_twice_adds_up_and_time_measures_the_work() {
    let mut timings = StageTimings::default();
    timings.record(Stage::Encode, Duration::from_millis(1));
    timings.record(Stage::Encode, Duration::from_millis(2));
    assert_eq!(timings.get(Stage::Encode), Some(Duration::from_millis(3)));
    let value = timings.time(Stage::Preprocess, || {
        std::thread::sleep(Duration::from_millis(5));
        7
    });
    assert_eq!(value, 7);
    assert!(timings.get(Stage::Preprocess).unwrap() >= Duration::from_millis(5));
    assert_eq!(StageTimings::default().to_string(), "");
}

#[test]
fn foreign_and_malformed_metrics_are_skipped() {
    let parsed = StageTimings::parse(
        r#"cache;desc="Cache Read";dur=23.2, db;dur=53, infer;desc="x";dur="12.5", decode, preprocess;dur=abc, encode;dur=-1, queue;dur=0.5"#,
    );
    assert_eq!(parsed.get(Stage::Infer), Some(Duration::from_secs_f64(0.0125)));
    assert_eq!(parsed.get(Stage::Queue), Some(Duration::from_secs_f64(0.0005)));
    for stage in [Stage::Decode, Stage::Preprocess, Stage::Encode, Stage::Postprocess] {
        assert_eq!(parsed.get(stage), None, "{stage:?}");
    }
    assert_eq!(StageTimings::parse(""), StageTimings::default());
}
