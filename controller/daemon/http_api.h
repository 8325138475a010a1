// Read-only HTTP API: JSON views of the tables under /api/v1/ and Prometheus text at
// /metrics. libmicrohttpd serves from its own thread and never touches the tables:
// a request for a document that is missing or older than `max_age` asks the owner's
// event loop (through `wake`) to render that one document, and waits for it. So a
// document costs nothing while nobody asks for it, and at most one rendering per
// `max_age` however often it is asked for.
//
// Some paths take query parameters (a page of the stream listing). Each distinct
// (path, parameters) is a document of its own, cached the same way; at most
// `max_query_docs` of them are kept, the least recently used dropped first, so
// clients walking pages cannot grow the cache without bound.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

struct MHD_Daemon;

namespace aigw::controller {

class HttpApi {
 public:
  /// (content type, body)
  using Document = std::pair<std::string, std::string>;
  /// Query parameters by name, as libmicrohttpd decoded them.
  using Query = std::map<std::string, std::string>;
  /// One document: a path and (for paths that take them) its parameters.
  struct Request {
    std::string path;
    Query query;
    bool operator<(const Request& o) const { return std::tie(path, query) < std::tie(o.path, o.query); }
  };
  /// HTTP thread: false (with a reason for the client) when the parameters are not
  /// acceptable; the request is then answered 400 without waking the loop.
  using QueryCheck = std::function<bool(const Query&, std::string& error)>;
  /// A path that takes parameters: the names it accepts and their check.
  struct QueryPath {
    std::vector<std::string> names;
    QueryCheck check;
  };

  /// Listens on `host:port` ("127.0.0.1:0" picks a free port) and serves `paths`
  /// without parameters and `query_paths` with them (a query path without parameters
  /// is served as one of `paths`, so list it there too). `wake` is called on the HTTP
  /// thread when a document must be rendered; it must make the loop call requested()
  /// and publish() soon (e.g. ev_async_send).
  static std::unique_ptr<HttpApi> create(const std::string& listen, const std::vector<std::string>& paths,
                                         std::map<std::string, QueryPath> query_paths, size_t max_query_docs,
                                         int64_t max_age_ns, std::function<void()> wake, std::string& error);
  ~HttpApi();
  HttpApi(const HttpApi&) = delete;
  HttpApi& operator=(const HttpApi&) = delete;

  uint16_t port() const { return port_; }

  /// Loop thread: the documents waiting for a rendering (and forgets them).
  std::vector<Request> requested();
  /// Loop thread: stores the rendering of `req` made at `now_ns` and wakes its readers.
  void publish(const Request& req, Document doc, int64_t now_ns);
  /// Loop thread: the tables changed in a way readers must see at once (an operator
  /// command): every cached document is rendered again on its next request.
  void invalidate();

  enum class Lookup { ok, unknown_path, bad_query, unavailable };
  /// HTTP thread: the document for `req`, rendered within max_age (or the last
  /// rendering when the loop does not answer within a second). bad_query puts the
  /// reason in `body`.
  Lookup lookup(const Request& req, std::string& content_type, std::string& body);
  /// Whether `path` is served at all (with or without parameters).
  bool serves(const std::string& path) const;
  /// The parameter names `path` accepts (nullptr: it takes none).
  const std::vector<std::string>* query_names(const std::string& path) const;
  /// Documents with parameters now cached (at most max_query_docs).
  size_t cached_query_docs();

 private:
  struct Entry {
    Document doc;
    int64_t rendered_ns = 0;
    uint64_t generation = 0;  // renderings so far
    bool valid = false;
  };
  // Entries are shared: a reader waiting for a rendering keeps its entry alive even if
  // the cache drops it meanwhile, and publish() still reaches it.
  using EntryPtr = std::shared_ptr<Entry>;
  struct Cached {
    EntryPtr entry;
    std::list<Request>::iterator lru;
  };
  HttpApi() = default;
  /// mu_ held: the entry of a known document, created (and the cache trimmed) if needed.
  EntryPtr entry(const Request& req);

  MHD_Daemon* daemon_ = nullptr;
  uint16_t port_ = 0;
  int64_t max_age_ns_ = 0;
  size_t max_query_docs_ = 0;
  std::function<void()> wake_;
  std::map<std::string, QueryPath> query_paths_;  // immutable after create()
  std::mutex mu_;
  std::condition_variable rendered_;
  std::map<std::string, EntryPtr> docs_;  // documents without parameters
  std::map<Request, Cached> query_docs_;
  std::list<Request> lru_;  // query_docs_ keys, most recently used first
  std::map<Request, EntryPtr> requested_;  // asked for, not yet handed to the loop
  std::map<Request, EntryPtr> rendering_;  // handed to the loop, not yet published
};

}  // namespace aigw::controller
