// SPDX-License-Identifier: GPL-2.0

//! Per-superblock statistics in sysfs, as XFS has them:
//! `/sys/fs/<type>/<major>:<minor>/stats` (one `name value` line per
//! counter) and `stats_clear` (writing `1` resets the counters).

use core::ffi::CStr;
use core::ptr;
use core::sync::atomic::{AtomicPtr, Ordering};

use kernel::alloc::flags::GFP_KERNEL;
use kernel::ffi::{c_char, c_int};
use kernel::prelude::*;
use kernel::sync::Arc;

use super::bindings as b;
use super::sb::DevNum;
use super::zeroed;

/// What a statistics directory shows: implemented by the filesystem.
pub(crate) trait StatsSource: Send + Sync {
    /// Prints the counters, one [`StatsOut::line`] each.
    fn show(&self, out: &mut StatsOut<'_>);
    /// Resets the counters (`echo 1 > stats_clear`).
    fn clear(&self);
}

/// The output of a `stats` read.
///
/// # Invariants
///
/// `buf` is the PAGE_SIZE buffer of a sysfs `show` call.
pub(crate) struct StatsOut<'a> {
    buf: *mut c_char,
    at: c_int,
    _show: core::marker::PhantomData<&'a mut [u8]>,
}

impl StatsOut<'_> {
    /// Appends `name value\n`.
    pub(crate) fn line(&mut self, name: &str, value: u64) {
        // SAFETY: `buf` is a sysfs show buffer (type invariant);
        // `sysfs_emit_at` bounds its writes to PAGE_SIZE; the format matches
        // the arguments.
        let n = unsafe {
            b::sysfs_emit_at(
                self.buf,
                self.at,
                c"%.*s %llu\n".as_ptr().cast(),
                name.len() as c_int,
                name.as_ptr(),
                value,
            )
        };
        self.at += n;
    }
}

/// `/sys/fs/<type>`, created at module load.
static ROOT: AtomicPtr<b::kobject> = AtomicPtr::new(ptr::null_mut());

/// Owns `/sys/fs/<type>` while the module is loaded (one per module).
pub(crate) struct SysfsRoot(());

impl SysfsRoot {
    /// Creates `/sys/fs/<name>`.
    pub(crate) fn new(name: &'static CStr) -> Result<Self> {
        // SAFETY: `fs_kobj` is the kernel's `/sys/fs` kobject, valid while
        // the kernel runs; `name` is a C string.
        let kobj = unsafe { b::kobject_create_and_add(name.as_ptr().cast(), b::fs_kobj) };
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
    source: Arc<dyn StatsSource>,
}

/// An operations table or attribute in static storage, only read.
#[repr(transparent)]
struct StaticTable<T>(T);

// SAFETY: the contents are never mutated after initialisation; the raw
// pointers they hold point to other statics or functions.
unsafe impl<T> Sync for StaticTable<T> {}

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
/// Only for `kobj_type.release` of a `StatsKobj`, at its last put.
unsafe extern "C" fn release(kobj: *mut b::kobject) {
    // SAFETY: by the `StatsKobj` invariant `kobj` is the first field of a
    // leaked `KBox<StatsKobj>`; this is its last reference.
    drop(unsafe { KBox::from_raw(kobj.cast::<StatsKobj>()) });
}

/// The source behind a `StatsKobj`'s kobject.
///
/// # Safety
///
/// `kobj` must be the kobject of a live `StatsKobj`.
unsafe fn source_of<'a>(kobj: *mut b::kobject) -> &'a dyn StatsSource {
    // SAFETY: per the contract and the `StatsKobj` invariant.
    unsafe { &*(*kobj.cast::<StatsKobj>()).source }
}

/// Prints the counters.
///
/// # Safety
///
/// Only for `kobj_attribute.show` of a `StatsKobj`'s `stats` file:
/// `kobj` is alive while the file is open and `buf` is PAGE_SIZE bytes.
unsafe extern "C" fn stats_show(
    kobj: *mut b::kobject,
    _attr: *mut b::kobj_attribute,
    buf: *mut c_char,
) -> isize {
    // SAFETY: sysfs calls us with our kobject (alive while its files are
    // open).
    let source = unsafe { source_of(kobj) };
    // INVARIANT: sysfs passes a PAGE_SIZE buffer.
    let mut out = StatsOut {
        buf,
        at: 0,
        _show: core::marker::PhantomData,
    };
    source.show(&mut out);
    out.at as isize
}

/// Zeroes the event counters.
///
/// # Safety
///
/// Only for `kobj_attribute.store` of a `StatsKobj`'s `stats_clear` file:
/// `kobj` is alive while the file is open and `buf` holds `count` bytes.
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
    unsafe { source_of(kobj) }.clear();
    count as isize
}

/// A superblock's directory `/sys/fs/<type>/<major>:<minor>/`, removed on
/// drop.
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
    /// Creates the directory for the superblock with device number `dev`
    /// below the module's [`SysfsRoot`].
    pub(crate) fn new(dev: DevNum, source: Arc<dyn StatsSource>) -> Result<Self> {
        let obj = KBox::new(
            StatsKobj {
                kobj: zeroed(),
                source,
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
                dev.major,
                dev.minor,
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
