// minidl: the whole public API in one include, like <torch/torch.h>.
//   #include <minidl.h>      (link minidl::minidl; find_package(minidl) once installed)
// Tensors and autograd (minidl::), the functional ops (minidl::ops::), engines (kernels/engine.h),
// layers and module holders (minidl::nn::, MINIDL_MODULE), the model zoo (minidl::models::),
// optimizers and schedules (minidl::optim::), CIFAR-10 and the DataLoader (minidl::data::),
// safetensors files. Every options class is chained the same way (core/options.h). The
// narrower headers (core/tensor.h, kernels/conv.h, layers/conv.h, ...) stay available for code
// that wants less. This header lives above core/, so core/ includes nothing from the rest.
#pragma once

#include "core/autograd.h"
#include "core/cuda_context.h"
#include "core/device.h"
#include "core/dtype.h"
#include "core/error.h"
#include "core/options.h"
#include "core/parallel.h"
#include "core/random.h"
#include "core/safetensors.h"
#include "core/tensor.h"

#include "kernels/augment.h"
#include "kernels/broadcast.h"
#include "kernels/composite_loss.h"
#include "kernels/conv.h"
#include "kernels/dropout.h"
#include "kernels/elementwise.h"
#include "kernels/engine.h"
#include "kernels/linear.h"
#include "kernels/loss.h"
#include "kernels/norm.h"
#include "kernels/optim_update.h"
#include "kernels/pool.h"
#include "kernels/reduce.h"
#include "kernels/shape.h"
#include "kernels/softmax.h"
#include "kernels/unary.h"
#include "kernels/view.h"

#include "layers/activation.h"
#include "layers/conv.h"
#include "layers/dropout.h"
#include "layers/init.h"
#include "layers/linear.h"
#include "layers/models/zoo.h"
#include "layers/module.h"
#include "layers/norm.h"
#include "layers/pool.h"
#include "layers/residual.h"
#include "layers/sequential.h"
#include "layers/summary.h"

#include "optim/adam.h"
#include "optim/lr_finder.h"
#include "optim/lr_scheduler.h"
#include "optim/onecycle.h"
#include "optim/optimizer.h"
#include "optim/sgd.h"

#include "data/cifar10.h"
#include "data/dataloader.h"
