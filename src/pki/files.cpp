// Writing certificates and keys to disk, and loading a CA from files. POSIX
// calls so that a key file is created with its final, owner-only mode (no
// window in which it is world-readable) and replaced atomically.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <system_error>

#include "nbms/pki/pki.hpp"

namespace nbms::pki {
namespace {

namespace fs = std::filesystem;

Error io_error(const fs::path& path, std::string_view what, int err) {
  return Error{Errc::io, std::string(what) + " '" + path.string() +
                             "': " + std::generic_category().message(err)};
}

Result<void> fsync_dir(const fs::path& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return std::unexpected(io_error(dir, "cannot open directory", errno));
  const int rc = ::fsync(fd);
  const int err = errno;
  ::close(fd);
  if (rc != 0) return std::unexpected(io_error(dir, "cannot sync directory", err));
  return {};
}

constexpr std::uintmax_t kMaxPemFile = 1u << 20;

Result<std::string> read_small_file(const fs::path& path, std::string_view what) {
  std::error_code ec;
  const auto size = fs::file_size(path, ec);
  if (ec) {
    return fail(Errc::io,
                "cannot read " + std::string(what) + " '" + path.string() + "': " + ec.message());
  }
  if (size > kMaxPemFile) {
    return fail(Errc::invalid_argument,
                std::string(what) + " '" + path.string() + "' is larger than 1 MiB");
  }
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  if (!in) return std::unexpected(io_error(path, "cannot read " + std::string(what), errno));
  return text.str();
}

}  // namespace

namespace {
// Built with append: g++ 12 warns falsely (-Wrestrict) on "'" + std::string
// in Release builds.
std::string already_there(const fs::path& path, std::string_view consequence = "not replaced") {
  std::string m = "'";
  m.append(path.string()).append("' already exists; ").append(consequence);
  return m;
}
}  // namespace

Result<void> write_file(const fs::path& path, std::string_view text, unsigned mode,
                        bool overwrite) {
  fs::path dir = path.parent_path();
  if (dir.empty()) dir = ".";
  if (!overwrite && fs::exists(path)) {
    return fail(Errc::already_exists, already_there(path));
  }
  // mkostemp creates the file 0600 whatever the umask; fchmod then sets the
  // final mode before any byte is written.
  std::string tmp = path.string() + ".tmp-XXXXXX";
  const int fd = ::mkostemp(tmp.data(), O_CLOEXEC);
  if (fd < 0) return std::unexpected(io_error(path, "cannot create a file next to", errno));
  auto abandon = [&](std::string_view what, int err) {
    ::close(fd);
    ::unlink(tmp.c_str());
    return std::unexpected(io_error(path, what, err));
  };
  if (::fchmod(fd, static_cast<mode_t>(mode)) != 0) return abandon("cannot set the mode of", errno);
  for (std::size_t done = 0; done < text.size();) {
    const auto n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return abandon("cannot write", errno);
    }
    done += static_cast<std::size_t>(n);
  }
  if (::fsync(fd) != 0) return abandon("cannot sync", errno);
  if (::close(fd) != 0) {
    const int err = errno;
    ::unlink(tmp.c_str());
    return std::unexpected(io_error(path, "cannot close", err));
  }
  if (overwrite) {
    if (::rename(tmp.c_str(), path.c_str()) != 0) {
      const int err = errno;
      ::unlink(tmp.c_str());
      return std::unexpected(io_error(path, "cannot move into place", err));
    }
  } else {
    // link() fails if the target appeared meanwhile: never replaces a file.
    const int rc = ::link(tmp.c_str(), path.c_str());
    const int err = errno;
    ::unlink(tmp.c_str());
    if (rc != 0 && err == EEXIST) {
      return fail(Errc::already_exists, already_there(path));
    }
    if (rc != 0) return std::unexpected(io_error(path, "cannot create", err));
  }
  return fsync_dir(dir);
}

Result<void> save_ca(const CertificateAuthority& ca, const CaPaths& paths) {
  for (const auto* p : {&paths.cert, &paths.key}) {
    if (p->empty()) return fail(Errc::invalid_argument, "CA certificate and key paths must be set");
    if (fs::exists(*p)) {
      return fail(Errc::already_exists, already_there(*p, "a CA file is never replaced"));
    }
  }
  // A missing parent directory is created owner-only: it holds the key.
  for (const auto* p : {&paths.key, &paths.cert}) {
    const auto dir = p->parent_path();
    if (!dir.empty() && !fs::exists(dir)) {
      std::error_code ec;
      fs::create_directories(dir, ec);
      if (!ec) fs::permissions(dir, fs::perms::owner_all, ec);
      if (ec) {
        return fail(Errc::io, "cannot create directory '" + dir.string() + "': " + ec.message());
      }
    }
  }
  if (auto r = write_file(paths.key, ca.key_pem(), 0600, false); !r) return r;
  if (auto r = write_file(paths.cert, ca.chain_pem(), 0644, false); !r) {
    // Leave neither file rather than a key without its certificate.
    std::error_code ec;
    fs::remove(paths.key, ec);
    return r;
  }
  return {};
}

Result<CertificateAuthority> load_ca(const CaPaths& paths) {
  struct stat st {};
  if (::stat(paths.key.c_str(), &st) == 0 && (st.st_mode & S_IRWXO) != 0) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
    return fail(Errc::invalid_argument, "CA key '" + paths.key.string() +
                                            "' is accessible by others (mode " + mode +
                                            "); make it owner-only: chmod 600");
  }
  auto cert = read_small_file(paths.cert, "CA certificate");
  if (!cert) return std::unexpected(cert.error());
  auto key = read_small_file(paths.key, "CA key");
  if (!key) return std::unexpected(key.error());
  auto ca = CertificateAuthority::from_pem(*cert, *key);
  if (!ca) {
    return fail(ca.error().code,
                paths.cert.string() + " / " + paths.key.string() + ": " + ca.error().message);
  }
  return ca;
}

Result<CertificateAuthority> load_or_create_ca(const CaPaths& paths, const CaOptions& options,
                                               bool* created) {
  const bool has_cert = fs::exists(paths.cert);
  const bool has_key = fs::exists(paths.key);
  if (has_cert != has_key) {
    return fail(Errc::invalid_argument,
                "CA: '" + (has_cert ? paths.cert : paths.key).string() + "' exists but '" +
                    (has_cert ? paths.key : paths.cert).string() +
                    "' does not; restore the missing file (a new CA would invalidate every "
                    "certificate issued so far)");
  }
  if (created) *created = !has_cert;
  if (has_cert) return load_ca(paths);
  auto ca = CertificateAuthority::create(options);
  if (!ca) return ca;
  if (auto r = save_ca(*ca, paths); !r) return std::unexpected(r.error());
  return ca;
}

}  // namespace nbms::pki
