// SPDX-License-Identifier: GPL-2.0
//! holefs-exerciser: random file operations checked against an in-memory
//! model of every file; reports the first divergence with the seed, the
//! operation and an op log, and shrinks the failing sequence.  See
//! README.md.

mod args;
mod exec;
mod model;
mod op;
mod pattern;
mod shrink;
mod sys;

use anyhow::{bail, Context};
use args::Config;
use clap::Parser;
use exec::{Env, Outcome, Verdict};
use op::{GenConfig, Kind, Op};
use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

const NAME: &str = "holefs-exerciser";

/// `\ooo` escapes of /proc/self/mountinfo.
fn unescape(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\'
            && i + 3 < b.len()
            && b[i + 1..i + 4].iter().all(|c| (b'0'..=b'7').contains(c))
        {
            out.push((b[i + 1] - b'0') * 64 + (b[i + 2] - b'0') * 8 + (b[i + 3] - b'0'));
            i += 4;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The mount point of the file system holding `dir` (the longest mount
/// point that is a prefix of it).
fn mount_point(dir: &Path) -> anyhow::Result<PathBuf> {
    let dir = dir
        .canonicalize()
        .with_context(|| dir.display().to_string())?;
    let info = std::fs::read_to_string("/proc/self/mountinfo").context("/proc/self/mountinfo")?;
    info.lines()
        .filter_map(|l| l.split(' ').nth(4).map(|m| PathBuf::from(unescape(m))))
        .filter(|m| dir.starts_with(m))
        .max_by_key(|m| m.as_os_str().len())
        .with_context(|| format!("no mount point holds {}", dir.display()))
}

fn counts(o: &Outcome) -> String {
    Kind::ALL
        .iter()
        .map(|k| format!("{}={}", k.name(), o.stats.per_kind[k.index()]))
        .collect::<Vec<_>>()
        .join(" ")
}

/// The one summary line.
fn summary(result: &str, seed: &str, cfg: &Config, env: &Env, total: usize, o: &Outcome) -> String {
    let ms = o.elapsed.as_millis();
    let rate = if ms == 0 {
        0.0
    } else {
        o.stats.done as f64 * 1000.0 / ms as f64
    };
    format!(
        "{NAME}: result={result} seed={seed} ops={}/{total} files={} max_size={} elapsed_ms={ms} ops_per_s={rate:.0} divergences={} enospc={} sigbus={} skipped={} unsupported={} {}",
        o.stats.done,
        env.files,
        cfg.max_size,
        u8::from(matches!(o.verdict, Verdict::Divergence { .. })),
        o.stats.enospc,
        o.stats.sigbus,
        o.stats.skipped,
        o.stats.unsupported,
        counts(o)
    )
}

/// Reruns the failing prefix on fresh files and shrinks it; prints the
/// minimal op log.
fn shrink(env: &Env, ops: &[Op], fail: usize, secs: u64) {
    let quiet = Env {
        trace: false,
        keep: false,
        ..env.clone()
    };
    let start = Instant::now();
    let deadline = start + Duration::from_secs(secs);
    let trial = std::cell::Cell::new(0u64);
    // The divergence message of a trial, or None if it did not diverge.
    let diverges = |ops: &[Op]| -> Option<String> {
        trial.set(trial.get() + 1);
        match exec::run(&quiet, ops, &format!("s{}", trial.get())).verdict {
            Verdict::Divergence { msg, .. } => Some(msg),
            _ => None,
        }
    };
    let prefix = ops[..=fail].to_vec();
    let Some(mut best_msg) = diverges(&prefix) else {
        println!(
            "{NAME}: the failing sequence does not diverge again on fresh files: not shrunk (a race, or state outside the files)"
        );
        return;
    };
    let mut best = prefix;
    // Most divergences concern one file: try its operations alone first.
    if let Some(f) = ops[fail].file() {
        let own: Vec<Op> = best
            .iter()
            .filter(|op| op.file().is_none() || op.file() == Some(f))
            .cloned()
            .collect();
        if own.len() < best.len() {
            if let Some(msg) = diverges(&own) {
                best = own;
                best_msg = msg;
            }
        }
    }
    let (min, _) = shrink::ddmin(best, deadline, |ops| match diverges(ops) {
        Some(msg) => {
            best_msg = msg;
            true
        }
        None => false,
    });
    let trial = trial.get();
    let timed_out = Instant::now() >= deadline;
    println!(
        "{NAME}: minimal op log: {} ops (from {}; {trial} trials in {:.1}s{}); it fails with: {best_msg}",
        min.len(),
        fail + 1,
        start.elapsed().as_secs_f64(),
        if timed_out { ", time bound reached" } else { "" }
    );
    for op in &min {
        println!("  {op}");
    }
    println!("{NAME}: replay: save the lines above to FILE and run {NAME} --dir DIR --replay FILE");
}

fn run(cfg: &Config) -> anyhow::Result<ExitCode> {
    let page = holefs_common::page_size() as u64;
    if !cfg.dir.is_dir() {
        bail!("--dir {}: not a directory", cfg.dir.display());
    }
    let (mut ops, seed_text, files) = match &cfg.replay {
        Some(path) => {
            let text = std::fs::read_to_string(path).with_context(|| path.display().to_string())?;
            let ops = op::parse_log(&text)
                .map_err(anyhow::Error::msg)
                .with_context(|| path.display().to_string())?;
            let need = ops.iter().filter_map(Op::file).max().map_or(1, |f| f + 1);
            let files = cfg.files.map_or(need, usize::from).max(need);
            (ops, format!("replay:{}", path.display()), files)
        }
        None => {
            let seed = cfg.seed.unwrap_or_else(|| {
                let t = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .unwrap_or_default();
                holefs_common::rng::mix(t.as_nanos() as u64 ^ u64::from(std::process::id())) >> 16
            });
            let files = cfg.files.map_or(3, usize::from);
            let gen = GenConfig {
                files,
                max_size: cfg.max_size,
                page,
                drop_caches: cfg.drop_caches,
                remount: cfg.remount,
                past_eof: cfg.past_eof,
            };
            let n = cfg.until.map_or(cfg.ops, |k| (k + 1).min(cfg.ops));
            (op::generate(seed, n, &gen), seed.to_string(), files)
        }
    };
    if let Some(k) = cfg.until {
        ops.truncate((k + 1) as usize);
    }
    let needs_drop = ops.iter().any(|op| matches!(op, Op::DropCaches));
    if needs_drop {
        std::fs::OpenOptions::new()
            .write(true)
            .open("/proc/sys/vm/drop_caches")
            .context("/proc/sys/vm/drop_caches (needs root; --no-drop-caches)")?;
    }
    let mut remount_point = None;
    if ops.iter().any(|op| matches!(op, Op::Remount)) {
        let mp = mount_point(&cfg.dir).context("--no-remount")?;
        let c = CString::new(mp.as_os_str().as_bytes())?;
        sys::remount(&c)
            .with_context(|| format!("remount {} (needs root; --no-remount)", mp.display()))?;
        remount_point = Some(c);
    }
    let env = Env {
        dir: cfg.dir.clone(),
        page,
        files,
        remount_point,
        allow_enospc: cfg.allow_enospc,
        allow_eopnotsupp: cfg.allow_eopnotsupp,
        exact: cfg.exact,
        inject_model_bug: cfg.inject_model_bug,
        trace: cfg.trace,
        keep: cfg.keep,
    };
    let o = exec::run(&env, &ops, "run");
    let code = match &o.verdict {
        Verdict::Ok => {
            println!("{}", summary("ok", &seed_text, cfg, &env, ops.len(), &o));
            0
        }
        Verdict::Divergence { op, msg } => {
            let f = ops[*op].file();
            println!(
                "{NAME}: DIVERGENCE seed={seed_text} op={op}: {}: {msg}",
                ops[*op]
            );
            let source = match &cfg.replay {
                Some(p) => format!("--replay {}", p.display()),
                None => format!("--seed {seed_text}"),
            };
            println!(
                "{NAME}: the last {} ops{} up to it (replay: {NAME} --dir DIR {source} --until {op} [same options]):",
                cfg.log_ops,
                f.map_or(String::new(), |f| format!(" of f={f} and global")),
            );
            print!(
                "{}",
                exec::op_log(&exec::recent_ops(&ops, *op, f, cfg.log_ops))
            );
            if cfg.shrink_secs > 0 {
                shrink(&env, &ops, *op, cfg.shrink_secs);
            }
            println!(
                "{}",
                summary("divergence", &seed_text, cfg, &env, ops.len(), &o)
            );
            1
        }
        Verdict::Error { op, msg } => {
            let what = ops.get(*op).map_or(String::new(), |o| format!(" ({o})"));
            println!("{NAME}: ERROR seed={seed_text} op={op}{what}: {msg}");
            println!("{}", summary("error", &seed_text, cfg, &env, ops.len(), &o));
            2
        }
    };
    Ok(ExitCode::from(code))
}

fn main() -> ExitCode {
    let cfg = Config::parse();
    match run(&cfg) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("{NAME}: error: {e:#}");
            println!("{NAME}: result=error {e:#}");
            ExitCode::from(2)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mountinfo_escapes() {
        assert_eq!(unescape("/mnt/a\\040b"), "/mnt/a b");
        assert_eq!(unescape("/plain"), "/plain");
        assert_eq!(unescape("/x\\"), "/x\\");
    }

    #[test]
    fn mount_point_of_root_is_found() {
        if Path::new("/proc/self/mountinfo").exists() {
            let mp = mount_point(Path::new("/")).unwrap();
            assert_eq!(mp, PathBuf::from("/"));
        }
    }
}
