// SPDX-License-Identifier: GPL-2.0
//! holefs-repro: does a fault, a buffered read or a write racing with a hole
//! punch (or truncate) leave stale data behind?  See README.md and the
//! protocol description in race.rs.

mod args;
mod race;
mod stamp;

use args::{Args, Config, Format};
use clap::Parser;
use holefs_common::record::{self, ReproError, ReproRun, Verdict};
use race::Outcome;
use std::process::ExitCode;

fn verdict(o: &Outcome) -> Verdict {
    if o.detections == 0 {
        Verdict::Safe
    } else {
        Verdict::Race
    }
}

fn first_ms(o: &Outcome) -> String {
    o.first
        .as_ref()
        .map_or_else(|| "-".to_string(), |d| d.ms.to_string())
}

/// The summary lines, the same as `holefs_race.c` prints (there with "# ").
fn summary(cfg: &Config, o: &Outcome) -> String {
    let mut s = format!(
        "holefs-race: scenario={} iterations={} hits={} detections={} first_detection_ms={} verdict={}\n",
        cfg.scenario.name(),
        o.rounds,
        o.hits,
        o.detections,
        first_ms(o),
        verdict(o).name()
    );
    let rate = if o.elapsed_ms == 0 {
        0.0
    } else {
        o.rounds as f64 * 1000.0 / o.elapsed_ms as f64
    };
    s += &format!(
        "holefs-race: elapsed_ms={} rounds_per_s={:.1} op_rounds={} op_reads={} hits_budget={} size={} threads={} seed={} sigbus={} inject={} live_detections={} dir={}\n",
        o.elapsed_ms,
        rate,
        o.op_rounds,
        o.op_reads,
        cfg.hits,
        cfg.size,
        cfg.threads,
        cfg.seed,
        o.sigbus,
        u8::from(cfg.inject_stale),
        o.live_detections,
        cfg.dir.display()
    );
    if let Some(d) = &o.first {
        let (w, seq, idx) = stamp::decode(d.value);
        s += &format!(
            "holefs-race: first_detection round={} view={} thread={} offset={} value={:#018x} class={} stamp_writer={} stamp_seq={} stamp_offset={} bad_words={} ms={}\n",
            d.round,
            d.view,
            d.thread,
            d.offset,
            d.value,
            d.class.name(),
            w,
            seq,
            idx * 8,
            d.bad_words,
            d.ms
        );
    }
    s
}

/// The run record (`--format json`).
fn record(cfg: &Config, o: &Outcome) -> ReproRun {
    let first = o.first.as_ref().map(|d| {
        let (w, seq, idx) = stamp::decode(d.value);
        record::Detection {
            round: d.round,
            ms: d.ms,
            view: d.view.to_string(),
            thread: d.thread,
            offset: d.offset,
            value: format!("{:#018x}", d.value),
            class: d.class.name().to_string(),
            stamp_writer: w,
            stamp_seq: seq,
            stamp_offset: idx * 8,
            bad_words: d.bad_words,
        }
    });
    ReproRun {
        scenario: cfg.scenario.name().to_string(),
        iterations: o.rounds,
        hits: o.hits,
        detections: o.detections,
        first_detection_ms: o.first.as_ref().map(|d| d.ms),
        verdict: verdict(o),
        first_detection: first,
        live_detections: o.live_detections,
        elapsed_ms: o.elapsed_ms,
        op_rounds: o.op_rounds,
        op_reads: o.op_reads,
        hits_budget: cfg.hits,
        sigbus: o.sigbus,
        size: cfg.size,
        threads: cfg.threads,
        seed: cfg.seed,
        inject_stale: cfg.inject_stale,
        dir: cfg.dir.display().to_string(),
    }
}

/// `'s'` with every `'` as `'\''`: one word for a POSIX shell.
fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// `--format shell`: one `repro_KEY='value'` line per field of the JSON
/// record; the fields of an object member `m` become `repro_m__KEY` (two
/// underscores: `first_detection__ms` is not `first_detection_ms`); null is
/// the empty string.
fn shell_lines(prefix: &str, v: &serde_json::Value, out: &mut String) {
    match v {
        serde_json::Value::Object(m) => {
            for (k, v) in m {
                if let serde_json::Value::Object(_) = v {
                    shell_lines(&format!("{prefix}{k}__"), v, out);
                } else {
                    out.push_str(&format!("{prefix}{k}="));
                    let text = match v {
                        serde_json::Value::Null => String::new(),
                        serde_json::Value::String(s) => s.clone(),
                        v => v.to_string(),
                    };
                    out.push_str(&shell_quote(&text));
                    out.push('\n');
                }
            }
        }
        v => out.push_str(&format!("{prefix}={}\n", shell_quote(&v.to_string()))),
    }
}

/// Prints a record in `format` (JSON or shell).
fn print_record<T: serde::Serialize>(format: Format, rec: &T) -> anyhow::Result<()> {
    if format == Format::Json {
        // Straight from the type: the fields in their documented order.
        println!("{}", serde_json::to_string(rec)?);
    } else {
        let mut s = String::new();
        shell_lines("repro_", &serde_json::to_value(rec)?, &mut s);
        print!("{s}");
    }
    Ok(())
}

fn main() -> ExitCode {
    let args = Args::parse();
    let cfg = match args.config(holefs_common::page_size() as u64) {
        Ok(cfg) => cfg,
        Err(e) => {
            use clap::CommandFactory;
            Args::command()
                .error(clap::error::ErrorKind::ValueValidation, e)
                .exit();
        }
    };
    let (code, printed) = match race::run(&cfg) {
        Ok(o) => {
            let printed = match cfg.format {
                Format::Summary => {
                    print!("{}", summary(&cfg, &o));
                    Ok(())
                }
                f => print_record(f, &record(&cfg, &o)),
            };
            (u8::from(o.detections != 0), printed)
        }
        Err(e) => {
            eprintln!(
                "holefs-repro: scenario={} error: {e:#}",
                cfg.scenario.name()
            );
            let printed = match cfg.format {
                Format::Summary => Ok(()),
                f => print_record(
                    f,
                    &ReproError {
                        scenario: cfg.scenario.name().to_string(),
                        verdict: Verdict::Error,
                        error: format!("{e:#}"),
                    },
                ),
            };
            (2, printed)
        }
    };
    if let Err(e) = printed {
        eprintln!("holefs-repro: printing the result: {e:#}");
        return ExitCode::from(2);
    }
    ExitCode::from(code)
}

#[cfg(test)]
mod tests {
    use super::*;
    use race::Detection;
    use stamp::Class;

    fn outcome(first: Option<Detection>) -> Outcome {
        Outcome {
            rounds: 10,
            detections: u64::from(first.is_some()),
            live_detections: 0,
            first,
            elapsed_ms: 1000,
            sigbus: 0,
            op_reads: 0,
            op_rounds: 0,
            hits: 7,
        }
    }

    fn cfg() -> Config {
        Args::parse_from(["holefs-repro", "--scenario", "seed", "--dir", "/t\"x'y"])
            .config(4096)
            .unwrap()
    }

    fn detection() -> Detection {
        Detection {
            round: 3,
            ms: 42,
            offset: 4096,
            value: stamp::encode(1, 3, 512),
            view: "pread",
            thread: 1,
            class: Class::Stale,
            bad_words: 8,
        }
    }

    #[test]
    fn summary_safe() {
        let s = summary(&cfg(), &outcome(None));
        assert!(s.starts_with(
            "holefs-race: scenario=seed iterations=10 hits=7 detections=0 first_detection_ms=- verdict=SAFE\n"
        ));
        let j = serde_json::to_string(&record(&cfg(), &outcome(None))).unwrap();
        assert!(
            j.contains("\"first_detection_ms\":null,\"verdict\":\"SAFE\",\"first_detection\":null")
        );
        assert!(j.contains("\"dir\":\"/t\\\"x'y\""));
    }

    #[test]
    fn summary_race() {
        let s = summary(&cfg(), &outcome(Some(detection())));
        assert!(s.contains("detections=1 first_detection_ms=42 verdict=RACE\n"));
        assert!(s.contains("first_detection round=3 view=pread thread=1 offset=4096 value=0x0100000300000200 class=stale stamp_writer=1 stamp_seq=3 stamp_offset=4096"));
        let j = serde_json::to_string(&record(&cfg(), &outcome(Some(detection())))).unwrap();
        assert!(j.starts_with("{\"scenario\":\"seed\",\"iterations\":10,\"hits\":7,\"detections\":1,\"first_detection_ms\":42,\"verdict\":\"RACE\",\"first_detection\":{\"round\":3,"));
    }

    #[test]
    fn shell_format() {
        let v = serde_json::to_value(record(&cfg(), &outcome(Some(detection())))).unwrap();
        let mut s = String::new();
        shell_lines("repro_", &v, &mut s);
        let lines: Vec<&str> = s.lines().collect();
        assert!(lines.contains(&"repro_verdict='RACE'"), "{s}");
        assert!(lines.contains(&"repro_first_detection_ms='42'"), "{s}");
        assert!(
            lines.contains(&"repro_first_detection__view='pread'"),
            "{s}"
        );
        assert!(
            lines.contains(&"repro_first_detection__class='stale'"),
            "{s}"
        );
        assert!(lines.contains(&"repro_first_detection__ms='42'"), "{s}");
        assert!(lines.contains(&"repro_inject_stale='false'"), "{s}");
        assert_eq!(
            lines.iter().filter(|l| l.contains("_ms=")).count(),
            3,
            "{s}"
        );
        assert!(lines.contains(&r#"repro_dir='/t"x'\''y'"#), "{s}");
        let v = serde_json::to_value(record(&cfg(), &outcome(None))).unwrap();
        let mut s = String::new();
        shell_lines("repro_", &v, &mut s);
        assert!(s.lines().any(|l| l == "repro_first_detection=''"), "{s}");
    }
}
