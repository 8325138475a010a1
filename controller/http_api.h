// Read-only HTTP API: JSON views of the tables under /api/v1/ and Prometheus text at
// /metrics. libmicrohttpd serves from its own thread and never touches the tables:
// a request for a document that is missing or older than `max_age` asks the owner's
// event loop (through `wake`) to render that one document, and waits for it. So a
// document costs nothing while nobody asks for it, and at most one rendering per
// `max_age` however often it is asked for; documents nobody reads (a 100k-stream
// list, say) are never built.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

struct MHD_Daemon;

namespace aigw::controller {

class HttpApi {
 public:
  /// (content type, body)
  using Document = std::pair<std::string, std::string>;

  /// Listens on `host:port` ("127.0.0.1:0" picks a free port) and serves `paths`.
  /// `wake` is called on the HTTP thread when a document must be rendered; it must
  /// make the loop call requested() and publish() soon (e.g. ev_async_send).
  static std::unique_ptr<HttpApi> create(const std::string& listen, const std::vector<std::string>& paths,
                                         int64_t max_age_ns, std::function<void()> wake, std::string& error);
  ~HttpApi();
  HttpApi(const HttpApi&) = delete;
  HttpApi& operator=(const HttpApi&) = delete;

  uint16_t port() const { return port_; }

  /// Loop thread: the paths waiting for a rendering (and forgets them).
  std::vector<std::string> requested();
  /// Loop thread: stores the rendering of `path` made at `now_ns` and wakes its readers.
  void publish(const std::string& path, Document doc, int64_t now_ns);
  /// Loop thread: the tables changed in a way readers must see at once (an operator
  /// command): every cached document is rendered again on its next request.
  void invalidate();

  enum class Lookup { ok, unknown_path, unavailable };
  /// HTTP thread: the document at `path`, rendered within max_age (or the last
  /// rendering when the loop does not answer within a second).
  Lookup lookup(const std::string& path, std::string& content_type, std::string& body);

 private:
  struct Entry {
    Document doc;
    int64_t rendered_ns = 0;
    uint64_t generation = 0;  // renderings so far
    bool valid = false;
  };
  HttpApi() = default;

  MHD_Daemon* daemon_ = nullptr;
  uint16_t port_ = 0;
  int64_t max_age_ns_ = 0;
  std::function<void()> wake_;
  std::mutex mu_;
  std::condition_variable rendered_;
  std::map<std::string, Entry> docs_;
  std::set<std::string> requested_;
};

}  // namespace aigw::controller
