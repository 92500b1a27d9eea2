#pragma once
// Supervising one child process (the managed Mosquitto): POSIX fork/exec and
// waitpid, the child's stderr/stdout read line by line, and the restart delay
// after a crash. No threads of its own: the owner polls (ChildProcess::poll)
// from the thread that spawned the child.
//
// The child is started with an empty signal mask and default signal
// dispositions (nbmsd blocks SIGINT/SIGTERM and ignores SIGPIPE, which a child
// would otherwise inherit), with every other descriptor closed, and with
// PR_SET_PDEATHSIG = SIGTERM: if nbmsd dies without stopping it (SIGKILL), the
// child is told to stop too, so a restarted nbmsd finds its port free. The
// death signal follows the *thread* that forked, so spawn from a thread that
// lives as long as the child.
#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "nbms/core/error.hpp"

namespace nbms::process {

// The delay before restarting a child that exited: min, 2*min, 4*min, ... up
// to max after consecutive failures; back to min once a child has run for
// `stable` (a crash an hour later is not part of the same failure series).
// Pure: no clock of its own. Not thread-safe (one owner).
class Backoff {
 public:
  Backoff(std::chrono::milliseconds min, std::chrono::milliseconds max,
          std::chrono::milliseconds stable);
  // The child that just exited ran for `ran`: the delay before the next start.
  std::chrono::milliseconds next(std::chrono::milliseconds ran);
  // Consecutive quick failures so far (0 after a stable run).
  int failures() const { return failures_; }

 private:
  std::chrono::milliseconds min_, max_, stable_;
  int failures_ = 0;
};

// "exit 0", "exit 3", "signal 9 (Killed)" for a waitpid status.
std::string describe_status(int wait_status);

// Splits a byte stream into lines (the child's output): feed() what read()
// returned, get every complete line (without '\n'); a line longer than
// `max_line` is cut there. Pure.
class LineSplitter {
 public:
  explicit LineSplitter(std::size_t max_line = 4096) : max_line_(max_line) {}
  std::vector<std::string> feed(std::string_view bytes);
  // What is left without a final newline (at the child's exit).
  std::optional<std::string> flush();

 private:
  std::size_t max_line_;
  std::string partial_;
};

// One running child. Movable, not copyable; the destructor kills (SIGKILL) and
// reaps a child still running, so none is left behind.
class ChildProcess {
 public:
  using LineHandler = std::function<void(const std::string& line)>;

  // Starts argv[0] (an absolute path: no PATH search) with `argv`; the child's
  // stdout and stderr go to a pipe whose lines poll() hands to `on_line`.
  // Fails (io, with the exec errno's text) if the program cannot be executed;
  // invalid_argument for an empty or relative argv[0].
  static Result<ChildProcess> spawn(const std::vector<std::string>& argv, LineHandler on_line);

  ChildProcess(ChildProcess&& other) noexcept;
  ChildProcess& operator=(ChildProcess&& other) noexcept;
  ~ChildProcess();
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  pid_t pid() const { return pid_; }
  // Reads the output that is there, waits up to `wait` for more or for the
  // exit; returns the wait status once the child has exited (and was reaped).
  std::optional<int> poll(std::chrono::milliseconds wait);
  bool running() const { return pid_ > 0 && !status_; }
  std::optional<int> status() const { return status_; }
  // Sends `sig` if the child runs (a reaped pid is never signalled).
  Result<void> signal(int sig) const;
  // SIGTERM, up to `grace` for the exit, then SIGKILL. Returns the status.
  int terminate(std::chrono::milliseconds grace);

 private:
  ChildProcess(pid_t pid, int out_fd, LineHandler on_line);
  void drain();
  void reset();

  pid_t pid_ = -1;
  int out_fd_ = -1;
  LineHandler on_line_;
  LineSplitter lines_;
  std::optional<int> status_;
};

}  // namespace nbms::process
