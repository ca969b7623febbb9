// SPDX-License-Identifier: GPL-2.0

//! Host stand-in for the part of the kernel crate that holefs's
//! host-tested files (`blockmap.rs`) use: the same names and signatures,
//! implemented with `std`, so that the very files the module compiles are
//! compiled and tested here.  Only what those files need is provided.

pub mod error {
    //! `kernel::error`: an errno wrapper.

    /// An errno, negative as in the kernel.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub struct Error(i32);

    impl Error {
        /// The (negative) errno.
        pub fn to_errno(self) -> i32 {
            self.0
        }
    }

    /// `kernel::error::Result`.
    pub type Result<T = (), E = Error> = core::result::Result<T, E>;

    /// The errno constants used by the host-tested files.
    pub mod code {
        use super::Error;

        /// Out of memory.
        pub const ENOMEM: Error = Error(-12);
        /// Invalid argument.
        pub const EINVAL: Error = Error(-22);
        /// No space left.
        pub const ENOSPC: Error = Error(-28);
    }
}

pub mod prelude {
    //! `kernel::prelude`, the part the host-tested files use.
    pub use crate::error::{code::*, Error, Result};
}

pub mod alloc {
    //! `kernel::alloc`: allocation flags (ignored on the host).
    pub mod flags {
        /// Allocation flags.
        #[derive(Clone, Copy)]
        pub struct Flags(pub u32);
        /// `GFP_KERNEL`.
        pub const GFP_KERNEL: Flags = Flags(0);
    }
}

pub mod page {
    //! `kernel::page`.
    /// The page size of the test machine model.
    pub const PAGE_SIZE: usize = 4096;
}

pub mod rbtree {
    //! `kernel::rbtree::RBTree` over a `BTreeMap`, with the cursor API
    //! subset holefs uses.  Allocation failures can be injected.

    use crate::alloc::flags::Flags;
    use crate::error::{code::ENOMEM, Result};
    use std::cell::Cell;
    use std::collections::BTreeMap;

    thread_local! {
        static FAIL_AFTER: Cell<Option<usize>> = const { Cell::new(None) };
    }

    /// Makes the insert after `n` more successful ones fail with `ENOMEM`
    /// on this thread (`None`: never).
    pub fn fail_inserts_after(n: Option<usize>) {
        FAIL_AFTER.with(|f| f.set(n));
    }

    fn insert_allowed() -> bool {
        FAIL_AFTER.with(|f| match f.get() {
            None => true,
            Some(0) => false,
            Some(n) => {
                f.set(Some(n - 1));
                true
            }
        })
    }

    /// An ordered map.
    pub struct RBTree<K, V> {
        map: BTreeMap<K, V>,
    }

    impl<K: Ord + Copy, V> Default for RBTree<K, V> {
        fn default() -> Self {
            Self::new()
        }
    }

    impl<K: Ord + Copy, V> RBTree<K, V> {
        /// An empty tree.
        pub fn new() -> Self {
            RBTree {
                map: BTreeMap::new(),
            }
        }

        /// The value of `key`.
        pub fn get(&self, key: &K) -> Option<&V> {
            self.map.get(key)
        }

        /// The value of `key`, for writing.
        pub fn get_mut(&mut self, key: &K) -> Option<&mut V> {
            self.map.get_mut(key)
        }

        /// Inserts, returning the value replaced.
        pub fn try_create_and_insert(
            &mut self,
            key: K,
            value: V,
            _flags: Flags,
        ) -> Result<Option<V>> {
            if !insert_allowed() {
                return Err(ENOMEM);
            }
            Ok(self.map.insert(key, value))
        }

        /// Removes `key`.
        pub fn remove(&mut self, key: &K) -> Option<V> {
            self.map.remove(key)
        }

        /// A cursor at the first key `>= key`.
        pub fn cursor_lower_bound(&mut self, key: &K) -> Option<Cursor<'_, K, V>> {
            let found = *self.map.range(*key..).next()?.0;
            Some(Cursor {
                tree: self,
                key: found,
            })
        }
    }

    /// A position in an [`RBTree`].
    pub struct Cursor<'a, K, V> {
        tree: &'a mut RBTree<K, V>,
        key: K,
    }

    impl<'a, K: Ord + Copy, V> Cursor<'a, K, V> {
        /// The entry at the cursor.
        pub fn current(&self) -> (&K, &V) {
            self.tree
                .map
                .get_key_value(&self.key)
                .expect("cursor on an entry")
        }

        /// The entry at the cursor, value writable.
        pub fn current_mut(&mut self) -> (&K, &mut V) {
            let v = self
                .tree
                .map
                .get_mut(&self.key)
                .expect("cursor on an entry");
            (&self.key, v)
        }

        /// The next entry.
        pub fn move_next(self) -> Option<Self> {
            use std::ops::Bound::{Excluded, Unbounded};
            let next = *self
                .tree
                .map
                .range((Excluded(self.key), Unbounded))
                .next()?
                .0;
            Some(Cursor {
                tree: self.tree,
                key: next,
            })
        }
    }
}
