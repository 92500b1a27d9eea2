#pragma once
// The MW bundle nbms hands out (docs/provisioning.md, "The MW bundle") as the
// simulator uses it: one TLS connection per thing with the thing's own
// certificate. Publishers routes each publish to the connection of the thing
// the topic belongs to (one plain connection for all when there are no
// bundles). Main thread only.
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "nbms/core/error.hpp"
#include "publisher.hpp"

namespace nbms::mwsim {

struct Bundle {
  std::string thing;
  std::string uri;  // ssl://host:port from the bundle's mqtt section
  std::string ca_pem;
  std::string cert_pem;
  std::string key_pem;
};

// Reads and checks a bundle file (format nbms-mwsim-bundle version 1, with a key).
Result<Bundle> load_bundle(const std::string& path);
// The same from the file's text (unit-tested).
Result<Bundle> parse_bundle(std::string_view json_text);

// The thing a topic belongs to: `<thing>/...`, `$aws/rules/Rule_<thing>/...`,
// or a bare command topic `<thing>`.
std::string thing_of_topic(std::string_view topic);

class Publishers {
 public:
  // One plain connection for every thing.
  Publishers(PublisherOptions options, EventQueue& events);
  // One TLS connection per bundle; the PEMs go to 0600 files in a private
  // temporary directory removed by the destructor.
  Publishers(const std::vector<Bundle>& bundles, bool quiet, const char* program,
             EventQueue& events);
  ~Publishers();
  Publishers(Publishers&&) = default;
  Publishers(const Publishers&) = delete;
  Publishers& operator=(const Publishers&) = delete;

  bool connect();
  bool subscribe(const std::string& topic);
  bool publish(const std::string& topic, std::string payload);
  bool flush(std::chrono::milliseconds timeout, bool ignore_stop = false);
  void disconnect(std::chrono::milliseconds timeout);
  std::uint64_t published() const;
  std::uint64_t acknowledged() const;
  std::uint64_t failed() const;
  std::size_t connections() const { return publishers_.size(); }

 private:
  Publisher& route(const std::string& topic);

  std::vector<std::string> things_;  // empty: one shared connection
  std::vector<std::unique_ptr<Publisher>> publishers_;
  std::filesystem::path key_dir_;
};

}  // namespace nbms::mwsim
