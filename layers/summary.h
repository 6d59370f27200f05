// A model summary like torchinfo's: per layer its type and name, output shape, parameters,
// mult-adds and receptive field; totals for parameters, mult-adds and memory.
//
// How it is measured: one forward pass (eval mode, no grad) on zeros of the input shape, with an
// observer on every module call (nn::Module::operator()). Conventions follow torchinfo, so the
// numbers compare with the reference projects' summaries:
//   mult-adds: a conv counts (weight + bias elements) x output pixels x batch; any other layer with
//     parameters counts its parameter count x batch;
//   forward/backward pass size: the outputs of the layers that have parameters, twice (values and
//     gradients), 4 bytes each; sizes in MB are 10^6 bytes.
//   receptive field: the side of the input square one output pixel depends on, following the data
//     through every window (conv, pool) and taking the larger branch at additions.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "layers/module.h"

namespace minidl::nn {

struct SummaryRow {
  int depth = 0;             // 0 for the model itself
  std::string type, name;    // "Conv2d", "conv1"
  Shape output;
  int64_t params = 0;        // this layer's own parameters (0 for containers)
  bool leaf = true;          // no child modules
  int64_t mult_adds = 0;
  int64_t receptive_field = 1;
};

struct Summary {
  std::vector<SummaryRow> rows;
  Shape input_shape;
  int64_t total_params = 0, trainable_params = 0;
  int64_t total_mult_adds = 0;
  double input_mb = 0, forward_backward_mb = 0, params_mb = 0;
  double total_mb() const { return input_mb + forward_backward_mb + params_mb; }
  // The printed table; the totals read "Total params: 48,136" and "Total mult-adds (M): 982.64".
  std::string str() const;
};

// Runs one forward pass of `model` on zeros of input_shape (on device) and summarizes it.
// The model's training flag is restored afterwards; running statistics are not touched.
Summary summarize(Module& model, const std::string& model_name, const Shape& input_shape,
                  Device device = Device::cpu());

// 48136 -> "48,136"
std::string with_commas(int64_t v);

}  // namespace minidl::nn
