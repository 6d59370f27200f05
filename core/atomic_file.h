// Writing a file so that readers only ever see the old version or the complete new one, and a
// failure is never silent. Every file minidl writes (checkpoints, weights, metrics, pictures)
// goes through here:
//   1. create a unique temporary file in the target's folder (mkstemp: O_CREAT|O_EXCL, so a
//      symlink or a file planted under a predictable name is never followed or reused),
//   2. write, checking every write(2) (short writes are retried, errors reported),
//   3. fsync the file and check close(2) (NFS and full disks report errors there),
//   4. rename over the target (atomic on POSIX file systems), then fsync the folder so the
//      rename itself survives a power loss.
// On any failure the temporary file is removed, the old target is left untouched, and
// minidl::Error names the target and the reason (the errno text).
//
//   write_file_atomically("run/metrics.csv", csv_text);
//
//   AtomicFile f("run/model.safetensors");      // streaming writes
//   f.write(header.data(), header.size());
//   f.commit();                                 // without commit(), the destructor discards it
//
// A writer that insists on opening the file by name itself (PLplot) writes into temp_path()
// after release_for_external_writer() and the file is then committed the same way.
#pragma once
#include <cstddef>
#include <string>

namespace minidl {

class AtomicFile {
 public:
  explicit AtomicFile(std::string path);  // creates the temporary file; throws on failure
  ~AtomicFile();                           // removes the temporary file unless committed
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;

  void write(const void* data, size_t n);
  // fsync + close + rename + fsync(folder). After this the object is done.
  void commit();

  const std::string& path() const { return path_; }
  const std::string& temp_path() const { return tmp_; }
  // Closes our descriptor so another library can write temp_path() by name; commit() then
  // reopens it to fsync.
  void release_for_external_writer();

 private:
  [[noreturn]] void fail(const std::string& what, int err);
  std::string path_, tmp_;
  int fd_ = -1;
  bool done_ = false;
};

void write_file_atomically(const std::string& path, const void* data, size_t n);
inline void write_file_atomically(const std::string& path, const std::string& text) {
  write_file_atomically(path, text.data(), text.size());
}

// fsync of a folder (after a rename into it); throws naming the folder.
void sync_directory(const std::string& dir);

}  // namespace minidl
