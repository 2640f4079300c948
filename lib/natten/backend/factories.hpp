// One factory per backend folder. The registry (backend.cpp) lists them; a backend that is not
// built on this platform still has a factory (e.g. metal/no_metal.cpp) that explains why.
#pragma once

#include <memory>
#include <string>

#include "natten/backend.hpp"

namespace natten {

std::unique_ptr<Backend> make_reference_backend();
std::unique_ptr<Backend> make_cpu_backend();  // backend/cpu/cpu_backend.cpp

// Metal (backend/metal/): on Apple with NATTEN_METAL=ON the executor in metal_executor.mm, else
// no_metal.cpp. The reason is empty when the backend can run here.
std::unique_ptr<Backend> make_metal_backend();
std::string metal_unavailable_reason();

}  // namespace natten
