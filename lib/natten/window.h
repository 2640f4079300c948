// The neighborhood-attention window rule of upstream NATTEN, one axis at a time.
//
// This is the single definition every backend uses: the C++ backends include it directly and the
// Metal shaders include it too, so it is written in the common subset of C++17 and the Metal
// Shading Language (no std::, no references, no exceptions, plain int arithmetic).
//
// Coordinates. Along an axis of length L with dilation d, token i belongs to dilation group
// g = i % d and sits at position j = i / d inside its group; the group holds
// Lg = ceil((L - g) / d) tokens. Neighborhoods never cross groups, so every rule below works on
// group positions and a position t maps back to token g + d * t.
//
// Window of query position j (kernel K, stride s), as [start, end) of group positions:
//   non-causal: leader = min(floor(j/s)*s + floor(s/2), Lg-1); start = clamp(leader - K/2, 0, Lg-K);
//               end = start + K. (left = K/2, right = K/2 + K%2 - 1: even K is left-heavy; the
//               window is shifted, never truncated, at the borders.)
//   causal:     leader = min(floor(j/s)*s + s-1, Lg-1); start = max(leader - K + 1, 0); end = j + 1.
// The window start is non-decreasing in j, which is why the queries that see a given key form one
// interval: natten_inverse_window gives it in closed form (derivation in docs/semantics.md).
#ifndef NATTEN_WINDOW_H
#define NATTEN_WINDOW_H

#ifdef __METAL_VERSION__
#define NATTEN_INLINE inline
#else
#define NATTEN_INLINE inline constexpr
#endif

// The parameters of one axis.
struct NattenAxis {
  int length;
  int kernel_size;  // not `kernel`: a keyword in Metal and OpenCL
  int stride;
  int dilation;
  int causal;  // 0 or 1
};

// A half-open interval [start, end) of positions inside one dilation group.
struct NattenRange {
  int start;
  int end;
};

NATTEN_INLINE int natten_min(int a, int b) { return a < b ? a : b; }
NATTEN_INLINE int natten_max(int a, int b) { return a > b ? a : b; }

// Number of tokens of dilation group g (0 <= g < dilation).
NATTEN_INLINE int natten_group_length(NattenAxis a, int g) {
  return (a.length - g + a.dilation - 1) / a.dilation;
}

// Keys attended by query position j of a group holding lg tokens.
NATTEN_INLINE NattenRange natten_window(NattenAxis a, int lg, int j) {
  const int s = a.stride;
  const int k = a.kernel_size;
  NattenRange r = {0, 0};
  if (a.causal != 0) {
    const int leader = natten_min((j / s) * s + s - 1, lg - 1);
    r.start = natten_max(leader - k + 1, 0);
    r.end = j + 1;
  } else {
    const int leader = natten_min((j / s) * s + s / 2, lg - 1);
    r.start = natten_min(natten_max(leader - k / 2, 0), lg - k);
    r.end = r.start + k;
  }
  return r;
}

// Queries whose window contains key position t of a group holding lg tokens (the inverse window).
NATTEN_INLINE NattenRange natten_inverse_window(NattenAxis a, int lg, int t) {
  const int s = a.stride;
  const int k = a.kernel_size;
  NattenRange r = {0, 0};
  if (a.causal != 0) {
    // start(j) <= t <= j; start(j) <= t  <=>  leader(j) <= t + K - 1.
    r.start = t;
    r.end = (t >= lg - k) ? lg : ((t + k) / s) * s;
  } else {
    const int left = k / 2;
    const int right = k / 2 + k % 2 - 1;
    const int off = s - s / 2 - 1;  // ceil(s/2) - 1
    // start(j) >= t - K + 1 is only a constraint once t >= K; start(j) <= t only while t < lg - K.
    r.start = (t >= k) ? ((t - right + off) / s) * s : 0;
    r.end = (t >= lg - k) ? lg : natten_min(((t + left + off + 1) / s) * s, lg);
  }
  return r;
}

#endif  // NATTEN_WINDOW_H
