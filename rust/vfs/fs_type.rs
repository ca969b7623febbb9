// SPDX-License-Identifier: GPL-2.0

//! The [`FileSystemType`] trait, its registration, and the fs_context (mount
//! option parsing, `get_tree`, `reconfigure`), `fill_super` and `kill_sb`
//! trampolines.
//!
//! A filesystem here is `nodev` (no block device; `get_tree_nodev`), keeps
//! its namespace in the dcache (`kill_litter_super`) and has a
//! `backing_dev_info` of its own, so that its dirty folios are written back
//! by the flusher and by `sync(2)`.

use core::ffi::CStr;
use core::marker::PhantomData;
use core::pin::Pin;
use core::ptr;

use kernel::alloc::flags::GFP_KERNEL;
use kernel::error::{from_result, to_result};
use kernel::ffi::{c_char, c_int};
use kernel::prelude::*;
use kernel::types::Opaque;

use super::aops::{AddressSpaceOperations, AopsTable};
use super::bindings as b;
use super::file_ops::{FileOperations, FopsTable};
use super::fs::FileSystem;
use super::inode::{mode, Inode, NewInode};
use super::inode_ops::{InodeOperations, IopsTable};
use super::sb::{NewSuperBlock, SuperBlock};
use super::super_ops::{SopsTable, SuperOperations};
use super::{zeroed, PAGE_SHIFT, PAGE_SIZE};

/// A refused mount option value: the errno and a message for the mount's
/// log (or dmesg).
pub(crate) struct ParamError {
    /// What the mount fails with.
    pub(crate) errno: Error,
    /// Why, for the log.
    pub(crate) message: &'static str,
}

/// A filesystem type: its operations, name, mount parameters and setup.
///
/// Parsed options (`Options`) live as long as the fs_context.  The
/// operations of each table are given by the associated types.
pub(crate) trait FileSystemType: FileSystem {
    /// The mount options, as parsed.
    type Options: Send;
    /// `super_operations`.
    type SuperOps: SuperOperations<FileSystem = Self>;
    /// `inode_operations` of directories.
    type DirOps: InodeOperations<FileSystem = Self>;
    /// `inode_operations` of regular files.
    type FileInodeOps: InodeOperations<FileSystem = Self>;
    /// `inode_operations` of device nodes, FIFOs and sockets.
    type SpecialOps: InodeOperations<FileSystem = Self>;
    /// `file_operations` of regular files.
    type FileOps: FileOperations<FileSystem = Self>;
    /// `address_space_operations` of every inode.
    type MappingOps: AddressSpaceOperations<FileSystem = Self>;

    /// The type's name, for `mount -t` and /proc/filesystems.
    const NAME: &'static CStr;
    /// What `statfs` reports as `f_type`.
    const MAGIC: u64;
    /// The mount parameters, each taking a string value; a parameter's
    /// index here is what [`FileSystemType::parse_param`] receives.
    const PARAMETERS: &'static [&'static CStr];

    /// Options before any parameter is parsed.
    fn new_options() -> Result<Self::Options>;

    /// Applies parameter number `index` of [`FileSystemType::PARAMETERS`]
    /// with value `value`.  `mounted` is the superblock a remount
    /// reconfigures, `None` for a new mount.
    fn parse_param(
        opts: &mut Self::Options,
        index: usize,
        value: &CStr,
        mounted: Option<&SuperBlock<Self>>,
    ) -> core::result::Result<(), ParamError>;

    /// Sets up a new superblock from `opts`; returns its data.  The layer
    /// then creates the root directory.
    fn fill_super(opts: &Self::Options, sb: &NewSuperBlock<Self>) -> Result<Self::Data>;

    /// Remount of `sb` with `opts`.
    fn reconfigure(sb: &SuperBlock<Self>, opts: &Self::Options) -> Result;

    /// Data for a new inode.
    fn new_inode_data() -> Result<Pin<KBox<Self::INodeData>>>;

    /// Whether the page cache of regular files of `sb` may hold large
    /// folios (`mapping_set_large_folios()`).  Every address_space
    /// operation must then handle folios of any order.
    fn large_folios(_sb: &SuperBlock<Self>) -> bool {
        false
    }
}

/// Keeps filesystem `T` registered while alive.
///
/// # Invariants
///
/// `fs_type` is registered, and `_params` (which it points to) lives and
/// does not move until it is unregistered in `drop`.
pub(crate) struct Registration<T: FileSystemType> {
    fs_type: Pin<KBox<Opaque<b::file_system_type>>>,
    _params: KVec<b::fs_parameter_spec>,
    _fs: PhantomData<T>,
}

// SAFETY: the registration only calls `unregister_filesystem` on drop,
// which any task may do.
unsafe impl<T: FileSystemType> Send for Registration<T> {}
// SAFETY: no method takes `&self`.
unsafe impl<T: FileSystemType> Sync for Registration<T> {}

impl<T: FileSystemType> Registration<T> {
    /// Registers filesystem `T`, owned by `module`.
    pub(crate) fn new(module: &'static ThisModule) -> Result<Self> {
        let mut params = KVec::with_capacity(T::PARAMETERS.len() + 1, GFP_KERNEL)?;
        for (index, name) in T::PARAMETERS.iter().enumerate() {
            params.push(
                b::fs_parameter_spec {
                    name: name.as_ptr().cast(),
                    type_: Some(b::fs_param_is_string),
                    opt: u8::try_from(index)?,
                    flags: 0,
                    data: ptr::null(),
                },
                GFP_KERNEL,
            )?;
        }
        // The table ends with an all-zero entry.
        params.push(zeroed(), GFP_KERNEL)?;
        let fs_type = KBox::pin(
            Opaque::new(b::file_system_type {
                name: T::NAME.as_ptr().cast(),
                init_fs_context: Some(init_fs_context::<T>),
                kill_sb: Some(kill_sb::<T>),
                owner: module.as_ptr(),
                parameters: params.as_ptr().cast(),
                ..zeroed()
            }),
            GFP_KERNEL,
        )?;
        // The lock class keys inside `file_system_type` (`s_umount_key`,
        // `i_mutex_key`, `invalidate_lock_key`, ...) are on the heap here,
        // not in static memory as in a C filesystem, so lockdep must be told
        // about them before any superblock or inode uses them.
        // SAFETY: `fs_type` is pinned and initialised; nothing uses its keys
        // yet.
        unsafe { for_each_lock_key(fs_type.get(), b::holefs_lockdep_register_key) };
        // SAFETY: `fs_type` is fully initialised and pinned; it and `params`
        // live until `drop` unregisters it; `module` outlives the
        // registration.
        if let Err(e) = to_result(unsafe { b::register_filesystem(fs_type.get()) }) {
            // SAFETY: registered just above and never used: not registered
            // as a filesystem.
            unsafe { for_each_lock_key(fs_type.get(), b::holefs_lockdep_unregister_key) };
            return Err(e);
        }
        // INVARIANT: registered above; both allocations are owned here.
        Ok(Registration {
            fs_type,
            _params: params,
            _fs: PhantomData,
        })
    }
}

impl<T: FileSystemType> Drop for Registration<T> {
    fn drop(&mut self) {
        // SAFETY: registered (type invariant); the module cannot be unloaded
        // (and so this cannot run) while a superblock of it exists.
        unsafe { b::unregister_filesystem(self.fs_type.get()) };
        // SAFETY: the keys were registered in `new`; with the filesystem
        // unregistered and no superblock left, no lock uses them.
        unsafe { for_each_lock_key(self.fs_type.get(), b::holefs_lockdep_unregister_key) };
        // `_params` is freed after this, when nothing can parse with it.
    }
}

/// Calls `f` on every `lock_class_key` embedded in `*fs_type`.
///
/// # Safety
///
/// `fs_type` points to a live `file_system_type`, and `f` may be called on
/// its keys in their current state (see `lockdep_register_key()` and
/// `lockdep_unregister_key()`).
unsafe fn for_each_lock_key(
    fs_type: *mut b::file_system_type,
    f: unsafe extern "C" fn(*mut b::lock_class_key),
) {
    // SAFETY: `fs_type` is live (function contract); the fields are only
    // addressed, never read, here; `f`'s own contract is the caller's.
    unsafe {
        f(ptr::addr_of_mut!((*fs_type).s_lock_key));
        f(ptr::addr_of_mut!((*fs_type).s_umount_key));
        f(ptr::addr_of_mut!((*fs_type).s_vfs_rename_key));
        for level in 0..(*fs_type).s_writers_key.len() {
            f(ptr::addr_of_mut!((*fs_type).s_writers_key[level]));
        }
        f(ptr::addr_of_mut!((*fs_type).i_lock_key));
        f(ptr::addr_of_mut!((*fs_type).i_mutex_key));
        f(ptr::addr_of_mut!((*fs_type).invalidate_lock_key));
        f(ptr::addr_of_mut!((*fs_type).i_mutex_dir_key));
    }
}

/// The `fs_context_operations` of `T` and its trampolines.
struct ContextOps<T: FileSystemType>(PhantomData<T>);

impl<T: FileSystemType> ContextOps<T> {
    const TABLE: b::fs_context_operations = b::fs_context_operations {
        free: Some(Self::free),
        parse_param: Some(Self::parse_param),
        get_tree: Some(Self::get_tree),
        reconfigure: Some(Self::reconfigure),
        ..zeroed()
    };

    /// The options of `fc`.
    ///
    /// # Safety
    ///
    /// `fc` must be a context set up by `init_fs_context::<T>`, and the
    /// caller must not let the reference outlive the context's callback.
    unsafe fn options<'a>(fc: *mut b::fs_context) -> &'a mut T::Options {
        // SAFETY: `fs_private` is the `KBox<T::Options>` of
        // `init_fs_context`, used only by this context's callbacks, which
        // the VFS serialises.
        unsafe { &mut *(*fc).fs_private.cast::<T::Options>() }
    }

    /// # Safety
    ///
    /// Only for `->free` of a context set up by `init_fs_context::<T>`.
    unsafe extern "C" fn free(fc: *mut b::fs_context) {
        // SAFETY: `fs_private` is null or the `KBox<T::Options>` made in
        // `init_fs_context`, freed only here.
        unsafe {
            let opts = (*fc).fs_private.cast::<T::Options>();
            if !opts.is_null() {
                drop(KBox::from_raw(opts));
                (*fc).fs_private = ptr::null_mut();
            }
        }
    }

    /// # Safety
    ///
    /// Only for `->parse_param` of a context set up by
    /// `init_fs_context::<T>`; `param` is valid for the call.
    unsafe extern "C" fn parse_param(fc: *mut b::fs_context, param: *mut b::fs_parameter) -> c_int {
        let mut result = b::fs_parse_result::default();
        // SAFETY: `fc` and `param` are valid for the call; the table is the
        // registered, terminated `Registration::params` of `fc->fs_type`.
        let opt = unsafe {
            let table = (*(*fc).fs_type).parameters.cast();
            b::__fs_parse(&mut (*fc).log, table, param, &mut result)
        };
        if opt < 0 {
            // -ENOPARAM lets the VFS handle "source" or report "Unknown
            // parameter" and fail with EINVAL.
            return opt;
        }
        // SAFETY: every parameter of the table is `fs_param_is_string`, so
        // `fs_parse` succeeded only for a string parameter, whose value is a
        // C string owned by `param`.
        let value = unsafe { CStr::from_ptr((*param).__bindgen_anon_1.string.cast()) };
        // SAFETY: per this function's contract.
        let opts = unsafe { Self::options(fc) };
        // SAFETY: `fc` is valid; `fc->root` is set from the start only for
        // a reconfiguration (`alloc_fs_context()`), for a new mount not
        // before `->get_tree`, and it pins a `T` superblock past
        // `fill_super`.
        let mounted = unsafe {
            let root = (*fc).root;
            (!root.is_null()).then(|| SuperBlock::<T>::from_raw((*root).d_sb))
        };
        match T::parse_param(opts, opt as usize, value, mounted) {
            Ok(()) => 0,
            Err(e) => {
                let key = T::PARAMETERS.get(opt as usize).copied().unwrap_or(c"?");
                // SAFETY: `fc` is valid; the format consumes a C string, a
                // length-prefixed string and a C string, matching the
                // arguments.
                unsafe {
                    b::logfc(
                        (*fc).log.log,
                        (*fc).log.prefix,
                        b'e' as c_char,
                        c"%s: %.*s (got '%s')".as_ptr().cast(),
                        key.as_ptr(),
                        e.message.len() as c_int,
                        e.message.as_ptr(),
                        value.as_ptr(),
                    )
                };
                e.errno.to_errno()
            }
        }
    }

    /// # Safety
    ///
    /// Only for `->get_tree` of a context set up by `init_fs_context::<T>`.
    unsafe extern "C" fn get_tree(fc: *mut b::fs_context) -> c_int {
        // SAFETY: `fc` is valid; `fill_super::<T>` matches the expected
        // signature and contract.
        unsafe { b::get_tree_nodev(fc, Some(fill_super::<T>)) }
    }

    /// # Safety
    ///
    /// Only for `->reconfigure` of a context set up by
    /// `init_fs_context::<T>` for a remount: `fc->root` is the root of the
    /// mounted `T` superblock, whose `s_umount` the VFS holds.
    unsafe extern "C" fn reconfigure(fc: *mut b::fs_context) -> c_int {
        from_result(|| {
            // SAFETY: per the contract the superblock is mounted and set up.
            let sb = unsafe { SuperBlock::<T>::from_raw((*(*fc).root).d_sb) };
            // SAFETY: per the contract.
            let opts = unsafe { Self::options(fc) };
            T::reconfigure(sb, opts).map(|()| 0)
        })
    }
}

/// `file_system_type.init_fs_context`: a new mount or remount context gets
/// default options and the context operations of `T`.
///
/// # Safety
///
/// Only for `->init_fs_context` of the `T` type: `fc` is the context being
/// initialised.
unsafe extern "C" fn init_fs_context<T: FileSystemType>(
    fc: *mut kernel::bindings::fs_context,
) -> c_int {
    // 6.12's `kernel::bindings` has `fs_context` only as a placeholder.
    let fc = fc.cast::<b::fs_context>();
    from_result(|| {
        let opts = KBox::new(T::new_options()?, GFP_KERNEL)?;
        // SAFETY: `fc` is the context being initialised; `ContextOps::free`
        // releases `fs_private`, and the table is static.
        unsafe {
            (*fc).fs_private = KBox::into_raw(opts).cast();
            (*fc).ops = &ContextOps::<T>::TABLE;
        }
        Ok(0)
    })
}

/// `get_tree_nodev`'s `fill_super`: sets up `sb`, attaches `T::Data` and
/// creates the root directory.
///
/// # Safety
///
/// Only from `get_tree_nodev()` for a context of `T`: `sb` is a new
/// superblock with `s_dev` assigned, not yet visible to other tasks.
unsafe extern "C" fn fill_super<T: FileSystemType>(
    sb: *mut b::super_block,
    fc: *mut b::fs_context,
) -> c_int {
    from_result(|| {
        // SAFETY: per the contract.
        let (new_sb, opts) = unsafe {
            (
                NewSuperBlock::<T>::from_raw(sb),
                ContextOps::<T>::options(fc),
            )
        };
        let data = KBox::new(T::fill_super(opts, new_sb)?, GFP_KERNEL)?;
        // SAFETY: `sb` is new and ours; `kill_sb` frees `s_fs_info`, and
        // every field set here is plain data or a static table.
        unsafe {
            (*sb).s_fs_info = KBox::into_raw(data).cast();
            (*sb).s_magic = T::MAGIC as _;
            (*sb).s_blocksize = PAGE_SIZE as _;
            (*sb).s_blocksize_bits = PAGE_SHIFT as _;
            (*sb).s_maxbytes = b::HOLEFS_MAX_LFS_FILESIZE as _;
            (*sb).s_time_gran = 1;
            (*sb).s_op = SopsTable::<T::SuperOps>::build();
        }
        // A backing_dev_info of our own: the default one of nodev
        // superblocks cannot write back.
        // SAFETY: `sb` is the new superblock.
        to_result(unsafe { b::super_setup_bdi(sb) })?;
        // SAFETY: `s_fs_info` is set: the superblock is set up for `T`.
        let sb_ref = unsafe { SuperBlock::<T>::from_raw(sb) };
        let root = sb_ref.new_inode(None, mode::S_IFDIR | 0o755, 0)?;
        // SAFETY: `d_make_root` consumes the new inode's reference (and puts
        // it on failure).
        let dentry = unsafe { b::d_make_root(root.into_raw()) };
        if dentry.is_null() {
            return Err(ENOMEM);
        }
        // SAFETY: as above.
        unsafe { (*sb).s_root = dentry };
        Ok(0)
    })
}

/// `file_system_type.kill_sb`.
///
/// # Safety
///
/// Only for `->kill_sb` of a `T` superblock being shut down.
unsafe extern "C" fn kill_sb<T: FileSystemType>(sb: *mut b::super_block) {
    // SAFETY: `kill_litter_super` drops the dentries pinned by
    // `instantiate_pinned` and evicts every inode (which releases what they
    // hold) while `s_fs_info` is still alive; it is freed last.
    unsafe {
        b::kill_litter_super(sb);
        let data = (*sb).s_fs_info.cast::<T::Data>();
        if !data.is_null() {
            (*sb).s_fs_info = ptr::null_mut();
            drop(KBox::from_raw(data));
        }
    }
}

impl<T: FileSystemType> SuperBlock<T> {
    /// Creates an inode of type and permissions `mode` (an `S_IF*` type of
    /// [`mode`] or a special file with device `dev`), owned by the caller
    /// and placed in directory `dir` (`None` for the root).
    ///
    /// The filesystem's tables are installed by type: `T::DirOps` and
    /// `simple_dir_operations` for directories, `T::FileInodeOps` and
    /// `T::FileOps` for regular files, the generic page symlink operations
    /// for symlinks and `T::SpecialOps` for the rest; every inode's page
    /// cache uses `T::MappingOps`.
    pub(crate) fn new_inode(
        &self,
        dir: Option<&Inode<T>>,
        mode: u16,
        dev: u32,
    ) -> Result<NewInode<T>> {
        let data = T::new_inode_data()?;
        let large_folios = T::large_folios(self);
        let sb = self.as_raw();
        // SAFETY: `sb` is a live superblock.
        let inode = unsafe { b::new_inode(sb) };
        if inode.is_null() {
            return Err(ENOMEM);
        }
        let dir = dir.map_or(ptr::null_mut(), Inode::as_raw);
        // SAFETY: `inode` is new and private to us until instantiated; the
        // tables and `nop_mnt_idmap` are static.  `i_private` takes ownership
        // of `data`, given back in `evict_inode` (the pinned box is never
        // moved out of).
        unsafe {
            (*inode).i_private = KBox::into_raw(Pin::into_inner_unchecked(data)).cast();
            (*inode).i_ino = b::get_next_ino() as _;
            // Hashed (a fake hash: there is no inode lookup) so that the
            // inode can go on the writeback lists: sync(2), the flusher and
            // dirty throttling write its folios back.
            b::holefs_inode_fake_hash(inode);
            b::inode_init_owner(ptr::addr_of_mut!(b::nop_mnt_idmap), inode, dir, mode);
            (*(*inode).i_mapping).a_ops = AopsTable::<T::MappingOps>::build();
            b::simple_inode_init_ts(inode);
            match u32::from(mode) & b::S_IFMT {
                b::S_IFREG => {
                    (*inode).i_op = IopsTable::<T::FileInodeOps>::build();
                    (*inode).__bindgen_anon_3.i_fop = FopsTable::<T::FileOps>::build();
                    // Set before anyone can reach the page cache, as
                    // mapping_set_large_folios() requires.
                    if large_folios {
                        b::holefs_mapping_set_large_folios((*inode).i_mapping);
                    }
                }
                b::S_IFDIR => {
                    (*inode).i_op = IopsTable::<T::DirOps>::build();
                    (*inode).__bindgen_anon_3.i_fop = ptr::addr_of!(b::simple_dir_operations);
                    // Directories start with two links: "." and the entry.
                    b::inc_nlink(inode);
                }
                b::S_IFLNK => {
                    (*inode).i_op = ptr::addr_of!(b::page_symlink_inode_operations);
                    b::holefs_inode_nohighmem(inode);
                }
                _ => {
                    (*inode).i_op = IopsTable::<T::SpecialOps>::build();
                    b::init_special_inode(inode, mode, dev);
                }
            }
        }
        // SAFETY: `new_inode()` returned a live inode with one reference,
        // ours, set up above as a `T` inode that no one else knows yet.
        Ok(unsafe { NewInode::from_raw(inode) })
    }
}
