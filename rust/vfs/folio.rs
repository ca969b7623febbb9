// SPDX-License-Identifier: GPL-2.0

//! Page-cache folios: [`Folio`], its reference count ([`ARef<Folio>`]), its
//! lock ([`LockedFolio`]), its writeback state ([`FolioWriteback`]) and a
//! kernel mapping of its contents ([`MappedPage`]).

use core::marker::PhantomData;
use core::mem::ManuallyDrop;
use core::ops::Deref;
use core::ptr::NonNull;

use kernel::types::{ARef, AlwaysRefCounted, Opaque};

use super::bindings as b;

/// A `struct folio`.
///
/// # Invariants
///
/// A `&Folio` is only created for a folio whose reference count the creator
/// keeps above zero for the reference's lifetime.
#[repr(transparent)]
pub(crate) struct Folio(Opaque<b::folio>);

// SAFETY: the folio API may be used from any task; every method goes
// through the kernel's own synchronisation (atomic flags, the folio lock).
unsafe impl Send for Folio {}
// SAFETY: as above.
unsafe impl Sync for Folio {}

// SAFETY: `folio_get`/`folio_put` keep the folio alive until the last put,
// and every folio is reference counted.
unsafe impl AlwaysRefCounted for Folio {
    fn inc_ref(&self) {
        // SAFETY: by the type invariant the count is above zero.
        unsafe { b::holefs_folio_get(self.0.get()) };
    }

    unsafe fn dec_ref(obj: NonNull<Self>) {
        // SAFETY: the caller gives up a reference it owns.
        unsafe { b::holefs_folio_put(obj.cast::<b::folio>().as_ptr()) };
    }
}

impl Folio {
    /// The folio at `ptr`.
    ///
    /// # Safety
    ///
    /// `ptr` must point to a folio whose reference count stays above zero
    /// for `'a`.
    pub(super) unsafe fn from_raw<'a>(ptr: *mut b::folio) -> &'a Self {
        // INVARIANT: the caller keeps a reference for `'a`.
        // SAFETY: `Folio` is a transparent wrapper of `struct folio`.
        unsafe { &*ptr.cast::<Self>() }
    }

    /// An owned reference to the folio at `ptr`, taking over one the
    /// caller holds.
    ///
    /// # Safety
    ///
    /// `ptr` must point to a folio on which the caller owns a reference,
    /// which passes to the returned [`ARef`].
    pub(super) unsafe fn from_owned_raw(ptr: *mut b::folio) -> ARef<Self> {
        // SAFETY: per the contract; `ptr` is not null (a folio).
        unsafe { ARef::from_raw(NonNull::new_unchecked(ptr.cast::<Self>())) }
    }

    pub(super) fn as_raw(&self) -> *mut b::folio {
        self.0.get()
    }

    /// The page index of the folio's first page in its file.
    pub(crate) fn index(&self) -> u64 {
        // SAFETY: the folio is referenced (type invariant).
        unsafe { b::holefs_folio_index(self.as_raw()) as u64 }
    }

    /// The folio's order: it holds `1 << order` pages.
    pub(crate) fn order(&self) -> u32 {
        // SAFETY: the folio is referenced (type invariant).
        unsafe { b::holefs_folio_order(self.as_raw()) }
    }

    /// Number of pages in the folio.
    pub(crate) fn nr_pages(&self) -> u64 {
        1 << self.order()
    }

    /// The folio's size in bytes.
    pub(crate) fn size(&self) -> u64 {
        self.nr_pages() * kernel::page::PAGE_SIZE as u64
    }

    /// The file position of the folio's first byte.
    pub(crate) fn pos(&self) -> u64 {
        self.index() * kernel::page::PAGE_SIZE as u64
    }

    /// Whether the folio's contents are valid.
    pub(crate) fn is_uptodate(&self) -> bool {
        // SAFETY: the folio is referenced (type invariant).
        unsafe { b::holefs_folio_test_uptodate(self.as_raw()) }
    }
}

/// A locked folio; the lock is released when this is dropped, then the
/// reference `R` is.
///
/// `R` is `&Folio` when someone else holds the folio's reference (the page
/// cache, the caller of a callback) and `ARef<Folio>` when the lock holder
/// owns one, which is put after the unlock.
///
/// # Invariants
///
/// The folio is locked, and this value is responsible for unlocking it.
pub(crate) struct LockedFolio<R: Deref<Target = Folio>> {
    folio: ManuallyDrop<R>,
}

impl<R: Deref<Target = Folio>> LockedFolio<R> {
    /// Locks `folio`, sleeping until it is available.  May sleep.
    pub(crate) fn lock(folio: R) -> Self {
        // SAFETY: `R` keeps the folio referenced.
        unsafe { b::holefs_folio_lock(folio.as_raw()) };
        // INVARIANT: locked above.
        LockedFolio {
            folio: ManuallyDrop::new(folio),
        }
    }

    /// Takes over the lock of `folio`, which the caller holds.
    ///
    /// # Safety
    ///
    /// `folio` must be locked and the caller must pass on the duty to unlock
    /// it.
    pub(super) unsafe fn from_locked(folio: R) -> Self {
        // INVARIANT: per the contract.
        LockedFolio {
            folio: ManuallyDrop::new(folio),
        }
    }

    /// Gives up the lock and the reference without releasing them: the
    /// kernel releases both (e.g. after `VM_FAULT_LOCKED` or `write_begin`).
    pub(super) fn into_raw(self) -> *mut b::folio {
        let mut this = ManuallyDrop::new(self);
        let ptr = this.folio.as_raw();
        // SAFETY: `this` is never used or dropped again; `R` is forgotten
        // with the lock, whose owner is now the kernel.
        let r = unsafe { ManuallyDrop::take(&mut this.folio) };
        core::mem::forget(r);
        ptr
    }

    /// Marks the folio's contents valid.
    pub(crate) fn mark_uptodate(&mut self) {
        // SAFETY: the folio is locked (type invariant), as
        // `folio_mark_uptodate()` requires.
        unsafe { b::holefs_folio_mark_uptodate(self.as_raw()) };
    }

    /// Marks the folio dirty so that writeback copies it out.
    pub(crate) fn mark_dirty(&mut self) {
        // SAFETY: the folio is locked and belongs to a mapping.
        unsafe { b::folio_mark_dirty(self.as_raw()) };
    }

    /// Waits until the folio is not under writeback (`folio_wait_stable`).
    /// May sleep.
    pub(crate) fn wait_stable(&mut self) {
        // SAFETY: the folio is locked and referenced.
        unsafe { b::folio_wait_stable(self.as_raw()) };
    }

    /// Zeroes `len` bytes from `offset` (within the folio).
    pub(crate) fn zero_range(&mut self, offset: usize, len: usize) {
        // SAFETY: the folio is locked: no one else writes its contents.
        unsafe { b::holefs_folio_zero_range(self.as_raw(), offset, len) };
    }

    /// Maps page `n` of the folio (counted from its first page) for
    /// reading and writing; `None` if the folio has no page `n`.
    ///
    /// A large folio may live in highmem, where only one page at a time can
    /// be mapped: callers go through the folio page by page.
    pub(crate) fn map_page(&mut self, n: u64) -> Option<MappedPage<'_>> {
        if n >= self.nr_pages() {
            return None;
        }
        let offset = n as usize * kernel::page::PAGE_SIZE;
        // SAFETY: the folio is locked and referenced for the borrow, and
        // `offset` lies inside it (checked above).
        let addr = unsafe { b::holefs_kmap_local_folio(self.as_raw(), offset) }.cast::<u8>();
        // INVARIANT: `addr` maps page `n` of the folio; the folio lock held
        // through the `&mut` borrow gives exclusive access to it.
        Some(MappedPage {
            addr,
            _folio: PhantomData,
        })
    }

    /// Starts writeback of the folio, keeping it locked until the returned
    /// value is dropped, which unlocks it and then ends writeback.
    pub(crate) fn start_writeback(self) -> FolioWriteback<R> {
        // SAFETY: the folio is locked, as `folio_start_writeback()` requires.
        unsafe { b::holefs_folio_start_writeback(self.as_raw()) };
        // INVARIANT: writeback started above on a locked folio.
        FolioWriteback {
            locked: ManuallyDrop::new(self),
        }
    }

    /// Unlocks the folio and returns the reference.
    fn unlock(self) -> R {
        let mut this = ManuallyDrop::new(self);
        // SAFETY: locked (type invariant); unlocked once, here, instead of in
        // `Drop`, which does not run.
        unsafe { b::folio_unlock(this.as_raw()) };
        // SAFETY: `this` is not used again.
        unsafe { ManuallyDrop::take(&mut this.folio) }
    }
}

impl<R: Deref<Target = Folio>> Deref for LockedFolio<R> {
    type Target = Folio;

    fn deref(&self) -> &Folio {
        &self.folio
    }
}

impl<R: Deref<Target = Folio>> Drop for LockedFolio<R> {
    fn drop(&mut self) {
        // SAFETY: locked (type invariant); this value releases the lock.
        unsafe { b::folio_unlock(self.as_raw()) };
        // SAFETY: dropped once, here, after the unlock.
        unsafe { ManuallyDrop::drop(&mut self.folio) };
    }
}

/// A locked folio under writeback; dropping it unlocks the folio and then
/// ends the writeback, waking waiters.
///
/// # Invariants
///
/// Writeback was started on the folio while it was locked by `locked`.
pub(crate) struct FolioWriteback<R: Deref<Target = Folio>> {
    locked: ManuallyDrop<LockedFolio<R>>,
}

impl<R: Deref<Target = Folio>> FolioWriteback<R> {
    /// Maps page `n` of the folio (see [`LockedFolio::map_page`]).
    pub(crate) fn map_page(&mut self, n: u64) -> Option<MappedPage<'_>> {
        self.locked.map_page(n)
    }
}

impl<R: Deref<Target = Folio>> Drop for FolioWriteback<R> {
    fn drop(&mut self) {
        let folio = self.locked.as_raw();
        // SAFETY: `self.locked` is taken once, here, and not used again.
        let locked = unsafe { ManuallyDrop::take(&mut self.locked) };
        let reference = locked.unlock();
        // SAFETY: writeback was started on this folio (type invariant), which
        // `reference` keeps referenced.
        unsafe { b::folio_end_writeback(folio) };
        drop(reference);
    }
}

/// A kernel mapping of one page of a locked folio (`kmap_local_folio`).
///
/// # Invariants
///
/// `addr` maps PAGE_SIZE bytes of a folio that the borrow keeps locked, so
/// only this value accesses them; it is unmapped on drop, on the same task
/// (the value is neither `Send` nor `Sync`, because of the raw pointer).
pub(crate) struct MappedPage<'a> {
    addr: *mut u8,
    _folio: PhantomData<&'a mut ()>,
}

impl MappedPage<'_> {
    /// The page's bytes.
    pub(crate) fn bytes(&mut self) -> &mut [u8] {
        // SAFETY: by the type invariant `addr` maps PAGE_SIZE bytes that
        // only we access while `self` lives.
        unsafe { core::slice::from_raw_parts_mut(self.addr, kernel::page::PAGE_SIZE) }
    }
}

impl Drop for MappedPage<'_> {
    fn drop(&mut self) {
        // SAFETY: `addr` came from `kmap_local_folio` on this task.
        unsafe { b::holefs_kunmap_local(self.addr.cast()) };
    }
}
