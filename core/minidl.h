// minidl: everything a program needs, in one include.
//   #include <minidl.h>      (installed tree; link minidl::minidl)
#pragma once

#include "core/autograd.h"
#include "core/cuda_context.h"
#include "core/engines.h"
#include "core/parallel.h"
#include "core/random.h"
#include "core/tensor.h"
#include "kernels/elementwise.h"
#include "kernels/linear.h"
#include "kernels/reduce.h"
#include "kernels/view.h"
