// DataLoader: workers claim batch indices in increasing order (at most `prefetch` batches claimed
// but not yet handed out), prepare them without holding the lock, and file them by index; next()
// waits for the batch it is due to hand out. So batches come out in order whatever the thread
// timing, the queue is bounded, and a stop only has to wake everyone and join.
#include "data/dataloader.h"

#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cstring>

#include "core/cuda_context.h"
#include "core/philox.h"
#include "core/random.h"

namespace minidl::data {
namespace {

constexpr uint64_t kShuffleStream = 0x73687566ull;  // "shuf": distinct from augmentation's stream

}  // namespace

DataLoader::DataLoader(const Cifar10& data, DataLoaderOptions options) : data_(data), opt_(std::move(options)) {
  MINIDL_CHECK(opt_.batch_size() >= 1, "DataLoader: batch_size must be >= 1, got ", opt_.batch_size());
  MINIDL_CHECK(opt_.workers() >= 0 && opt_.workers() <= 64, "DataLoader: workers must be in 0..64, got ",
               opt_.workers());
  MINIDL_CHECK(opt_.prefetch() >= 1, "DataLoader: prefetch must be >= 1 batch, got ", opt_.prefetch());
  MINIDL_CHECK(data_.pixels.size() == data_.labels.size() * static_cast<size_t>(Cifar10::kImageBytes),
               "DataLoader: the dataset has ", data_.labels.size(), " labels but ", data_.pixels.size(),
               " pixel bytes (expected ", Cifar10::kImageBytes, " per image)");
  MINIDL_CHECK(opt_.device().is_cpu() || cuda::is_available(), "DataLoader: device ", opt_.device(),
               " requested, but no CUDA GPU is available (or minidl was built without CUDA)");
}

DataLoader::~DataLoader() { stop(); }

int64_t DataLoader::num_batches() const {
  const int64_t n = data_.size(), b = opt_.batch_size();
  return opt_.drop_last() ? n / b : (n + b - 1) / b;
}

std::vector<int64_t> DataLoader::epoch_order(int64_t epoch) const {
  const int64_t n = data_.size();
  std::vector<int64_t> order(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) order[i] = i;
  if (!opt_.shuffle() || n < 2) return order;
  // Fisher-Yates, swap i with a uniform j in [0, i], random word i of a (seed, epoch) stream.
  Generator gen(stream_key(opt_.seed(), static_cast<uint64_t>(epoch), kShuffleStream));
  const uint64_t off = gen.advance(static_cast<uint64_t>(n));
  for (int64_t i = n - 1; i > 0; --i) {
    const uint64_t j = (static_cast<uint64_t>(philox_bits(gen.seed(), off, i)) * static_cast<uint64_t>(i + 1)) >> 32;
    std::swap(order[i], order[j]);
  }
  return order;
}

void DataLoader::stop() {
  {
    std::lock_guard<std::mutex> lk(mu_);
    stopping_ = true;
  }
  space_cv_.notify_all();
  ready_cv_.notify_all();
  for (auto& t : workers_) t.join();  // a worker finishes the batch in hand, then sees stopping_
  workers_.clear();
  std::lock_guard<std::mutex> lk(mu_);
  ready_.clear();
  error_ = nullptr;
  stopping_ = false;
  next_out_ = next_claim_ = num_batches();  // the epoch is over: next() returns false
}

void DataLoader::start_epoch(int64_t epoch) {
  MINIDL_CHECK(epoch >= 0, "DataLoader::start_epoch: epoch must be >= 0, got ", epoch);
  stop();
  epoch_ = epoch;
  order_ = epoch_order(epoch);
  next_out_ = next_claim_ = 0;
  wait_seconds_ = 0;
  // order_, epoch_ and opt_ are fixed from here until the next stop(): the workers read them
  // without the lock (starting a thread orders these writes before its reads).
  for (int w = 0; w < opt_.workers(); ++w) workers_.emplace_back([this] { worker_loop(); });
}

void DataLoader::worker_loop() {
  // The workers are the parallelism: one OpenMP thread each (this setting is per thread), so a
  // worker does not start a team that competes with the training step for the cores.
  omp_set_num_threads(1);
  const int64_t nb = num_batches();
  const int64_t capacity = std::max(opt_.prefetch(), opt_.workers());
  for (;;) {
    int64_t b;
    {
      std::unique_lock<std::mutex> lk(mu_);
      space_cv_.wait(lk, [&] { return stopping_ || error_ || next_claim_ >= nb || next_claim_ < next_out_ + capacity; });
      if (stopping_ || error_ || next_claim_ >= nb) return;
      b = next_claim_++;
    }
    try {
      Prepared p = prepare(b);
      std::lock_guard<std::mutex> lk(mu_);
      ready_.emplace(b, std::move(p));
    } catch (...) {
      std::lock_guard<std::mutex> lk(mu_);
      if (!error_) error_ = std::current_exception();
    }
    ready_cv_.notify_all();
  }
}

DataLoader::Prepared DataLoader::prepare(int64_t b) const {
  const int64_t begin = b * opt_.batch_size(), end = std::min(begin + opt_.batch_size(), data_.size());
  const int64_t n = end - begin, I = Cifar10::kImageBytes;
  Prepared p;
  p.batch.indices.assign(order_.begin() + begin, order_.begin() + end);
  std::vector<int64_t> labels(static_cast<size_t>(n));
  p.pixels.resize(static_cast<size_t>(n * I));
  for (int64_t i = 0; i < n; ++i) {
    const int64_t s = p.batch.indices[i];
    labels[i] = data_.labels[s];
    std::memcpy(p.pixels.data() + i * I, data_.image(s), static_cast<size_t>(I));
  }
  p.batch.labels = minidl::labels(labels);
  p.params = draw_augment_params(opt_.augment(), Cifar10::kHeight, Cifar10::kWidth, opt_.seed(), epoch_,
                                 p.batch.indices);
  if (!(opt_.device().is_cuda() && opt_.gpu_augment())) {
    p.batch.images = ops::augment(p.pixels.data(), {n, Cifar10::kChannels, Cifar10::kHeight, Cifar10::kWidth},
                                  p.params, opt_.augment(), Device::cpu());
    p.pixels = {};
    p.params = {};
  }
  return p;
}

Tensor DataLoader::mirrored_images(const Batch& batch) const {
  const int64_t n = batch.size(), I = Cifar10::kImageBytes;
  std::vector<uint8_t> pixels(static_cast<size_t>(n * I));
  for (int64_t i = 0; i < n; ++i) std::memcpy(pixels.data() + i * I, data_.image(batch.indices[i]), static_cast<size_t>(I));
  std::vector<AugmentParam> params(static_cast<size_t>(n));
  for (AugmentParam& a : params) a.flip = 1;
  AugmentOptions o = opt_.augment();
  o.crop(false).cutout(false);
  return ops::augment(pixels.data(), {n, Cifar10::kChannels, Cifar10::kHeight, Cifar10::kWidth}, params, o,
                      opt_.device());
}

Batch DataLoader::finish(Prepared&& p) const {
  Batch out = std::move(p.batch);
  if (opt_.device().is_cpu()) return out;
  if (!out.images.defined()) {  // GPU augmentation: upload the uint8 images, augment there
    const int64_t n = out.size();
    out.images = ops::augment(p.pixels.data(), {n, Cifar10::kChannels, Cifar10::kHeight, Cifar10::kWidth}, p.params,
                              opt_.augment(), opt_.device());
  } else {
    out.images = out.images.to(opt_.device());
  }
  out.labels = out.labels.to(opt_.device());
  return out;
}

bool DataLoader::next(Batch& out) {
  MINIDL_CHECK(epoch_ >= 0, "DataLoader::next: call start_epoch(epoch) before the first next()");
  const int64_t nb = num_batches();
  if (next_out_ >= nb) return false;
  const auto t0 = std::chrono::steady_clock::now();
  auto add_wait = [&] {
    wait_seconds_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  };
  Prepared p;
  if (workers_.empty()) {
    try {
      p = prepare(next_out_);
    } catch (...) {
      next_out_ = nb;
      add_wait();
      throw;
    }
    ++next_out_;
  } else {
    std::unique_lock<std::mutex> lk(mu_);
    ready_cv_.wait(lk, [&] { return error_ || ready_.count(next_out_) > 0; });
    auto it = ready_.find(next_out_);
    if (it == ready_.end()) {  // a worker failed: end the epoch and report it here
      std::exception_ptr err = error_;
      lk.unlock();
      stop();
      add_wait();
      std::rethrow_exception(err);
    }
    p = std::move(it->second);
    ready_.erase(it);
    ++next_out_;
    lk.unlock();
    space_cv_.notify_all();
  }
  out = finish(std::move(p));
  add_wait();
  return true;
}

}  // namespace minidl::data
