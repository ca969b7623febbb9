// SPDX-License-Identifier: GPL-2.0
//! The name of the filesystem a directory is on, from its statfs magic
//! number, for records made without `--fs`.

/// The name for magic `m` (`statfs.f_type`), or `0x<hex>` when unknown.
pub fn name(m: u64) -> String {
    let known = match m {
        0x0102_1994 => "tmpfs",
        0xef53 => "ext4",
        0x5846_5342 => "xfs",
        0x9123_683e => "btrfs",
        0xf2f5_2010 => "f2fs",
        0x7366_746e => "ntfs3",
        0x0116_1970 => "gfs2",
        0x7461_636f => "ocfs2",
        0x6969 => "nfs",
        0xfe53_4d42 => "smb3",
        0xff53_4d42 => "cifs",
        0x6573_5546 => "fuse",
        0x9584_58f6 => "hugetlbfs",
        0x0102_1997 => "9p",
        0x794c_7630 => "overlayfs",
        _ => return format!("0x{m:x}"),
    };
    known.to_owned()
}

#[cfg(test)]
mod tests {
    #[test]
    fn names() {
        assert_eq!(super::name(0xef53), "ext4");
        assert_eq!(super::name(0x5846_5342), "xfs");
        assert_eq!(super::name(0x1234), "0x1234");
    }
}
