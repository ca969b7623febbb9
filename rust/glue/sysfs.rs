// SPDX-License-Identifier: GPL-2.0

//! `/sys/fs/holefs/<major>:<minor>/stats` and `stats_clear`, like XFS's
//! `/sys/fs/xfs/<dev>/stats/`.

use core::ptr;
use core::sync::atomic::{AtomicPtr, Ordering};

use kernel::alloc::flags::GFP_KERNEL;
use kernel::ffi::{c_char, c_int};
use kernel::prelude::*;
use kernel::sync::Arc;

use super::bindings as b;
use super::super_ops::Accounting;
use super::{zeroed, StaticTable};
use crate::stats::Counter;

/// `/sys/fs/holefs`, created at module load.
static ROOT: AtomicPtr<b::kobject> = AtomicPtr::new(ptr::null_mut());

/// Owns `/sys/fs/holefs` while the module is loaded.
pub(crate) struct SysfsRoot(());

impl SysfsRoot {
    pub(crate) fn new() -> Result<Self> {
        // SAFETY: `fs_kobj` is the kernel's `/sys/fs` kobject, valid while
        // the kernel runs.
        let kobj = unsafe { b::kobject_create_and_add(c"holefs".as_ptr().cast(), b::fs_kobj) };
        if kobj.is_null() {
            return Err(ENOMEM);
        }
        ROOT.store(kobj, Ordering::Release);
        Ok(SysfsRoot(()))
    }
}

impl Drop for SysfsRoot {
    fn drop(&mut self) {
        let kobj = ROOT.swap(ptr::null_mut(), Ordering::AcqRel);
        // SAFETY: created in `new`; every mount's directory below it is gone
        // because the module cannot unload while mounted.
        unsafe { b::kobject_put(kobj) };
    }
}

/// A mount's sysfs directory: the kobject and what its files show.
///
/// # Invariants
///
/// `kobj` is the first field, so a pointer to it is a pointer to the
/// `StatsKobj`; the object is a leaked `KBox` freed by the kobject's
/// `release`.
#[repr(C)]
struct StatsKobj {
    kobj: b::kobject,
    acct: Arc<Accounting>,
}

// `struct attribute` has lockdep fields only with CONFIG_DEBUG_LOCK_ALLOC,
// so the `..zeroed()` below is needed on the debug kernel alone.
#[allow(clippy::needless_update)]
static STATS_ATTR: StaticTable<b::kobj_attribute> = StaticTable(b::kobj_attribute {
    attr: b::attribute {
        name: c"stats".as_ptr().cast(),
        mode: 0o444,
        ..zeroed()
    },
    show: Some(stats_show),
    store: None,
});

#[allow(clippy::needless_update)]
static CLEAR_ATTR: StaticTable<b::kobj_attribute> = StaticTable(b::kobj_attribute {
    attr: b::attribute {
        name: c"stats_clear".as_ptr().cast(),
        mode: 0o200,
        ..zeroed()
    },
    show: None,
    store: Some(stats_clear_store),
});

static ATTRS: StaticTable<[*const b::attribute; 3]> =
    StaticTable([&STATS_ATTR.0.attr, &CLEAR_ATTR.0.attr, ptr::null()]);

static GROUP: StaticTable<b::attribute_group> = StaticTable(b::attribute_group {
    attrs: ATTRS.0.as_ptr() as *mut *mut b::attribute,
    ..zeroed()
});

static GROUPS: StaticTable<[*const b::attribute_group; 2]> = StaticTable([&GROUP.0, ptr::null()]);

static KTYPE: StaticTable<b::kobj_type> = StaticTable(b::kobj_type {
    release: Some(release),
    sysfs_ops: ptr::addr_of!(b::kobj_sysfs_ops),
    default_groups: GROUPS.0.as_ptr() as *mut *const b::attribute_group,
    ..zeroed()
});

/// Frees a mount's sysfs object.
///
/// # Safety
///
/// Called only by the kernel through `kobj_type` (`->release`), with arguments
/// that satisfy that callback's contract (Documentation/filesystems/vfs.rst
/// and locking.rst): valid pointers to objects of a mounted holefs.
unsafe extern "C" fn release(kobj: *mut b::kobject) {
    // SAFETY: by the `StatsKobj` invariant `kobj` is the first field of a
    // leaked `KBox<StatsKobj>`; this is its last reference.
    drop(unsafe { KBox::from_raw(kobj.cast::<StatsKobj>()) });
}

/// The accounting behind a `StatsKobj`'s kobject.
///
/// # Safety
///
/// `kobj` must be the kobject of a live `StatsKobj`.
unsafe fn acct_of<'a>(kobj: *mut b::kobject) -> &'a Accounting {
    // SAFETY: per the contract and the `StatsKobj` invariant.
    unsafe { &(*kobj.cast::<StatsKobj>()).acct }
}

/// Appends `name value\n` to the sysfs buffer at `*at`.
///
/// # Safety
///
/// `buf` must be a sysfs show buffer.
unsafe fn emit(buf: *mut c_char, at: &mut c_int, name: &str, value: u64) {
    // SAFETY: `sysfs_emit_at` bounds its writes to PAGE_SIZE; the format
    // matches the arguments.
    let n = unsafe {
        b::sysfs_emit_at(
            buf,
            *at,
            c"%.*s %llu\n".as_ptr().cast(),
            name.len() as c_int,
            name.as_ptr(),
            value,
        )
    };
    *at += n;
}

/// Prints the counters.
///
/// # Safety
///
/// Called only by the kernel through `kobj_attribute` (`->show`), with arguments
/// that satisfy that callback's contract (Documentation/filesystems/vfs.rst
/// and locking.rst): valid pointers to objects of a mounted holefs.
unsafe extern "C" fn stats_show(
    kobj: *mut b::kobject,
    _attr: *mut b::kobj_attribute,
    buf: *mut c_char,
) -> isize {
    // SAFETY: sysfs calls us with our kobject (alive while its files are
    // open) and a PAGE_SIZE buffer.
    unsafe {
        let acct = acct_of(kobj);
        let mut at = 0;
        for &c in Counter::ALL {
            emit(buf, &mut at, c.name(), acct.stats.get(c));
        }
        emit(buf, &mut at, "blocks_total", acct.pool.capacity());
        emit(buf, &mut at, "blocks_used", acct.pool.used());
        emit(buf, &mut at, "blocks_free", acct.pool.free());
        at as isize
    }
}

/// Zeroes the event counters.
///
/// # Safety
///
/// Called only by the kernel through `kobj_attribute` (`->store`), with arguments
/// that satisfy that callback's contract (Documentation/filesystems/vfs.rst
/// and locking.rst): valid pointers to objects of a mounted holefs.
unsafe extern "C" fn stats_clear_store(
    kobj: *mut b::kobject,
    _attr: *mut b::kobj_attribute,
    buf: *const c_char,
    count: usize,
) -> isize {
    // SAFETY: sysfs passes `count` readable bytes.
    let input = unsafe { core::slice::from_raw_parts(buf.cast::<u8>(), count) };
    let input = input.strip_suffix(b"\n").unwrap_or(input);
    if input != b"1" {
        return EINVAL.to_errno() as isize;
    }
    // SAFETY: as for `stats_show`.
    unsafe { acct_of(kobj) }.stats.reset();
    count as isize
}

/// A mount's directory `/sys/fs/holefs/<major>:<minor>/`, removed on drop.
///
/// # Invariants
///
/// `kobj` is a registered `StatsKobj` kobject to which we hold a reference.
pub(crate) struct StatsDir {
    kobj: *mut b::kobject,
}

// SAFETY: the kobject API may be called from any task.
unsafe impl Send for StatsDir {}
// SAFETY: `StatsDir` has no methods taking `&self`.
unsafe impl Sync for StatsDir {}

impl StatsDir {
    /// Creates the directory for the mount with device number `dev`.
    pub(crate) fn new(dev: b::dev_t, acct: Arc<Accounting>) -> Result<Self> {
        let obj = KBox::new(
            StatsKobj {
                kobj: zeroed(),
                acct,
            },
            GFP_KERNEL,
        )?;
        let kobj = KBox::into_raw(obj).cast::<b::kobject>();
        // SAFETY: `kobj` is a zeroed kobject at the start of a leaked
        // `StatsKobj` whose `release` frees it; `ROOT` is live while the
        // module is loaded; the format matches the two unsigned arguments.
        let ret = unsafe {
            b::kobject_init_and_add(
                kobj,
                &KTYPE.0,
                ROOT.load(Ordering::Acquire),
                c"%u:%u".as_ptr().cast(),
                b::holefs_major(dev),
                b::holefs_minor(dev),
            )
        };
        if ret != 0 {
            // SAFETY: `kobject_init_and_add` initialised the kobject even on
            // failure; the put frees it through `release`.
            unsafe { b::kobject_put(kobj) };
            return Err(Error::from_errno(ret));
        }
        // INVARIANT: registered above; the initial reference is ours.
        Ok(StatsDir { kobj })
    }
}

impl Drop for StatsDir {
    fn drop(&mut self) {
        // SAFETY: by the type invariant; `kobject_put` frees the object once
        // sysfs is done with it.
        unsafe {
            b::kobject_del(self.kobj);
            b::kobject_put(self.kobj);
        }
    }
}
