// Reading and writing the safetensors format (https://huggingface.co/docs/safetensors), so
// PyTorch users can load minidl weights with safetensors.torch.load_file(path):
//   8 bytes   little-endian u64 N: the size of the JSON header
//   N bytes   {"name": {"dtype": "F32", "shape": [16, 3, 3, 3], "data_offsets": [begin, end]}, ...,
//              "__metadata__": {"key": "value", ...}}   (padded with spaces to a multiple of 8)
//   data      the tensors' bytes, little-endian, row-major; offsets are relative to here
// Files are written through core/atomic_file.h (unique temp file, checked writes, fsync, rename),
// so a crash or a full disk never leaves a broken file. The loader trusts nothing in the file:
// every field is type-checked, sizes are overflow-checked, and data_offsets must tile the data
// area exactly (no overlap, no gap, nothing past the end).
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
// Throws minidl::Error naming the file and what is wrong (missing, a folder, truncated, bad
// header, overlapping or out-of-range offsets, ...).
SafetensorsFile load_safetensors(const std::string& path);

}  // namespace minidl
