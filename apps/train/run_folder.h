// Run folders: where a new run writes, and the rule that a run is never overwritten by accident.
//   --out not given   runs/<model>-<norm>, or the first of runs/<model>-<norm>-2, -3, ... that
//                     holds no run: a new run never lands on an earlier one.
//   --out DIR         DIR must not hold a run (its checkpoint, weights or metrics); if it does,
//                     the error names it and suggests --out NEW, --resume DIR or --overwrite.
//   --overwrite       the run files in DIR (and in its batch/group/layer folders) are deleted
//                     first; other files are left alone.
#pragma once
#include <string>
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
// The folder a new run (norm "all" included) writes into, checked as above; creates it.
std::string prepare_new_run_folder(const Recipe& recipe, const Environment& env);

}  // namespace minidl::train
