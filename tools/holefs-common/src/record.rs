// SPDX-License-Identifier: GPL-2.0
//! Run records: what the tools print as JSON, for the report scripts on the
//! host, as serde types that both write and read them.
//!
//! Records go to stdout one per line, either alone (`holefs-repro --json`)
//! or behind a marker, `PREFIX: {json}` ([`emit`]), so that a reader can
//! pick them out of a console log with other lines around them.

use serde::{Deserialize, Serialize};
use std::io::{self, Write};

/// The verdict of a race reproducer run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Verdict {
    /// No stale data was seen.
    Safe,
    /// Stale data was seen.
    Race,
    /// The run could not be done (setup or system call failure).
    Error,
}

impl Verdict {
    pub fn name(self) -> &'static str {
        match self {
            Verdict::Safe => "SAFE",
            Verdict::Race => "RACE",
            Verdict::Error => "ERROR",
        }
    }
}

/// The first stale word one run found.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Detection {
    pub round: u64,
    /// Milliseconds into the run.
    pub ms: u64,
    /// How it was read: `pread`, `map-own`, `map-shared-live`, ...
    pub view: String,
    pub thread: usize,
    /// File offset of the word.
    pub offset: u64,
    /// The word, as `0x` and 16 hex digits.
    pub value: String,
    /// `stale`, `misplaced` or `garbage`.
    pub class: String,
    pub stamp_writer: u32,
    pub stamp_seq: u32,
    pub stamp_offset: u64,
    /// Bad words in the check that found it.
    pub bad_words: u64,
}

/// One `holefs-repro` run (`--json`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ReproRun {
    pub scenario: String,
    /// Rounds run.
    pub iterations: u64,
    /// Accesses that started or ended while the punch (truncate down)
    /// system call was in flight.
    pub hits: u64,
    pub detections: u64,
    pub first_detection_ms: Option<u64>,
    pub verdict: Verdict,
    pub first_detection: Option<Detection>,
    /// Detections by reads that began after the punch returned, during
    /// the race phase.
    pub live_detections: u64,
    pub elapsed_ms: u64,
    /// Rounds in which an access began while the punch ran.
    pub op_rounds: u64,
    /// Accesses begun while the punch ran.
    pub op_reads: u64,
    /// `--hits`: the hit budget, 0 for none.
    pub hits_budget: u64,
    /// SIGBUS faults turned into zero pages.
    pub sigbus: u64,
    pub size: u64,
    pub threads: usize,
    pub seed: u64,
    pub inject_stale: bool,
    pub dir: String,
}

/// A `holefs-repro` run that failed (`--json`, exit status 2).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReproError {
    pub scenario: String,
    /// Always [`Verdict::Error`].
    pub verdict: Verdict,
    pub error: String,
}

/// Prints `PREFIX: {json}` on one line of stdout and flushes it (a guest
/// console interleaves kernel messages with what is not flushed).
pub fn emit<T: Serialize>(prefix: &str, record: &T) -> io::Result<()> {
    let json = serde_json::to_string(record).map_err(io::Error::other)?;
    let mut out = io::stdout().lock();
    writeln!(out, "{prefix}: {json}")?;
    out.flush()
}

/// The record of a `PREFIX: {json}` line, `None` for another line.
pub fn parse_line<'a, T: Deserialize<'a>>(
    prefix: &str,
    line: &'a str,
) -> Option<serde_json::Result<T>> {
    let rest = line.trim_end().strip_prefix(prefix)?.strip_prefix(": ")?;
    Some(serde_json::from_str(rest))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repro_run_round_trips_with_the_documented_names() {
        let r = ReproRun {
            scenario: "seed".into(),
            iterations: 10,
            hits: 7,
            detections: 0,
            first_detection_ms: None,
            verdict: Verdict::Safe,
            first_detection: None,
            live_detections: 0,
            elapsed_ms: 1000,
            op_rounds: 1,
            op_reads: 2,
            hits_budget: 0,
            sigbus: 0,
            size: 4096,
            threads: 2,
            seed: 1,
            inject_stale: false,
            dir: "/t\"x".into(),
        };
        let j = serde_json::to_string(&r).unwrap();
        assert!(j.starts_with(r#"{"scenario":"seed","iterations":10,"hits":7,"detections":0,"first_detection_ms":null,"verdict":"SAFE","first_detection":null,"#), "{j}");
        assert!(j.ends_with(r#""dir":"/t\"x"}"#), "{j}");
        assert_eq!(serde_json::from_str::<ReproRun>(&j).unwrap(), r);
    }

    #[test]
    fn marker_lines() {
        let line = r#"HOLEFS-X: {"scenario":"seed","verdict":"ERROR","error":"no"}  "#;
        let e: ReproError = parse_line("HOLEFS-X", line).unwrap().unwrap();
        assert_eq!(e.verdict, Verdict::Error);
        assert!(parse_line::<ReproError>("HOLEFS-Y", line).is_none());
        assert!(parse_line::<ReproError>("HOLEFS-X", "HOLEFS-X: {")
            .unwrap()
            .is_err());
    }
}
