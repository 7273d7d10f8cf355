/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Everything of libdmapipe in one include. */
#pragma once

#include <dmapipe/allocator.h>
#include <dmapipe/buffer.h>
#include <dmapipe/convert.h>
#include <dmapipe/cpu_access.h>
#include <dmapipe/error.h>
#include <dmapipe/fd.h>
#include <dmapipe/format.h>
#include <dmapipe/frame_scheduler.h>
#include <dmapipe/kms_display.h>
#include <dmapipe/pipeline.h>
#include <dmapipe/source.h>
#include <dmapipe/stages.h>
#include <dmapipe/stats.h>
#include <dmapipe/v4l2_capture.h>
