#include "bundle.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "nbms/core/ids.hpp"

namespace nbms::mwsim {
namespace {

Result<void> write_private(const std::filesystem::path& p, const std::string& text) {
  const int fd = ::open(p.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return fail(Errc::io, "cannot create " + p.string());
  const bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
  ::close(fd);
  if (!ok) return fail(Errc::io, "cannot write " + p.string());
  return {};
}

}  // namespace

Result<Bundle> parse_bundle(std::string_view json_text) {
  const auto j = nlohmann::json::parse(json_text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return fail(Errc::invalid_argument, "not JSON");
  if (j.value("format", "") != "nbms-mw-bundle" || j.value("version", 0) != 1) {
    return fail(Errc::invalid_argument, "not an nbms-mw-bundle version 1");
  }
  try {
    Bundle b;
    b.thing = j.at("thing").get<std::string>();
    if (auto t = ThingName::parse(b.thing); !t) return std::unexpected(t.error());
    const auto& m = j.at("mqtt");
    const std::string host = m.at("host").get<std::string>();
    const int port = m.at("port").get<int>();
    if (host.empty() || port < 1 || port > 65535) {
      return fail(Errc::invalid_argument, "bad mqtt.host or mqtt.port");
    }
    b.uri = "ssl://" + (host.find(':') != std::string::npos ? "[" + host + "]" : host) + ":" +
            std::to_string(port);
    const auto& tls = j.at("tls");
    b.ca_pem = tls.at("ca_pem").get<std::string>();
    b.cert_pem = tls.at("cert_pem").get<std::string>();
    if (tls.at("key_pem").is_null()) {
      return fail(Errc::invalid_argument,
                  "the bundle has no private key (issued for a CSR): the simulator needs one");
    }
    b.key_pem = tls.at("key_pem").get<std::string>();
    return b;
  } catch (const nlohmann::json::exception& e) {
    return fail(Errc::invalid_argument, std::string("missing or wrong member: ") + e.what());
  }
}

Result<Bundle> load_bundle(const std::string& path) {
  std::ifstream in(path);
  if (!in) return fail(Errc::io, "cannot read the file");
  std::stringstream ss;
  ss << in.rdbuf();
  return parse_bundle(ss.str());
}

std::string thing_of_topic(std::string_view topic) {
  constexpr std::string_view kRule = "$aws/rules/Rule_";
  if (topic.substr(0, kRule.size()) == kRule) topic.remove_prefix(kRule.size());
  return std::string(topic.substr(0, topic.find('/')));
}

Publishers::Publishers(PublisherOptions options, EventQueue& events) {
  publishers_.push_back(std::make_unique<Publisher>(std::move(options), events));
}

Publishers::Publishers(const std::vector<Bundle>& bundles, bool quiet, const char* program,
                       EventQueue& events) {
  std::string tmpl = (std::filesystem::temp_directory_path() / "nbms-mwsim-XXXXXX").string();
  if (::mkdtemp(tmpl.data()) == nullptr) {
    std::fprintf(stderr, "%s: cannot create a temporary directory for the keys\n", program);
    std::exit(1);
  }
  key_dir_ = tmpl;
  for (const auto& b : bundles) {
    const auto base = key_dir_ / b.thing;
    for (const auto& [suffix, text] :
         {std::pair<const char*, const std::string*>{".ca.pem", &b.ca_pem},
          {".pem", &b.cert_pem},
          {".key", &b.key_pem}}) {
      if (auto ok = write_private(base.string() + suffix, *text); !ok) {
        std::fprintf(stderr, "%s: %s\n", program, ok.error().message.c_str());
        std::exit(1);
      }
    }
    PublisherOptions o;
    o.uri = b.uri;
    o.client_id = b.thing;  // the broker makes it the certificate's CN anyway
    o.max_inflight = 1000;
    o.quiet = quiet;
    o.program = program;
    o.ca_file = base.string() + ".ca.pem";
    o.cert_file = base.string() + ".pem";
    o.key_file = base.string() + ".key";
    things_.push_back(b.thing);
    publishers_.push_back(std::make_unique<Publisher>(std::move(o), events));
  }
}

Publishers::~Publishers() {
  publishers_.clear();
  if (!key_dir_.empty()) {
    std::error_code ec;
    std::filesystem::remove_all(key_dir_, ec);
  }
}

Publisher& Publishers::route(const std::string& topic) {
  if (things_.empty()) return *publishers_.front();
  const auto thing = thing_of_topic(topic);
  const auto it = std::find(things_.begin(), things_.end(), thing);
  return it == things_.end() ? *publishers_.front()
                             : *publishers_[static_cast<std::size_t>(it - things_.begin())];
}

bool Publishers::connect() {
  for (auto& p : publishers_) {
    if (!p->connect()) return false;
  }
  return true;
}
bool Publishers::subscribe(const std::string& topic) {
  return route(topic).subscribe(topic);
}
bool Publishers::publish(const std::string& topic, std::string payload) {
  return route(topic).publish(topic, std::move(payload));
}
bool Publishers::flush(std::chrono::milliseconds timeout, bool ignore_stop) {
  bool all = true;
  for (auto& p : publishers_) all = p->flush(timeout, ignore_stop) && all;
  return all;
}
void Publishers::disconnect(std::chrono::milliseconds timeout) {
  for (auto& p : publishers_) p->disconnect(timeout);
}
std::uint64_t Publishers::published() const {
  std::uint64_t n = 0;
  for (const auto& p : publishers_) n += p->published();
  return n;
}
std::uint64_t Publishers::acknowledged() const {
  std::uint64_t n = 0;
  for (const auto& p : publishers_) n += p->acknowledged();
  return n;
}
std::uint64_t Publishers::failed() const {
  std::uint64_t n = 0;
  for (const auto& p : publishers_) n += p->failed();
  return n;
}

}  // namespace nbms::mwsim
