// SPDX-License-Identifier: GPL-2.0
//! Shared file mappings, seen as 64-bit atomic words or copied through
//! with SIGBUS absorbed.

use crate::sigbus::{self, Guard};
use rustix::mm::{self, MapFlags, MsyncFlags, ProtFlags};
use std::fs::File;
use std::io;
use std::ops::Range;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicU64, Ordering};

/// How a mapping may be accessed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    Read,
    ReadWrite,
}

/// A `MAP_SHARED` mapping of the first `len` bytes of a file, unmapped on
/// drop.
///
/// Other threads, other mappings and the kernel may change the memory at
/// any time, so shared access goes through atomics only ([`Mapping::words`]);
/// plain copies ([`Mapping::store`], [`Mapping::load`]) need `&mut self`.
///
/// A guarded mapping ([`Mapping::guarded`]) survives SIGBUS: see
/// [`crate::sigbus`].  An unguarded one must not be accessed where the
/// file has no page (past EOF), or the process dies.
pub struct Mapping {
    // INVARIANT: `ptr` is the start of a live mapping of `len` bytes (a
    // non-zero multiple of `grain`, so 8-byte aligned), readable, and
    // writable when `access` is `ReadWrite`, until `self` is dropped.
    ptr: NonNull<u8>,
    len: usize,
    access: Access,
    /// The size of the mapping's pages ([`crate::mapping_page_size`]).
    grain: usize,
    guard: Option<Guard>,
}

// SAFETY: a Mapping owns its address range; moving it to another thread
// moves nothing but the pointer.
unsafe impl Send for Mapping {}
// SAFETY: `&Mapping` allows atomic accesses, madvise, msync and mincore
// only, all of which may run concurrently from several threads.
unsafe impl Sync for Mapping {}

impl Mapping {
    /// Map `len` bytes of `file`, which must be a non-zero multiple of the
    /// size of the file's mapping pages ([`crate::mapping_page_size`]: the
    /// page size, or the huge page size on hugetlbfs).
    pub fn new(file: &File, len: usize, access: Access) -> io::Result<Mapping> {
        let prot = match access {
            Access::Read => ProtFlags::READ,
            Access::ReadWrite => ProtFlags::READ | ProtFlags::WRITE,
        };
        let grain = crate::mapping_page_size(file)?;
        if len == 0 || !len.is_multiple_of(grain) {
            return Err(io::Error::from_raw_os_error(libc::EINVAL));
        }
        // SAFETY: a fresh mapping at an address the kernel picks: no
        // existing memory is affected.  The mapping holds its own reference
        // to the file.
        let p = unsafe { mm::mmap(std::ptr::null_mut(), len, prot, MapFlags::SHARED, file, 0)? };
        let ptr = NonNull::new(p.cast::<u8>()).ok_or_else(|| io::Error::other("mmap gave NULL"))?;
        // INVARIANT: mmap succeeded with `len` bytes and `prot`; `len` is a
        // multiple of `grain`.
        Ok(Mapping {
            ptr,
            len,
            access,
            grain,
            guard: None,
        })
    }

    /// [`Mapping::new`], with SIGBUS in the mapping absorbed for its whole
    /// life: a faulting page (a huge page on hugetlbfs) becomes an
    /// anonymous zero page.
    pub fn guarded(file: &File, len: usize, access: Access) -> io::Result<Mapping> {
        let mut m = Mapping::new(file, len, access)?;
        m.guard = Some(sigbus::guard(
            m.ptr.as_ptr() as usize,
            len,
            access == Access::ReadWrite,
            m.grain,
        )?);
        Ok(m)
    }

    /// The size of the mapping's pages: the page size, or the huge page
    /// size on hugetlbfs.
    pub fn grain(&self) -> usize {
        self.grain
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Pages of the mapping.
    pub fn pages(&self) -> usize {
        self.len / crate::page_size()
    }

    /// The mapping as 64-bit words, for atomic (relaxed) loads and stores:
    /// other threads and the kernel changing the memory underneath is not
    /// a data race.
    pub fn words(&self) -> &[AtomicU64] {
        // SAFETY: by the type invariant `ptr` is a live, 8-byte aligned
        // mapping of `len` bytes that stays mapped while `self` is
        // borrowed; it is only accessed through atomics while shared.  Past
        // EOF an access raises SIGBUS: guarded mappings absorb it, others
        // are never accessed there.
        unsafe { std::slice::from_raw_parts(self.ptr.as_ptr().cast::<AtomicU64>(), self.len / 8) }
    }

    /// Loads the first word of each page in `pages`: one read fault per
    /// page not mapped yet.  Returns their sum, so nothing is elided.
    pub fn touch(&self, pages: Range<usize>) -> u64 {
        let (words, per_page) = (self.words(), crate::page_size() / 8);
        pages.fold(0u64, |sum, p| {
            sum.wrapping_add(words[p * per_page].load(Ordering::Relaxed))
        })
    }

    /// madvise(MADV_DONTNEED): drop the page table entries so that the
    /// next access faults again.  For a shared file mapping the contents
    /// stay as they are.
    pub fn dontneed(&self) -> io::Result<()> {
        // SAFETY: the range is our own live mapping (type invariant); for a
        // shared file mapping MADV_DONTNEED only drops PTEs.
        unsafe {
            mm::madvise(
                self.ptr.as_ptr().cast(),
                self.len,
                mm::Advice::LinuxDontNeed,
            )?
        };
        Ok(())
    }

    /// madvise(MADV_WILLNEED) over the pages holding `off..off + len`:
    /// starts readahead of the file pages, no PTEs are made.
    pub fn willneed(&self, off: usize, len: usize) -> io::Result<()> {
        self.advise_pages(off, len, mm::Advice::WillNeed)
    }

    /// madvise(MADV_REMOVE) over the pages holding `off..off + len` of a
    /// writable mapping: frees the file's backing store there, as a hole
    /// punch does; the pages read as zeros afterwards.
    pub fn remove(&self, off: usize, len: usize) -> io::Result<()> {
        self.advise_pages(off, len, mm::Advice::LinuxRemove)
    }

    fn advise_pages(&self, off: usize, len: usize, advice: mm::Advice) -> io::Result<()> {
        self.check_range(off, len)?;
        let ps = crate::page_size();
        let start = off / ps * ps;
        let end = (off + len).div_ceil(ps) * ps;
        if start >= end {
            return Ok(());
        }
        // SAFETY: `start..end` lies inside our live mapping (checked above,
        // the mapping is whole pages) and `start` is page-aligned.  Neither
        // advice unmaps memory: the pages stay the file's, whose contents
        // are only ever read through atomics or guarded copies.
        unsafe { mm::madvise(self.ptr.as_ptr().add(start).cast(), end - start, advice)? };
        Ok(())
    }

    /// msync(MS_SYNC) of the pages holding `off..off + len`.
    pub fn msync(&self, off: usize, len: usize) -> io::Result<()> {
        let ps = crate::page_size();
        let start = off / ps * ps;
        let end = off.saturating_add(len).min(self.len);
        if start >= end {
            return Ok(());
        }
        // SAFETY: `start..end` lies inside our live mapping and `start` is
        // page-aligned.
        unsafe {
            mm::msync(
                self.ptr.as_ptr().add(start).cast(),
                end - start,
                MsyncFlags::SYNC,
            )?
        };
        Ok(())
    }

    /// How many of the mapped file pages are in the page cache (mincore(2)
    /// on a file mapping looks the page cache up).
    pub fn resident_pages(&self) -> io::Result<usize> {
        let mut vec = vec![0u8; self.pages()];
        // SAFETY: the range is our live, page-aligned mapping and `vec` has
        // one byte per page of it.  (rustix has no mincore.)
        let r = unsafe { libc::mincore(self.ptr.as_ptr().cast(), self.len, vec.as_mut_ptr()) };
        if r != 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(vec.iter().filter(|&&b| b & 1 != 0).count())
    }

    fn check_range(&self, off: usize, n: usize) -> io::Result<()> {
        match off.checked_add(n) {
            Some(end) if end <= self.len => Ok(()),
            _ => Err(io::Error::from_raw_os_error(libc::EINVAL)),
        }
    }

    /// Copies `src` to offset `off` of a writable mapping.  Returns the
    /// offsets (aligned to [`Mapping::grain`], sorted) of the pages that
    /// raised SIGBUS: in a
    /// guarded mapping those got an anonymous page and the store landed
    /// there, not in the file.
    pub fn store(&mut self, off: usize, src: &[u8]) -> io::Result<Vec<usize>> {
        self.check_range(off, src.len())?;
        if self.access != Access::ReadWrite {
            return Err(io::Error::from_raw_os_error(libc::EACCES));
        }
        let (base, ptr) = (self.ptr.as_ptr() as usize, self.ptr.as_ptr());
        let pages = sigbus::faults_during(base..base + self.len, || {
            // SAFETY: the destination lies inside the writable mapping
            // (checked above), which `&mut self` keeps from being accessed
            // through this Mapping meanwhile and which does not overlap
            // `src` (a Rust slice elsewhere).
            unsafe { std::ptr::copy_nonoverlapping(src.as_ptr(), ptr.add(off), src.len()) }
        })?;
        Ok(pages.into_iter().map(|p| p - base).collect())
    }

    /// Copies from offset `off` of the mapping to `dst`; returns the pages
    /// that raised SIGBUS as [`Mapping::store`] does (in a guarded mapping
    /// they read as zeros).
    pub fn load(&mut self, off: usize, dst: &mut [u8]) -> io::Result<Vec<usize>> {
        self.check_range(off, dst.len())?;
        let (base, ptr) = (self.ptr.as_ptr() as usize, self.ptr.as_ptr());
        let pages = sigbus::faults_during(base..base + self.len, || {
            // SAFETY: as for `store`, reading a readable mapping.
            unsafe { std::ptr::copy_nonoverlapping(ptr.add(off), dst.as_mut_ptr(), dst.len()) }
        })?;
        Ok(pages.into_iter().map(|p| p - base).collect())
    }
}

impl Drop for Mapping {
    fn drop(&mut self) {
        // Unguard first: the handler must not patch a range we give back.
        self.guard = None;
        // SAFETY: we own the mapping (type invariant) and nothing borrowed
        // from it outlives `self`; this also unmaps the anonymous pages the
        // SIGBUS handler put inside it.
        let _ = unsafe { mm::munmap(self.ptr.as_ptr().cast(), self.len) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn file(name: &str, len: usize) -> File {
        let p = std::env::temp_dir().join(format!("holefs-common-{name}.{}", std::process::id()));
        let mut f = File::options()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(&p)
            .unwrap();
        let _ = std::fs::remove_file(&p);
        f.write_all(&vec![0x11; len]).unwrap();
        f
    }

    #[test]
    fn words_see_the_file_and_stores_reach_it() {
        let ps = crate::page_size();
        let f = file("words", 2 * ps);
        let mut m = Mapping::new(&f, 2 * ps, Access::ReadWrite).unwrap();
        assert_eq!(m.pages(), 2);
        assert_eq!(m.words()[0].load(Ordering::Relaxed), 0x1111_1111_1111_1111);
        assert_eq!(m.store(ps, &[7; 8]).unwrap(), Vec::<usize>::new());
        m.msync(ps, 8).unwrap();
        let mut b = [0u8; 8];
        std::os::unix::fs::FileExt::read_exact_at(&f, &mut b, ps as u64).unwrap();
        assert_eq!(b, [7; 8]);
        assert_ne!(m.touch(0..2), 0);
        m.dontneed().unwrap();
        assert!(m.resident_pages().unwrap() <= 2);
        m.willneed(8, 2 * ps - 8).unwrap();
        assert!(m.willneed(ps, 2 * ps).is_err());
        m.remove(0, ps)
            .unwrap_or_else(|e| assert_eq!(e.raw_os_error(), Some(libc::EOPNOTSUPP)));
        assert!(m.store(2 * ps - 4, &[0; 8]).is_err());
        assert!(Mapping::new(&f, 100, Access::Read).is_err());
    }

    #[test]
    fn guarded_mapping_survives_access_past_eof() {
        let ps = crate::page_size();
        let f = file("guard", 3 * ps);
        let mut m = Mapping::guarded(&f, 3 * ps, Access::ReadWrite).unwrap();
        // Cut the file to one page: the two pages after it raise SIGBUS.
        f.set_len(ps as u64).unwrap();
        let before = sigbus::patched();
        let mut buf = vec![0xffu8; 3 * ps];
        let faults = m.load(0, &mut buf).unwrap();
        assert_eq!(faults, vec![ps, 2 * ps]);
        assert!(buf[..ps].iter().all(|&b| b == 0x11));
        assert!(buf[ps..].iter().all(|&b| b == 0));
        assert_eq!(m.words()[2 * ps / 8].load(Ordering::Relaxed), 0);
        assert!(sigbus::patched() >= before + 2);
        // A store into a patched page lands in the anonymous page.
        assert_eq!(m.store(ps, &[5; 8]).unwrap(), Vec::<usize>::new());
        assert_eq!(f.metadata().unwrap().len(), ps as u64);
    }
}
