// The op table's entries, one per family, each defined in its own file beside this one. Private to
// lib/natten/op: everyone else reaches them through op_table.hpp.
#pragma once

#include "natten/op/op_table.hpp"

namespace natten::op_entries {

extern const CaseOp na;      // na.cpp
extern const CaseOp na_qk;   // na_qk.cpp
extern const CaseOp na_av;   // na_av.cpp
extern const CaseOp merge;   // merge.cpp
extern const CaseOp varlen;  // varlen.cpp

}  // namespace natten::op_entries
