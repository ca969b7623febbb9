// SPDX-License-Identifier: GPL-2.0
/*
 * holefs: out-of-line copies of static inline kernel functions and macros
 * for the Rust VFS layer, rust/vfs/ (see helpers.h).  Keep it free of logic.
 */
#include <linux/delay.h>
#include <linux/err.h>
#include <linux/fs.h>
#include <linux/highmem.h>
#include <linux/kdev_t.h>
#include <linux/lockdep.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/pagemap.h>

#include "helpers.h"

/*
 * The module! macro of 6.12's Rust has no module parameters yet, so the one
 * parameter is declared here and read from Rust.
 */
bool holefs_unsafe_policies;
module_param_named(unsafe_policies, holefs_unsafe_policies, bool, 0444);
MODULE_PARM_DESC(unsafe_policies,
		 "Allow the deliberately unsafe locking policies (map_pages=locked, fault=unlocked, punch=unlocked)");

void holefs_inode_lock(struct inode *inode)
{
	inode_lock(inode);
}

void holefs_inode_unlock(struct inode *inode)
{
	inode_unlock(inode);
}

loff_t holefs_i_size_read(const struct inode *inode)
{
	return i_size_read(inode);
}

void holefs_i_size_write(struct inode *inode, loff_t size)
{
	i_size_write(inode, size);
}

void holefs_invalidate_lock(struct address_space *mapping)
{
	filemap_invalidate_lock(mapping);
}

void holefs_invalidate_unlock(struct address_space *mapping)
{
	filemap_invalidate_unlock(mapping);
}

void holefs_invalidate_lock_shared(struct address_space *mapping)
{
	filemap_invalidate_lock_shared(mapping);
}

int holefs_invalidate_trylock_shared(struct address_space *mapping)
{
	return down_read_trylock(&mapping->invalidate_lock);
}

void holefs_invalidate_unlock_shared(struct address_space *mapping)
{
	filemap_invalidate_unlock_shared(mapping);
}

struct folio *holefs_filemap_get_folio(struct address_space *mapping,
				       pgoff_t index)
{
	return filemap_get_folio(mapping, index);
}

/*
 * fgf_set_order(len) asks for a folio as large as the write where the
 * mapping allows large folios (as iomap does); order 0 otherwise.
 */
struct folio *holefs_filemap_grab_folio_write(struct address_space *mapping,
					      pgoff_t index, size_t len)
{
	return __filemap_get_folio(mapping, index,
				   FGP_WRITEBEGIN | fgf_set_order(len),
				   mapping_gfp_mask(mapping));
}

struct folio *holefs_read_mapping_folio(struct address_space *mapping,
					pgoff_t index, struct file *file)
{
	return read_mapping_folio(mapping, index, file);
}

struct folio *holefs_readahead_folio(struct readahead_control *rac)
{
	return readahead_folio(rac);
}

struct folio *holefs_page_folio(struct page *page)
{
	return page_folio(page);
}

struct page *holefs_folio_file_page(struct folio *folio, pgoff_t index)
{
	return folio_file_page(folio, index);
}

void holefs_folio_lock(struct folio *folio)
{
	folio_lock(folio);
}

void holefs_folio_get(struct folio *folio)
{
	folio_get(folio);
}

void holefs_folio_put(struct folio *folio)
{
	folio_put(folio);
}

bool holefs_folio_test_uptodate(struct folio *folio)
{
	return folio_test_uptodate(folio);
}

void holefs_folio_mark_uptodate(struct folio *folio)
{
	folio_mark_uptodate(folio);
}

void holefs_folio_start_writeback(struct folio *folio)
{
	folio_start_writeback(folio);
}

pgoff_t holefs_folio_index(struct folio *folio)
{
	return folio_index(folio);
}

size_t holefs_folio_size(struct folio *folio)
{
	return folio_size(folio);
}

unsigned int holefs_folio_order(struct folio *folio)
{
	return folio_order(folio);
}

void holefs_mapping_set_large_folios(struct address_space *mapping)
{
	mapping_set_large_folios(mapping);
}

/*
 * Whether mapping_set_large_folios() has an effect on this kernel: it does
 * nothing without CONFIG_TRANSPARENT_HUGEPAGE.  Asked of a probe mapping
 * that only carries the flags, so that a mount can refuse folios=large
 * before it has an inode.
 */
bool holefs_large_folios_supported(void)
{
	struct address_space probe = {};

	mapping_set_large_folios(&probe);
	return mapping_large_folio_support(&probe);
}

struct address_space *holefs_folio_mapping(struct folio *folio)
{
	return READ_ONCE(folio->mapping);
}

void *holefs_kmap_local_folio(struct folio *folio, size_t offset)
{
	return kmap_local_folio(folio, offset);
}

void holefs_kunmap_local(const void *addr)
{
	kunmap_local(addr);
}

void holefs_mapping_set_error(struct address_space *mapping, int error)
{
	mapping_set_error(mapping, error);
}

/*
 * __mark_inode_dirty() puts only hashed inodes on the writeback lists:
 * without this, background writeback and sync(2) never see a holefs inode
 * and its dirty folios reach the store only by fsync.
 */
void holefs_inode_fake_hash(struct inode *inode)
{
	inode_fake_hash(inode);
}

/*
 * Undoes holefs_inode_fake_hash() at eviction.  remove_inode_hash() leaves
 * a fake hash alone and inode_init_always() does not reset i_hash, so
 * without this a holefs inode goes back to the shared inode_cachep looking
 * hashed, and the next inode allocated in its slot (a pipe's, say) starts
 * out "hashed": never dropped at its last iput, and leaked.  (Filesystems
 * that fake-hash with their own inode cache never hand a slot to others.)
 */
void holefs_inode_fake_unhash(struct inode *inode)
{
	hlist_del_init(&inode->i_hash);
}

void holefs_inode_nohighmem(struct inode *inode)
{
	inode_nohighmem(inode);
}

void holefs_sb_start_pagefault(struct super_block *sb)
{
	sb_start_pagefault(sb);
}

void holefs_sb_end_pagefault(struct super_block *sb)
{
	sb_end_pagefault(sb);
}

void holefs_dget(struct dentry *dentry)
{
	dget(dentry);
}

unsigned int holefs_major(dev_t dev)
{
	return MAJOR(dev);
}

unsigned int holefs_minor(dev_t dev)
{
	return MINOR(dev);
}

void holefs_fsleep(unsigned long usecs)
{
	fsleep(usecs);
}

void holefs_lockdep_register_key(struct lock_class_key *key)
{
	lockdep_register_key(key);
}

void holefs_lockdep_unregister_key(struct lock_class_key *key)
{
	lockdep_unregister_key(key);
}

void holefs_inode_touch(struct inode *inode)
{
	inode_set_mtime_to_ts(inode, inode_set_ctime_current(inode));
}

void holefs_cond_resched(void)
{
	cond_resched();
}

void holefs_folio_zero_range(struct folio *folio, size_t start, size_t length)
{
	folio_zero_range(folio, start, length);
}

void holefs_file_accessed(struct file *file)
{
	file_accessed(file);
}

unsigned long holefs_totalram_pages(void)
{
	return totalram_pages();
}

/*
 * File pages mapped by @mm, summed over all CPUs so that the difference
 * around one ->map_pages call is exact when no other thread of @mm faults
 * at the same time.  Only takes a raw spinlock: legal under RCU.
 */
long holefs_mm_file_pages(struct mm_struct *mm)
{
	return percpu_counter_sum(&mm->rss_stat[MM_FILEPAGES]);
}
