// The words --list uses for which parts of a case are checked.
#pragma once

namespace natten {

inline const char* parts_checked(bool backward) { return backward ? "forward+backward" : "forward"; }

}  // namespace natten
