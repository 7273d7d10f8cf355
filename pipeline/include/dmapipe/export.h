/* SPDX-License-Identifier: LGPL-2.1-or-later */
/**
 * @file export.h
 * @brief The symbol export macro of libdmapipe.
 */
#pragma once

/**
 * @def DMAPIPE_EXPORT
 * @brief Marks a class or function as part of libdmapipe's ABI.
 *
 * The library is built with hidden visibility: a name without this mark is
 * internal and may change or disappear in any release.
 */
#if defined(DMAPIPE_BUILDING_LIBRARY)
#define DMAPIPE_EXPORT __attribute__((visibility("default")))
#else
#define DMAPIPE_EXPORT
#endif
