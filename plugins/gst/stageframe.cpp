/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "stageframe.h"

#include "common.h"

#include <gst/allocators/allocators.h>

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include <mutex>

#include <dmapipe/error.h>

namespace dmapipe::gst {

namespace {

/*
 * The StageBuffers of one GstMemory, one per access (a memory may be read by
 * one element and written by another). Behind a tee several elements see
 * the same memory from their own streaming threads: entries are shared
 * pointers, taken and replaced under cacheLock, so an element replacing an
 * outdated entry never frees one another element is still using.
 */
struct StageCache {
	std::shared_ptr<const StageBuffer> byAccess[3];
};

std::mutex cacheLock;

GQuark cacheQuark()
{
	static GQuark q = g_quark_from_static_string("dmapipe-stage-buffers");
	return q;
}

void stageCacheFree(gpointer data)
{
	delete static_cast<StageCache *>(data);
}

/* The memory's cache, made on first use; call with cacheLock held. */
StageCache &stageCache(GstMemory *mem)
{
	auto *c = static_cast<StageCache *>(
		gst_mini_object_get_qdata(GST_MINI_OBJECT_CAST(mem), cacheQuark()));
	if (!c) {
		c = new StageCache;
		gst_mini_object_set_qdata(GST_MINI_OBJECT_CAST(mem), cacheQuark(), c, stageCacheFree);
	}
	return *c;
}

} /* namespace */

std::vector<uint8_t *> StageBuffer::planes() const
{
	std::vector<uint8_t *> v;
	for (size_t p = 0; p < buffer->planes().size(); p++)
		v.push_back(maps[planeMap[p]].data() + buffer->planes()[p].offset);
	return v;
}

std::shared_ptr<const StageBuffer> stageBuffer(GstBuffer *buf, const GstVideoInfo &info, Access access)
{
	guint n = gst_buffer_n_memory(buf);
	if (n == 0 || n > GST_VIDEO_MAX_PLANES)
		return nullptr;
	for (guint i = 0; i < n; i++)
		if (!gst_is_dmabuf_memory(gst_buffer_peek_memory(buf, i)))
			return nullptr;
	GstVideoMeta *meta = gst_buffer_get_video_meta(buf);
	GstVideoFormat vf = meta ? meta->format : GST_VIDEO_INFO_FORMAT(&info);
	guint w = meta ? meta->width : GST_VIDEO_INFO_WIDTH(&info);
	guint h = meta ? meta->height : GST_VIDEO_INFO_HEIGHT(&info);
	guint nplanes = meta ? meta->n_planes : GST_VIDEO_INFO_N_PLANES(&info);
	gsize offsets[GST_VIDEO_MAX_PLANES] = {};
	gint strides[GST_VIDEO_MAX_PLANES] = {};
	for (guint i = 0; i < nplanes && i < GST_VIDEO_MAX_PLANES; i++) {
		offsets[i] = meta ? meta->offset[i] : GST_VIDEO_INFO_PLANE_OFFSET(&info, i);
		strides[i] = meta ? meta->stride[i] : GST_VIDEO_INFO_PLANE_STRIDE(&info, i);
	}

	GstMemory *first = gst_buffer_peek_memory(buf, 0);
	std::shared_ptr<const StageBuffer> c;
	{
		std::lock_guard<std::mutex> l(cacheLock);
		c = stageCache(first).byAccess[int(access)];
	}
	if (c && c->format == vf && c->width == w && c->height == h && c->nplanes == nplanes &&
	    c->nmemories == n && !memcmp(c->offsets, offsets, sizeof(offsets)) &&
	    !memcmp(c->strides, strides, sizeof(strides))) {
		bool same = true;
		for (guint i = 0; i < n; i++)
			same = same && c->memories[i] == gst_buffer_peek_memory(buf, i);
		if (same)
			return c;
	}

	auto pf = pixelFormatFromVideo(vf);
	if (!pf)
		throw Error(std::string("no dmapipe format for ") + gst_video_format_to_string(vf));
	if (pf->planes != nplanes)
		throw Error(std::string(pf->name) + " has " + std::to_string(pf->planes) +
			    " planes, the buffer " + std::to_string(nplanes));
	auto sb = std::make_shared<StageBuffer>();
	std::vector<Plane> planes =
		dmaPlanesOf(buf, *pf, h, nplanes, offsets, strides, "dmapipe stage");
	/* Planes sharing one dma-buf share one mapping. */
	std::vector<uint64_t> inodes;
	for (const Plane &pl : planes) {
		uint64_t ino = dmabufInode(pl.fd.get());
		unsigned m = 0;
		while (m < inodes.size() && inodes[m] != ino)
			m++;
		if (m == inodes.size())
			inodes.push_back(ino);
		sb->planeMap.push_back(m);
	}
	sb->buffer = std::make_unique<DmaBuffer>(*pf, w, h, std::move(planes), std::string());
	const auto &bp = sb->buffer->planes();
	for (unsigned m = 0; m < inodes.size(); m++) {
		unsigned p = 0;
		while (sb->planeMap[p] != m)
			p++;
		size_t size = sb->buffer->dmabufSize(p);
		if (bp[p].offset + size_t(bp[p].length) > size)
			throw Error("plane " + std::to_string(p) + " ends beyond its dma-buf (" +
				    std::to_string(size) + " bytes)");
		sb->maps.emplace_back(bp[p].fd.get(), size, access);
		sb->mapFds.push_back(bp[p].fd.get());
	}
	sb->access = access;
	sb->format = vf;
	sb->width = w;
	sb->height = h;
	sb->nplanes = nplanes;
	sb->nmemories = n;
	memcpy(sb->offsets, offsets, sizeof(offsets));
	memcpy(sb->strides, strides, sizeof(strides));
	for (guint i = 0; i < n; i++)
		sb->memories[i] = gst_buffer_peek_memory(buf, i);
	/* Replaces an outdated entry (its users keep it until they are done); freed with the memory. */
	std::lock_guard<std::mutex> l(cacheLock);
	stageCache(first).byAccess[int(access)] = sb;
	return sb;
}

StageAccess::StageAccess(const StageBuffer &buffer)
{
	for (int fd : buffer.mapFds)
		brackets_.emplace_back(fd, buffer.access);
}

const DmaBuffer &SysmemFrame::describe(const GstVideoFrame &frame)
{
	GstVideoFormat vf = GST_VIDEO_FRAME_FORMAT(&frame);
	guint w = GST_VIDEO_FRAME_WIDTH(&frame), h = GST_VIDEO_FRAME_HEIGHT(&frame);
	gint strides[GST_VIDEO_MAX_PLANES] = {};
	for (guint p = 0; p < GST_VIDEO_FRAME_N_PLANES(&frame); p++)
		strides[p] = GST_VIDEO_FRAME_PLANE_STRIDE(&frame, p);
	if (buffer_ && vf == format_ && w == width_ && h == height_ &&
	    !memcmp(strides, strides_, sizeof(strides)))
		return *buffer_;
	auto pf = pixelFormatFromVideo(vf);
	if (!pf)
		throw Error(std::string("no dmapipe format for ") + gst_video_format_to_string(vf));
	UniqueFd placeholder(memfd_create("dmapipe-sysmem-frame", MFD_CLOEXEC));
	if (!placeholder)
		throwErrno("memfd_create", "dmapipe stage");
	std::vector<Plane> planes;
	for (guint p = 0; p < GST_VIDEO_FRAME_N_PLANES(&frame); p++) {
		Plane pl;
		pl.fd = placeholder.dup();
		pl.offset = 0;
		pl.stride = uint32_t(strides[p]);
		pl.length = pl.stride * pf->planeHeight(p, h);
		planes.push_back(std::move(pl));
	}
	buffer_ = std::make_unique<DmaBuffer>(*pf, w, h, std::move(planes), "system memory");
	format_ = vf;
	width_ = w;
	height_ = h;
	memcpy(strides_, strides, sizeof(strides));
	return *buffer_;
}

std::vector<uint8_t *> SysmemFrame::planes(const GstVideoFrame &frame)
{
	std::vector<uint8_t *> v;
	for (guint p = 0; p < GST_VIDEO_FRAME_N_PLANES(&frame); p++)
		v.push_back(static_cast<uint8_t *>(GST_VIDEO_FRAME_PLANE_DATA(&frame, p)));
	return v;
}

FrameInfo frameInfo(GstBuffer *buf, uint64_t counter)
{
	FrameInfo fi;
	fi.sequence = GST_BUFFER_OFFSET_IS_VALID(buf) ? uint32_t(GST_BUFFER_OFFSET(buf))
						      : uint32_t(counter);
	fi.timestampNs = GST_BUFFER_PTS_IS_VALID(buf) ? GST_BUFFER_PTS(buf) : 0;
	return fi;
}

std::string capsFormat(GstCaps *caps)
{
	if (!caps || gst_caps_is_empty(caps))
		return "none";
	const gchar *f = gst_structure_get_string(gst_caps_get_structure(caps, 0), "format");
	return f ? f : "any format";
}

std::string peerFormats(GstPad *pad)
{
	GstCaps *caps = gst_pad_peer_query_caps(pad, nullptr);
	std::vector<std::string> names;
	bool any = false;
	for (guint i = 0; caps && i < gst_caps_get_size(caps); i++) {
		const GValue *v = gst_structure_get_value(gst_caps_get_structure(caps, i), "format");
		std::vector<const gchar *> here;
		if (!v)
			any = true;
		else if (G_VALUE_HOLDS_STRING(v))
			here.push_back(g_value_get_string(v));
		else if (GST_VALUE_HOLDS_LIST(v))
			for (guint k = 0; k < gst_value_list_get_size(v); k++)
				if (G_VALUE_HOLDS_STRING(gst_value_list_get_value(v, k)))
					here.push_back(
						g_value_get_string(gst_value_list_get_value(v, k)));
		for (const gchar *n : here)
			if (std::find(names.begin(), names.end(), n) == names.end())
				names.push_back(n);
	}
	if (caps)
		gst_caps_unref(caps);
	if (any)
		return "any format";
	std::string out;
	for (const auto &n : names)
		out += (out.empty() ? "" : ", ") + n;
	return out.empty() ? "none" : out;
}

GstCaps *stageCaps(const std::vector<uint32_t> &drmFormats)
{
	return capsForFormats(drmFormats);
}

} /* namespace dmapipe::gst */
