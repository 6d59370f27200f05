// Storage: one block of memory on one device, shared by the tensors that view it (a tensor and
// its reshaped or detached views). Freed when the last of them goes away.
#pragma once
#include <cstddef>

#include "core/allocator.h"
#include "core/device.h"

namespace minidl {

class Storage {
 public:
  Storage(size_t nbytes, Device device);
  ~Storage();
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;

  void* data() const { return data_; }
  size_t nbytes() const { return nbytes_; }
  Device device() const { return device_; }

 private:
  void* data_ = nullptr;
  size_t nbytes_ = 0;
  Device device_;
  Allocator* allocator_ = nullptr;
};

}  // namespace minidl
