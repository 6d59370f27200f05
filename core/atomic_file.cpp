#include "core/atomic_file.h"

#include <atomic>
#include <cerrno>
#include <cstdint>
#include <random>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <unistd.h>

#include "core/error.h"

namespace minidl {
namespace {

std::string folder_of(const std::string& path) {
  const size_t slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

std::string errno_text(int err) { return std::strerror(err); }

}  // namespace

AtomicFile::AtomicFile(std::string path) : path_(std::move(path)) {
  MINIDL_CHECK(!path_.empty() && path_.back() != '/', "cannot write '", path_, "': not a file name");
  // NAME.<random>.tmp next to the target: same file system, so the final rename is atomic.
  // O_EXCL refuses any existing name (a planted symlink included); mode 0666 & ~umask like any
  // other new file (mkstemp would make it 0600).
  static std::atomic<uint64_t> counter{0};
  std::random_device rd;
  for (int attempt = 0; attempt < 100; ++attempt) {
    char suffix[40];
    std::snprintf(suffix, sizeof suffix, ".%08x%04llx.tmp", rd(),
                  static_cast<unsigned long long>(counter.fetch_add(1) & 0xffff));
    tmp_ = path_ + suffix;
    fd_ = ::open(tmp_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0666);
    if (fd_ >= 0) return;
    if (errno != EEXIST) break;
  }
  const int err = errno;
  MINIDL_FAIL("cannot write '", path_, "': cannot create a temporary file in '", folder_of(path_), "': ",
              errno_text(err));
}

AtomicFile::~AtomicFile() {
  if (done_) return;
  if (fd_ >= 0) ::close(fd_);
  ::unlink(tmp_.c_str());
}

void AtomicFile::fail(const std::string& what, int err) {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  ::unlink(tmp_.c_str());
  done_ = true;
  MINIDL_FAIL("cannot write '", path_, "': ", what, ": ", errno_text(err), " (the previous version, if any, is kept)");
}

void AtomicFile::write(const void* data, size_t n) {
  MINIDL_CHECK(!done_ && fd_ >= 0, "AtomicFile::write on '", path_, "' after commit or release");
  const char* p = static_cast<const char*>(data);
  while (n > 0) {
    const ssize_t w = ::write(fd_, p, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      fail("write failed", errno);
    }
    if (w == 0) fail("write made no progress", EIO);
    p += w;
    n -= static_cast<size_t>(w);
  }
}

void AtomicFile::release_for_external_writer() {
  MINIDL_CHECK(!done_ && fd_ >= 0, "AtomicFile: '", path_, "' already released or committed");
  if (::close(fd_) != 0) {
    const int err = errno;
    fd_ = -1;
    fail("close failed", err);
  }
  fd_ = -1;
}

void AtomicFile::commit() {
  MINIDL_CHECK(!done_, "AtomicFile::commit on '", path_, "' twice");
  if (fd_ < 0) {  // written by someone else: reopen to flush it to disk
    fd_ = ::open(tmp_.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd_ < 0) fail("cannot reopen the temporary file '" + tmp_ + "'", errno);
  }
  if (::fsync(fd_) != 0) fail("fsync failed", errno);
  const int rc = ::close(fd_);
  fd_ = -1;
  if (rc != 0) fail("close failed", errno);
  if (std::rename(tmp_.c_str(), path_.c_str()) != 0) fail("cannot rename '" + tmp_ + "' over it", errno);
  done_ = true;
  sync_directory(folder_of(path_));
}

void write_file_atomically(const std::string& path, const void* data, size_t n) {
  AtomicFile f(path);
  f.write(data, n);
  f.commit();
}

void sync_directory(const std::string& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) {
    const int err = errno;
    MINIDL_FAIL("cannot open folder '", dir, "' to sync it: ", errno_text(err));
  }
  const int rc = ::fsync(fd);
  const int err = errno;
  ::close(fd);
  // Some file systems cannot fsync a folder (EINVAL); the rename is done either way.
  MINIDL_CHECK(rc == 0 || err == EINVAL, "cannot sync folder '", dir, "': ", errno_text(err));
}

}  // namespace minidl
