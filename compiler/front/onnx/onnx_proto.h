// The protobuf side of the ONNX module (onnx.h): Debian's onnx-ml.pb.h, and
// parsing a message from bytes with protobuf's nesting bounded.
#pragma once

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>
#include <onnx/onnx_pb.h>  // defines ONNX_API, then includes onnx-ml.pb.h (ONNX_ML)

#include <string>

#include "front/onnx/onnx.h"

namespace netc {

// Parses `bytes` (at most kMaxOnnxModelBytes, which the caller's read
// bounds) into `message`: InputError naming `file` when they are not one
// complete `what` ("model", "tensor"), or nest deeper than kMaxOnnxNesting.
template <class Message>
void parse_onnx_message(Message& message, const std::string& bytes, const std::string& file, const std::string& what) {
  if (bytes.size() > kMaxOnnxModelBytes) throw InputError(file + ": larger than netc's limit for an ONNX " + what);
  google::protobuf::io::ArrayInputStream raw(bytes.data(), int(bytes.size()));
  google::protobuf::io::CodedInputStream in(&raw);
  in.SetRecursionLimit(kMaxOnnxNesting);
  if (!message.ParseFromCodedStream(&in) || !in.ConsumedEntireMessage())
    throw InputError(file + ": not an ONNX " + what + " (a truncated or malformed protobuf message)");
}

}  // namespace netc
