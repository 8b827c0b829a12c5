//! The `servebench` binary as a user runs it: `serve-study` answers any client, `fixtures`
//! writes the study's images.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use servebench::client::StudyClient;
use servebench::fixtures;
use servebench::messages::StudyRequest;
use servebench::transport::{Protocol, Target, TransportConfig};

/// Kills the server even when an assertion fails first.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Runs `servebench <command> --rest 127.0.0.1:0 --grpc 127.0.0.1:0` and reads the two
/// addresses it prints first, REST then gRPC; the rest of its output is read and dropped.
fn serve(command: &str) -> (Running, Target) {
    let child = Command::new(env!("CARGO_BIN_EXE_servebench"))
        .args([command, "--rest", "127.0.0.1:0", "--grpc", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut server = Running(child);
    let mut lines = BufReader::new(server.0.stdout.take().unwrap()).lines();
    let mut url_after = |prefix: &str| {
        let line = lines.next().unwrap().unwrap();
        assert!(line.starts_with(prefix), "{line}");
        line.rsplit(' ').next().unwrap().to_owned()
    };
    let rest = url_after("REST");
    let grpc = url_after("gRPC");
    // Keep reading what it prints later, so its stdout never closes under it.
    std::thread::spawn(move || lines.for_each(drop));
    (server, Target { rest, grpc })
}

#[tokio::test]
async fn serve_study_answers_rest_and_grpc_on_the_addresses_it_prints() {
    let (_server, target) = serve("serve-study");

    let request = StudyRequest::Basic(fixtures::basic_request());
    for protocol in Protocol::ALL {
        let client =
            StudyClient::connect(protocol, TransportConfig::default(), &target).await.unwrap();
        let reply = client.send(&request).await.unwrap();
        assert_eq!(reply.answer, fixtures::basic_response(), "{protocol}");
    }
}

#[test]
fn fixtures_command_writes_the_study_images() {
    let dir = std::env::temp_dir().join(format!("servebench-cli-{}", std::process::id()));
    let output = Command::new(env!("CARGO_BIN_EXE_servebench"))
        .args(["fixtures", "--out"])
        .arg(&dir)
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let listed = String::from_utf8(output.stdout).unwrap();
    assert_eq!(listed.lines().count(), 6, "{listed}");
    assert!(dir.join(fixtures::ImageSpec::study(fixtures::STUDY_SIZES[2]).file_name()).is_file());
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn bad_arguments_are_refused_with_usage() {
    let output = Command::new(env!("CARGO_BIN_EXE_servebench"))
        .args(["serve-study", "--rest", "nonsense"])
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("invalid value 'nonsense'"));
}

#[cfg(feature = "torch")]
#[tokio::test]
async fn serve_answers_curl_t_and_grpc_on_the_addresses_it_prints() {
    use http_body_util::{BodyExt, Full};
    use hyper_util::client::legacy::Client;
    use hyper_util::rt::TokioExecutor;
    use servebench::client::torchserve::ModelClient;
    use servebench::transport::Route;

    let (_server, target) = serve("serve");
    let image = fixtures::image(fixtures::ImageSpec::study(fixtures::STUDY_SIZES[0]));
    let request = http::Request::put(format!("{}/predictions/resnet50", target.rest))
        .body(Full::new(image.clone()))
        .unwrap();
    let response =
        Client::builder(TokioExecutor::new()).build_http().request(request).await.unwrap();
    assert_eq!(response.status(), http::StatusCode::OK);
    assert!(response.headers().contains_key(servebench::timing::HEADER));
    let body = response.into_body().collect().await.unwrap().to_bytes();
    let answer: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(answer.as_object().unwrap().len(), 5, "{answer:?}");

    let grpc = ModelClient::connect(Route::Grpc, &target, "resnet50").await.unwrap();
    assert_eq!(grpc.predict(&image).await.unwrap().answer, answer, "gRPC answers as REST does");
}
