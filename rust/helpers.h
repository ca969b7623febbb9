/* SPDX-License-Identifier: GPL-2.0 */
/*
 * holefs: wrappers for static inline kernel functions that Rust cannot call
 * directly.  Each one is a plain call of the inline it is named after; no
 * logic lives here.
 */
#ifndef HOLEFS_HELPERS_H
#define HOLEFS_HELPERS_H

#include <linux/fs.h>
#include <linux/mm.h>
#include <linux/pagemap.h>

void holefs_inode_lock(struct inode *inode);
void holefs_inode_unlock(struct inode *inode);
loff_t holefs_i_size_read(const struct inode *inode);
void holefs_i_size_write(struct inode *inode, loff_t size);
void holefs_invalidate_lock(struct address_space *mapping);
void holefs_invalidate_unlock(struct address_space *mapping);
void holefs_invalidate_lock_shared(struct address_space *mapping);
int holefs_invalidate_trylock_shared(struct address_space *mapping);
void holefs_invalidate_unlock_shared(struct address_space *mapping);
struct folio *holefs_filemap_get_folio(struct address_space *mapping,
				       pgoff_t index);
struct folio *holefs_filemap_grab_folio_write(struct address_space *mapping,
					      pgoff_t index, size_t len);
struct folio *holefs_read_mapping_folio(struct address_space *mapping,
					pgoff_t index, struct file *file);
struct folio *holefs_readahead_folio(struct readahead_control *rac);
struct folio *holefs_page_folio(struct page *page);
struct page *holefs_folio_file_page(struct folio *folio, pgoff_t index);
void holefs_folio_lock(struct folio *folio);
void holefs_folio_get(struct folio *folio);
void holefs_folio_put(struct folio *folio);
bool holefs_folio_test_uptodate(struct folio *folio);
void holefs_folio_mark_uptodate(struct folio *folio);
void holefs_folio_start_writeback(struct folio *folio);
pgoff_t holefs_folio_index(struct folio *folio);
size_t holefs_folio_size(struct folio *folio);
unsigned int holefs_folio_order(struct folio *folio);
void holefs_mapping_set_large_folios(struct address_space *mapping);
bool holefs_large_folios_supported(void);
struct address_space *holefs_folio_mapping(struct folio *folio);
void *holefs_kmap_local_folio(struct folio *folio, size_t offset);
void holefs_kunmap_local(const void *addr);
void holefs_mapping_set_error(struct address_space *mapping, int error);
void holefs_inode_nohighmem(struct inode *inode);
void holefs_inode_fake_hash(struct inode *inode);
void holefs_inode_fake_unhash(struct inode *inode);
void holefs_sb_start_pagefault(struct super_block *sb);
void holefs_sb_end_pagefault(struct super_block *sb);
void holefs_dget(struct dentry *dentry);
unsigned int holefs_major(dev_t dev);
unsigned int holefs_minor(dev_t dev);
void holefs_fsleep(unsigned long usecs);
void holefs_lockdep_register_key(struct lock_class_key *key);
void holefs_lockdep_unregister_key(struct lock_class_key *key);
void holefs_inode_touch(struct inode *inode);
void holefs_cond_resched(void);
void holefs_folio_zero_range(struct folio *folio, size_t start, size_t length);
void holefs_file_accessed(struct file *file);
unsigned long holefs_totalram_pages(void);
long holefs_mm_file_pages(struct mm_struct *mm);

/* The unsafe_policies module parameter (helpers.c). */
extern bool holefs_unsafe_policies;

#endif /* HOLEFS_HELPERS_H */
