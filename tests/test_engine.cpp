// Engines: the defaults, choosing one in code (set, EngineGuard) and through the environment
// variable, and the errors for an engine a family or this build does not have.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <memory>

#include "core/cuda_context.h"
#include "core/env.h"
#include "kernels/conv.h"
#include "kernels/engine.h"
#include "kernels/linear.h"
#include "kernels/loss.h"
#include "kernels/norm.h"
#include "kernels/softmax.h"
#include "test_util.h"

using namespace minidl;

TEST_CASE("engine defaults", "[engine]") {
  // The tuned engine where one exists, the reference elsewhere; the hand-written kernels on CUDA.
  CHECK(conv_engine().active(Device::cpu()) == Engine::Cpu);
  CHECK(gemm_engine().active(Device::cpu()) == Engine::Cpu);
  CHECK(softmax_engine().active(Device::cpu()) == Engine::Cpu);
  CHECK(loss_engine().active(Device::cpu()) == Engine::Cpu);
  CHECK(batch_norm_engine().active(Device::cpu()) == Engine::Cpu);
  CHECK(group_norm_engine().active(Device::cpu()) == Engine::Cpu);
  CHECK(layer_norm_engine().active(Device::cpu()) == Engine::Cpu);
  CHECK(engine_registry().size() == 12);
  for (EngineChoice* c : engine_registry()) {
    INFO(c->family());
    CHECK(c->active(Device::cpu()) == c->engines(DeviceType::CPU).front());
    CHECK(c->active(Device::cuda()) == Engine::Cuda);
    // Every family has the reference, which the [cuda] runner compares every CUDA engine with.
    const auto& cpu = c->engines(DeviceType::CPU);
    CHECK(std::find(cpu.begin(), cpu.end(), Engine::Ref) != cpu.end());
  }
  CHECK(std::string(conv_engine().env_var()) == "MINIDL_CONV_ENGINE");
  CHECK(std::string(engine_name(Engine::Cudnn)) == "cudnn");
  CHECK(engine_device(Engine::Ref) == DeviceType::CPU);
  CHECK(engine_device(Engine::Cublas) == DeviceType::CUDA);
}

TEST_CASE("engine set and guard", "[engine]") {
  {
    const EngineGuard use(conv_engine(), Engine::Ref);
    CHECK(conv_engine().active(Device::cpu()) == Engine::Ref);
    CHECK(conv_engine().active(Device::cuda()) == Engine::Cuda);  // the other device keeps its engine
  }
  CHECK(conv_engine().active(Device::cpu()) == Engine::Cpu);  // restored
  conv_engine().set(Engine::Ref);
  CHECK(conv_engine().active(Device::cpu()) == Engine::Ref);
  conv_engine().reset();
  CHECK(conv_engine().active(Device::cpu()) == Engine::Cpu);
}

TEST_CASE("engine errors name the family and the reason", "[engine][errors]") {
  // An engine the family does not have.
  CHECK_THROWS_WITH(softmax_engine().set(Engine::Cudnn),
                    Catch::Contains("softmax has no cudnn engine") && Catch::Contains("CUDA: cuda"));
  CHECK_THROWS_WITH(batch_norm_engine().set(Engine::Cublas), Catch::Contains("batch_norm has no cublas engine"));
  CHECK_THROWS_WITH(group_norm_engine().set(Engine::Cudnn), Catch::Contains("group_norm has no cudnn engine"));
  CHECK_THROWS_WITH(layer_norm_engine().set(Engine::Cudnn), Catch::Contains("layer_norm has no cudnn engine"));
  // A vendor engine this build lacks (every build without a GPU toolkit; the interpreter too).
  if (!engine_available(Engine::Cudnn)) {
    CHECK_THROWS_WITH(conv_engine().set(Engine::Cudnn),
                      Catch::Contains("not available") && Catch::Contains(engine_missing_reason(Engine::Cudnn)));
    CHECK(conv_engine().active(Device::cuda()) == Engine::Cuda);  // unchanged
  }
  if (!engine_available(Engine::Cuda)) CHECK_THROWS_WITH(conv_engine().set(Engine::Cuda), Catch::Contains("without CUDA"));
  CHECK(engine_available(Engine::Ref));
  CHECK(engine_available(Engine::Cpu));
}

TEST_CASE("engine environment variable", "[engine]") {
  // A choice reads its variable once, when it is made: a family of our own for the test, reading
  // a real variable (only the table's variables can be read), restored afterwards.
  const char* before = std::getenv("MINIDL_SOFTMAX_ENGINE");
  const std::string saved = before ? before : "";
  auto make = [](const char* value) {
    ::setenv("MINIDL_SOFTMAX_ENGINE", value, 1);
    return std::make_unique<EngineChoice>("test_op", "MINIDL_SOFTMAX_ENGINE",
                                          std::initializer_list<Engine>{Engine::Cpu, Engine::Ref},
                                          std::initializer_list<Engine>{Engine::Cuda});
  };
  CHECK(make("")->active(Device::cpu()) == Engine::Cpu);
  CHECK(make("ref")->active(Device::cpu()) == Engine::Ref);
  if (engine_available(Engine::Cuda)) CHECK(make("ref,cuda")->active(Device::cuda()) == Engine::Cuda);
  CHECK_THROWS_WITH(make("fast"), Catch::Contains("MINIDL_SOFTMAX_ENGINE='fast'") &&
                                      Catch::Contains("unknown engine 'fast'") &&
                                      Catch::Contains("test_op has cpu, ref (CPU) and cuda (CUDA)"));
  CHECK_THROWS_WITH(make("cudnn"), Catch::Contains("test_op has no cudnn engine"));
  CHECK_THROWS_WITH(make("ref,cpu"), Catch::Contains("two engines for the same device"));
  if (before) ::setenv("MINIDL_SOFTMAX_ENGINE", saved.c_str(), 1);
  else ::unsetenv("MINIDL_SOFTMAX_ENGINE");
}

namespace {
std::string read_source(const std::filesystem::path& p) {
  std::ifstream f(p);
  REQUIRE(f.good());
  std::ostringstream ss;
  ss << f.rdbuf();
  return ss.str();
}
}  // namespace

TEST_CASE("every engine family and environment variable is documented, and read in one place", "[engine][docs]") {
  namespace fs = std::filesystem;
  const fs::path root = MINIDL_SOURCE_DIR;
  const std::string architecture = read_source(root / "docs/architecture.md"), ops = read_source(root / "docs/ops.md");
  auto listed = [](const char* name) {
    for (const EnvVar& v : env_vars())
      if (std::string(v.name) == name) return true;
    return false;
  };
  for (EngineChoice* c : engine_registry()) {
    INFO(c->family() << " (" << c->env_var() << ")");
    CHECK(listed(c->env_var()));
    CHECK(ops.find(c->env_var()) != std::string::npos);  // its row in the families table
  }
  for (const EnvVar& v : env_vars()) {
    INFO(v.name);
    CHECK(architecture.find(v.name) != std::string::npos);
  }
  CHECK_THROWS_WITH(env_value("MINIDL_NO_SUCH_SETTING"), Catch::Contains("not in the table"));
  // Nothing but core/env.cpp calls getenv (tests may: they set variables up).
  for (const char* dir : {"core", "kernels", "layers", "optim", "data", "apps"})
    for (const auto& e : fs::recursive_directory_iterator(root / dir)) {
      const std::string ext = e.path().extension().string();
      if (ext != ".cpp" && ext != ".h" && ext != ".cu" && ext != ".cuh") continue;
      if (e.path() == root / "core/env.cpp") continue;
      INFO(e.path().string());
      CHECK(read_source(e.path()).find("getenv(") == std::string::npos);
    }
}

TEST_CASE("kernels/ref/ stays the plain specification", "[engine][docs]") {
  // The references are what every engine is tested against and what gradcheck runs on: plain
  // loops next to the math. Speed work (threading decisions, SIMD pragmas, tiles) belongs in the
  // tuned engine beside them, kernels/cpu/F.cpp. Allowed: `#pragma omp parallel for`, with
  // collapse(n), and nothing else from OpenMP.
  namespace fs = std::filesystem;
  const fs::path ref = fs::path(MINIDL_SOURCE_DIR) / "kernels/ref";
  int files = 0;
  for (const auto& e : fs::directory_iterator(ref)) {
    if (e.path().extension() != ".cpp") continue;
    ++files;
    const std::string src = read_source(e.path());
    INFO(e.path().string());
    for (const char* banned : {"parallel_pays", "streaming_pays", "fixed_split_pays", "core/parallel.h", "simd",
                               "schedule(", "#include \"kernels/cpu/", "immintrin", "kTile", "kBlock", "kChunk"})
      CHECK(src.find(banned) == std::string::npos);
    std::istringstream lines(src);
    std::string line;
    while (std::getline(lines, line)) {
      const auto at = line.find("#pragma omp");
      if (at == std::string::npos) continue;
      const std::string rest = line.substr(at);
      INFO(line);
      CHECK((rest == "#pragma omp parallel for" || rest.rfind("#pragma omp parallel for collapse(", 0) == 0));
    }
  }
  CHECK(files >= 11);
}

TEST_CASE("documentation links point at files and lines that exist", "[engine][docs]") {
  // Links to source lines go stale when code moves: tools/remap_doc_links.py moves them with the
  // code; this catches what it could not (a file gone, an anchor past the end).
  namespace fs = std::filesystem;
  const fs::path root = MINIDL_SOURCE_DIR;
  std::vector<fs::path> docs = {root / "README.md"};
  for (const auto& e : fs::directory_iterator(root / "docs"))
    if (e.path().extension() == ".md") docs.push_back(e.path());
  int checked = 0;
  for (const fs::path& doc : docs) {
    const std::string text = read_source(doc);
    for (size_t at = text.find("]("); at != std::string::npos; at = text.find("](", at + 2)) {
      const size_t end = text.find(')', at);
      if (end == std::string::npos) break;
      std::string target = text.substr(at + 2, end - at - 2);
      if (target.rfind("http", 0) == 0 || target.empty() || target[0] == '#' || target.find(' ') != std::string::npos)
        continue;
      std::string anchor;
      if (const size_t hash = target.find('#'); hash != std::string::npos)
        anchor = target.substr(hash + 1), target = target.substr(0, hash);
      const fs::path file = doc.parent_path() / target;
      INFO(doc.filename().string() << ": " << text.substr(at + 2, end - at - 2));
      CHECK(fs::exists(file));
      ++checked;
      if (anchor.size() > 1 && anchor[0] == 'L' && std::isdigit(static_cast<unsigned char>(anchor[1])) &&
          fs::is_regular_file(file)) {
        const long first = std::stol(anchor.substr(1));
        const size_t dash = anchor.find("-L");
        const long last = dash == std::string::npos ? first : std::stol(anchor.substr(dash + 2));
        const std::string src = read_source(file);
        const long lines = static_cast<long>(std::count(src.begin(), src.end(), '\n'));
        CHECK(first >= 1);
        CHECK(first <= last);
        CHECK(last <= lines);
      }
    }
  }
  CHECK(checked > 100);
}
