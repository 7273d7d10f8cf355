// SPDX-License-Identifier: GPL-2.0
/*
 * capbuf: a dma-buf exporter for camera capture buffers.
 *
 * Buffers are allocated through the dma-heap ABI on three nodes:
 * /dev/dma_heap/capbuf (cached CPU mappings), /dev/dma_heap/capbuf-wc
 * (write-combined) and /dev/dma_heap/capbuf-contig (physically contiguous,
 * for devices without an IOMMU), so programs written for dma-heaps work
 * unchanged on kernels without the heap framework.
 *
 * CPU mappings follow the dma-buf mmap design discussed on linaro-mm-sig in
 * 2012: user PTEs are faulted in lazily (the whole mapping at the first
 * touch) and caches are made coherent for the CPU at fault time; when a
 * device maps the buffer for DMA the user PTEs are shot down, so the next
 * CPU touch faults again. Coherency itself comes from DMA_BUF_IOCTL_SYNC,
 * honoured for every mapped attachment and the kernel vmap, and ordering
 * against asynchronous DMA from fences; the shootdown is what lets an
 * optional checker turn a CPU touch of a device-owned buffer into a logged
 * violation or SIGBUS.
 *
 * Mappings are VM_PFNMAP, as the system heap's and udmabuf's are: pages of a
 * buffer a device may own cannot be pinned by get_user_pages().
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/atomic.h>
#include <linux/debugfs.h>
#include <linux/dma-buf.h>
#include <linux/dma-mapping.h>
#include <linux/fs.h>
#include <linux/highmem.h>
#include <linux/miscdevice.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/nospec.h>
#include <linux/sched.h>
#include <linux/scatterlist.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/vmalloc.h>
#include <uapi/linux/dma-heap.h>

#include "capbuf_compat.h"

/* DMA_BUF_IOCTL_SYNC directions, as the dma-buf core passes them to us. */
enum capbuf_dir {
	CAPBUF_DIR_READ,	/* DMA_FROM_DEVICE */
	CAPBUF_DIR_WRITE,	/* DMA_TO_DEVICE */
	CAPBUF_DIR_RW,		/* DMA_BIDIRECTIONAL */
	CAPBUF_DIR_COUNT,
};

static const char *const capbuf_dir_names[] = { "r", "w", "rw" };

enum capbuf_check {
	CAPBUF_CHECK_OFF,
	CAPBUF_CHECK_WARN,
	CAPBUF_CHECK_STRICT,
};

static const char *const capbuf_check_names[] = { "off", "warn", "strict" };

static int capbuf_check_mode = CAPBUF_CHECK_OFF;

static unsigned long max_buffer_size = 256UL << 20;
module_param(max_buffer_size, ulong, 0644);
MODULE_PARM_DESC(max_buffer_size, "Largest buffer in bytes (default 256 MiB)");

static unsigned long max_total_size = 1UL << 30;
module_param(max_total_size, ulong, 0644);
MODULE_PARM_DESC(max_total_size, "Bytes all live buffers may hold together (default 1 GiB)");

enum capbuf_kind {
	CAPBUF_CACHED,
	CAPBUF_WRITECOMBINE,
	CAPBUF_CONTIGUOUS,
};

struct capbuf_heap {
	const char *name;
	enum capbuf_kind kind;
	struct miscdevice misc;
};

struct capbuf_buffer {
	struct list_head node;		/* in capbuf_buffers */
	struct capbuf_heap *heap;
	struct dma_buf *dmabuf;
	unsigned long ino;
	size_t size;
	pgoff_t npages;
	struct page **pages;		/* every page, for vmap and faults */
	unsigned int runs;		/* physically contiguous runs */
	dma_addr_t contig_dma;		/* CAPBUF_CONTIGUOUS: the heap's handle */

	struct mutex lock;		/* everything below */
	struct list_head attachments;
	void *vaddr;
	unsigned int vmap_count;
	unsigned int cpu_open;		/* open DMA_BUF_IOCTL_SYNC brackets */
	bool device_owned;
	bool violation_logged;
	unsigned long begin[CAPBUF_DIR_COUNT];
	unsigned long end[CAPBUF_DIR_COUNT];
	unsigned long faults;
	unsigned long shootdowns;
	unsigned long violations;
	unsigned long syncs_cpu;	/* attachment syncs for the CPU */
	unsigned long syncs_device;	/* attachment syncs for the device */
};

/*
 * The exporter keeps its own table per device, mapped, and syncs through it;
 * the importer gets a copy. The dma-buf core may scramble the copy's page
 * links (CONFIG_DMABUF_DEBUG), and importers may only use its DMA addresses.
 */
struct capbuf_attachment {
	struct list_head node;
	struct device *dev;
	struct sg_table table;		/* ours */
	struct sg_table importer;	/* the importer's copy while mapped */
	bool mapped;
	enum dma_data_direction dir;
};

static LIST_HEAD(capbuf_buffers);
static DEFINE_MUTEX(capbuf_buffers_lock);	/* list and totals */
static size_t capbuf_live_bytes;
static unsigned long capbuf_live_buffers;
static unsigned long capbuf_total_allocated;
static atomic_long_t capbuf_total_violations;
static struct dentry *capbuf_debugfs;

static int capbuf_check_set(const char *val, const struct kernel_param *kp)
{
	int mode = sysfs_match_string(capbuf_check_names, val);

	if (mode < 0)
		return -EINVAL;
	WRITE_ONCE(capbuf_check_mode, mode);
	return 0;
}

static int capbuf_check_get(char *buffer, const struct kernel_param *kp)
{
	return sysfs_emit(buffer, "%s\n",
			  capbuf_check_names[READ_ONCE(capbuf_check_mode)]);
}

static const struct kernel_param_ops capbuf_check_ops = {
	.set = capbuf_check_set,
	.get = capbuf_check_get,
};

module_param_cb(check, &capbuf_check_ops, NULL, 0644);
MODULE_PARM_DESC(check, "CPU access ownership checker: off, warn or strict");

static enum capbuf_dir capbuf_dir_index(enum dma_data_direction dir)
{
	switch (dir) {
	case DMA_FROM_DEVICE:
		return CAPBUF_DIR_READ;
	case DMA_TO_DEVICE:
		return CAPBUF_DIR_WRITE;
	default:
		return CAPBUF_DIR_RW;
	}
}

static struct device *capbuf_heap_dev(struct capbuf_heap *heap)
{
	return heap->misc.this_device;
}

/*
 * Zap every user PTE of the buffer: the next CPU access faults and goes
 * through capbuf_vm_fault(). Called with buffer->lock held, which the fault
 * handler takes before it installs PTEs: no fault that saw the buffer
 * CPU-owned can install a PTE after this returns. The lock order is
 * mmap_lock -> buffer->lock -> i_mmap_rwsem, and since 6.2 the core calls
 * map_dma_buf with dmabuf->resv held, above buffer->lock.
 */
static void capbuf_shootdown(struct capbuf_buffer *buffer)
{
	lockdep_assert_held(&buffer->lock);
	buffer->shootdowns++;
	unmap_mapping_range(buffer->dmabuf->file->f_mapping, 0, 0, 1);
}

/*
 * Cache maintenance, by scatterlist, through the exporter's own table and
 * in the direction the device mapped it with (the DMA API allows no
 * other): right behind an IOMMU, where one DMA segment spans scattered
 * pages.
 */
static void capbuf_sync_for_cpu(struct capbuf_buffer *buffer)
{
	struct capbuf_attachment *a;

	lockdep_assert_held(&buffer->lock);
	list_for_each_entry(a, &buffer->attachments, node) {
		if (!a->mapped)
			continue;
		dma_sync_sgtable_for_cpu(a->dev, &a->table, a->dir);
		buffer->syncs_cpu++;
	}
}

static void capbuf_sync_for_device(struct capbuf_buffer *buffer)
{
	struct capbuf_attachment *a;

	lockdep_assert_held(&buffer->lock);
	list_for_each_entry(a, &buffer->attachments, node) {
		if (!a->mapped)
			continue;
		dma_sync_sgtable_for_device(a->dev, &a->table, a->dir);
		buffer->syncs_device++;
	}
}

static int capbuf_attach(struct dma_buf *dmabuf,
			 struct dma_buf_attachment *attachment)
{
	struct capbuf_buffer *buffer = dmabuf->priv;
	struct capbuf_attachment *a;
	int ret;

	a = kzalloc(sizeof(*a), GFP_KERNEL);
	if (!a)
		return -ENOMEM;

	/*
	 * Each attachment gets its own table: mappings differ per device, and
	 * so does the longest segment a device takes (DMA-API debug checks).
	 */
	ret = sg_alloc_table_from_pages_segment(&a->table, buffer->pages,
						buffer->npages, 0, buffer->size,
						dma_get_max_seg_size(attachment->dev),
						GFP_KERNEL);
	if (ret) {
		kfree(a);
		return ret;
	}
	a->dev = attachment->dev;
	a->dir = DMA_NONE;
	attachment->priv = a;

	mutex_lock(&buffer->lock);
	list_add(&a->node, &buffer->attachments);
	mutex_unlock(&buffer->lock);
	return 0;
}

static void capbuf_detach(struct dma_buf *dmabuf,
			  struct dma_buf_attachment *attachment)
{
	struct capbuf_buffer *buffer = dmabuf->priv;
	struct capbuf_attachment *a = attachment->priv;

	mutex_lock(&buffer->lock);
	list_del(&a->node);
	mutex_unlock(&buffer->lock);
	sg_free_table(&a->table);
	kfree(a);
}

/*
 * The importer's copy of a mapped table: pages, lengths and DMA addresses.
 * Our pages are system RAM, never PCI peer memory, so no entry carries the
 * DMA bus-address flag that would have to be copied too.
 */
static int capbuf_copy_table(struct sg_table *dst, struct sg_table *src)
{
	struct scatterlist *s, *d;
	int ret, i;

	ret = sg_alloc_table(dst, src->orig_nents, GFP_KERNEL);
	if (ret)
		return ret;
	d = dst->sgl;
	for_each_sgtable_sg(src, s, i) {
		sg_set_page(d, sg_page(s), s->length, s->offset);
		sg_dma_address(d) = sg_dma_address(s);
		sg_dma_len(d) = sg_dma_len(s);
		d = sg_next(d);
	}
	dst->nents = src->nents;
	return 0;
}

static struct sg_table *capbuf_map_dma_buf(struct dma_buf_attachment *attachment,
					   enum dma_data_direction dir)
{
	struct capbuf_buffer *buffer = attachment->dmabuf->priv;
	struct capbuf_attachment *a = attachment->priv;
	int ret;

	mutex_lock(&buffer->lock);
	if (a->mapped) {
		ret = -EBUSY;
		goto err_unlock;
	}
	/*
	 * Mapped without the implicit sync, as videobuf2 and the DRM PRIME
	 * helpers map importers: several devices map one buffer (a camera and
	 * a display), which the streaming DMA API's single-owner model (and
	 * DMA-API debug's overlap check) does not know. The caches are then
	 * synced for this device explicitly.
	 */
	ret = dma_map_sgtable(a->dev, &a->table, dir, DMA_ATTR_SKIP_CPU_SYNC);
	if (ret)
		goto err_unlock;
	dma_sync_sgtable_for_device(a->dev, &a->table, dir);
	ret = capbuf_copy_table(&a->importer, &a->table);
	if (ret)
		goto err_unmap;
	a->mapped = true;
	a->dir = dir;
	buffer->device_owned = true;
	capbuf_shootdown(buffer);
	mutex_unlock(&buffer->lock);
	return &a->importer;

err_unmap:
	dma_unmap_sgtable(a->dev, &a->table, dir, 0);
err_unlock:
	mutex_unlock(&buffer->lock);
	return ERR_PTR(ret);
}

static void capbuf_unmap_dma_buf(struct dma_buf_attachment *attachment,
				 struct sg_table *table,
				 enum dma_data_direction dir)
{
	struct capbuf_buffer *buffer = attachment->dmabuf->priv;
	struct capbuf_attachment *a = attachment->priv;

	mutex_lock(&buffer->lock);
	if (!WARN_ON(!a->mapped || table != &a->importer)) {
		dma_unmap_sgtable(a->dev, &a->table, a->dir, 0);
		sg_free_table(&a->importer);
		a->mapped = false;
		a->dir = DMA_NONE;
	}
	mutex_unlock(&buffer->lock);
}

/*
 * Every START syncs: whatever happened since the last one (a CPU fault
 * included), the device may have written the buffer in between.
 */
static int capbuf_begin_cpu_access(struct dma_buf *dmabuf,
				   enum dma_data_direction dir)
{
	struct capbuf_buffer *buffer = dmabuf->priv;

	mutex_lock(&buffer->lock);
	if (buffer->vaddr)
		invalidate_kernel_vmap_range(buffer->vaddr, buffer->size);
	capbuf_sync_for_cpu(buffer);
	buffer->begin[capbuf_dir_index(dir)]++;
	buffer->cpu_open++;
	buffer->device_owned = false;
	mutex_unlock(&buffer->lock);
	return 0;
}

static int capbuf_end_cpu_access(struct dma_buf *dmabuf,
				 enum dma_data_direction dir)
{
	struct capbuf_buffer *buffer = dmabuf->priv;

	mutex_lock(&buffer->lock);
	if (buffer->vaddr)
		flush_kernel_vmap_range(buffer->vaddr, buffer->size);
	capbuf_sync_for_device(buffer);
	buffer->end[capbuf_dir_index(dir)]++;
	if (buffer->cpu_open)
		buffer->cpu_open--;
	if (!buffer->cpu_open) {
		buffer->device_owned = true;
		/*
		 * Only the checker needs the PTEs gone here: without it the
		 * next frame's accesses would fault for nothing.
		 */
		if (READ_ONCE(capbuf_check_mode) != CAPBUF_CHECK_OFF)
			capbuf_shootdown(buffer);
	}
	mutex_unlock(&buffer->lock);
	return 0;
}

/*
 * Called with buffer->lock held, on a fault while the checker is on and a
 * device owns the buffer: counts and logs the violation; true when the
 * access may go on (warn), false for SIGBUS (strict).
 */
static bool capbuf_violation(struct capbuf_buffer *buffer, pgoff_t pgoff,
			     int mode)
{
	buffer->violations++;
	atomic_long_inc(&capbuf_total_violations);
	if (!buffer->violation_logged) {
		buffer->violation_logged = true;
		pr_notice("violation: %s[%d] touched buffer %lu (%s) at page %lu while a device owns it: missing DMA_BUF_IOCTL_SYNC START?\n",
			  current->comm, task_pid_nr(current), buffer->ino,
			  buffer->heap->name, (unsigned long)pgoff);
	}
	return mode != CAPBUF_CHECK_STRICT;
}

/*
 * One fault maps the whole VMA: a 1080p frame is 2,025 pages, and faulting
 * them one by one after every shootdown would cost more than the frame's
 * processing on small cores. A violation maps only its own page, so that
 * the checker sees every page a buggy program touches.
 */
static vm_fault_t capbuf_vm_fault(struct vm_fault *vmf)
{
	struct vm_area_struct *vma = vmf->vma;
	struct capbuf_buffer *buffer = vma->vm_private_data;
	int mode = READ_ONCE(capbuf_check_mode);
	bool violation;
	unsigned long addr;
	pgoff_t pgoff;
	vm_fault_t ret;

	if (vmf->pgoff >= buffer->npages)
		return VM_FAULT_SIGBUS;

	mutex_lock(&buffer->lock);
	buffer->faults++;
	violation = buffer->device_owned && mode != CAPBUF_CHECK_OFF;
	if (violation && !capbuf_violation(buffer, vmf->pgoff, mode)) {
		mutex_unlock(&buffer->lock);
		return VM_FAULT_SIGBUS;
	}
	/* Invalidate at fault time: the CPU must not see stale lines. */
	capbuf_sync_for_cpu(buffer);

	ret = vmf_insert_pfn(vma, vmf->address,
			     page_to_pfn(buffer->pages[vmf->pgoff]));
	for (addr = vma->vm_start, pgoff = vma->vm_pgoff;
	     !violation && ret == VM_FAULT_NOPAGE && addr < vma->vm_end;
	     addr += PAGE_SIZE, pgoff++) {
		if (addr == vmf->address)
			continue;
		/* Best effort: the faulting page is in, others fault later. */
		if (vmf_insert_pfn(vma, addr, page_to_pfn(buffer->pages[pgoff])) !=
		    VM_FAULT_NOPAGE)
			break;
	}
	mutex_unlock(&buffer->lock);
	return ret;
}

static const struct vm_operations_struct capbuf_vm_ops = {
	.fault = capbuf_vm_fault,
};

static int capbuf_mmap(struct dma_buf *dmabuf, struct vm_area_struct *vma)
{
	struct capbuf_buffer *buffer = dmabuf->priv;

	/* A private mapping would get COW copies that the device never sees. */
	if (!(vma->vm_flags & VM_MAYSHARE))
		return -EINVAL;

	/* PFN mappings: get_user_pages() cannot pin what a device may own. */
	vm_flags_set(vma, VM_PFNMAP | VM_DONTEXPAND | VM_DONTDUMP);
	if (buffer->heap->kind == CAPBUF_WRITECOMBINE)
		vma->vm_page_prot = pgprot_writecombine(vm_get_page_prot(vma->vm_flags));
	vma->vm_ops = &capbuf_vm_ops;
	vma->vm_private_data = buffer;
	return 0;
}

static int capbuf_vmap(struct dma_buf *dmabuf, struct iosys_map *map)
{
	struct capbuf_buffer *buffer = dmabuf->priv;
	pgprot_t prot = PAGE_KERNEL;

	if (buffer->heap->kind == CAPBUF_WRITECOMBINE)
		prot = pgprot_writecombine(prot);

	mutex_lock(&buffer->lock);
	if (!buffer->vmap_count) {
		buffer->vaddr = vmap(buffer->pages, buffer->npages, VM_MAP, prot);
		if (!buffer->vaddr) {
			mutex_unlock(&buffer->lock);
			return -ENOMEM;
		}
	}
	buffer->vmap_count++;
	iosys_map_set_vaddr(map, buffer->vaddr);
	mutex_unlock(&buffer->lock);
	return 0;
}

static void capbuf_vunmap(struct dma_buf *dmabuf, struct iosys_map *map)
{
	struct capbuf_buffer *buffer = dmabuf->priv;

	mutex_lock(&buffer->lock);
	if (!WARN_ON(!buffer->vmap_count) && !--buffer->vmap_count) {
		vunmap(buffer->vaddr);
		buffer->vaddr = NULL;
	}
	mutex_unlock(&buffer->lock);
	iosys_map_clear(map);
}

static void capbuf_free_pages(struct capbuf_buffer *buffer)
{
	struct capbuf_heap *heap = buffer->heap;
	pgoff_t i;

	if (heap->kind == CAPBUF_CONTIGUOUS) {
		if (buffer->pages[0])
			dma_free_pages(capbuf_heap_dev(heap), buffer->size,
				       buffer->pages[0], buffer->contig_dma,
				       DMA_TO_DEVICE);
	} else {
		for (i = 0; i < buffer->npages; i++)
			if (buffer->pages[i])
				__free_page(buffer->pages[i]);
	}
	kvfree(buffer->pages);
}

static void capbuf_release(struct dma_buf *dmabuf)
{
	struct capbuf_buffer *buffer = dmabuf->priv;

	mutex_lock(&capbuf_buffers_lock);
	list_del(&buffer->node);
	capbuf_live_bytes -= buffer->size;
	capbuf_live_buffers--;
	mutex_unlock(&capbuf_buffers_lock);

	/*
	 * The core BUG()s on a release with a vmap live (dma_buf_release(),
	 * 6.1 to 6.12), so none should get here; if one does, whoever holds
	 * that mapping may still write through it: leak the pages rather
	 * than hand them to someone else.
	 */
	if (WARN_ON(buffer->vmap_count))
		return;
	if (buffer->heap->kind == CAPBUF_WRITECOMBINE)
		capbuf_pages_set_wb(buffer->pages, buffer->npages);
	capbuf_free_pages(buffer);
	mutex_destroy(&buffer->lock);
	kfree(buffer);
}

static const struct dma_buf_ops capbuf_dma_buf_ops = {
	.attach = capbuf_attach,
	.detach = capbuf_detach,
	.map_dma_buf = capbuf_map_dma_buf,
	.unmap_dma_buf = capbuf_unmap_dma_buf,
	.begin_cpu_access = capbuf_begin_cpu_access,
	.end_cpu_access = capbuf_end_cpu_access,
	.mmap = capbuf_mmap,
	.vmap = capbuf_vmap,
	.vunmap = capbuf_vunmap,
	.release = capbuf_release,
};

/* Reserve @size against the global limit; false when it is exhausted. */
static bool capbuf_reserve(size_t size)
{
	bool ok;

	mutex_lock(&capbuf_buffers_lock);
	ok = size <= READ_ONCE(max_total_size) &&
	     capbuf_live_bytes <= READ_ONCE(max_total_size) - size;
	if (ok)
		capbuf_live_bytes += size;
	mutex_unlock(&capbuf_buffers_lock);
	return ok;
}

static void capbuf_unreserve(size_t size)
{
	mutex_lock(&capbuf_buffers_lock);
	capbuf_live_bytes -= size;
	mutex_unlock(&capbuf_buffers_lock);
}

/*
 * The system heap's policy: 1 MiB and 64 KiB runs where the page allocator
 * has them without reclaim, single pages otherwise. Importers then get a few
 * dozen segments per frame instead of one per page. Split pages free one by
 * one like any other.
 */
static const unsigned int capbuf_orders[] = { 8, 4, 0 };

static int capbuf_alloc_pages(struct capbuf_buffer *buffer)
{
	/* Zeroed: no earlier user's frame or kernel data reaches user space. */
	const gfp_t gfp = GFP_HIGHUSER | __GFP_ZERO | __GFP_ACCOUNT | __GFP_NOWARN;
	unsigned int max_order = capbuf_orders[0];
	unsigned long pfn = 0;
	pgoff_t filled = 0;

	while (filled < buffer->npages) {
		struct page *page = NULL;
		unsigned int order = 0, i;

		if (fatal_signal_pending(current))
			return -EINTR;
		for (i = 0; i < ARRAY_SIZE(capbuf_orders); i++) {
			order = capbuf_orders[i];
			if (order > max_order ||
			    (1UL << order) > buffer->npages - filled)
				continue;
			if (order)
				page = alloc_pages((gfp | __GFP_NORETRY) & ~__GFP_RECLAIM,
						   order);
			else
				page = alloc_page(gfp | __GFP_RETRY_MAYFAIL);
			if (page)
				break;
		}
		if (!page)
			return -ENOMEM;
		max_order = order;
		if (order)
			split_page(page, order);
		if (!filled || page_to_pfn(page) != pfn + 1)
			buffer->runs++;
		pfn = page_to_pfn(page);
		for (i = 0; i < (1U << order); i++)
			buffer->pages[filled++] = pfn_to_page(pfn + i);
		pfn += (1UL << order) - 1;
	}
	return 0;
}

/*
 * Physically contiguous memory through the DMA API (CMA where the kernel
 * has an area, the page allocator up to its largest order otherwise), as
 * vb2-dma-contig and the DRM DMA helpers allocate for devices without an
 * IOMMU. Not charged to the memory cgroup: CMA pages never are.
 */
static int capbuf_alloc_contig(struct capbuf_buffer *buffer)
{
	struct device *dev = capbuf_heap_dev(buffer->heap);
	struct page *page;
	unsigned long pfn;
	pgoff_t i;

	/*
	 * The heap's device never does DMA with this handle; mapping it "to
	 * the device" makes the sync below a clean, and tells DMA-API debug
	 * that importers' mappings of the same lines (the real DMA) are no
	 * overlap it must report.
	 */
	page = dma_alloc_pages(dev, buffer->size, &buffer->contig_dma,
			       DMA_TO_DEVICE, GFP_KERNEL | __GFP_NOWARN);
	if (!page)
		return -ENOMEM;
	pfn = page_to_pfn(page);
	for (i = 0; i < buffer->npages; i++)
		buffer->pages[i] = pfn_to_page(pfn + i);
	buffer->runs = 1;
	/* The allocator zeroed it through the CPU cache: hand it over clean. */
	dma_sync_single_for_device(dev, buffer->contig_dma, buffer->size,
				   DMA_TO_DEVICE);
	return 0;
}

/*
 * Write-combined user and kernel mappings bypass the cache, so no dirty
 * line of the zeroing may be left to be written back over a frame later:
 * x86 moves the linear map to WC (which flushes), every architecture gets
 * the lines cleaned and invalidated through a DMA mapping of the heap's
 * device, as the dma-heap uncached buffers did.
 */
static int capbuf_prepare_wc(struct capbuf_buffer *buffer)
{
	struct device *dev = capbuf_heap_dev(buffer->heap);
	struct sg_table table;
	int ret;

	ret = capbuf_pages_set_wc(buffer->pages, buffer->npages);
	if (ret)
		return ret;
	ret = sg_alloc_table_from_pages_segment(&table, buffer->pages,
						buffer->npages, 0, buffer->size,
						dma_get_max_seg_size(dev),
						GFP_KERNEL);
	if (ret)
		goto err_wb;
	ret = dma_map_sgtable(dev, &table, DMA_BIDIRECTIONAL, 0);
	if (ret) {
		sg_free_table(&table);
		goto err_wb;
	}
	dma_unmap_sgtable(dev, &table, DMA_BIDIRECTIONAL, 0);
	sg_free_table(&table);
	return 0;

err_wb:
	capbuf_pages_set_wb(buffer->pages, buffer->npages);
	return ret;
}

static struct dma_buf *capbuf_allocate(struct capbuf_heap *heap, u64 len,
				       u32 fd_flags, u64 heap_flags)
{
	DEFINE_DMA_BUF_EXPORT_INFO(exp_info);
	struct capbuf_buffer *buffer;
	struct dma_buf *dmabuf;
	char *name;
	size_t size;
	int ret;

	if (fd_flags & ~DMA_HEAP_VALID_FD_FLAGS)
		return ERR_PTR(-EINVAL);
	if (heap_flags & ~DMA_HEAP_VALID_HEAP_FLAGS)
		return ERR_PTR(-EINVAL);
	if (!len || len > SIZE_MAX - PAGE_SIZE + 1)
		return ERR_PTR(-EINVAL);
	size = PAGE_ALIGN(len);
	if (size > READ_ONCE(max_buffer_size))
		return ERR_PTR(-EINVAL);
	if (!capbuf_reserve(size))
		return ERR_PTR(-ENOMEM);

	ret = -ENOMEM;
	buffer = kzalloc(sizeof(*buffer), GFP_KERNEL_ACCOUNT);
	if (!buffer)
		goto err_unreserve;
	mutex_init(&buffer->lock);
	INIT_LIST_HEAD(&buffer->attachments);
	INIT_LIST_HEAD(&buffer->node);
	buffer->heap = heap;
	buffer->size = size;
	buffer->npages = size >> PAGE_SHIFT;
	buffer->pages = kvcalloc(buffer->npages, sizeof(*buffer->pages),
				 GFP_KERNEL_ACCOUNT);
	if (!buffer->pages)
		goto err_free_buffer;

	if (heap->kind == CAPBUF_CONTIGUOUS)
		ret = capbuf_alloc_contig(buffer);
	else
		ret = capbuf_alloc_pages(buffer);
	if (ret)
		goto err_free_pages;
	if (heap->kind == CAPBUF_WRITECOMBINE) {
		ret = capbuf_prepare_wc(buffer);
		if (ret)
			goto err_free_pages;
	}

	exp_info.exp_name = heap->name;
	exp_info.ops = &capbuf_dma_buf_ops;
	exp_info.size = size;
	exp_info.flags = fd_flags;	/* the access mode limits mmap() */
	exp_info.priv = buffer;
	dmabuf = dma_buf_export(&exp_info);
	if (IS_ERR(dmabuf)) {
		ret = PTR_ERR(dmabuf);
		goto err_set_wb;
	}
	buffer->dmabuf = dmabuf;
	buffer->ino = file_inode(dmabuf->file)->i_ino;

	/* A default name says who allocated it; DMA_BUF_SET_NAME may replace it. */
	name = kasprintf(GFP_KERNEL, "%s:%s", heap->name, current->comm);
	if (name) {
		spin_lock(&dmabuf->name_lock);
		dmabuf->name = name;
		spin_unlock(&dmabuf->name_lock);
	}

	mutex_lock(&capbuf_buffers_lock);
	list_add_tail(&buffer->node, &capbuf_buffers);
	capbuf_live_buffers++;
	capbuf_total_allocated++;
	mutex_unlock(&capbuf_buffers_lock);
	return dmabuf;

err_set_wb:
	if (heap->kind == CAPBUF_WRITECOMBINE)
		capbuf_pages_set_wb(buffer->pages, buffer->npages);
err_free_pages:
	capbuf_free_pages(buffer);
err_free_buffer:
	mutex_destroy(&buffer->lock);
	kfree(buffer);
err_unreserve:
	capbuf_unreserve(size);
	return ERR_PTR(ret);
}

/*
 * The dma-heap core's ioctl handling, reproduced: the command number selects
 * the operation and the size encoded in the command may be smaller (older
 * user space: the rest is zero-filled) or larger (newer user space: the
 * extra is ignored) than the kernel's struct.
 */
static long capbuf_ioctl(struct file *file, unsigned int ucmd,
			 unsigned long arg)
{
	struct capbuf_heap *heap = container_of(file->private_data,
						struct capbuf_heap, misc);
	static const unsigned int kcmds[] = { DMA_HEAP_IOCTL_ALLOC };
	struct dma_heap_allocation_data data;
	struct dma_buf *dmabuf;
	unsigned int nr = _IOC_NR(ucmd);
	unsigned int kcmd, in_size, out_size;
	int fd;

	if (_IOC_TYPE(ucmd) != DMA_HEAP_IOC_MAGIC || nr >= ARRAY_SIZE(kcmds))
		return -ENOTTY;
	kcmd = kcmds[array_index_nospec(nr, ARRAY_SIZE(kcmds))];

	out_size = min_t(unsigned int, _IOC_SIZE(ucmd), sizeof(data));
	in_size = out_size;
	if (!(ucmd & kcmd & IOC_IN))
		in_size = 0;
	if (!(ucmd & kcmd & IOC_OUT))
		out_size = 0;

	memset(&data, 0, sizeof(data));
	if (copy_from_user(&data, (void __user *)arg, in_size))
		return -EFAULT;
	if (data.fd)
		return -EINVAL;

	dmabuf = capbuf_allocate(heap, data.len, data.fd_flags, data.heap_flags);
	if (IS_ERR(dmabuf))
		return PTR_ERR(dmabuf);

	/*
	 * Install the fd only once user space has it: a failed copy must not
	 * leave a buffer behind in the fd table.
	 */
	fd = get_unused_fd_flags(data.fd_flags & O_CLOEXEC);
	if (fd < 0) {
		dma_buf_put(dmabuf);
		return fd;
	}
	data.fd = fd;
	if (copy_to_user((void __user *)arg, &data, out_size)) {
		put_unused_fd(fd);
		dma_buf_put(dmabuf);	/* release() undoes the allocation */
		return -EFAULT;
	}
	fd_install(fd, dmabuf->file);
	return 0;
}

static const struct file_operations capbuf_fops = {
	.owner = THIS_MODULE,
	.open = nonseekable_open,
	.unlocked_ioctl = capbuf_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
};

static struct capbuf_heap capbuf_heaps[] = {
	{
		.name = "capbuf",
		.misc = {
			.minor = MISC_DYNAMIC_MINOR,
			.name = "capbuf",
			.nodename = "dma_heap/capbuf",
			.fops = &capbuf_fops,
		},
	},
	{
		.name = "capbuf-wc",
		.kind = CAPBUF_WRITECOMBINE,
		.misc = {
			.minor = MISC_DYNAMIC_MINOR,
			.name = "capbuf-wc",
			.nodename = "dma_heap/capbuf-wc",
			.fops = &capbuf_fops,
		},
	},
	{
		.name = "capbuf-contig",
		.kind = CAPBUF_CONTIGUOUS,
		.misc = {
			.minor = MISC_DYNAMIC_MINOR,
			.name = "capbuf-contig",
			.nodename = "dma_heap/capbuf-contig",
			.fops = &capbuf_fops,
		},
	},
};

static void capbuf_show_dirs(struct seq_file *s, const char *key,
			     const unsigned long *counts)
{
	int d;

	seq_printf(s, " %s=", key);
	for (d = 0; d < CAPBUF_DIR_COUNT; d++)
		seq_printf(s, "%s%s:%lu", d ? "," : "", capbuf_dir_names[d],
			   counts[d]);
}

static const char *capbuf_dma_dir_name(enum dma_data_direction dir)
{
	switch (dir) {
	case DMA_BIDIRECTIONAL:
		return "bidir";
	case DMA_TO_DEVICE:
		return "to_device";
	case DMA_FROM_DEVICE:
		return "from_device";
	default:
		return "unmapped";
	}
}

static int capbuf_buffers_show(struct seq_file *s, void *unused)
{
	struct capbuf_buffer *buffer;
	struct capbuf_attachment *a;

	mutex_lock(&capbuf_buffers_lock);
	list_for_each_entry(buffer, &capbuf_buffers, node) {
		const char *name;

		mutex_lock(&buffer->lock);
		spin_lock(&buffer->dmabuf->name_lock);
		name = buffer->dmabuf->name;
		seq_printf(s, "ino=%lu size=%zu name=%s heap=%s",
			   buffer->ino, buffer->size, name ?: "-",
			   buffer->heap->name);
		spin_unlock(&buffer->dmabuf->name_lock);
		seq_printf(s, " owner=%s vmap=%u",
			   buffer->device_owned ? "device" : "cpu",
			   buffer->vmap_count);
		capbuf_show_dirs(s, "begin", buffer->begin);
		capbuf_show_dirs(s, "end", buffer->end);
		seq_printf(s, " faults=%lu shootdowns=%lu violations=%lu syncs_cpu=%lu syncs_device=%lu runs=%u attachments=",
			   buffer->faults, buffer->shootdowns,
			   buffer->violations, buffer->syncs_cpu,
			   buffer->syncs_device, buffer->runs);
		if (list_empty(&buffer->attachments))
			seq_puts(s, "-");
		list_for_each_entry(a, &buffer->attachments, node)
			seq_printf(s, "%s%s/%s:%s",
				   list_is_first(&a->node, &buffer->attachments) ? "" : ",",
				   dev_driver_string(a->dev), dev_name(a->dev),
				   capbuf_dma_dir_name(a->mapped ? a->dir : DMA_NONE));
		seq_putc(s, '\n');
		mutex_unlock(&buffer->lock);
	}
	mutex_unlock(&capbuf_buffers_lock);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(capbuf_buffers);

static int capbuf_stats_show(struct seq_file *s, void *unused)
{
	mutex_lock(&capbuf_buffers_lock);
	seq_printf(s, "live_buffers %lu\nlive_bytes %zu\nallocated_total %lu\nviolations_total %lu\ncheck %s\n",
		   capbuf_live_buffers, capbuf_live_bytes,
		   capbuf_total_allocated,
		   atomic_long_read(&capbuf_total_violations),
		   capbuf_check_names[READ_ONCE(capbuf_check_mode)]);
	mutex_unlock(&capbuf_buffers_lock);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(capbuf_stats);

static int __init capbuf_init(void)
{
	int i, ret;

	for (i = 0; i < ARRAY_SIZE(capbuf_heaps); i++) {
		ret = misc_register(&capbuf_heaps[i].misc);
		if (ret) {
			pr_err("cannot register /dev/%s: %d\n",
			       capbuf_heaps[i].misc.nodename, ret);
			goto err_deregister;
		}
		/*
		 * The heap's device maps buffers itself only to clean caches
		 * (capbuf-wc), where any address will do, and allocates
		 * capbuf-contig's memory, which goes to devices without an
		 * IOMMU: many of those address 32 bits only.
		 */
		ret = dma_coerce_mask_and_coherent(capbuf_heap_dev(&capbuf_heaps[i]),
						   capbuf_heaps[i].kind == CAPBUF_CONTIGUOUS ?
						   DMA_BIT_MASK(32) : DMA_BIT_MASK(64));
		if (ret) {
			pr_err("cannot set the DMA mask of /dev/%s: %d\n",
			       capbuf_heaps[i].misc.nodename, ret);
			i++;
			goto err_deregister;
		}
	}
	capbuf_debugfs = debugfs_create_dir("capbuf", NULL);
	debugfs_create_file("buffers", 0444, capbuf_debugfs, NULL,
			    &capbuf_buffers_fops);
	debugfs_create_file("stats", 0444, capbuf_debugfs, NULL,
			    &capbuf_stats_fops);
	return 0;

err_deregister:
	while (--i >= 0)
		misc_deregister(&capbuf_heaps[i].misc);
	return ret;
}

static void __exit capbuf_exit(void)
{
	int i;

	debugfs_remove_recursive(capbuf_debugfs);
	for (i = 0; i < ARRAY_SIZE(capbuf_heaps); i++)
		misc_deregister(&capbuf_heaps[i].misc);
}

module_init(capbuf_init);
module_exit(capbuf_exit);

MODULE_DESCRIPTION("dma-buf exporter for capture buffers with lazy, shoot-down CPU mappings");
MODULE_AUTHOR("dmapipe developers");
MODULE_LICENSE("GPL");
CAPBUF_IMPORT_NS_DMA_BUF();
