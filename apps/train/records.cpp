#include "apps/train/records.h"

#include "core/error.h"

namespace minidl::train {

nlohmann::json to_json(const EpochRecord& r) {
  return {{"epoch", r.epoch},         {"train_loss", r.train_loss}, {"train_acc", r.train_acc},
          {"test_loss", r.test_loss}, {"test_acc", r.test_acc},     {"lr_first", r.lr_first}, {"lr", r.lr},
          {"seconds", r.seconds},     {"data_wait", r.data_wait},   {"images_per_second", r.images_per_second}};
}

EpochRecord epoch_record_from_json(const nlohmann::json& j, const std::string& where) {
  MINIDL_CHECK(j.is_object(), where, ": an epoch record is not an object: ", j.dump().substr(0, 80));
  auto num = [&](const char* key) {
    MINIDL_CHECK(j.contains(key) && j.at(key).is_number(), where, ": epoch record field '", key,
                 "' is missing or not a number");
    return j.at(key).get<double>();
  };
  EpochRecord r;
  MINIDL_CHECK(j.contains("epoch") && j.at("epoch").is_number_integer(), where,
               ": epoch record field 'epoch' is missing or not an integer");
  r.epoch = j.at("epoch").get<int64_t>();
  r.train_loss = num("train_loss"), r.train_acc = num("train_acc");
  r.test_loss = num("test_loss"), r.test_acc = num("test_acc");
  r.lr = num("lr"), r.seconds = num("seconds"), r.data_wait = num("data_wait");
  r.images_per_second = num("images_per_second");
  // Records written before lr_first existed logged one rate (the one after the epoch's last step).
  r.lr_first = j.contains("lr_first") ? num("lr_first") : r.lr;
  return r;
}

std::pair<double, int64_t> best_epoch(const std::vector<EpochRecord>& history) {
  double best = -1;
  int64_t at = 0;
  for (const EpochRecord& e : history)
    if (e.test_acc > best) best = e.test_acc, at = e.epoch;
  return {history.empty() ? 0.0 : best, at};
}

}  // namespace minidl::train
