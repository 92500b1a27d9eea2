// fork/exec rather than posix_spawn: the child needs PR_SET_PDEATHSIG, which
// posix_spawn cannot set. Between fork and exec only async-signal-safe calls
// are made (nbmsd is multi-threaded): everything is prepared before fork.
#include "nbms/process/child.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <system_error>
#include <utility>

namespace nbms::process {

namespace {
// strerror is not thread-safe (nbmsd runs many threads); this is.
std::string errno_text(int e) {
  return std::generic_category().message(e);
}
}  // namespace

Backoff::Backoff(std::chrono::milliseconds min, std::chrono::milliseconds max,
                 std::chrono::milliseconds stable)
    : min_(std::max(min, std::chrono::milliseconds(1))),
      max_(std::max(max, min_)),
      stable_(stable) {}

std::chrono::milliseconds Backoff::next(std::chrono::milliseconds ran) {
  if (ran >= stable_) failures_ = 0;
  ++failures_;
  auto delay = min_;
  for (int i = 1; i < failures_ && delay < max_; ++i) delay *= 2;
  return std::min(delay, max_);
}

std::string describe_status(int wait_status) {
  if (WIFEXITED(wait_status)) return "exit " + std::to_string(WEXITSTATUS(wait_status));
  if (WIFSIGNALED(wait_status)) {
    const int sig = WTERMSIG(wait_status);
    const char* name = ::sigdescr_np(sig);  // strsignal's thread-safe variant (glibc 2.32)
    return "signal " + std::to_string(sig) + (name ? " (" + std::string(name) + ")" : "");
  }
  return "status " + std::to_string(wait_status);
}

std::vector<std::string> LineSplitter::feed(std::string_view bytes) {
  std::vector<std::string> out;
  for (char c : bytes) {
    if (c == '\n') {
      out.push_back(std::move(partial_));
      partial_.clear();
    } else if (partial_.size() < max_line_) {
      partial_ += c;
    } else {
      out.push_back(std::move(partial_));
      partial_.assign(1, c);
    }
  }
  return out;
}

std::optional<std::string> LineSplitter::flush() {
  if (partial_.empty()) return std::nullopt;
  std::string out = std::move(partial_);
  partial_.clear();
  return out;
}

namespace {

// In the child after fork: only async-signal-safe calls, then exec. On any
// failure the errno goes to `err_fd` (close-on-exec, so a successful exec
// closes it and the parent reads EOF).
[[noreturn]] void die_with_errno(int err_fd) {
  const int e = errno;
  (void)!::write(err_fd, &e, sizeof e);
  ::_exit(127);
}

[[noreturn]] void exec_child(char* const* argv, int out_fd, int err_fd, pid_t parent) {
  const auto die = [err_fd] { die_with_errno(err_fd); };
  if (::prctl(PR_SET_PDEATHSIG, SIGTERM) != 0) die();
  if (::getppid() != parent) ::_exit(0);  // the parent died before prctl
  sigset_t none;
  ::sigemptyset(&none);
  // After fork the child has one thread, and sigprocmask is async-signal-safe
  // (pthread_sigmask is not on POSIX's list).
  // NOLINTNEXTLINE(concurrency-mt-unsafe): see above
  if (::sigprocmask(SIG_SETMASK, &none, nullptr) != 0) die();
  for (int sig = 1; sig < NSIG; ++sig) {
    if (sig != SIGKILL && sig != SIGSTOP) ::signal(sig, SIG_DFL);
  }
  const int null_fd = ::open("/dev/null", O_RDONLY);
  if (null_fd < 0 || ::dup2(null_fd, STDIN_FILENO) < 0) die();
  if (::dup2(out_fd, STDOUT_FILENO) < 0 || ::dup2(out_fd, STDERR_FILENO) < 0) die();
  // Close everything else but the error pipe (close-on-exec already).
  const long max_fd = ::sysconf(_SC_OPEN_MAX);
  for (int fd = 3; fd < (max_fd > 0 ? max_fd : 1024); ++fd) {
    if (fd != err_fd) ::close(fd);
  }
  ::execv(argv[0], argv);
  die_with_errno(err_fd);
}

}  // namespace

Result<ChildProcess> ChildProcess::spawn(const std::vector<std::string>& argv,
                                         LineHandler on_line) {
  if (argv.empty() || argv.front().empty() || argv.front().front() != '/') {
    return fail(Errc::invalid_argument, "the program must be an absolute path");
  }
  std::vector<std::string> args = argv;  // owned copies: c_str() stays valid in the child
  std::vector<char*> cargv;
  cargv.reserve(args.size() + 1);
  for (auto& a : args) cargv.push_back(a.data());
  cargv.push_back(nullptr);

  int out[2];
  int err[2];
  if (::pipe2(out, O_CLOEXEC) != 0) {
    return fail(Errc::io, std::string("pipe: ") + errno_text(errno));
  }
  if (::pipe2(err, O_CLOEXEC) != 0) {
    const int e = errno;
    ::close(out[0]);
    ::close(out[1]);
    return fail(Errc::io, std::string("pipe: ") + errno_text(e));
  }
  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid < 0) {
    const int e = errno;
    for (int fd : {out[0], out[1], err[0], err[1]}) ::close(fd);
    return fail(Errc::io, std::string("fork: ") + errno_text(e));
  }
  if (pid == 0) {
    ::close(out[0]);
    ::close(err[0]);
    exec_child(cargv.data(), out[1], err[1], parent);
  }
  ::close(out[1]);
  ::close(err[1]);
  int child_errno = 0;
  ssize_t n;
  do {
    n = ::read(err[0], &child_errno, sizeof child_errno);
  } while (n < 0 && errno == EINTR);
  ::close(err[0]);
  if (n == static_cast<ssize_t>(sizeof child_errno)) {
    ::close(out[0]);
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    return fail(Errc::io, "cannot run '" + argv.front() + "': " + errno_text(child_errno));
  }
  ::fcntl(out[0], F_SETFL, ::fcntl(out[0], F_GETFL) | O_NONBLOCK);
  return ChildProcess(pid, out[0], std::move(on_line));
}

ChildProcess::ChildProcess(pid_t pid, int out_fd, LineHandler on_line)
    : pid_(pid), out_fd_(out_fd), on_line_(std::move(on_line)) {}

ChildProcess::ChildProcess(ChildProcess&& other) noexcept
    : pid_(std::exchange(other.pid_, -1)),
      out_fd_(std::exchange(other.out_fd_, -1)),
      on_line_(std::move(other.on_line_)),
      lines_(std::move(other.lines_)),
      status_(std::exchange(other.status_, std::nullopt)) {}

ChildProcess& ChildProcess::operator=(ChildProcess&& other) noexcept {
  if (this != &other) {
    reset();
    pid_ = std::exchange(other.pid_, -1);
    out_fd_ = std::exchange(other.out_fd_, -1);
    on_line_ = std::move(other.on_line_);
    lines_ = std::move(other.lines_);
    status_ = std::exchange(other.status_, std::nullopt);
  }
  return *this;
}

ChildProcess::~ChildProcess() {
  reset();
}

void ChildProcess::reset() {
  if (running()) {
    ::kill(pid_, SIGKILL);
    int status = 0;
    while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
  }
  if (out_fd_ >= 0) ::close(out_fd_);
  out_fd_ = -1;
  pid_ = -1;
}

void ChildProcess::drain() {
  if (out_fd_ < 0) return;
  char buf[4096];
  for (;;) {
    const ssize_t n = ::read(out_fd_, buf, sizeof buf);
    if (n > 0) {
      for (auto& line : lines_.feed({buf, static_cast<std::size_t>(n)})) {
        if (on_line_) on_line_(line);
      }
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n == 0) {  // every writer closed: the child (and anything it forked) is gone
      if (auto rest = lines_.flush(); rest && on_line_) on_line_(*rest);
      ::close(out_fd_);
      out_fd_ = -1;
    }
    return;  // EAGAIN: nothing more for now
  }
}

std::optional<int> ChildProcess::poll(std::chrono::milliseconds wait) {
  if (status_) return status_;
  if (pid_ <= 0) return std::nullopt;
  if (out_fd_ >= 0) {
    pollfd p{out_fd_, POLLIN, 0};
    const int r = ::poll(&p, 1, static_cast<int>(wait.count()));
    if (r > 0) drain();
  }
  int status = 0;
  const pid_t got = ::waitpid(pid_, &status, WNOHANG);
  if (got == pid_) {
    drain();
    status_ = status;
  } else if (out_fd_ < 0 && got == 0) {
    // Output closed but not exited yet: wait a little without spinning.
    ::poll(nullptr, 0, static_cast<int>(std::min(wait, std::chrono::milliseconds(50)).count()));
  }
  return status_;
}

Result<void> ChildProcess::signal(int sig) const {
  if (!running()) return fail(Errc::unavailable, "the process is not running");
  if (::kill(pid_, sig) != 0) {
    return fail(Errc::io, std::string("kill: ") + errno_text(errno));
  }
  return {};
}

int ChildProcess::terminate(std::chrono::milliseconds grace) {
  if (status_) return *status_;
  if (pid_ <= 0) return 0;
  ::kill(pid_, SIGTERM);
  const auto deadline = std::chrono::steady_clock::now() + grace;
  while (!poll(std::chrono::milliseconds(20)) && std::chrono::steady_clock::now() < deadline) {
  }
  if (!status_) {
    ::kill(pid_, SIGKILL);
    int status = 0;
    while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
    drain();
    status_ = status;
  }
  return *status_;
}

}  // namespace nbms::process
