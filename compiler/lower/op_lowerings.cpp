// The lowering table: op name -> OpLowering, one row per line of
// front/ops/op_list.h, the list the spec table is made from too.
#include <map>
#include <stdexcept>

#include "lower/op_lowering.h"

namespace netc {

#define NETC_OP(name) const OpLowering& name##_lowering();
#include "front/ops/op_list.h"
#undef NETC_OP

const OpLowering& lowering_of(const std::string& name) {
  static const std::map<std::string, const OpLowering*> table = {
#define NETC_OP(name) {#name, &name##_lowering()},
#include "front/ops/op_list.h"
#undef NETC_OP
  };
  auto it = table.find(name);
  // The front end accepts only ops of the same list, so this is a bug.
  if (it == table.end()) throw std::logic_error("no lowering for op '" + name + "'");
  return *it->second;
}

}  // namespace netc
