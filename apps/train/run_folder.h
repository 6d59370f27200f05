// Run folders: where a new run writes, and the rule that a run is never overwritten by accident.
//   --out not given   runs/<model>-<norm>, or the first of runs/<model>-<norm>-2, -3, ... that
//                     holds no run: a new run never lands on an earlier one.
//   --out DIR         DIR must not hold a run (its checkpoint, weights or metrics); if it does,
//                     the error names it and suggests --out NEW, --resume DIR or --overwrite.
//   --overwrite       the run files in DIR (and in its batch/group/layer folders) are deleted
//                     first; other files are left alone.
// A run claims its folder before it trains (an exclusive lock on DIR/.train_cifar.lock, held until
// the process ends, however it ends): a second run started at the same moment numbers past a
// claimed folder, and an --out or --resume that names a folder another live run holds is refused.
#pragma once
#include <string>
#include <utility>
#include <vector>

#include "apps/train/config.h"

namespace minidl::train {

// Absolute and lexically normal ("runs/../x" -> "/cwd/x"); does not need the path to exist.
std::string absolute_path(const std::string& path);
// The run files present in dir (checkpoint.safetensors, model.safetensors, metrics.json, ...).
std::vector<std::string> run_files_in(const std::string& dir);
// True when dir (or, for a --norm all folder, one of its norm folders) holds a run.
bool holds_run(const std::string& dir);
// Deletes the temporary files a killed run can leave behind (NAME.<hex>.tmp for the run's own
// file names, see core/atomic_file.h); returns how many.
int remove_stale_temp_files(const std::string& dir);
// A claim on a run folder: an exclusive flock on DIR/.train_cifar.lock, released when the last
// claim of this process on that folder is destroyed, or by the kernel when the process ends
// (kill -9 included). Claims of one process on one folder nest.
class RunFolderClaim {
 public:
  RunFolderClaim() = default;
  RunFolderClaim(RunFolderClaim&& other) noexcept : dir_(std::move(other.dir_)) { other.dir_.clear(); }
  RunFolderClaim& operator=(RunFolderClaim&& other) noexcept;
  RunFolderClaim(const RunFolderClaim&) = delete;
  RunFolderClaim& operator=(const RunFolderClaim&) = delete;
  ~RunFolderClaim() { release(); }
  bool held() const { return !dir_.empty(); }
  void release();

 private:
  friend RunFolderClaim try_claim_run_folder(const std::string& dir);
  std::string dir_;  // absolute; empty: nothing held
};
// Claims dir (creating it); an empty claim when another live process holds it.
RunFolderClaim try_claim_run_folder(const std::string& dir);
// The same, or an error naming the folder, the process that holds it and what to do (`what`: the
// flag that named the folder).
RunFolderClaim claim_run_folder(const std::string& dir, const std::string& what);
// The folder a new run (norm "all" included) writes into, checked as above, created and claimed
// (into *claim, which the caller keeps while the run lasts).
std::string prepare_new_run_folder(const Recipe& recipe, const Environment& env, RunFolderClaim* claim);
// Writes and removes a probe file with a name as long as the longest a run writes: a read-only or
// full folder, or a path too long for the temporary names, is reported before anything trains.
void check_writable(const std::string& dir);

}  // namespace minidl::train
