/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The kernel interfaces capbuf uses that differ between the kernels it
 * supports (5.15 to 7.x) or between architectures, in one place, so that
 * capbuf.c reads like an in-tree exporter of the newest kernel.
 *
 * Built in the tests: 6.1 (Debian 12), 6.12 (Debian 13), Debian sid's
 * current kernel. Read, not built: 5.15 and 6.6 (docs/kmod.md).
 */
#ifndef _CAPBUF_COMPAT_H
#define _CAPBUF_COMPAT_H

#include <linux/mm.h>
#include <linux/module.h>
#include <linux/version.h>

/* 5.18 renamed struct dma_buf_map to struct iosys_map. */
#if LINUX_VERSION_CODE < KERNEL_VERSION(5, 18, 0)
#include <linux/dma-buf-map.h>
#define iosys_map dma_buf_map
#define iosys_map_set_vaddr dma_buf_map_set_vaddr
#define iosys_map_clear dma_buf_map_clear
#else
#include <linux/iosys-map.h>
#endif

/* 6.3 made vma->vm_flags read-only; changes go through vm_flags_set(). */
#if LINUX_VERSION_CODE < KERNEL_VERSION(6, 3, 0)
static inline void vm_flags_set(struct vm_area_struct *vma, vm_flags_t flags)
{
	vma->vm_flags |= flags;
}
#endif

/* 6.13 names symbol namespaces with string literals. */
#if LINUX_VERSION_CODE < KERNEL_VERSION(6, 13, 0)
#define CAPBUF_IMPORT_NS_DMA_BUF() MODULE_IMPORT_NS(DMA_BUF)
#else
#define CAPBUF_IMPORT_NS_DMA_BUF() MODULE_IMPORT_NS("DMA_BUF")
#endif

/*
 * Write-combined buffers: x86 must not keep a cacheable alias of the pages
 * in its linear map (PAT forbids mixed memory types, as drm_gem_shmem and
 * TTM know); other architectures keep the alias but have its dirty lines
 * cleaned once (capbuf_allocate()).
 */
#ifdef CONFIG_X86
#include <asm/set_memory.h>
/*
 * x86's _set_pages_array() answers -EINVAL for every failure; on pages we
 * just allocated the only one is an allocation (memtype, page-table split),
 * so the caller sees ENOMEM like every other allocation failure.
 */
static inline int capbuf_pages_set_wc(struct page **pages, pgoff_t npages)
{
	return set_pages_array_wc(pages, npages) ? -ENOMEM : 0;
}

static inline void capbuf_pages_set_wb(struct page **pages, pgoff_t npages)
{
	set_pages_array_wb(pages, npages);
}
#else
static inline int capbuf_pages_set_wc(struct page **pages, pgoff_t npages)
{
	return 0;
}

static inline void capbuf_pages_set_wb(struct page **pages, pgoff_t npages)
{
}
#endif

#endif /* _CAPBUF_COMPAT_H */
