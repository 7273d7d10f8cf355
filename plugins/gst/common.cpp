/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "common.h"

#include <gst/allocators/allocators.h>

#include <dirent.h>
#include <drm_fourcc.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xf86drm.h>
#include <xf86drmMode.h>

#include <algorithm>
#include <cerrno>
#include <typeinfo>
#include <vector>

#include <dmapipe/error.h>

namespace dmapipe::gst {

namespace {

struct FormatPair {
	GstVideoFormat gst;
	uint32_t drm;
};

/* Byte order: GStreamer names bytes in memory, DRM names a little-endian word. */
const FormatPair formatPairs[] = {
	{ GST_VIDEO_FORMAT_BGRx, DRM_FORMAT_XRGB8888 },
	{ GST_VIDEO_FORMAT_BGRA, DRM_FORMAT_ARGB8888 },
	{ GST_VIDEO_FORMAT_RGBx, DRM_FORMAT_XBGR8888 },
	{ GST_VIDEO_FORMAT_RGBA, DRM_FORMAT_ABGR8888 },
	{ GST_VIDEO_FORMAT_xRGB, DRM_FORMAT_BGRX8888 },
	{ GST_VIDEO_FORMAT_ARGB, DRM_FORMAT_BGRA8888 },
	{ GST_VIDEO_FORMAT_xBGR, DRM_FORMAT_RGBX8888 },
	{ GST_VIDEO_FORMAT_ABGR, DRM_FORMAT_RGBA8888 },
	{ GST_VIDEO_FORMAT_RGB, DRM_FORMAT_BGR888 },
	{ GST_VIDEO_FORMAT_BGR, DRM_FORMAT_RGB888 },
	{ GST_VIDEO_FORMAT_RGB16, DRM_FORMAT_RGB565 },
	{ GST_VIDEO_FORMAT_BGR16, DRM_FORMAT_BGR565 },
	{ GST_VIDEO_FORMAT_YUY2, DRM_FORMAT_YUYV },
	{ GST_VIDEO_FORMAT_YVYU, DRM_FORMAT_YVYU },
	{ GST_VIDEO_FORMAT_UYVY, DRM_FORMAT_UYVY },
	{ GST_VIDEO_FORMAT_VYUY, DRM_FORMAT_VYUY },
	{ GST_VIDEO_FORMAT_NV12, DRM_FORMAT_NV12 },
	{ GST_VIDEO_FORMAT_NV21, DRM_FORMAT_NV21 },
	{ GST_VIDEO_FORMAT_NV16, DRM_FORMAT_NV16 },
	{ GST_VIDEO_FORMAT_NV61, DRM_FORMAT_NV61 },
	{ GST_VIDEO_FORMAT_NV24, DRM_FORMAT_NV24 },
	{ GST_VIDEO_FORMAT_I420, DRM_FORMAT_YUV420 },
	{ GST_VIDEO_FORMAT_YV12, DRM_FORMAT_YVU420 },
	{ GST_VIDEO_FORMAT_Y42B, DRM_FORMAT_YUV422 },
	{ GST_VIDEO_FORMAT_Y444, DRM_FORMAT_YUV444 },
	{ GST_VIDEO_FORMAT_GRAY8, DRM_FORMAT_R8 },
};

} /* namespace */

GstVideoFormat videoFormatFromDrm(uint32_t drm)
{
	for (const auto &p : formatPairs)
		if (p.drm == drm)
			return p.gst;
	return GST_VIDEO_FORMAT_UNKNOWN;
}

uint32_t drmFromVideoFormat(GstVideoFormat format)
{
	for (const auto &p : formatPairs)
		if (p.gst == format)
			return p.drm;
	return 0;
}

std::optional<PixelFormat> pixelFormatFromVideo(GstVideoFormat format)
{
	uint32_t drm = drmFromVideoFormat(format);
	if (!drm)
		return std::nullopt;
	return formatFromDrm(drm);
}

GstCaps *capsForFormats(const std::vector<uint32_t> &drmFormats, int maxSize)
{
	GValue list = G_VALUE_INIT;
	g_value_init(&list, GST_TYPE_LIST);
	for (uint32_t drm : drmFormats) {
		GstVideoFormat vf = videoFormatFromDrm(drm);
		if (vf == GST_VIDEO_FORMAT_UNKNOWN || !formatFromDrm(drm))
			continue;
		GValue v = G_VALUE_INIT;
		g_value_init(&v, G_TYPE_STRING);
		g_value_set_string(&v, gst_video_format_to_string(vf));
		gst_value_list_append_and_take_value(&list, &v);
	}
	GstCaps *caps = gst_caps_new_empty();
	if (gst_value_list_get_size(&list) > 0) {
		GstStructure *s =
			gst_structure_new("video/x-raw", "width", GST_TYPE_INT_RANGE, 1, maxSize,
					  "height", GST_TYPE_INT_RANGE, 1, maxSize, "framerate",
					  GST_TYPE_FRACTION_RANGE, 0, 1, G_MAXINT, 1, nullptr);
		gst_structure_set_value(s, "format", &list);
		gst_caps_append_structure_full(
			caps, gst_structure_copy(s),
			gst_caps_features_new(GST_CAPS_FEATURE_MEMORY_DMABUF, nullptr));
		gst_caps_append_structure(caps, s);
	}
	g_value_unset(&list);
	GstCaps *external = capsToExternal(caps);
	gst_caps_unref(caps);
	return external;
}

GstCaps *templateCaps()
{
	std::vector<uint32_t> all;
	for (const auto &p : formatPairs)
		all.push_back(p.drm);
	return capsForFormats(all);
}

/* ---- DMA_DRM caps ---- */

bool dmaDrmCaps()
{
	static const bool on = [] {
		if (const char *env = g_getenv("DMAPIPE_GST_DMA_DRM"))
			return env[0] == '1';
		guint major, minor, micro, nano;
		gst_version(&major, &minor, &micro, &nano);
		return major > 1 || (major == 1 && minor >= 24);
	}();
	return on;
}

namespace {

bool isDmaBufStructure(GstCaps *caps, guint i)
{
	GstCapsFeatures *f = gst_caps_get_features(caps, i);
	return f && gst_caps_features_contains(f, GST_CAPS_FEATURE_MEMORY_DMABUF);
}

/* "XR24" for DRM_FORMAT_XRGB8888 (the linear modifier is left out, as GStreamer writes it). */
std::string drmFormatString(uint32_t drm)
{
	char s[5] = { char(drm & 0xff), char((drm >> 8) & 0xff), char((drm >> 16) & 0xff),
		      char((drm >> 24) & 0xff), 0 };
	return s;
}

/* The GStreamer format of "XR24" or "XR24:0x0000000000000000"; UNKNOWN with why otherwise. */
GstVideoFormat formatFromDrmString(const char *str, std::string &why)
{
	std::string s(str);
	std::string fourcc = s.substr(0, s.find(':'));
	if (fourcc.size() != 4) {
		why = "drm-format " + s + " is not a fourcc";
		return GST_VIDEO_FORMAT_UNKNOWN;
	}
	if (s.size() > 4) {
		guint64 modifier = g_ascii_strtoull(s.c_str() + 5, nullptr, 16);
		if (modifier != 0) {
			why = "drm-format " + s +
				": only the linear modifier is supported (the framework maps and scans "
				"out linear buffers)";
			return GST_VIDEO_FORMAT_UNKNOWN;
		}
	}
	uint32_t drm = uint32_t(fourcc[0]) | uint32_t(fourcc[1]) << 8 | uint32_t(fourcc[2]) << 16 |
		uint32_t(fourcc[3]) << 24;
	GstVideoFormat vf = videoFormatFromDrm(drm);
	if (vf == GST_VIDEO_FORMAT_UNKNOWN)
		why = "drm-format " + s + " has no GStreamer format here";
	return vf;
}

/* Maps each string of a string or list value; an empty list when nothing maps. */
template<typename Fn>
void mapStrings(const GValue *in, GValue *out, Fn fn)
{
	g_value_init(out, GST_TYPE_LIST);
	auto one = [&](const GValue *v) {
		if (!G_VALUE_HOLDS_STRING(v))
			return;
		std::string mapped = fn(g_value_get_string(v));
		if (mapped.empty())
			return;
		GValue m = G_VALUE_INIT;
		g_value_init(&m, G_TYPE_STRING);
		g_value_set_string(&m, mapped.c_str());
		gst_value_list_append_and_take_value(out, &m);
	};
	if (GST_VALUE_HOLDS_LIST(in)) {
		for (guint i = 0; i < gst_value_list_get_size(in); i++)
			one(gst_value_list_get_value(in, i));
	} else {
		one(in);
	}
}

/* Sets field to the list's only value, or the list. */
void setListOrValue(GstStructure *s, const char *field, GValue *list)
{
	if (gst_value_list_get_size(list) == 1)
		gst_structure_set_value(s, field, gst_value_list_get_value(list, 0));
	else
		gst_structure_set_value(s, field, list);
}

} /* namespace */

bool isDmaDrmCaps(GstCaps *caps)
{
	for (guint i = 0; caps && i < gst_caps_get_size(caps); i++)
		if (!g_strcmp0(gst_structure_get_string(gst_caps_get_structure(caps, i), "format"),
			       "DMA_DRM"))
			return true;
	return false;
}

GstCaps *capsToInternal(GstCaps *caps, std::string *why)
{
	if (!caps || !isDmaDrmCaps(caps))
		return caps ? gst_caps_ref(caps) : nullptr;
	if (gst_caps_is_any(caps))
		return gst_caps_ref(caps);
	GstCaps *out = gst_caps_new_empty();
	for (guint i = 0; i < gst_caps_get_size(caps); i++) {
		GstStructure *s = gst_structure_copy(gst_caps_get_structure(caps, i));
		GstCapsFeatures *f = gst_caps_features_copy(gst_caps_get_features(caps, i));
		if (!g_strcmp0(gst_structure_get_string(s, "format"), "DMA_DRM")) {
			const GValue *drm = gst_structure_get_value(s, "drm-format");
			if (!drm) {
				/* Any DMA_DRM format: every format we know. */
				gst_structure_remove_field(s, "format");
			} else {
				GValue list = G_VALUE_INIT;
				std::string reason;
				mapStrings(drm, &list, [&](const char *str) -> std::string {
					GstVideoFormat vf = formatFromDrmString(str, reason);
					return vf == GST_VIDEO_FORMAT_UNKNOWN
						? std::string()
						: gst_video_format_to_string(vf);
				});
				if (gst_value_list_get_size(&list) == 0) {
					if (why)
						*why = reason;
					g_value_unset(&list);
					gst_structure_free(s);
					gst_caps_features_free(f);
					continue;
				}
				setListOrValue(s, "format", &list);
				g_value_unset(&list);
				gst_structure_remove_field(s, "drm-format");
			}
		}
		gst_caps_append_structure_full(out, s, f);
	}
	return out;
}

bool videoInfoFromCaps(GstVideoInfo *info, GstCaps *caps)
{
	std::string why;
	GstCaps *internal = capsToInternal(caps, &why);
	bool ok = internal && !gst_caps_is_empty(internal) && gst_caps_is_fixed(internal) &&
		gst_video_info_from_caps(info, internal);
	if (!ok && !why.empty())
		GST_WARNING("%s", why.c_str());
	if (internal)
		gst_caps_unref(internal);
	return ok;
}

GstCaps *capsToExternal(GstCaps *caps, bool dmaDrm)
{
	if (!caps || !dmaDrm || gst_caps_is_any(caps))
		return caps ? gst_caps_ref(caps) : nullptr;
	GstCaps *out = gst_caps_new_empty();
	for (guint i = 0; i < gst_caps_get_size(caps); i++) {
		GstStructure *s = gst_structure_copy(gst_caps_get_structure(caps, i));
		GstCapsFeatures *f = gst_caps_features_copy(gst_caps_get_features(caps, i));
		const GValue *format = gst_structure_get_value(s, "format");
		if (isDmaBufStructure(caps, i) && gst_structure_has_name(s, "video/x-raw") &&
		    g_strcmp0(gst_structure_get_string(s, "format"), "DMA_DRM")) {
			GValue list = G_VALUE_INIT;
			if (format) {
				mapStrings(format, &list, [](const char *str) -> std::string {
					uint32_t drm =
						drmFromVideoFormat(gst_video_format_from_string(str));
					return drm ? drmFormatString(drm) : std::string();
				});
			} else {
				g_value_init(&list, GST_TYPE_LIST);
				for (const auto &p : formatPairs) {
					if (!formatFromDrm(p.drm))
						continue;
					GValue v = G_VALUE_INIT;
					g_value_init(&v, G_TYPE_STRING);
					g_value_set_string(&v, drmFormatString(p.drm).c_str());
					gst_value_list_append_and_take_value(&list, &v);
				}
			}
			if (gst_value_list_get_size(&list) == 0) {
				g_value_unset(&list);
				gst_structure_free(s);
				gst_caps_features_free(f);
				continue;
			}
			/*
			 * DMA_DRM first, preferred; the 1.22 form after it, so that
			 * pipelines written for 1.22 keep negotiating with us
			 * (peers that speak only DMA_DRM never intersect with it).
			 */
			GstStructure *drm = gst_structure_copy(s);
			gst_structure_set(drm, "format", G_TYPE_STRING, "DMA_DRM", nullptr);
			setListOrValue(drm, "drm-format", &list);
			g_value_unset(&list);
			gst_caps_append_structure_full(out, drm, gst_caps_features_copy(f));
		}
		gst_caps_append_structure_full(out, s, f);
	}
	return out;
}

bool haveCapbufHeap()
{
	struct stat st;
	return stat("/dev/dma_heap/capbuf", &st) == 0;
}

/* ---- GstBuffer <-> DmaBuffer ---- */

void postError(GstElement *element, const std::exception &e, GstResourceError fallback,
	       const char *file, const char *function, int line)
{
	GstResourceError code = fallback;
	std::string debug;
	if (auto *de = dynamic_cast<const Error *>(&e); de && de->errnum()) {
		switch (de->errnum()) {
		case ENOENT:
		case ENODEV:
		case ENXIO:
			code = GST_RESOURCE_ERROR_NOT_FOUND;
			break;
		case EBUSY:
			code = GST_RESOURCE_ERROR_BUSY;
			break;
		case EACCES:
		case EPERM:
			code = GST_RESOURCE_ERROR_OPEN_READ_WRITE;
			break;
		case ENOMEM:
		case ENOSPC:
			code = GST_RESOURCE_ERROR_NO_SPACE_LEFT;
			break;
		default:
			break;
		}
		debug = de->call() + " on " + de->device() + ": " + g_strerror(de->errnum()) +
			" (errno " + std::to_string(de->errnum()) + ")";
	} else if (!dynamic_cast<const Error *>(&e)) {
		debug = std::string("unexpected exception: ") + typeid(e).name();
	}
	gst_element_message_full(
		element, GST_MESSAGE_ERROR, GST_RESOURCE_ERROR, code, g_strdup(e.what()),
		debug.empty() ? nullptr : g_strdup(debug.c_str()), file, function, line);
}

GstLayout gstLayout(const DmaBuffer &buffer)
{
	GstLayout l;
	uint64_t inodes[GST_VIDEO_MAX_PLANES] = {};
	gsize base[GST_VIDEO_MAX_PLANES] = {};
	gsize total = 0;
	const auto &planes = buffer.planes();
	for (unsigned p = 0; p < planes.size() && p < GST_VIDEO_MAX_PLANES; p++) {
		uint64_t ino = dmabufInode(planes[p].fd.get());
		guint m = 0;
		while (m < l.nMemories && inodes[m] != ino)
			m++;
		if (m == l.nMemories) {
			inodes[m] = ino;
			l.memoryFd[m] = planes[p].fd.get();
			l.memorySize[m] = buffer.dmabufSize(p);
			base[m] = total;
			total += l.memorySize[m];
			l.nMemories++;
		}
		l.offsets[p] = base[m] + planes[p].offset;
		l.strides[p] = gint(planes[p].stride);
	}
	return l;
}

void addVideoMeta(GstBuffer *gbuf, const DmaBuffer &buffer)
{
	GstLayout l = gstLayout(buffer);
	GstVideoFormat vf = videoFormatFromDrm(buffer.format().drm);
	gst_buffer_add_video_meta_full(gbuf, GST_VIDEO_FRAME_FLAG_NONE, vf, buffer.width(),
				       buffer.height(), guint(buffer.planes().size()), l.offsets,
				       l.strides);
}

GstBuffer *wrapDmaBuffer(GstAllocator *dmabufAllocator, const DmaBuffer &buffer)
{
	GstLayout l = gstLayout(buffer);
	GstBuffer *gbuf = gst_buffer_new();
	for (guint m = 0; m < l.nMemories; m++) {
		int fd = fcntl(l.memoryFd[m], F_DUPFD_CLOEXEC, 3);
		if (fd < 0) {
			gst_buffer_unref(gbuf);
			throwErrno("dup(dma-buf)", buffer.exporter());
		}
		gst_buffer_append_memory(
			gbuf, gst_dmabuf_allocator_alloc(dmabufAllocator, fd, l.memorySize[m]));
	}
	addVideoMeta(gbuf, buffer);
	return gbuf;
}

std::vector<Plane> dmaPlanesOf(GstBuffer *buf, const PixelFormat &format, guint height, guint nplanes,
			       const gsize *offsets, const gint *strides, const char *who)
{
	std::vector<Plane> planes;
	for (guint i = 0; i < nplanes; i++) {
		guint idx, len;
		gsize skip;
		if (!gst_buffer_find_memory(buf, offsets[i], 1, &idx, &len, &skip))
			throw Error("plane " + std::to_string(i) + " offset " +
				    std::to_string(offsets[i]) + " is outside the buffer");
		GstMemory *mem = gst_buffer_peek_memory(buf, idx);
		Plane pl;
		pl.fd = UniqueFd(fcntl(gst_dmabuf_memory_get_fd(mem), F_DUPFD_CLOEXEC, 3));
		if (!pl.fd)
			throwErrno("dup(dma-buf)", who);
		pl.offset = uint32_t(mem->offset + skip);
		pl.stride = uint32_t(strides[i]);
		pl.length = pl.stride * format.planeHeight(i, height);
		planes.push_back(std::move(pl));
	}
	return planes;
}

} /* namespace dmapipe::gst */
