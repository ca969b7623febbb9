// SPDX-License-Identifier: GPL-2.0
//! The result of one cell: the `AUDIT` line on stdout and the JSON record.

use anyhow::Context;
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt;
use std::io::Write;
use std::path::Path;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum Verdict {
    #[serde(rename = "SAFE")]
    Safe,
    #[serde(rename = "RACE")]
    Race,
    #[serde(rename = "SKIP")]
    Skip,
    #[serde(rename = "ERROR")]
    Error,
}

impl Verdict {
    pub fn name(self) -> &'static str {
        match self {
            Verdict::Safe => "SAFE",
            Verdict::Race => "RACE",
            Verdict::Skip => "SKIP",
            Verdict::Error => "ERROR",
        }
    }

    /// The exit status of `holefs-audit cell`.
    pub fn exit_code(self) -> i32 {
        match self {
            Verdict::Safe | Verdict::Skip => 0,
            Verdict::Race => 1,
            Verdict::Error => 2,
        }
    }
}

/// One cell's record.  The first fields are the documented schema; the
/// ones after `duration_ms` are extra detail.
#[derive(Clone, Debug, Serialize)]
pub struct Record {
    pub fs: String,
    pub op: String,
    pub geometry: String,
    pub racer: String,
    /// `test` or `control`.
    pub kind: &'static str,
    pub runs: u64,
    pub runs_detected: u64,
    /// (iteration, view) checks that found at least one violating word.
    pub detections: u64,
    pub iterations: u64,
    /// Racer accesses that overlapped the operation in flight.
    pub hits: u64,
    pub first_detection_ms: Option<u64>,
    /// `<view>:<part>` of the first detection, e.g. `map-fresh:first`.
    pub first_view: Option<String>,
    pub verdict: Verdict,
    pub reason: String,
    pub duration_ms: u64,
    /// The hit budget the cell ran against.
    pub hits_target: u64,
    /// Violating words, in all views.
    pub bad_words: u64,
    /// Violating words per part of the range (before, first, inner, last, after).
    pub parts: BTreeMap<String, u64>,
    /// Accesses past EOF that raised SIGBUS (correct after a truncate).
    pub sigbus: u64,
    /// dio-write: iterations whose stale page cache the kernel reported
    /// (EIO from fdatasync, dio_warn_stale_pagecache()); not detections.
    pub reported_collisions: u64,
    /// Iterations whose operation started while a racer was inside an
    /// access (the rest fired after a bounded wait for one).
    pub fired_in_access: u64,
    /// Racer threads.
    pub threads: u64,
    pub seed: u64,
}

impl Record {
    pub fn new(fs: &str, op: &str, geometry: &str, racer: &str, control: bool) -> Record {
        Record {
            fs: fs.to_owned(),
            op: op.to_owned(),
            geometry: geometry.to_owned(),
            racer: racer.to_owned(),
            kind: if control { "control" } else { "test" },
            runs: 0,
            runs_detected: 0,
            detections: 0,
            iterations: 0,
            hits: 0,
            first_detection_ms: None,
            first_view: None,
            verdict: Verdict::Error,
            reason: String::new(),
            duration_ms: 0,
            hits_target: 0,
            bad_words: 0,
            parts: BTreeMap::new(),
            sigbus: 0,
            reported_collisions: 0,
            fired_in_access: 0,
            threads: 0,
            seed: 0,
        }
    }

    /// Append the record as one JSON line to `path`.
    pub fn append_json(&self, path: &Path) -> anyhow::Result<()> {
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .with_context(|| format!("{}", path.display()))?;
        let mut line = serde_json::to_string(self)?;
        line.push('\n');
        // One write(2) per record, so concurrent writers do not interleave.
        f.write_all(line.as_bytes())
            .with_context(|| format!("{}", path.display()))
    }
}

fn or_dash<T: fmt::Display>(v: &Option<T>) -> String {
    v.as_ref().map_or_else(|| "-".to_owned(), T::to_string)
}

/// The `AUDIT` line.
impl fmt::Display for Record {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "AUDIT fs={} op={} geometry={} racer={} kind={} verdict={} runs={} runs_detected={} \
             detections={} iterations={} hits={} first_detection_ms={} first_view={} reason=\"{}\"",
            self.fs,
            self.op,
            self.geometry,
            self.racer,
            self.kind,
            self.verdict.name(),
            self.runs,
            self.runs_detected,
            self.detections,
            self.iterations,
            self.hits,
            or_dash(&self.first_detection_ms),
            or_dash(&self.first_view),
            self.reason.replace('"', "'").replace('\n', " "),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_and_json_carry_the_schema() {
        let mut r = Record::new("ext4", "punch", "page", "read", false);
        r.verdict = Verdict::Race;
        r.first_detection_ms = Some(12);
        r.first_view = Some("pread:first".into());
        r.reason = "stale \"old\" data".into();
        let line = r.to_string();
        assert!(line.starts_with(
            "AUDIT fs=ext4 op=punch geometry=page racer=read kind=test verdict=RACE "
        ));
        assert!(line.contains("first_detection_ms=12 first_view=pread:first"));
        assert!(line.ends_with("reason=\"stale 'old' data\""));
        let v: serde_json::Value = serde_json::to_value(&r).unwrap();
        for k in [
            "fs",
            "op",
            "geometry",
            "racer",
            "kind",
            "runs",
            "runs_detected",
            "detections",
            "iterations",
            "hits",
            "first_detection_ms",
            "first_view",
            "verdict",
            "reason",
            "duration_ms",
        ] {
            assert!(v.get(k).is_some(), "{k}");
        }
        assert_eq!(v["verdict"], "RACE");
        let c = Record::new("tmpfs", "zero", "eof", "splice", true);
        let v = serde_json::to_value(&c).unwrap();
        assert_eq!(v["kind"], "control");
        assert!(v["first_detection_ms"].is_null());
        assert!(c.to_string().contains("first_detection_ms=- first_view=-"));
    }
}
