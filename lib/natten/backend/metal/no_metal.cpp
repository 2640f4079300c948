// Built when NATTEN_METAL is OFF (every non-Apple platform): the registry still lists `metal` and
// says why it is absent.
#include "natten/backend/factories.hpp"
#include "natten/core/error.hpp"

namespace natten {

std::string metal_unavailable_reason() {
  return "not built: Metal needs an Apple platform (configure with -DNATTEN_METAL=ON on macOS)";
}

std::unique_ptr<Backend> make_metal_backend() { throw Unsupported("metal: " + metal_unavailable_reason()); }

}  // namespace natten
