//! Where the time went, per bench id: the mean of every client and server stage over a bench's
//! measured requests, kept in one JSON file beside Criterion's output (in the end-to-end and
//! the transport benches' folders) so a report can stack them next to Criterion's wall-clock
//! estimates.
//!
//! ```json
//! {"end_to_end/rest_h1_raw/720x1280/cpu_b1": {"requests": 200,
//!   "client": {"encode": 0.001, "wait": 512.3, "decode": 0.02},
//!   "server": {"receive": 0.4, "queue": 455.1, "decode": 10.2, "preprocess": 6.0, "infer": 38.9, "postprocess": 0.005, "encode": 0.003}}}
//! ```
//!
//! Milliseconds throughout. A server that reports no timings (a real TorchServe) has an empty
//! `server`; the client's `wait` still holds its whole time.

use std::collections::BTreeMap;
use std::io;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::ids::{EndToEndId, Group};
use crate::timing::{ClientStage, ClientTimings, Stage, StageTimings};

/// The file's name, in Criterion's folder of the bench group.
pub const FILE_NAME: &str = "servebench-stages.json";

/// One bench id's stage means.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct StageMeans {
    /// Requests the means are over.
    pub requests: usize,
    /// Client stages (`encode`, `wait`, `decode`), mean milliseconds.
    pub client: BTreeMap<ClientStage, f64>,
    /// Server stages (`queue`, `decode`, ...), mean milliseconds over the requests that
    /// reported the stage.
    pub server: BTreeMap<Stage, f64>,
}

impl StageMeans {
    /// The client stage's mean, 0 where it was not recorded.
    pub fn client(&self, stage: ClientStage) -> f64 {
        self.client.get(&stage).copied().unwrap_or(0.0)
    }

    /// The server stage's mean, 0 where the server did not report it.
    pub fn server(&self, stage: Stage) -> f64 {
        self.server.get(&stage).copied().unwrap_or(0.0)
    }
}

/// Requests' stages added up, to take [`StageMeans`] of without keeping every request (a
/// transport id's measurement sends hundreds of thousands).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct StageSums {
    requests: usize,
    client: [Duration; ClientStage::ALL.len()],
    /// Each server stage's total and how many requests reported it.
    server: [(Duration, usize); Stage::ALL.len()],
}

impl StageSums {
    /// Adds one request's stages.
    pub fn add(&mut self, client: &ClientTimings, server: &StageTimings) {
        self.requests += 1;
        for (index, stage) in ClientStage::ALL.into_iter().enumerate() {
            self.client[index] += client.get(stage);
        }
        for (index, stage) in Stage::ALL.into_iter().enumerate() {
            if let Some(duration) = server.get(stage) {
                let (total, reported) = &mut self.server[index];
                *total += duration;
                *reported += 1;
            }
        }
    }

    /// Adds every request `other` added up.
    pub fn extend(&mut self, other: &Self) {
        self.requests += other.requests;
        for (mine, theirs) in self.client.iter_mut().zip(other.client) {
            *mine += theirs;
        }
        for ((total, reported), (their_total, their_reported)) in
            self.server.iter_mut().zip(other.server)
        {
            *total += their_total;
            *reported += their_reported;
        }
    }

    /// How many requests were added.
    pub fn requests(&self) -> usize {
        self.requests
    }

    /// The means: each client stage over every request, each server stage over the requests
    /// that reported it (absent where none did).
    pub fn means(&self) -> StageMeans {
        let ms = |total: Duration, n: usize| {
            if n == 0 { 0.0 } else { total.as_secs_f64() * 1000.0 / n as f64 }
        };
        let client = ClientStage::ALL
            .into_iter()
            .zip(self.client)
            .map(|(stage, total)| (stage, ms(total, self.requests)))
            .collect();
        let server = Stage::ALL
            .into_iter()
            .zip(self.server)
            .filter(|(_, (_, reported))| *reported > 0)
            .map(|(stage, (total, reported))| (stage, ms(total, reported)))
            .collect();
        StageMeans { requests: self.requests, client, server }
    }
}

/// Every recorded bench id's means, as stored: keyed by [`EndToEndId`] for the end-to-end
/// bench, by [`TransportId`](crate::ids::TransportId) for the transport bench.
pub type Attribution<K = EndToEndId> = BTreeMap<K, StageMeans>;

/// Where `group`'s bench keeps its stage means under `criterion_home`: its Criterion group's
/// folder, [`FILE_NAME`].
pub fn path(criterion_home: &Path, group: Group) -> PathBuf {
    criterion_home.join(group.name()).join(FILE_NAME)
}

/// Criterion's output folder, found as Criterion finds it: `CRITERION_HOME`, else
/// `$CARGO_TARGET_DIR/criterion`, else `target/criterion` under the package.
pub fn criterion_home() -> PathBuf {
    if let Some(home) = std::env::var_os("CRITERION_HOME") {
        return home.into();
    }
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target"))
        .join("criterion")
}

/// Reads a stored file of entries by key (an [`Attribution`], or another such file kept beside
/// Criterion's output); a missing one is empty.
pub fn read<K: Ord + DeserializeOwned, T: DeserializeOwned>(
    path: &Path,
) -> io::Result<BTreeMap<K, T>> {
    match std::fs::read(path) {
        Ok(bytes) => serde_json::from_slice(&bytes).map_err(io::Error::other),
        Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(BTreeMap::new()),
        Err(error) => Err(error),
    }
}

/// Adds `entries` to the file at `path` (creating it), replacing earlier entries of the same
/// keys and keeping the others, so runs of a few ids (a filter) do not lose the rest.
pub fn merge<K: Ord + Serialize + DeserializeOwned, T: Serialize + DeserializeOwned>(
    path: &Path,
    entries: BTreeMap<K, T>,
) -> io::Result<()> {
    let mut stored = read(path)?;
    stored.extend(entries);
    if let Some(folder) = path.parent() {
        std::fs::create_dir_all(folder)?;
    }
    std::fs::write(path, serde_json::to_vec_pretty(&stored).map_err(io::Error::other)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The means of `requests`, added up at once.
    fn means_of(requests: &[(ClientTimings, StageTimings)]) -> StageMeans {
        let mut sums = StageSums::default();
        for (client, server) in requests {
            sums.add(client, server);
        }
        sums.means()
    }

    #[test]
    fn means_are_per_stage_over_the_requests_that_report_it() {
        let ms = Duration::from_millis;
        let client = |wait| ClientTimings {
            encode: ms(1),
            wait: ms(wait),
            decode: ms(0),
            ..Default::default()
        };
        let mut reported = StageTimings::default();
        reported.record(Stage::Infer, ms(30));
        let requests = [(client(40), reported), (client(60), StageTimings::default())];
        let means = means_of(&requests);
        assert_eq!(means.requests, 2);
        assert_eq!(means.client(ClientStage::Wait), 50.0);
        assert_eq!(means.client(ClientStage::Encode), 1.0);
        assert_eq!(means.server.len(), 1, "only infer was reported");
        assert_eq!(means.server(Stage::Infer), 30.0);
        // The file's JSON names stages as the header does.
        let json = serde_json::to_value(&means).unwrap();
        assert_eq!(json["client"]["wait"], 50.0);
        assert_eq!(json["server"]["infer"], 30.0);
    }

    #[test]
    fn sums_added_in_parts_give_the_means_of_the_whole() {
        let ms = Duration::from_millis;
        let request = |wait: u64, receive: Option<u64>| {
            let mut server = StageTimings::default();
            if let Some(receive) = receive {
                server.record(Stage::Receive, ms(receive));
            }
            let client = ClientTimings {
                encode: ms(2),
                wait: ms(wait),
                decode: ms(1),
                ..Default::default()
            };
            (client, server)
        };
        let requests = [request(10, Some(4)), request(20, None), request(30, Some(8))];
        let (mut first, mut second) = (StageSums::default(), StageSums::default());
        first.add(&requests[0].0, &requests[0].1);
        for (client, server) in &requests[1..] {
            second.add(client, server);
        }
        first.extend(&second);
        assert_eq!(first.requests(), 3);
        let means = first.means();
        assert_eq!(means, means_of(&requests));
        assert_eq!(means.client(ClientStage::Wait), 20.0);
        assert_eq!(means.server(Stage::Receive), 6.0, "over the two requests that reported it");
    }

    #[test]
    fn merging_keeps_other_ids_and_replaces_the_same() {
        let path = std::env::temp_dir()
            .join(format!("servebench-attribution-{}", std::process::id()))
            .join(FILE_NAME);
        let entry = |requests| StageMeans { requests, ..Default::default() };
        merge(&path, [("a/x/1".to_owned(), entry(1)), ("a/y/1".to_owned(), entry(2))].into())
            .unwrap();
        merge(&path, [("a/x/1".to_owned(), entry(3))].into()).unwrap();
        let stored: BTreeMap<String, StageMeans> = read(&path).unwrap();
        assert_eq!(stored["a/x/1"].requests, 3);
        assert_eq!(stored["a/y/1"].requests, 2);
        std::fs::remove_dir_all(path.parent().unwrap()).unwrap();
    }
}
