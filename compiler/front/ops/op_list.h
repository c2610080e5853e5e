// Every op netc knows, one line each: the spec table (front/op_specs.cpp)
// and the lowering table (lower/op_lowerings.cpp) are both made from this
// list, so an op cannot have one without the other. The list is explicit
// rather than static registration so that linking a static library never
// drops an op.
//
// NETC_OP(name): the op `name`, with name_spec() in front/ops/name.cpp and
// name_lowering() in lower/ops/name.cpp.
NETC_OP(conv2d)
NETC_OP(maxpool2d)
NETC_OP(avgpool2d)
NETC_OP(relu)
NETC_OP(leaky_relu)
NETC_OP(tanh)
NETC_OP(sigmoid)
NETC_OP(flatten)
NETC_OP(linear)
NETC_OP(add)
NETC_OP(concat)
