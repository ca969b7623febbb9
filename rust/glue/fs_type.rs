// SPDX-License-Identifier: GPL-2.0

//! The `holefs` file_system_type: registration, the fs_context (mount
//! option parsing), `fill_super` and `kill_sb`.

use core::cell::UnsafeCell;
use core::ffi::CStr;
use core::ptr;

use kernel::alloc::flags::GFP_KERNEL;
use kernel::error::from_result;
use kernel::ffi::{c_char, c_int};
use kernel::prelude::*;

use super::bindings as b;
use super::super_ops::{SbInfo, SUPER_OPS};
use super::{inode, zeroed, StaticTable, PAGE_SHIFT, PAGE_SIZE};
use crate::options::{MountConfig, OptionError, OptionKey};

/// `HOLEFS_MAGIC` as reported by statfs (`f_type`): "hole".
pub(crate) const HOLEFS_MAGIC: u64 = 0x686f_6c65;

/// Parameter table for `fs_parse()`.  Every value is taken as a string and
/// parsed by [`MountConfig::apply`]; the table is indexed like
/// [`OptionKey::ALL`].
static PARAMS: StaticTable<[b::fs_parameter_spec; 7]> = StaticTable([
    string_param(c"size", 0),
    string_param(c"map_pages", 1),
    string_param(c"fault", 2),
    string_param(c"punch", 3),
    string_param(c"punch_delay_us", 4),
    string_param(c"truncate_delay_us", 5),
    zeroed(),
]);

const fn string_param(name: &'static CStr, opt: u8) -> b::fs_parameter_spec {
    b::fs_parameter_spec {
        name: name.as_ptr().cast(),
        type_: Some(b::fs_param_is_string),
        opt,
        flags: 0,
        data: ptr::null(),
    }
}

static CONTEXT_OPS: StaticTable<b::fs_context_operations> = StaticTable(b::fs_context_operations {
    free: Some(fc_free),
    parse_param: Some(fc_parse_param),
    get_tree: Some(fc_get_tree),
    reconfigure: Some(fc_reconfigure),
    ..zeroed()
});

/// The registered filesystem type.
///
/// # Invariants
///
/// The kernel owns the contents between `register_filesystem()` and
/// `unregister_filesystem()`; Rust only writes them before registering.
struct FsType(UnsafeCell<b::file_system_type>);

// SAFETY: see the type invariant; the kernel serialises its own accesses.
unsafe impl Sync for FsType {}

static FS_TYPE: FsType = FsType(UnsafeCell::new(b::file_system_type {
    name: c"holefs".as_ptr().cast(),
    init_fs_context: Some(init_fs_context),
    kill_sb: Some(kill_sb),
    ..zeroed()
}));

/// Keeps `holefs` registered (and `/sys/fs/holefs` present) while alive.
pub(crate) struct Registration {
    _sysfs: super::sysfs::SysfsRoot,
}

impl Registration {
    /// Registers the filesystem type, owned by `module`.
    pub(crate) fn new(module: &'static ThisModule) -> Result<Self> {
        let sysfs = super::sysfs::SysfsRoot::new()?;
        let fs = FS_TYPE.0.get();
        // SAFETY: not registered yet, so nothing else accesses `FS_TYPE`;
        // `module` is this module and outlives the registration.
        unsafe {
            (*fs).owner = module.as_ptr();
            (*fs).parameters = PARAMS.0.as_ptr().cast();
        }
        // SAFETY: `fs` points to a fully initialised, static
        // `file_system_type`.
        kernel::error::to_result(unsafe { b::register_filesystem(fs) })?;
        Ok(Registration { _sysfs: sysfs })
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        // SAFETY: registered in `new`; the module cannot be unloaded (and so
        // this cannot run) while a holefs superblock exists.
        unsafe { b::unregister_filesystem(FS_TYPE.0.get()) };
        // `sysfs` is dropped after this, removing /sys/fs/holefs last.
    }
}

/// Value of the `unsafe_policies` module parameter.
fn unsafe_policies_allowed() -> bool {
    // SAFETY: a `bool` module parameter, written only by the module loader
    // before `init` (permissions 0444: not writable through sysfs).
    unsafe { ptr::read_volatile(ptr::addr_of!(b::holefs_unsafe_policies)) }
}

/// Default backing-store size: a quarter of RAM.
fn default_size() -> u64 {
    // SAFETY: reads a global counter.
    let pages = unsafe { b::holefs_totalram_pages() } as u64;
    (pages / 4).max(1) * PAGE_SIZE
}

/// Converts the kernel's placeholder `fs_context` pointer to the full type.
fn fc_full(fc: *mut kernel::bindings::fs_context) -> *mut b::fs_context {
    fc.cast()
}

/// Reports a refused option value through the fs_context log (or dmesg when
/// the mounter did not ask for the log), as `invalf()` does.
///
/// # Safety
///
/// `fc` must be a valid fs_context and `value` a NUL-terminated string.
unsafe fn log_error(fc: *mut b::fs_context, key: &str, msg: &str, value: *const c_char) {
    // SAFETY: `fc` is valid (caller); the format consumes a length-prefixed
    // string, a second one and a C string, matching the arguments.
    unsafe {
        b::logfc(
            (*fc).log.log,
            (*fc).log.prefix,
            b'e' as c_char,
            c"%.*s: %.*s (got '%s')".as_ptr().cast(),
            key.len() as c_int,
            key.as_ptr(),
            msg.len() as c_int,
            msg.as_ptr(),
            value,
        )
    };
}

/// Sets up a mount's option parsing.
///
/// # Safety
///
/// Called only by the kernel through `file_system_type` (`->init_fs_context`), with arguments
/// that satisfy that callback's contract (Documentation/filesystems/vfs.rst
/// and locking.rst): valid pointers to objects of a mounted holefs.
unsafe extern "C" fn init_fs_context(fc: *mut kernel::bindings::fs_context) -> c_int {
    let fc = fc_full(fc);
    from_result(|| {
        let config = KBox::new(MountConfig::new(default_size()), GFP_KERNEL)?;
        // SAFETY: `fc` is the context being initialised; `fc_free` releases
        // `fs_private` and `CONTEXT_OPS` is static.
        unsafe {
            (*fc).fs_private = KBox::into_raw(config).cast();
            (*fc).ops = &CONTEXT_OPS.0;
        }
        Ok(0)
    })
}

/// Frees the parsed options.
///
/// # Safety
///
/// Called only by the kernel through `fs_context_operations` (`->free`), with arguments
/// that satisfy that callback's contract (Documentation/filesystems/vfs.rst
/// and locking.rst): valid pointers to objects of a mounted holefs.
unsafe extern "C" fn fc_free(fc: *mut b::fs_context) {
    // SAFETY: `fs_private` is null or the `KBox<MountConfig>` made in
    // `init_fs_context`, freed only here.
    unsafe {
        let config = (*fc).fs_private.cast::<MountConfig>();
        if !config.is_null() {
            drop(KBox::from_raw(config));
            (*fc).fs_private = ptr::null_mut();
        }
    }
}

/// The options of the mounted filesystem when `fc` reconfigures it (a
/// remount), `None` when `fc` creates a new one.
///
/// # Safety
///
/// `fc` must be a valid holefs fs_context.
unsafe fn mounted_config(fc: *mut b::fs_context) -> Option<MountConfig> {
    // SAFETY: `fc` is valid; `fc->root` is set from the start only for a
    // reconfiguration (`alloc_fs_context()`), for a new mount not before
    // `->get_tree`, and it pins a holefs superblock past `fill_super`.
    unsafe {
        let root = (*fc).root;
        (!root.is_null()).then(|| SbInfo::of((*root).d_sb).config)
    }
}

/// Parses one mount option.
///
/// # Safety
///
/// Called only by the kernel through `fs_context_operations` (`->parse_param`), with arguments
/// that satisfy that callback's contract (Documentation/filesystems/vfs.rst
/// and locking.rst): valid pointers to objects of a mounted holefs.
unsafe extern "C" fn fc_parse_param(fc: *mut b::fs_context, param: *mut b::fs_parameter) -> c_int {
    let mut result = b::fs_parse_result::default();
    // SAFETY: `fc` and `param` are valid for the call; `PARAMS` is a
    // terminated table.
    let opt = unsafe { b::__fs_parse(&mut (*fc).log, PARAMS.0.as_ptr(), param, &mut result) };
    if opt < 0 {
        // -ENOPARAM lets the VFS handle "source" or report "Unknown
        // parameter" and fail with EINVAL.
        return opt;
    }
    let Some(key) = OptionKey::from_index(opt as usize) else {
        return EINVAL.to_errno();
    };
    // SAFETY: every entry of `PARAMS` is `fs_param_is_string`, so `fs_parse`
    // succeeded only for a string parameter, whose value is a C string.
    let value_ptr = unsafe { (*param).__bindgen_anon_1.string };
    // SAFETY: as above, a NUL-terminated string owned by `param`.
    let value = unsafe { CStr::from_ptr(value_ptr.cast()) }.to_bytes();
    // SAFETY: `fs_private` is the `MountConfig` of `init_fs_context`, used
    // only by this context's callbacks, which the VFS serialises.
    let config = unsafe { &mut *(*fc).fs_private.cast::<MountConfig>() };
    match config.apply(key, value, unsafe_policies_allowed()) {
        // SAFETY: `fc` valid.
        Ok(()) => match unsafe { mounted_config(fc) } {
            Some(mounted) if !config.same_option(&mounted, key) => {
                // SAFETY: `fc` valid, `value_ptr` a C string.
                unsafe {
                    log_error(
                        fc,
                        key.name(),
                        "fixed at mount; remount cannot change it",
                        value_ptr,
                    )
                };
                EINVAL.to_errno()
            }
            _ => 0,
        },
        Err(OptionError::Invalid(msg)) => {
            // SAFETY: `fc` valid, `value_ptr` a C string.
            unsafe { log_error(fc, key.name(), msg, value_ptr) };
            EINVAL.to_errno()
        }
        Err(OptionError::UnsafeNotAllowed) => {
            // SAFETY: as above.
            unsafe {
                log_error(
                    fc,
                    key.name(),
                    "unsafe policy refused; load holefs with unsafe_policies=1",
                    value_ptr,
                )
            };
            EPERM.to_errno()
        }
    }
}

/// Creates the superblock.
///
/// # Safety
///
/// Called only by the kernel through `fs_context_operations` (`->get_tree`), with arguments
/// that satisfy that callback's contract (Documentation/filesystems/vfs.rst
/// and locking.rst): valid pointers to objects of a mounted holefs.
unsafe extern "C" fn fc_get_tree(fc: *mut b::fs_context) -> c_int {
    // SAFETY: `fc` is valid; `fill_super` matches the expected signature.
    unsafe { b::get_tree_nodev(fc, Some(fill_super)) }
}

/// Remount: syncs; `fc_parse_param` refused any option that would change.
///
/// # Safety
///
/// Called only by the kernel through `fs_context_operations` (`->reconfigure`), with arguments
/// that satisfy that callback's contract (Documentation/filesystems/vfs.rst
/// and locking.rst): valid pointers to objects of a mounted holefs.
unsafe extern "C" fn fc_reconfigure(fc: *mut b::fs_context) -> c_int {
    // SAFETY: `fc->root` is the mounted root during reconfiguration.
    unsafe { b::sync_filesystem((*(*fc).root).d_sb) }
}

/// Initialises a new superblock.
///
/// # Safety
///
/// Called only by the kernel through `get_tree_nodev()` (`->fill_super`), with arguments
/// that satisfy that callback's contract (Documentation/filesystems/vfs.rst
/// and locking.rst): valid pointers to objects of a mounted holefs.
unsafe extern "C" fn fill_super(sb: *mut b::super_block, fc: *mut b::fs_context) -> c_int {
    from_result(|| {
        // SAFETY: `fs_private` is the context's `MountConfig`.
        let config = unsafe { *(*fc).fs_private.cast::<MountConfig>() };
        for policy in config.unsafe_policies() {
            pr_warn!("mounting with unsafe policy {policy}: stale data is possible\n");
        }
        // SAFETY: `sb` is the new superblock, not yet visible to others;
        // `s_dev` was assigned by `get_tree_nodev()`.
        let dev = unsafe { (*sb).s_dev };
        let info = SbInfo::new(config, dev)?;
        // SAFETY: as above; `kill_sb` frees `s_fs_info` and every field set
        // here is plain data or a static table.
        unsafe {
            (*sb).s_fs_info = KBox::into_raw(info).cast();
            (*sb).s_magic = HOLEFS_MAGIC as _;
            (*sb).s_blocksize = PAGE_SIZE as _;
            (*sb).s_blocksize_bits = PAGE_SHIFT as _;
            (*sb).s_maxbytes = b::HOLEFS_MAX_LFS_FILESIZE as _;
            (*sb).s_time_gran = 1;
            (*sb).s_op = &SUPER_OPS.0;
        }
        // A backing_dev_info of our own: the default one of nodev
        // superblocks cannot write back, and holefs needs real writeback.
        // SAFETY: `sb` is the new superblock.
        kernel::error::to_result(unsafe { b::super_setup_bdi(sb) })?;
        // SAFETY: `sb` is a valid superblock with `s_fs_info` set.
        let root = unsafe { inode::new_inode(sb, ptr::null_mut(), b::S_IFDIR as u16 | 0o755, 0) }?;
        // SAFETY: `root` is a new inode; `d_make_root` consumes it (and puts
        // it on failure).
        let dentry = unsafe { b::d_make_root(root) };
        if dentry.is_null() {
            return Err(ENOMEM);
        }
        // SAFETY: as above.
        unsafe { (*sb).s_root = dentry };
        Ok(0)
    })
}

/// Tears a superblock down and frees its state.
///
/// # Safety
///
/// Called only by the kernel through `file_system_type` (`->kill_sb`), with arguments
/// that satisfy that callback's contract (Documentation/filesystems/vfs.rst
/// and locking.rst): valid pointers to objects of a mounted holefs.
unsafe extern "C" fn kill_sb(sb: *mut b::super_block) {
    // SAFETY: `sb` is being shut down: `kill_litter_super` drops the
    // dentries pinned by `mknod` and evicts every inode (which frees their
    // blocks) while `s_fs_info` is still alive; it is freed last.
    unsafe {
        b::kill_litter_super(sb);
        let info = (*sb).s_fs_info.cast::<SbInfo>();
        if !info.is_null() {
            (*sb).s_fs_info = ptr::null_mut();
            drop(KBox::from_raw(info));
        }
    }
}
