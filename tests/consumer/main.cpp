// A program written against the installed minidl the way a libtorch user writes one: a model
// class of its own (convolutions, batch and group norm, pooling, dropout, a linear layer),
// cross-entropy, SGD with a OneCycle schedule, one epoch over CIFAR-10-shaped data through the
// DataLoader, then the weights saved and loaded back. Only <minidl.h>.
//
// The data are synthetic, so the install test needs no download: ten classes, each a colour of
// its own under heavy per-pixel noise. Exits 0 when the epoch learned them and the saved weights
// reproduce the model's outputs.
//
// The part between the "README example" lines is README.md's library example, word for word:
// the readme_example test compares the two.
#include <minidl.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <random>
#include <vector>

namespace {

// n images [3, 32, 32] in the CIFAR-10 binary layout: class c is colour palette[c] plus noise
// (standard deviation 60 of 255), so only the average colour of an image tells its class.
minidl::data::Cifar10 synthetic_cifar(int64_t n, uint32_t seed) {
  using minidl::data::Cifar10;
  static const int palette[10][3] = {{230, 40, 40},  {40, 230, 40},   {40, 40, 230},   {230, 230, 40}, {230, 40, 230},
                                     {40, 230, 230}, {140, 140, 140}, {240, 140, 40},  {40, 40, 40},   {240, 240, 240}};
  std::mt19937 gen(seed);
  std::normal_distribution<double> noise(0.0, 60.0);
  Cifar10 d;
  d.class_names = minidl::data::cifar10_class_names();
  d.folder = "synthetic";
  d.pixels.resize(static_cast<size_t>(n * Cifar10::kImageBytes));
  for (int64_t i = 0; i < n; ++i) {
    const int64_t label = i % 10;
    d.labels.push_back(label);
    uint8_t* img = d.pixels.data() + i * Cifar10::kImageBytes;
    for (int64_t c = 0; c < 3; ++c)
      for (int64_t p = 0; p < 32 * 32; ++p)
        img[c * 1024 + p] = static_cast<uint8_t>(std::fmin(255.0, std::fmax(0.0, palette[label][c] + noise(gen))));
  }
  return d;
}

}  // namespace

// README example begin
using namespace minidl;

// A model of your own: an XxxImpl deriving from nn::Module, its layers held by value and
// registered in the constructor; MINIDL_MODULE(Net) makes Net the holder (like TORCH_MODULE).
class NetImpl : public nn::Module {
 public:
  NetImpl() {
    conv1 = register_module("conv1", nn::Conv2d(nn::Conv2dOptions(3, 16, 3).padding(1)));
    norm1 = register_module("norm1", nn::BatchNorm2d(16));
    conv2 = register_module("conv2", nn::Conv2d(nn::Conv2dOptions(16, 32, 3).padding(1).bias(false)));
    norm2 = register_module("norm2", nn::GroupNorm(nn::GroupNormOptions(4, 32).eps(1e-5)));
    pool = register_module("pool", nn::MaxPool2d(2));
    gap = register_module("gap", nn::AdaptiveAvgPool2d(1));
    drop = register_module("drop", nn::Dropout(0.2));
    fc = register_module("fc", nn::Linear(32, 10));
  }

  Tensor forward(const Tensor& x) override {  // x [N, 3, 32, 32] -> logits [N, 10]
    Tensor h = pool(ops::relu(norm1(conv1(x))));  // [N, 16, 16, 16]
    h = pool(ops::relu(norm2(conv2(h))));         // [N, 32, 8, 8]
    h = ops::flatten(gap(h), 1);                  // [N, 32]
    return fc(drop(h));
  }

 private:
  nn::Conv2d conv1{nullptr}, conv2{nullptr};  // empty until the constructor registers them
  nn::BatchNorm2d norm1{nullptr};
  nn::GroupNorm norm2{nullptr};
  nn::MaxPool2d pool{nullptr};
  nn::AdaptiveAvgPool2d gap{nullptr};
  nn::Dropout drop{nullptr};
  nn::Linear fc{nullptr};
};
MINIDL_MODULE(Net);

// One epoch: batches of 64 (random crops and flips), cross-entropy, SGD with Nesterov momentum,
// the OneCycle schedule stepped after every batch. Returns the loss of each batch.
std::vector<double> train_one_epoch(Net& net, const data::Cifar10& train) {
  const auto augment = AugmentOptions().cutout(false);  // crop and flip
  data::DataLoader loader(train, data::DataLoaderOptions().batch_size(64).seed(1).augment(augment));
  optim::SGD opt(net->parameters(), optim::SGDOptions(0.05).momentum(0.9).nesterov(true).weight_decay(5e-4));
  optim::OneCycleLR schedule(opt, optim::OneCycleOptions(/*max_lr=*/0.2, /*epochs=*/1, loader.num_batches()));
  net->train();
  loader.start_epoch(0);
  std::vector<double> losses;
  for (data::Batch batch; loader.next(batch);) {
    Tensor loss = ops::cross_entropy(net(batch.images), batch.labels);
    opt.zero_grad();
    loss.backward();
    opt.step();
    schedule.step();
    losses.push_back(loss.item());
  }
  return losses;
}
// README example end

namespace {

// Accuracy in percent of the model (in eval mode) on the data, and its logits for all of it.
double accuracy(Net& net, const data::Cifar10& test, Tensor& logits) {
  NoGradGuard no_grad;
  net->eval();
  data::DataLoader loader(test, data::DataLoaderOptions().batch_size(test.size()).shuffle(false));
  loader.start_epoch(0);
  data::Batch batch;
  loader.next(batch);
  logits = net(batch.images);
  const std::vector<float> v = logits.to_vector<float>();
  int64_t correct = 0;
  for (int64_t i = 0; i < test.size(); ++i) {
    int64_t best = 0;
    for (int64_t c = 1; c < 10; ++c)
      if (v[i * 10 + c] > v[i * 10 + best]) best = c;
    correct += best == test.labels[i];
  }
  return 100.0 * static_cast<double>(correct) / static_cast<double>(test.size());
}

}  // namespace

int main() {
  try {
    manual_seed(1);
    const data::Cifar10 train = synthetic_cifar(1024, 1), test = synthetic_cifar(500, 2);
    Net net;
    std::printf("%s", net->str().c_str());
    const std::vector<double> losses = train_one_epoch(net, train);
    Tensor logits;
    const double acc = accuracy(net, test, logits);
    std::printf("one epoch, %zu steps: loss %.3f -> %.3f, held-out accuracy %.1f%%; cuda available: %d\n",
                losses.size(), losses.front(), losses.back(), acc, cuda::is_available());

    // The weights and batch norm's running statistics saved and loaded into a fresh model.
    save_safetensors("net.safetensors", net->state_dict());
    manual_seed(2);
    Net reloaded;
    reloaded->load_state_dict(load_safetensors("net.safetensors").tensors);
    Tensor logits2;
    const double acc2 = accuracy(reloaded, test, logits2);
    const bool same = logits.to_vector<float>() == logits2.to_vector<float>();
    std::printf("reloaded from net.safetensors: accuracy %.1f%%, identical logits: %s\n", acc2, same ? "yes" : "no");

    // Chance is 10%; the colours are easy once learned, so one epoch must get far above it.
    const bool learned = std::isfinite(losses.back()) && losses.back() < 0.5 * losses.front() && acc > 60.0;
    return learned && same ? 0 : 1;
  } catch (const Error& e) {
    std::fprintf(stderr, "consumer: %s\n", e.what());
    return 1;
  }
}
