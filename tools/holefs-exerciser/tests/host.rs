// SPDX-License-Identifier: GPL-2.0
//! The exerciser against the host's file systems: a directory under the
//! cargo target directory (ext4 here; any file system with punch hole and
//! zero range) and tmpfs (/dev/shm; no zero range, and stores past EOF
//! are left out, see README.md).  Root-only operations (drop_caches,
//! remount) are off.  A planted model bug must be caught, shrunk and
//! replayed.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_holefs-exerciser");

fn workdir(name: &str) -> PathBuf {
    let d = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn run(dir: &Path, args: &[&str]) -> (i32, String) {
    let out: Output = Command::new(BIN)
        .arg("--dir")
        .arg(dir)
        .args(["--no-drop-caches", "--no-remount"])
        .args(args)
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    (out.status.code().unwrap_or(-1), text)
}

fn summary(text: &str) -> &str {
    text.lines()
        .rfind(|l| l.starts_with("holefs-exerciser: result="))
        .unwrap_or_else(|| panic!("no summary line in:\n{text}"))
}

/// Does the file system of `dir` punch holes and zero ranges?
fn supports_fallocate(dir: &Path) -> bool {
    let p = dir.join("probe");
    let ok = Command::new("sh")
        .arg("-c")
        .arg("command -v fallocate >/dev/null && head -c 16384 /dev/zero > \"$1\" && fallocate -p -o 4096 -l 4096 \"$1\" && fallocate -z -o 0 -l 100 \"$1\"")
        .arg("sh")
        .arg(&p)
        .status()
        .is_ok_and(|s| s.success());
    let _ = std::fs::remove_file(p);
    ok
}

#[test]
fn clean_run_on_the_host_file_system() {
    let d = workdir("clean");
    if !supports_fallocate(&d) {
        eprintln!("skipped: {} has no punch hole / zero range", d.display());
        return;
    }
    for seed in ["1", "2"] {
        let (code, text) = run(&d, &["--seed", seed, "--ops", "1500"]);
        assert_eq!(code, 0, "{text}");
        let s = summary(&text);
        assert!(
            s.contains("result=ok") && s.contains("ops=1500/1500"),
            "{s}"
        );
        assert!(s.contains("divergences=0"), "{s}");
    }
    // Every file is removed afterwards.
    assert_eq!(std::fs::read_dir(&d).unwrap().count(), 0);
}

#[test]
fn clean_run_on_tmpfs() {
    let shm = Path::new("/dev/shm");
    let is_tmpfs = std::fs::read_to_string("/proc/self/mounts").is_ok_and(|m| {
        m.lines().any(|l| {
            l.split(' ').nth(1) == Some("/dev/shm") && l.split(' ').nth(2) == Some("tmpfs")
        })
    });
    if !is_tmpfs {
        eprintln!("skipped: /dev/shm is not tmpfs");
        return;
    }
    let d = shm.join(format!("holefs-exerciser-test-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    let (code, text) = run(
        &d,
        &[
            "--seed",
            "3",
            "--ops",
            "3000",
            "--allow-eopnotsupp",
            "--no-past-eof",
        ],
    );
    let _ = std::fs::remove_dir_all(&d);
    assert_eq!(code, 0, "{text}");
    let s = summary(&text);
    // tmpfs has no FALLOC_FL_ZERO_RANGE (6.x): counted, not an error.
    assert!(
        s.contains("result=ok") && s.contains("divergences=0"),
        "{s}"
    );
}

/// The planted bug: the model "forgets" to zero the head of a punch, so
/// the (correct) file system diverges from it -- the same divergence a file
/// system that forgets to zero a punch edge shows against a correct model.
#[test]
fn planted_bug_is_caught_shrunk_and_replayed() {
    let d = workdir("planted");
    if !supports_fallocate(&d) {
        eprintln!("skipped: no punch hole");
        return;
    }
    let (code, text) = run(
        &d,
        &[
            "--seed",
            "7",
            "--ops",
            "3000",
            "--inject-model-bug",
            "--shrink-secs",
            "30",
        ],
    );
    assert_eq!(code, 1, "{text}");
    assert!(summary(&text).contains("result=divergence"), "{text}");
    let head = text
        .lines()
        .find(|l| l.starts_with("holefs-exerciser: DIVERGENCE seed=7 op="))
        .unwrap_or_else(|| panic!("{text}"));
    let k: usize = head["holefs-exerciser: DIVERGENCE seed=7 op=".len()..]
        .split(':')
        .next()
        .unwrap()
        .parse()
        .unwrap();

    // The minimal op log: a handful of operations, among them a punch.
    let mut lines = text
        .lines()
        .skip_while(|l| !l.starts_with("holefs-exerciser: minimal op log:"));
    let title = lines
        .next()
        .unwrap_or_else(|| panic!("no minimal op log:\n{text}"));
    let min: Vec<&str> = lines
        .take_while(|l| l.starts_with("  "))
        .map(str::trim)
        .collect();
    assert!(!min.is_empty() && min.len() <= 6, "{title}\n{min:?}");
    assert!(min.iter().any(|l| l.starts_with("punch ")), "{min:?}");

    // Replaying it fails again with the planted bug, and passes without.
    let log = d.join("min.log");
    std::fs::write(&log, min.join("\n") + "\n").unwrap();
    let log = log.to_str().unwrap();
    let (code, t) = run(
        &d,
        &["--replay", log, "--inject-model-bug", "--shrink-secs", "0"],
    );
    assert_eq!(code, 1, "{t}");
    let (code, t) = run(&d, &["--replay", log]);
    assert_eq!(code, 0, "{t}");

    // --until replays the seed's prefix: up to K it diverges at K, and
    // one operation earlier it does not.
    let (code, t) = run(
        &d,
        &[
            "--seed",
            "7",
            "--until",
            &k.to_string(),
            "--inject-model-bug",
            "--shrink-secs",
            "0",
        ],
    );
    assert_eq!(code, 1, "{t}");
    assert!(t.contains(&format!("DIVERGENCE seed=7 op={k}:")), "{t}");
    if k > 0 {
        let (code, t) = run(
            &d,
            &[
                "--seed",
                "7",
                "--until",
                &(k - 1).to_string(),
                "--inject-model-bug",
                "--shrink-secs",
                "0",
            ],
        );
        // The final whole-file check may already see it.
        assert!(code == 0 || t.contains("final check"), "{t}");
    }
}

#[test]
fn errors_exit_2() {
    let (code, _) = run(Path::new("/nonexistent/dir"), &["--ops", "1"]);
    assert_eq!(code, 2);
    let out = Command::new(BIN).arg("--bogus").output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let out = Command::new(BIN).arg("--help").output().unwrap();
    assert_eq!(out.status.code(), Some(0));
}

#[test]
fn same_seed_same_run() {
    let d = workdir("seed");
    if !supports_fallocate(&d) {
        return;
    }
    let strip = |t: &str| {
        let s = summary(t).to_string();
        // Everything but the timing.
        s.split(' ')
            .filter(|w| !w.starts_with("elapsed_ms=") && !w.starts_with("ops_per_s="))
            .collect::<Vec<_>>()
            .join(" ")
    };
    let (_, a) = run(&d, &["--seed", "11", "--ops", "400"]);
    let (_, b) = run(&d, &["--seed", "11", "--ops", "400"]);
    assert_eq!(strip(&a), strip(&b));
}
