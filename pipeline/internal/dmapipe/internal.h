/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The public API and the internals, for in-tree users. */
#pragma once

#include <dmapipe/allocator.h>
#include <dmapipe/buffer.h>
#include <dmapipe/convert.h>
#include <dmapipe/cpu_access.h>
#include <dmapipe/dmapipe.h>
#include <dmapipe/frame_scheduler.h>
#include <dmapipe/kms_display.h>
#include <dmapipe/negotiation.h>
#include <dmapipe/pipeline_private.h>
#include <dmapipe/source.h>
#include <dmapipe/stages.h>
#include <dmapipe/v4l2_capture.h>
