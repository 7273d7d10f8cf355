// SPDX-License-Identifier: GPL-2.0
/*
 * capbuf: a dma-buf exporter for camera capture buffers.
 *
 * Buffers are allocated through the dma-heap ABI on /dev/dma_heap/capbuf
 * (cached CPU mappings) and /dev/dma_heap/capbuf-wc (write-combined), so
 * programs written for dma-heaps work unchanged on kernels without the heap
 * framework.
 *
 * CPU mappings follow the dma-buf mmap design discussed on linaro-mm-sig in
 * 2012: user PTEs are faulted in lazily and caches are made coherent for the
 * CPU at fault time; when a device maps the buffer for DMA the user PTEs are
 * shot down, so the next CPU touch faults again and is ordered after the DMA.
 * DMA_BUF_IOCTL_SYNC brackets are honoured for every mapped attachment and
 * the kernel vmap. An optional checker turns a CPU fault on a device-owned
 * buffer into a logged violation or SIGBUS.
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
#include <linux/pagemap.h>
#include <linux/sched.h>
#include <linux/scatterlist.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/vmalloc.h>
#include <uapi/linux/dma-heap.h>

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

struct capbuf_heap {
	const char *name;
	bool writecombine;
	struct miscdevice misc;
};

struct capbuf_buffer {
	struct list_head node;		/* in capbuf_buffers */
	struct capbuf_heap *heap;
	struct dma_buf *dmabuf;
	unsigned long ino;
	size_t size;
	pgoff_t npages;
	struct page **pages;

	struct mutex lock;		/* everything below */
	struct list_head attachments;
	void *vaddr;
	unsigned int vmap_count;
	unsigned int cpu_open;		/* open DMA_BUF_IOCTL_SYNC brackets */
	bool device_owned;
	bool cpu_coherent;		/* synced for the CPU since the last DMA */
	bool violation_logged;
	unsigned long begin[CAPBUF_DIR_COUNT];
	unsigned long end[CAPBUF_DIR_COUNT];
	unsigned long faults;
	unsigned long shootdowns;
	unsigned long violations;
};

struct capbuf_attachment {
	struct list_head node;
	struct device *dev;
	struct sg_table table;
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

/*
 * Zap every user PTE of the buffer: the next CPU access faults and goes
 * through capbuf_vm_fault(), which orders it after the device's access.
 * Called without buffer->lock: the fault handler takes that lock under
 * mmap_lock, and unmap_mapping_range() takes i_mmap_rwsem.
 */
static void capbuf_shootdown(struct capbuf_buffer *buffer)
{
	unmap_mapping_range(buffer->dmabuf->file->f_mapping, 0, 0, 1);
}

/*
 * Shootdown before device DMA. A fault that checked ownership before the
 * buffer became device-owned may still be installing its PTE: it holds the
 * page lock until the PTE is in, so waiting for every page lock and zapping
 * again leaves no CPU mapping behind.
 */
static void capbuf_shootdown_sync(struct capbuf_buffer *buffer)
{
	pgoff_t i;

	capbuf_shootdown(buffer);
	for (i = 0; i < buffer->npages; i++) {
		lock_page(buffer->pages[i]);
		unlock_page(buffer->pages[i]);
	}
	capbuf_shootdown(buffer);
}

/* Make every device mapping coherent for the CPU, once per device access. */
/*
 * Cache maintenance for one mapped attachment, by DMA address: while a table
 * is handed out, its page links belong to the importer (CONFIG_DMABUF_DEBUG
 * even scrambles them), so the exporter must not go through sg_page().
 */
static void capbuf_sync_attachment(struct capbuf_attachment *a, bool for_cpu)
{
	struct scatterlist *sg;
	int i;

	for_each_sgtable_dma_sg(&a->table, sg, i) {
		if (for_cpu)
			dma_sync_single_for_cpu(a->dev, sg_dma_address(sg),
						sg_dma_len(sg), a->dir);
		else
			dma_sync_single_for_device(a->dev, sg_dma_address(sg),
						   sg_dma_len(sg), a->dir);
	}
}

static void capbuf_sync_for_cpu(struct capbuf_buffer *buffer)
{
	struct capbuf_attachment *a;

	if (buffer->cpu_coherent)
		return;
	list_for_each_entry(a, &buffer->attachments, node)
		if (a->mapped)
			capbuf_sync_attachment(a, true);
	buffer->cpu_coherent = true;
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

static struct sg_table *capbuf_map_dma_buf(struct dma_buf_attachment *attachment,
					   enum dma_data_direction dir)
{
	struct capbuf_buffer *buffer = attachment->dmabuf->priv;
	struct capbuf_attachment *a = attachment->priv;
	int ret;

	mutex_lock(&buffer->lock);
	if (a->mapped) {
		mutex_unlock(&buffer->lock);
		return ERR_PTR(-EBUSY);
	}
	/* Maps and syncs the caches for the device in this direction. */
	ret = dma_map_sgtable(a->dev, &a->table, dir, 0);
	if (ret) {
		mutex_unlock(&buffer->lock);
		return ERR_PTR(ret);
	}
	a->mapped = true;
	a->dir = dir;
	buffer->device_owned = true;
	buffer->cpu_coherent = false;
	buffer->shootdowns++;
	mutex_unlock(&buffer->lock);

	capbuf_shootdown_sync(buffer);
	return &a->table;
}

static void capbuf_unmap_dma_buf(struct dma_buf_attachment *attachment,
				 struct sg_table *table,
				 enum dma_data_direction dir)
{
	struct capbuf_buffer *buffer = attachment->dmabuf->priv;
	struct capbuf_attachment *a = attachment->priv;

	mutex_lock(&buffer->lock);
	dma_unmap_sgtable(a->dev, table, dir, 0);
	a->mapped = false;
	a->dir = DMA_NONE;
	mutex_unlock(&buffer->lock);
}

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
	struct capbuf_attachment *a;
	bool zap = false;

	mutex_lock(&buffer->lock);
	if (buffer->vaddr)
		flush_kernel_vmap_range(buffer->vaddr, buffer->size);
	/*
	 * Sync in the direction each device mapped the buffer with: the DMA
	 * API allows no other, and it is the device's view that matters.
	 */
	list_for_each_entry(a, &buffer->attachments, node)
		if (a->mapped)
			capbuf_sync_attachment(a, false);
	buffer->cpu_coherent = false;
	buffer->end[capbuf_dir_index(dir)]++;
	if (buffer->cpu_open)
		buffer->cpu_open--;
	if (!buffer->cpu_open) {
		buffer->device_owned = true;
		/*
		 * Only the checker needs the PTEs gone here: without it the
		 * next frame's accesses would fault once per page for nothing.
		 */
		if (READ_ONCE(capbuf_check_mode) != CAPBUF_CHECK_OFF) {
			buffer->shootdowns++;
			zap = true;
		}
	}
	mutex_unlock(&buffer->lock);

	if (zap)
		capbuf_shootdown(buffer);
	return 0;
}

static vm_fault_t capbuf_vm_fault(struct vm_fault *vmf)
{
	struct vm_area_struct *vma = vmf->vma;
	struct capbuf_buffer *buffer = vma->vm_private_data;
	int mode = READ_ONCE(capbuf_check_mode);
	struct page *page;

	if (vmf->pgoff >= buffer->npages)
		return VM_FAULT_SIGBUS;

	/*
	 * The page stays locked until the core has installed the PTE
	 * (VM_FAULT_LOCKED), so a concurrent shootdown can wait for us.
	 */
	page = buffer->pages[vmf->pgoff];
	lock_page(page);
	mutex_lock(&buffer->lock);
	buffer->faults++;
	if (buffer->device_owned && mode != CAPBUF_CHECK_OFF) {
		buffer->violations++;
		if (!buffer->violation_logged) {
			buffer->violation_logged = true;
			pr_notice("violation: %s[%d] touched buffer %lu (%s) at page %lu while a device owns it: missing DMA_BUF_IOCTL_SYNC START?\n",
				  current->comm, task_pid_nr(current),
				  buffer->ino, buffer->heap->name,
				  (unsigned long)vmf->pgoff);
		}
		atomic_long_inc(&capbuf_total_violations);
		if (mode == CAPBUF_CHECK_STRICT) {
			mutex_unlock(&buffer->lock);
			unlock_page(page);
			return VM_FAULT_SIGBUS;
		}
	}
	/* Invalidate at fault time: the CPU must not see stale lines. */
	capbuf_sync_for_cpu(buffer);
	mutex_unlock(&buffer->lock);

	get_page(page);
	vmf->page = page;
	return VM_FAULT_LOCKED;
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

	vma->vm_flags |= VM_DONTEXPAND | VM_DONTDUMP;
	if (buffer->heap->writecombine)
		vma->vm_page_prot = pgprot_writecombine(vm_get_page_prot(vma->vm_flags));
	vma->vm_ops = &capbuf_vm_ops;
	vma->vm_private_data = buffer;
	return 0;
}

static int capbuf_vmap(struct dma_buf *dmabuf, struct iosys_map *map)
{
	struct capbuf_buffer *buffer = dmabuf->priv;
	pgprot_t prot = PAGE_KERNEL;

	if (buffer->heap->writecombine)
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

static void capbuf_free_pages(struct page **pages, pgoff_t npages)
{
	pgoff_t i;

	for (i = 0; i < npages; i++)
		if (pages[i])
			__free_page(pages[i]);
	kvfree(pages);
}

static void capbuf_release(struct dma_buf *dmabuf)
{
	struct capbuf_buffer *buffer = dmabuf->priv;

	mutex_lock(&capbuf_buffers_lock);
	list_del(&buffer->node);
	capbuf_live_bytes -= buffer->size;
	capbuf_live_buffers--;
	mutex_unlock(&capbuf_buffers_lock);

	WARN_ON(buffer->vmap_count);
	capbuf_free_pages(buffer->pages, buffer->npages);
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

static struct dma_buf *capbuf_allocate(struct capbuf_heap *heap, u64 len,
				       u32 fd_flags, u64 heap_flags)
{
	DEFINE_DMA_BUF_EXPORT_INFO(exp_info);
	struct capbuf_buffer *buffer;
	struct dma_buf *dmabuf;
	char *name;
	pgoff_t i;
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
	buffer = kzalloc(sizeof(*buffer), GFP_KERNEL);
	if (!buffer)
		goto err_unreserve;
	mutex_init(&buffer->lock);
	INIT_LIST_HEAD(&buffer->attachments);
	INIT_LIST_HEAD(&buffer->node);
	buffer->heap = heap;
	buffer->size = size;
	buffer->npages = size >> PAGE_SHIFT;
	buffer->pages = kvcalloc(buffer->npages, sizeof(*buffer->pages),
				 GFP_KERNEL);
	if (!buffer->pages)
		goto err_free_buffer;

	/* Zeroed: no earlier user's frame or kernel data reaches user space. */
	for (i = 0; i < buffer->npages; i++) {
		buffer->pages[i] = alloc_page(GFP_HIGHUSER | __GFP_ZERO |
					      __GFP_NOWARN | __GFP_RETRY_MAYFAIL);
		if (!buffer->pages[i])
			goto err_free_pages;
		if (fatal_signal_pending(current)) {
			ret = -EINTR;
			goto err_free_pages;
		}
	}

	exp_info.exp_name = heap->name;
	exp_info.ops = &capbuf_dma_buf_ops;
	exp_info.size = size;
	exp_info.flags = fd_flags;	/* the access mode limits mmap() */
	exp_info.priv = buffer;
	dmabuf = dma_buf_export(&exp_info);
	if (IS_ERR(dmabuf)) {
		ret = PTR_ERR(dmabuf);
		goto err_free_pages;
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

err_free_pages:
	capbuf_free_pages(buffer->pages, buffer->npages);
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
	.llseek = no_llseek,
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
		.writecombine = true,
		.misc = {
			.minor = MISC_DYNAMIC_MINOR,
			.name = "capbuf-wc",
			.nodename = "dma_heap/capbuf-wc",
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
		seq_printf(s, " faults=%lu shootdowns=%lu violations=%lu attachments=",
			   buffer->faults, buffer->shootdowns,
			   buffer->violations);
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
			while (--i >= 0)
				misc_deregister(&capbuf_heaps[i].misc);
			return ret;
		}
	}
	capbuf_debugfs = debugfs_create_dir("capbuf", NULL);
	debugfs_create_file("buffers", 0444, capbuf_debugfs, NULL,
			    &capbuf_buffers_fops);
	debugfs_create_file("stats", 0444, capbuf_debugfs, NULL,
			    &capbuf_stats_fops);
	return 0;
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
MODULE_IMPORT_NS(DMA_BUF);
