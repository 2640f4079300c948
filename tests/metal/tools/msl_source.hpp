// A small reader of (preprocessed) Metal Shading Language source: the kernel signatures with their
// binding attributes, and the facts the shader lint needs. Not a compiler: it understands the
// subset our shaders are written in (documented in lib/natten/backend/metal/README.md).
#pragma once

#include <string>
#include <vector>

namespace natten_msl {

struct KernelParam {
  std::string type;       // e.g. "device const float*", "constant NattenFusedArgs&", "uint3"
  std::string name;
  std::string attribute;  // "buffer", "threadgroup", "thread_index_in_simdgroup", ...
  int index = -1;         // for buffer(n) / threadgroup(n)
};

struct KernelSignature {
  std::string name;
  std::vector<KernelParam> params;
};

// Tokens of C-like source with comments removed (string literals kept as one token).
std::vector<std::string> tokenize(const std::string& source);

// Every `kernel void name(...)` in the source, in order. Throws std::runtime_error on a parameter
// it cannot read (no attribute, unbalanced brackets).
std::vector<KernelSignature> parse_kernels(const std::string& source);

// Lint findings (empty when clean): `double`, `std::`, recursion (direct or through other
// functions defined in the source), threadgroup variables declared inside a function body.
std::vector<std::string> lint(const std::string& source);

std::string read_file(const std::string& path);

}  // namespace natten_msl
