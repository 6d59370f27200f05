// Reading and writing the safetensors format (https://huggingface.co/docs/safetensors), so
// PyTorch users can load minidl weights with safetensors.torch.load_file(path):
//   8 bytes   little-endian u64 N: the size of the JSON header
//   N bytes   {"name": {"dtype": "F32", "shape": [16, 3, 3, 3], "data_offsets": [begin, end]}, ...,
//              "__metadata__": {"key": "value", ...}}   (padded with spaces to a multiple of 8)
//   data      the tensors' bytes, little-endian, row-major; offsets are relative to here
// Files are written to PATH.tmp and renamed over PATH, so a crash never leaves a broken file.
#pragma once
#include <map>
#include <string>

#include "core/tensor.h"

namespace minidl {

using Metadata = std::map<std::string, std::string>;

void save_safetensors(const std::string& path, const NamedTensors& tensors, const Metadata& metadata = {});

struct SafetensorsFile {
  NamedTensors tensors;  // on the CPU, in file order
  Metadata metadata;
};
// Throws minidl::Error naming the file and what is wrong (missing, truncated, bad header, ...).
SafetensorsFile load_safetensors(const std::string& path);

}  // namespace minidl
