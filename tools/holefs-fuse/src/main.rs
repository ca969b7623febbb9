// SPDX-License-Identifier: GPL-2.0
//! holefs-fuse: a passthrough FUSE file system for `make audit`.
//!
//!     holefs-fuse [--threads N] BACKING_DIR MOUNTPOINT
//!
//! Serves MOUNTPOINT from the files of BACKING_DIR: every read, write,
//! fallocate, truncate and copy_file_range goes to the backing file.  Opens
//! reply `FOPEN_KEEP_CACHE` and nothing sets `direct_io`, so the kernel's
//! FUSE client keeps a page cache for the files, and mmap, readahead and
//! splice go through it: the audit races that cache against the client's
//! invalidation in fallocate, truncate and the rest.  Runs until unmounted
//! (or SIGTERM, which unmounts).  Root only: it mounts with mount(2).

mod fs;

use std::path::PathBuf;
use std::process::ExitCode;

const USAGE: &str = "usage: holefs-fuse [--threads N] BACKING_DIR MOUNTPOINT";

/// The command line.
#[derive(Debug, PartialEq)]
struct Args {
    backing: PathBuf,
    mountpoint: PathBuf,
    threads: usize,
}

/// Parse the arguments (without the program name); `Ok(None)` for --help.
fn parse_args<I: IntoIterator<Item = String>>(args: I) -> Result<Option<Args>, String> {
    let mut threads = 2;
    let mut paths = Vec::new();
    let mut it = args.into_iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "-h" | "--help" => return Ok(None),
            "--threads" => {
                let v = it.next().ok_or("--threads wants a number")?;
                threads = v
                    .parse()
                    .ok()
                    .filter(|n| (1..=64).contains(n))
                    .ok_or_else(|| format!("--threads {v}: want 1 to 64"))?;
            }
            s if s.starts_with('-') => return Err(format!("unknown option {s}")),
            _ => paths.push(PathBuf::from(a)),
        }
    }
    let [backing, mountpoint]: [PathBuf; 2] = paths
        .try_into()
        .map_err(|_| "want BACKING_DIR and MOUNTPOINT".to_string())?;
    Ok(Some(Args {
        backing,
        mountpoint,
        threads,
    }))
}

fn main() -> ExitCode {
    let args = match parse_args(std::env::args().skip(1)) {
        Ok(Some(a)) => a,
        Ok(None) => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("holefs-fuse: {e}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let fs = match fs::Passthrough::new(&args.backing) {
        Ok(fs) => fs,
        Err(e) => {
            eprintln!("holefs-fuse: {}: {e}", args.backing.display());
            return ExitCode::from(1);
        }
    };
    let mut cfg = fuser::Config::default();
    cfg.mount_options = vec![
        fuser::MountOption::FSName("holefs-fuse".into()),
        fuser::MountOption::Subtype("holefs-fuse".into()),
        fuser::MountOption::DefaultPermissions,
    ];
    cfg.acl = fuser::SessionACL::All;
    cfg.n_threads = Some(args.threads);
    match fuser::mount(fs, &args.mountpoint, &cfg) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("holefs-fuse: mount on {}: {e}", args.mountpoint.display());
            ExitCode::from(1)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(v: &[&str]) -> Result<Option<Args>, String> {
        parse_args(v.iter().map(|s| s.to_string()))
    }

    #[test]
    fn two_paths_and_threads() {
        let a = parse(&["--threads", "4", "/b", "/m"]).unwrap().unwrap();
        assert_eq!(a.backing, PathBuf::from("/b"));
        assert_eq!(a.mountpoint, PathBuf::from("/m"));
        assert_eq!(a.threads, 4);
        assert_eq!(parse(&["/b", "/m"]).unwrap().unwrap().threads, 2);
    }

    #[test]
    fn bad_input_is_an_error() {
        assert!(parse(&["/b"]).is_err());
        assert!(parse(&["/b", "/m", "/x"]).is_err());
        assert!(parse(&["--threads", "0", "/b", "/m"]).is_err());
        assert!(parse(&["--threads"]).is_err());
        assert!(parse(&["--bogus", "/b", "/m"]).is_err());
        assert_eq!(parse(&["--help"]).unwrap(), None);
    }
}
