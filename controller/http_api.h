// Read-only HTTP API: JSON views of the tables under /api/v1/ and Prometheus text at
// /metrics. libmicrohttpd serves from its own thread, so it reads a snapshot that the
// event loop publishes (at most a refresh interval old) and never touches the tables.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>

struct MHD_Daemon;

namespace aigw::controller {

class HttpApi {
 public:
  /// Listens on `host:port` ("127.0.0.1:0" picks a free port).
  static std::unique_ptr<HttpApi> create(const std::string& listen, std::string& error);
  ~HttpApi();
  HttpApi(const HttpApi&) = delete;
  HttpApi& operator=(const HttpApi&) = delete;

  /// Replaces the documents served: path -> (content type, body). Thread-safe.
  void publish(std::map<std::string, std::pair<std::string, std::string>> documents);
  uint16_t port() const { return port_; }

  /// The document at `path`, if any (used by the request handler).
  bool lookup(const std::string& path, std::string& content_type, std::string& body) const;

 private:
  HttpApi() = default;
  MHD_Daemon* daemon_ = nullptr;
  uint16_t port_ = 0;
  mutable std::mutex mu_;
  std::map<std::string, std::pair<std::string, std::string>> docs_;
};

}  // namespace aigw::controller
