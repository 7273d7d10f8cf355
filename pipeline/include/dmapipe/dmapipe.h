/* SPDX-License-Identifier: LGPL-2.1-or-later */
/**
 * @file dmapipe.h
 * @brief Everything of libdmapipe's public API in one include.
 */
#pragma once

#include <dmapipe/config.h>
#include <dmapipe/error.h>
#include <dmapipe/export.h>
#include <dmapipe/fd.h>
#include <dmapipe/format.h>
#include <dmapipe/frame.h>
#include <dmapipe/log.h>
#include <dmapipe/pipeline.h>
#include <dmapipe/stage.h>
#include <dmapipe/stats.h>
#include <dmapipe/version.h>
