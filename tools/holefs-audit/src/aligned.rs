// SPDX-License-Identifier: GPL-2.0
//! Page-aligned buffers: O_DIRECT needs aligned memory.

use std::ptr::NonNull;

/// A zeroed, page-aligned heap buffer (O_DIRECT needs aligned memory).
pub struct AlignedBuf {
    // INVARIANT: `ptr` was allocated with `layout` (non-zero size) and is
    // owned by this buffer until drop.
    ptr: NonNull<u8>,
    layout: std::alloc::Layout,
}

impl AlignedBuf {
    pub fn new(len: usize) -> AlignedBuf {
        let layout = std::alloc::Layout::from_size_align(len.max(1), holefs_common::page_size())
            .expect("buffer size overflows");
        // SAFETY: the layout has a non-zero size.
        let p = unsafe { std::alloc::alloc_zeroed(layout) };
        let ptr = NonNull::new(p).unwrap_or_else(|| std::alloc::handle_alloc_error(layout));
        AlignedBuf { ptr, layout }
    }
}

impl std::ops::Deref for AlignedBuf {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        // SAFETY: by the type invariant, `layout.size()` initialised (zeroed)
        // bytes owned by `self`.
        unsafe { std::slice::from_raw_parts(self.ptr.as_ptr(), self.layout.size()) }
    }
}

impl std::ops::DerefMut for AlignedBuf {
    fn deref_mut(&mut self) -> &mut [u8] {
        // SAFETY: as for Deref, and `&mut self` makes the access unique.
        unsafe { std::slice::from_raw_parts_mut(self.ptr.as_ptr(), self.layout.size()) }
    }
}

impl Drop for AlignedBuf {
    fn drop(&mut self) {
        // SAFETY: allocated with this layout by `new` (type invariant).
        unsafe { std::alloc::dealloc(self.ptr.as_ptr(), self.layout) };
    }
}
