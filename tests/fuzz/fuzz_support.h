// What the fuzz harnesses share. Each harness defines LLVMFuzzerTestOneInput:
// bad input must end in netc::InputError (or an exception its reader
// documents for it); anything else (another exception, a crash, a sanitizer
// report, a leak, a hang) is a defect. Built with clang as libFuzzer targets
// (tools/fuzz.sh), or with replay_main.cpp to run the corpus in the test suite.
#pragma once

#include <fcntl.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

namespace netc::fuzz {

// Stops the run when a harness's own check fails, so that libFuzzer keeps the
// input (abort is a crash to it) and the replay test fails.
inline void require(bool ok, const std::string& what) {
  if (ok) return;
  std::fprintf(stderr, "fuzz check failed: %s\n", what.c_str());
  std::abort();
}

// Error messages end up on one line after "netc: error: " (docs/cli.md).
inline void require_one_line(const std::string& message) {
  require(message.find('\n') == std::string::npos, "message spans several lines: " + message);
}

// A rejection of `text`, read as `file`: one line "FILE:LINE:COLUMN: ...",
// located inside the text (or just past its end).
inline void require_located(const std::string& message, const std::string& text, const std::string& file) {
  require_one_line(message);
  int line = 0, column = 0, consumed = 0;
  const std::string format = file + ":%d:%d: %n";
  int lines = 1;
  for (char ch : text) lines += ch == '\n';
  require(std::sscanf(message.c_str(), format.c_str(), &line, &column, &consumed) == 2 && consumed > 0,
          "message without FILE:LINE:COLUMN: " + message);
  require(line >= 1 && column >= 1 && line <= lines + 1, "message located outside the file: " + message);
}

// A folder for the files a harness writes, on tmpfs where there is one
// (netc's writers sync, which a disk would make slow), removed at exit.
class ScratchFolder {
 public:
  explicit ScratchFolder(const std::string& harness) {
    const std::filesystem::path base =
        std::filesystem::is_directory("/dev/shm") ? "/dev/shm" : std::filesystem::temp_directory_path();
    path_ = (base / ("netc-fuzz-" + harness + "-XXXXXX")).string();
    require(mkdtemp(path_.data()) != nullptr, "mkdtemp failed");
  }
  ~ScratchFolder() { std::filesystem::remove_all(path_); }
  ScratchFolder(const ScratchFolder&) = delete;
  ScratchFolder& operator=(const ScratchFolder&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// netc's readers open files by name; libFuzzer hands out bytes. An in-memory
// file (memfd), opened through its /proc/self/fd name, joins the two without
// touching the disk.
class InMemoryFile {
 public:
  InMemoryFile() : fd_(memfd_create("netc-fuzz-input", MFD_CLOEXEC)) {
    require(fd_ >= 0, "memfd_create failed");
    path_ = "/proc/self/fd/" + std::to_string(fd_);
  }
  ~InMemoryFile() { close(fd_); }
  InMemoryFile(const InMemoryFile&) = delete;
  InMemoryFile& operator=(const InMemoryFile&) = delete;

  // Makes `bytes` the whole file; returns its name.
  const std::string& hold(const void* bytes, size_t size) {
    require(ftruncate(fd_, 0) == 0, "ftruncate failed");
    const auto* p = static_cast<const char*>(bytes);
    for (size_t done = 0; done < size;) {
      ssize_t n = pwrite(fd_, p + done, size - done, off_t(done));
      require(n > 0, "pwrite failed");
      done += size_t(n);
    }
    return path_;
  }
  const std::string& hold(const std::string& bytes) { return hold(bytes.data(), bytes.size()); }

 private:
  int fd_;
  std::string path_;
};

}  // namespace netc::fuzz
