// DataLoader: turns a Cifar10 split into batches of normalized (and, for training, augmented)
// float32 images [B, 3, 32, 32] and int64 labels [B], prepared ahead of time by worker threads.
//
//   data::DataLoader loader(train, data::DataLoaderOptions().batch_size(128).workers(2).seed(1));
//   for (int64_t epoch = 0; epoch < epochs; ++epoch) {
//     loader.start_epoch(epoch);
//     data::Batch b;
//     while (loader.next(b)) train_step(b.images, b.labels);
//     printf("data wait %.2f s\n", loader.wait_seconds());
//   }
//
// Reproducible: the sample order of an epoch is a permutation drawn from (seed, epoch), and each
// sample's augmentation from (seed, epoch, sample index), so a run resumed at epoch k sees the
// same batches, whatever the number of workers or their timing.
// Workers prepare batches in order into a bounded queue (prefetch batches at most); next()
// hands them out in order. An exception in a worker is rethrown by next(). The destructor and
// start_epoch() stop the workers cleanly, also in the middle of an epoch.
// On a CUDA device the batch is uploaded by next() (on the calling thread: all CUDA work stays
// on one thread and one stream); with gpu_augment the workers only gather the uint8 images and
// the augmentation kernel runs on the GPU.
#pragma once
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <map>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

#include "core/options.h"
#include "core/tensor.h"
#include "data/cifar10.h"
#include "kernels/augment.h"

namespace minidl::data {

struct Batch {
  Tensor images;                 // float32 [B, 3, 32, 32] on the loader's device
  Tensor labels;                 // int64 [B] on the loader's device
  std::vector<int64_t> indices;  // positions in the dataset of the B samples
  int64_t size() const { return static_cast<int64_t>(indices.size()); }
};

// Chained like libtorch: DataLoaderOptions().batch_size(128).shuffle(false).
class DataLoaderOptions {
  MINIDL_ARG(int64_t, batch_size, 128)
  MINIDL_ARG(bool, shuffle, true)      // a new permutation every epoch, from (seed, epoch)
  MINIDL_ARG(bool, drop_last, false)   // drop the last, smaller batch
  MINIDL_ARG(int, workers, 2)          // worker threads; 0: batches are prepared by next() itself
  MINIDL_ARG(int, prefetch, 4)         // batches prepared ahead at most (at least workers)
  MINIDL_ARG(uint64_t, seed, 0)        // shuffling and augmentation
  MINIDL_ARG(AugmentOptions, augment, AugmentOptions::normalize_only())
  MINIDL_ARG(Device, device, Device::cpu())
  MINIDL_ARG(bool, gpu_augment, true)  // on CUDA: augment on the GPU (else on the workers, then upload)
};

class DataLoader {
 public:
  // `data` must outlive the loader (it is not copied).
  DataLoader(const Cifar10& data, DataLoaderOptions options);
  ~DataLoader();
  DataLoader(const DataLoader&) = delete;
  DataLoader& operator=(const DataLoader&) = delete;

  // Starts (or restarts) epoch `epoch`: stops the previous epoch's workers if still running,
  // fixes the order and starts preparing batches. Resets wait_seconds().
  void start_epoch(int64_t epoch);
  // The next batch of the epoch, in order; false once the epoch is over. Rethrows a worker's
  // exception (the epoch then ends).
  bool next(Batch& out);
  // Stops the workers and drops prepared batches (also done by the destructor).
  void stop();

  int64_t num_batches() const;
  int64_t epoch() const { return epoch_; }
  const DataLoaderOptions& options() const { return opt_; }
  // Time the caller spent blocked in next() during the current epoch (with 0 workers: the time
  // next() spent preparing batches; on CUDA it includes the upload).
  double wait_seconds() const { return wait_seconds_; }
  // The images of `batch` mirrored left-right, otherwise prepared as the loader prepares them
  // (normalized, on its device; no crop or cutout): the second view of flip test-time augmentation.
  Tensor mirrored_images(const Batch& batch) const;
  // The sample order of `epoch` (the identity without shuffle).
  std::vector<int64_t> epoch_order(int64_t epoch) const;

 private:
  // What a worker hands to next(): the finished CPU batch, or (GPU augmentation) the gathered
  // uint8 images and their parameters.
  struct Prepared {
    Batch batch;
    std::vector<uint8_t> pixels;
    std::vector<AugmentParam> params;
  };
  Prepared prepare(int64_t b) const;
  Batch finish(Prepared&& p) const;  // uploads / augments on the GPU; runs on the caller's thread
  void worker_loop();

  const Cifar10& data_;
  DataLoaderOptions opt_;
  int64_t epoch_ = -1;
  std::vector<int64_t> order_;
  double wait_seconds_ = 0;
  int64_t next_out_ = 0;  // the next batch next() hands out

  std::mutex mu_;
  std::condition_variable ready_cv_, space_cv_;  // "a batch is ready" / "room in the queue"
  std::map<int64_t, Prepared> ready_;           // finished batches by index, not yet handed out
  int64_t next_claim_ = 0;                      // the next batch index a worker takes
  bool stopping_ = false;
  std::exception_ptr error_;
  std::vector<std::thread> workers_;
};

}  // namespace minidl::data
