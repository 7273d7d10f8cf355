/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * ConvertPrecision::Fast: the scalar reference and its SIMD twins (SSE2,
 * AVX2 chosen at run time, NEON). See convert_fast.h for the arithmetic.
 *
 * Intrinsics rather than a SIMD library: the kernel is one multiply-add
 * shape (16x16 -> 32 pairwise, pmaddwd) plus saturating narrowing and byte
 * interleaving, which each ISA has as single instructions that a portable
 * layer (Highway's 1.0 in Debian 12) would spell differently per target
 * anyway; three short kernels keep the build free of another dependency.
 * The AVX2 kernels carry __attribute__((target("avx2"))) instead of a
 * separate -mavx2 file, so no inline function from a header is ever
 * compiled for AVX2 and picked by the linker for baseline code.
 */

#include "convert_fast.h"
#include "yuv_matrix.h"

#include <atomic>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <initializer_list>

#if defined(__x86_64__)
#include <immintrin.h>
#define DMAPIPE_X86 1
#elif defined(__aarch64__)
#include <arm_neon.h>
#define DMAPIPE_NEON 1
#endif

namespace dmapipe {

namespace fastconv {

Coeffs makeCoeffs(YuvEncoding enc, YuvRange range, bool swapChroma)
{
	const YuvMatrix m = yuvMatrix(enc, range);
	const int32_t yo = int32_t(m.yo);
	auto q = [](double v) { return int16_t(std::lround(v * (1 << kFracBits))); };

	/* Per channel, the factor of Cb and of Cr. */
	const int16_t cb[3] = { 0, q(m.gu), q(m.bu) };
	const int16_t cr[3] = { q(m.rv), q(m.gv), 0 };

	Coeffs k;
	k.cy = q(m.ys);
	for (int c = 0; c < 3; c++) {
		k.k[c][0] = swapChroma ? cr[c] : cb[c];
		k.k[c][1] = swapChroma ? cb[c] : cr[c];
		/* Centring with the rounded factors: neutral chroma adds exactly 0. */
		k.o[c] = (1 << (kFracBits - 1)) - k.cy * yo - 128 * (cb[c] + cr[c]);
	}
	return k;
}

namespace {

inline uint32_t channel(int32_t acc)
{
	acc >>= kFracBits;
	return uint32_t(acc < 0 ? 0 : acc > 255 ? 255 : acc);
}

typedef uint32_t Px __attribute__((aligned(1), may_alias));
typedef uint16_t Px16 __attribute__((aligned(1), may_alias));

template<Layout L>
void rowScalarT(const Row &r, const Coeffs &k, uint32_t begin)
{
	for (uint32_t x = begin; x < r.width; x++) {
		const uint32_t p = x / 2;
		int32_t y, c0, c1;
		switch (L) {
		case Layout::PackedY0:
			y = r.y[2 * x], c0 = r.y[4 * p + 1], c1 = r.y[4 * p + 3];
			break;
		case Layout::PackedY1:
			y = r.y[2 * x + 1], c0 = r.y[4 * p], c1 = r.y[4 * p + 2];
			break;
		case Layout::SemiPlanar:
			y = r.y[x], c0 = r.c0[2 * p], c1 = r.c0[2 * p + 1];
			break;
		case Layout::Planar:
			y = r.y[x], c0 = r.c0[p], c1 = r.c1[p];
			break;
		default:
			y = r.y[x], c0 = c1 = 128;
			break;
		}
		const int32_t yt = k.cy * y;
		const uint32_t R = channel(yt + k.k[0][0] * c0 + k.k[0][1] * c1 + k.o[0]);
		const uint32_t G = channel(yt + k.k[1][0] * c0 + k.k[1][1] * c1 + k.o[1]);
		const uint32_t B = channel(yt + k.k[2][0] * c0 + k.k[2][1] * c1 + k.o[2]);
		if (r.rgb565)
			reinterpret_cast<Px16 *>(r.d)[x] =
				uint16_t((R & 0xf8) << 8 | (G & 0xfc) << 3 | B >> 3);
		else
			reinterpret_cast<Px *>(r.d)[x] = 0xff000000u | R << 16 | G << 8 | B;
	}
}

} /* namespace */

void rowScalar(const Row &r, const Coeffs &k, uint32_t begin)
{
	switch (r.layout) {
	case Layout::PackedY0:
		return rowScalarT<Layout::PackedY0>(r, k, begin);
	case Layout::PackedY1:
		return rowScalarT<Layout::PackedY1>(r, k, begin);
	case Layout::SemiPlanar:
		return rowScalarT<Layout::SemiPlanar>(r, k, begin);
	case Layout::Planar:
		return rowScalarT<Layout::Planar>(r, k, begin);
	case Layout::Grey:
		return rowScalarT<Layout::Grey>(r, k, begin);
	}
}

namespace {

/*
 * Every ISA's row loop is the same template over a Kernel that loads one
 * block of pixels of a layout into Y' (16-bit lanes) and chroma pairs
 * (C0, C1 adjacent 16-bit lanes), and converts and stores it.
 */
template<typename K, Layout L, bool R565>
uint32_t rowLoop(const Row &r, const Coeffs &c)
{
	const typename K::Consts k(c);
	const uint32_t n = r.width & ~(K::kBlock - 1);
	for (uint32_t x = 0; x < n; x += K::kBlock)
		K::template block<L, R565>(r, x, k);
	return n;
}

template<typename K>
uint32_t rowDispatch(const Row &r, const Coeffs &c)
{
	switch (r.layout) {
	case Layout::PackedY0:
		return r.rgb565 ? rowLoop<K, Layout::PackedY0, true>(r, c)
				: rowLoop<K, Layout::PackedY0, false>(r, c);
	case Layout::PackedY1:
		return r.rgb565 ? rowLoop<K, Layout::PackedY1, true>(r, c)
				: rowLoop<K, Layout::PackedY1, false>(r, c);
	case Layout::SemiPlanar:
		return r.rgb565 ? rowLoop<K, Layout::SemiPlanar, true>(r, c)
				: rowLoop<K, Layout::SemiPlanar, false>(r, c);
	case Layout::Planar:
		return r.rgb565 ? rowLoop<K, Layout::Planar, true>(r, c)
				: rowLoop<K, Layout::Planar, false>(r, c);
	case Layout::Grey:
		return r.rgb565 ? rowLoop<K, Layout::Grey, true>(r, c)
				: rowLoop<K, Layout::Grey, false>(r, c);
	}
	return 0;
}

inline uint32_t load32(const uint8_t *p)
{
	uint32_t v;
	std::memcpy(&v, p, sizeof(v));
	return v;
}

#if DMAPIPE_X86

/* 16-bit (k0, k1) pairs and 32-bit offsets, for madd. */
inline int32_t pair(const int16_t k[2])
{
	return int32_t(uint32_t(uint16_t(k[0])) | uint32_t(uint16_t(k[1])) << 16);
}

struct Sse2 {
	static constexpr uint32_t kBlock = 8;

	struct Consts {
		__m128i cyEven, cyOdd, k[3], o[3];
		explicit Consts(const Coeffs &c)
		{
			cyEven = _mm_set1_epi32(uint16_t(c.cy));
			cyOdd = _mm_set1_epi32(int32_t(uint32_t(uint16_t(c.cy)) << 16));
			for (int i = 0; i < 3; i++) {
				k[i] = _mm_set1_epi32(pair(c.k[i]));
				o[i] = _mm_set1_epi32(c.o[i]);
			}
		}
	};

	/*
	 * One channel of 4 pairs as 16-bit lanes, even pixels then odd ones
	 * (saturated, not yet clamped to 0..255). Y' and chroma arrive as
	 * 16-bit pairs (Y'even, Y'odd) and (C0, C1) in each 32-bit lane, so one
	 * pmaddwd makes each pair's chroma sum and one per parity its Y' term:
	 * no shuffle until the pixels are put back in order at the store.
	 */
	static inline __m128i channel(__m128i ye, __m128i yo, __m128i uv, __m128i k, __m128i o)
	{
		const __m128i c = _mm_add_epi32(_mm_madd_epi16(uv, k), o);
		return _mm_packs_epi32(_mm_srai_epi32(_mm_add_epi32(ye, c), kFracBits),
				       _mm_srai_epi32(_mm_add_epi32(yo, c), kFracBits));
	}

	template<Layout L, bool R565>
	static inline void block(const Row &r, uint32_t x, const Consts &k)
	{
		const __m128i zero = _mm_setzero_si128(), low = _mm_set1_epi16(0xff);
		__m128i y, uv;
		if (L == Layout::PackedY0 || L == Layout::PackedY1) {
			const __m128i v =
				_mm_loadu_si128(reinterpret_cast<const __m128i *>(r.y + 2 * x));
			y = L == Layout::PackedY0 ? _mm_and_si128(v, low) : _mm_srli_epi16(v, 8);
			uv = L == Layout::PackedY0 ? _mm_srli_epi16(v, 8) : _mm_and_si128(v, low);
		} else {
			y = _mm_unpacklo_epi8(
				_mm_loadl_epi64(reinterpret_cast<const __m128i *>(r.y + x)), zero);
			if (L == Layout::SemiPlanar)
				uv = _mm_unpacklo_epi8(
					_mm_loadl_epi64(reinterpret_cast<const __m128i *>(r.c0 + x)),
					zero);
			else if (L == Layout::Planar)
				uv = _mm_unpacklo_epi8(
					_mm_unpacklo_epi8(
						_mm_cvtsi32_si128(int(load32(r.c0 + x / 2))),
						_mm_cvtsi32_si128(int(load32(r.c1 + x / 2)))),
					zero);
			else
				uv = _mm_set1_epi16(128);
		}
		const __m128i ye = _mm_madd_epi16(y, k.cyEven), yo = _mm_madd_epi16(y, k.cyOdd);
		__m128i R = channel(ye, yo, uv, k.k[0], k.o[0]);
		__m128i G = channel(ye, yo, uv, k.k[1], k.o[1]);
		__m128i B = channel(ye, yo, uv, k.k[2], k.o[2]);
		if (!R565) {
			const __m128i br = _mm_packus_epi16(B, R);
			const __m128i ga = _mm_packus_epi16(G, _mm_set1_epi16(0xff));
			const __m128i bg = _mm_unpacklo_epi8(br, ga), ra = _mm_unpackhi_epi8(br, ga);
			const __m128i even = _mm_unpacklo_epi16(bg, ra); /* pixels 0, 2, 4, 6 */
			const __m128i odd = _mm_unpackhi_epi16(bg, ra); /* pixels 1, 3, 5, 7 */
			__m128i *d = reinterpret_cast<__m128i *>(r.d + 4 * size_t(x));
			_mm_storeu_si128(d, _mm_unpacklo_epi32(even, odd));
			_mm_storeu_si128(d + 1, _mm_unpackhi_epi32(even, odd));
		} else {
			R = _mm_min_epi16(_mm_max_epi16(R, zero), low);
			G = _mm_min_epi16(_mm_max_epi16(G, zero), low);
			B = _mm_max_epi16(B, zero); /* >> 3 below, then the 5-bit mask */
			const __m128i p = _mm_or_si128(
				_mm_or_si128(
					_mm_slli_epi16(_mm_and_si128(R, _mm_set1_epi16(0xf8)), 8),
					_mm_slli_epi16(_mm_and_si128(G, _mm_set1_epi16(0xfc)), 3)),
				_mm_min_epi16(_mm_srli_epi16(B, 3), _mm_set1_epi16(0x1f)));
			/* Even pixels in the low half, odd ones in the high half: interleave. */
			_mm_storeu_si128(reinterpret_cast<__m128i *>(r.d + 2 * size_t(x)),
					 _mm_unpacklo_epi16(p, _mm_srli_si128(p, 8)));
		}
	}
};

#define DMAPIPE_AVX2 __attribute__((target("avx2")))

struct Avx2 {
	static constexpr uint32_t kBlock = 16;

	struct Consts {
		__m256i cyEven, cyOdd, k[3], o[3];
		DMAPIPE_AVX2 explicit Consts(const Coeffs &c)
		{
			cyEven = _mm256_set1_epi32(uint16_t(c.cy));
			cyOdd = _mm256_set1_epi32(int32_t(uint32_t(uint16_t(c.cy)) << 16));
			for (int i = 0; i < 3; i++) {
				k[i] = _mm256_set1_epi32(pair(c.k[i]));
				o[i] = _mm256_set1_epi32(c.o[i]);
			}
		}
	};

	/*
	 * As Sse2::channel in each 128-bit lane: the low lane holds pixels 0-7,
	 * the high lane 8-15, and every step below stays within its lane.
	 */
	DMAPIPE_AVX2 static inline __m256i channel(__m256i ye, __m256i yo, __m256i uv, __m256i k,
						   __m256i o)
	{
		const __m256i c = _mm256_add_epi32(_mm256_madd_epi16(uv, k), o);
		return _mm256_packs_epi32(_mm256_srai_epi32(_mm256_add_epi32(ye, c), kFracBits),
					  _mm256_srai_epi32(_mm256_add_epi32(yo, c), kFracBits));
	}

	template<Layout L, bool R565>
	DMAPIPE_AVX2 static inline void block(const Row &r, uint32_t x, const Consts &k)
	{
		const __m256i zero = _mm256_setzero_si256(), low = _mm256_set1_epi16(0xff);
		__m256i y, uv;
		if (L == Layout::PackedY0 || L == Layout::PackedY1) {
			const __m256i v =
				_mm256_loadu_si256(reinterpret_cast<const __m256i *>(r.y + 2 * x));
			y = L == Layout::PackedY0 ? _mm256_and_si256(v, low)
						  : _mm256_srli_epi16(v, 8);
			uv = L == Layout::PackedY0 ? _mm256_srli_epi16(v, 8)
						   : _mm256_and_si256(v, low);
		} else {
			y = _mm256_cvtepu8_epi16(
				_mm_loadu_si128(reinterpret_cast<const __m128i *>(r.y + x)));
			if (L == Layout::SemiPlanar)
				uv = _mm256_cvtepu8_epi16(_mm_loadu_si128(
					reinterpret_cast<const __m128i *>(r.c0 + x)));
			else if (L == Layout::Planar)
				uv = _mm256_cvtepu8_epi16(_mm_unpacklo_epi8(
					_mm_loadl_epi64(
						reinterpret_cast<const __m128i *>(r.c0 + x / 2)),
					_mm_loadl_epi64(
						reinterpret_cast<const __m128i *>(r.c1 + x / 2))));
			else
				uv = _mm256_set1_epi16(128);
		}
		const __m256i ye = _mm256_madd_epi16(y, k.cyEven), yo = _mm256_madd_epi16(y, k.cyOdd);
		__m256i R = channel(ye, yo, uv, k.k[0], k.o[0]);
		__m256i G = channel(ye, yo, uv, k.k[1], k.o[1]);
		__m256i B = channel(ye, yo, uv, k.k[2], k.o[2]);
		if (!R565) {
			const __m256i br = _mm256_packus_epi16(B, R);
			const __m256i ga = _mm256_packus_epi16(G, _mm256_set1_epi16(0xff));
			const __m256i bg = _mm256_unpacklo_epi8(br, ga),
				      ra = _mm256_unpackhi_epi8(br, ga);
			const __m256i even = _mm256_unpacklo_epi16(bg, ra);
			const __m256i odd = _mm256_unpackhi_epi16(bg, ra);
			const __m256i p0 = _mm256_unpacklo_epi32(even, odd); /* pixels 0-3, 8-11 */
			const __m256i p1 = _mm256_unpackhi_epi32(even, odd); /* pixels 4-7, 12-15 */
			__m256i *d = reinterpret_cast<__m256i *>(r.d + 4 * size_t(x));
			_mm256_storeu_si256(d, _mm256_permute2x128_si256(p0, p1, 0x20));
			_mm256_storeu_si256(d + 1, _mm256_permute2x128_si256(p0, p1, 0x31));
		} else {
			R = _mm256_min_epi16(_mm256_max_epi16(R, zero), low);
			G = _mm256_min_epi16(_mm256_max_epi16(G, zero), low);
			B = _mm256_max_epi16(B, zero);
			const __m256i p = _mm256_or_si256(
				_mm256_or_si256(
					_mm256_slli_epi16(
						_mm256_and_si256(R, _mm256_set1_epi16(0xf8)), 8),
					_mm256_slli_epi16(
						_mm256_and_si256(G, _mm256_set1_epi16(0xfc)), 3)),
				_mm256_min_epi16(_mm256_srli_epi16(B, 3), _mm256_set1_epi16(0x1f)));
			_mm256_storeu_si256(reinterpret_cast<__m256i *>(r.d + 2 * size_t(x)),
					    _mm256_unpacklo_epi16(p, _mm256_srli_si256(p, 8)));
		}
	}
};

/* Not rowDispatch<Avx2> directly: the loop itself must be compiled for AVX2 to inline block(). */
template<Layout L, bool R565>
DMAPIPE_AVX2 uint32_t rowLoopAvx2(const Row &r, const Coeffs &c)
{
	const Avx2::Consts k(c);
	const uint32_t n = r.width & ~(Avx2::kBlock - 1);
	for (uint32_t x = 0; x < n; x += Avx2::kBlock)
		Avx2::block<L, R565>(r, x, k);
	return n;
}

uint32_t rowAvx2(const Row &r, const Coeffs &c)
{
	switch (r.layout) {
	case Layout::PackedY0:
		return r.rgb565 ? rowLoopAvx2<Layout::PackedY0, true>(r, c)
				: rowLoopAvx2<Layout::PackedY0, false>(r, c);
	case Layout::PackedY1:
		return r.rgb565 ? rowLoopAvx2<Layout::PackedY1, true>(r, c)
				: rowLoopAvx2<Layout::PackedY1, false>(r, c);
	case Layout::SemiPlanar:
		return r.rgb565 ? rowLoopAvx2<Layout::SemiPlanar, true>(r, c)
				: rowLoopAvx2<Layout::SemiPlanar, false>(r, c);
	case Layout::Planar:
		return r.rgb565 ? rowLoopAvx2<Layout::Planar, true>(r, c)
				: rowLoopAvx2<Layout::Planar, false>(r, c);
	case Layout::Grey:
		return r.rgb565 ? rowLoopAvx2<Layout::Grey, true>(r, c)
				: rowLoopAvx2<Layout::Grey, false>(r, c);
	}
	return 0;
}

#endif /* DMAPIPE_X86 */

#if DMAPIPE_NEON

/*
 * 16 pixels per block, split into even and odd pixels by the structure
 * loads (vld2/vld4), so each chroma pair's sum serves one even and one odd
 * lane without a shuffle; vzip puts them back in order for the store.
 */
struct Neon {
	static constexpr uint32_t kBlock = 16;

	struct Consts {
		Coeffs c;
		explicit Consts(const Coeffs &co) : c(co) { }
	};

	/* acc >> 13, saturated to 0..255, for 8 lanes. */
	static inline uint8x8_t narrow(int32x4_t lo, int32x4_t hi)
	{
		return vqmovun_s16(
			vcombine_s16(vqshrn_n_s32(lo, kFracBits), vqshrn_n_s32(hi, kFracBits)));
	}

	static inline uint8x16_t channel(int16x8_t ye, int16x8_t yo, int16x8_t c0, int16x8_t c1,
					 const Coeffs &k, int i)
	{
		const int32x4_t o = vdupq_n_s32(k.o[i]);
		const int32x4_t cl = vmlal_n_s16(vmlal_n_s16(o, vget_low_s16(c0), k.k[i][0]),
						 vget_low_s16(c1), k.k[i][1]);
		const int32x4_t ch = vmlal_n_s16(vmlal_n_s16(o, vget_high_s16(c0), k.k[i][0]),
						 vget_high_s16(c1), k.k[i][1]);
		const uint8x8_t e = narrow(vmlal_n_s16(cl, vget_low_s16(ye), k.cy),
					   vmlal_n_s16(ch, vget_high_s16(ye), k.cy));
		const uint8x8_t od = narrow(vmlal_n_s16(cl, vget_low_s16(yo), k.cy),
					    vmlal_n_s16(ch, vget_high_s16(yo), k.cy));
		const uint8x8x2_t z = vzip_u8(e, od);
		return vcombine_u8(z.val[0], z.val[1]);
	}

	static inline int16x8_t wide(uint8x8_t v) { return vreinterpretq_s16_u16(vmovl_u8(v)); }

	template<Layout L, bool R565>
	static inline void block(const Row &r, uint32_t x, const Consts &k)
	{
		uint8x8_t ye, yo, c0, c1;
		if (L == Layout::PackedY0 || L == Layout::PackedY1) {
			const uint8x8x4_t v = vld4_u8(r.y + 2 * x);
			const bool y0 = L == Layout::PackedY0;
			ye = v.val[y0 ? 0 : 1], c0 = v.val[y0 ? 1 : 0];
			yo = v.val[y0 ? 2 : 3], c1 = v.val[y0 ? 3 : 2];
		} else {
			const uint8x8x2_t yy = vld2_u8(r.y + x);
			ye = yy.val[0], yo = yy.val[1];
			if (L == Layout::SemiPlanar) {
				const uint8x8x2_t cc = vld2_u8(r.c0 + x);
				c0 = cc.val[0], c1 = cc.val[1];
			} else if (L == Layout::Planar) {
				c0 = vld1_u8(r.c0 + x / 2), c1 = vld1_u8(r.c1 + x / 2);
			} else {
				c0 = c1 = vdup_n_u8(128);
			}
		}
		const int16x8_t Ye = wide(ye), Yo = wide(yo), C0 = wide(c0), C1 = wide(c1);
		const uint8x16_t R = channel(Ye, Yo, C0, C1, k.c, 0);
		const uint8x16_t G = channel(Ye, Yo, C0, C1, k.c, 1);
		const uint8x16_t B = channel(Ye, Yo, C0, C1, k.c, 2);
		if (!R565) {
			const uint8x16x4_t px = { { B, G, R, vdupq_n_u8(0xff) } };
			vst4q_u8(r.d + 4 * size_t(x), px);
		} else {
			/* Shift-right-and-insert keeps each channel's top bits: RRRRRGGG GGGBBBBB. */
			uint16x8_t lo = vshll_n_u8(vget_low_u8(R), 8);
			lo = vsriq_n_u16(lo, vshll_n_u8(vget_low_u8(G), 8), 5);
			lo = vsriq_n_u16(lo, vshll_n_u8(vget_low_u8(B), 8), 11);
			uint16x8_t hi = vshll_n_u8(vget_high_u8(R), 8);
			hi = vsriq_n_u16(hi, vshll_n_u8(vget_high_u8(G), 8), 5);
			hi = vsriq_n_u16(hi, vshll_n_u8(vget_high_u8(B), 8), 11);
			uint16_t *d = reinterpret_cast<uint16_t *>(r.d + 2 * size_t(x));
			vst1q_u8(reinterpret_cast<uint8_t *>(d), vreinterpretq_u8_u16(lo));
			vst1q_u8(reinterpret_cast<uint8_t *>(d + 8), vreinterpretq_u8_u16(hi));
		}
	}
};

#endif /* DMAPIPE_NEON */

} /* namespace */

RowFn rowFunction(ConvertIsa isa)
{
	if (!convertIsaSupported(isa))
		return nullptr;
	switch (isa) {
#if DMAPIPE_X86
	case ConvertIsa::Sse2:
		return rowDispatch<Sse2>;
	case ConvertIsa::Avx2:
		return rowAvx2;
#endif
#if DMAPIPE_NEON
	case ConvertIsa::Neon:
		return rowDispatch<Neon>;
#endif
	default:
		return nullptr;
	}
}

} /* namespace fastconv */

bool convertIsaSupported(ConvertIsa isa)
{
	switch (isa) {
	case ConvertIsa::Scalar:
		return true;
#if DMAPIPE_X86
	case ConvertIsa::Sse2:
		return __builtin_cpu_supports("sse2");
	case ConvertIsa::Avx2:
		/* libgcc's check includes the OS saving the YMM state (XGETBV). */
		return __builtin_cpu_supports("avx2");
#endif
#if DMAPIPE_NEON
	case ConvertIsa::Neon:
		return true; /* mandatory on arm64 */
#endif
	default:
		return false;
	}
}

const char *convertIsaName(ConvertIsa isa)
{
	switch (isa) {
	case ConvertIsa::Scalar:
		return "scalar";
	case ConvertIsa::Sse2:
		return "sse2";
	case ConvertIsa::Avx2:
		return "avx2";
	case ConvertIsa::Neon:
		return "neon";
	}
	return "?";
}

namespace {

ConvertIsa bestIsa()
{
	for (ConvertIsa isa : { ConvertIsa::Avx2, ConvertIsa::Neon, ConvertIsa::Sse2 })
		if (convertIsaSupported(isa))
			return isa;
	return ConvertIsa::Scalar;
}

/* DMAPIPE_CONVERT_ISA=scalar|sse2|avx2|neon caps the choice (benchmarks, bug reports). */
ConvertIsa initialIsa()
{
	const char *env = std::getenv("DMAPIPE_CONVERT_ISA");
	if (env)
		for (ConvertIsa isa :
		     { ConvertIsa::Scalar, ConvertIsa::Sse2, ConvertIsa::Avx2, ConvertIsa::Neon })
			if (!std::strcmp(env, convertIsaName(isa)) && convertIsaSupported(isa))
				return isa;
	return bestIsa();
}

std::atomic<ConvertIsa> &currentIsa()
{
	static std::atomic<ConvertIsa> isa { initialIsa() };
	return isa;
}

} /* namespace */

ConvertIsa convertIsa()
{
	return currentIsa().load(std::memory_order_relaxed);
}

bool setConvertIsa(ConvertIsa isa)
{
	if (!convertIsaSupported(isa))
		return false;
	currentIsa().store(isa, std::memory_order_relaxed);
	return true;
}

} /* namespace dmapipe */
