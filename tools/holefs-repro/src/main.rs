// SPDX-License-Identifier: GPL-2.0
//! holefs-repro: does a fault, a buffered read or a write racing with a hole
//! punch (or truncate) leave stale data behind?  See README.md and the
//! protocol description in race.rs.

mod args;
mod race;
mod stamp;
mod sys;

use args::{ArgError, Config};
use race::Outcome;
use std::process::ExitCode;

fn verdict(o: &Outcome) -> &'static str {
    if o.detections == 0 {
        "SAFE"
    } else {
        "RACE"
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
        verdict(o)
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

fn json_str(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out += "\\\"",
            '\\' => out += "\\\\",
            c if (c as u32) < 0x20 => out += &format!("\\u{:04x}", c as u32),
            c => out.push(c),
        }
    }
    out + "\""
}

fn json(cfg: &Config, o: &Outcome) -> String {
    let first = match &o.first {
        None => "null".to_string(),
        Some(d) => {
            let (w, seq, idx) = stamp::decode(d.value);
            format!(
                "{{\"round\":{},\"ms\":{},\"view\":{},\"thread\":{},\"offset\":{},\"value\":\"{:#018x}\",\"class\":{},\"stamp_writer\":{},\"stamp_seq\":{},\"stamp_offset\":{},\"bad_words\":{}}}",
                d.round,
                d.ms,
                json_str(d.view),
                d.thread,
                d.offset,
                d.value,
                json_str(d.class.name()),
                w,
                seq,
                idx * 8,
                d.bad_words
            )
        }
    };
    let first_ms = o
        .first
        .as_ref()
        .map_or_else(|| "null".to_string(), |d| d.ms.to_string());
    format!(
        "{{\"scenario\":{},\"iterations\":{},\"hits\":{},\"detections\":{},\"first_detection_ms\":{},\"verdict\":{},\"first_detection\":{},\"live_detections\":{},\"elapsed_ms\":{},\"op_rounds\":{},\"op_reads\":{},\"hits_budget\":{},\"sigbus\":{},\"size\":{},\"threads\":{},\"seed\":{},\"inject_stale\":{},\"dir\":{}}}",
        json_str(cfg.scenario.name()),
        o.rounds,
        o.hits,
        o.detections,
        first_ms,
        json_str(verdict(o)),
        first,
        o.live_detections,
        o.elapsed_ms,
        o.op_rounds,
        o.op_reads,
        cfg.hits,
        o.sigbus,
        cfg.size,
        cfg.threads,
        cfg.seed,
        cfg.inject_stale,
        json_str(&cfg.dir.display().to_string())
    )
}

fn main() -> ExitCode {
    let cfg = match args::parse(std::env::args().skip(1), sys::page_size() as u64) {
        Ok(cfg) => cfg,
        Err(ArgError::Help) => {
            println!("{}", args::USAGE);
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    match race::run(&cfg) {
        Ok(o) => {
            if cfg.json {
                println!("{}", json(&cfg, &o));
            } else {
                print!("{}", summary(&cfg, &o));
            }
            ExitCode::from(u8::from(o.detections != 0))
        }
        Err(e) => {
            eprintln!("holefs-repro: scenario={} error: {e}", cfg.scenario.name());
            if cfg.json {
                println!(
                    "{{\"scenario\":{},\"verdict\":\"ERROR\",\"error\":{}}}",
                    json_str(cfg.scenario.name()),
                    json_str(&e)
                );
            }
            ExitCode::from(2)
        }
    }
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
        args::parse(["--scenario", "seed", "--dir", "/t\"x"], 4096).unwrap()
    }

    #[test]
    fn summary_safe() {
        let s = summary(&cfg(), &outcome(None));
        assert!(s.starts_with(
            "holefs-race: scenario=seed iterations=10 hits=7 detections=0 first_detection_ms=- verdict=SAFE\n"
        ));
        let j = json(&cfg(), &outcome(None));
        assert!(
            j.contains("\"first_detection_ms\":null,\"verdict\":\"SAFE\",\"first_detection\":null")
        );
        assert!(j.contains("\"dir\":\"/t\\\"x\""));
    }

    #[test]
    fn summary_race() {
        let d = Detection {
            round: 3,
            ms: 42,
            offset: 4096,
            value: stamp::encode(1, 3, 512),
            view: "pread",
            thread: 1,
            class: Class::Stale,
            bad_words: 8,
        };
        let s = summary(&cfg(), &outcome(Some(d.clone())));
        assert!(s.contains("detections=1 first_detection_ms=42 verdict=RACE\n"));
        assert!(s.contains("first_detection round=3 view=pread thread=1 offset=4096 value=0x0100000300000200 class=stale stamp_writer=1 stamp_seq=3 stamp_offset=4096"));
        let j = json(&cfg(), &outcome(Some(d)));
        assert!(j.starts_with("{\"scenario\":\"seed\",\"iterations\":10,\"hits\":7,\"detections\":1,\"first_detection_ms\":42,\"verdict\":\"RACE\",\"first_detection\":{\"round\":3,"));
    }
}
