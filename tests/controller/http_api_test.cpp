// The HTTP API's document cache over real loopback TCP: on-demand rendering on a
// stand-in event loop thread, query parameters read through libmicrohttpd, 400s for
// bad ones, and the bound on cached query documents.
#include "controller/daemon/http_api.h"


#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>

#include <nlohmann/json.hpp>

#include "protocol/log.h"
#include "sim/live/http_get.h"

namespace aigw::controller {
namespace {

using Json = nlohmann::json;

struct Response {
  int status = 0;
  std::string body;
};

Response http_get(uint16_t port, const std::string& target) {
  UdpEndpoint server;
  make_endpoint("127.0.0.1", port, server);
  sim::HttpResponse r;
  if (!sim::http_get(server, target, 5000, r).empty()) return {};
  return {r.status, r.body};
}

/// An HttpApi with a thread standing in for the daemon's event loop: each document
/// renders as {"path", "query", "n": renderings so far}.
struct HttpApiTest : ::testing::Test {
  std::unique_ptr<HttpApi> api;
  std::thread loop;
  std::mutex mu;
  std::condition_variable woken;
  bool wake = false, stop = false;
  std::atomic<int> renders{0};

  void start(size_t max_query_docs, int64_t max_age_ns = 60'000'000'000) {
    std::map<std::string, HttpApi::QueryPath> query_paths;
    query_paths["/q"] = {{"limit", "after"}, [](const HttpApi::Query& q, std::string& error) {
                           if (q.count("limit") && q.at("limit") == "0") {
                             error = "limit must be positive";
                             return false;
                           }
                           return true;
                         }};
    std::string error;
    api = HttpApi::create("127.0.0.1:0", {"/doc", "/q"}, query_paths, max_query_docs, max_age_ns,
                          [this] {
                            std::lock_guard lock(mu);
                            wake = true;
                            woken.notify_one();
                          },
                          error);
    ASSERT_NE(api, nullptr) << error;
    loop = std::thread([this] {
      std::unique_lock lock(mu);
      for (;;) {
        woken.wait(lock, [this] { return wake || stop; });
        if (stop) return;
        wake = false;
        lock.unlock();
        for (const HttpApi::Request& r : api->requested()) {
          const Json doc{{"path", r.path}, {"query", r.query}, {"n", ++renders}};
          api->publish(r, {"application/json", doc.dump()}, log::steady_now_ns());
        }
        lock.lock();
      }
    });
  }
  void TearDown() override {
    {
      std::lock_guard lock(mu);
      stop = true;
      woken.notify_one();
    }
    if (loop.joinable()) loop.join();
    api.reset();
  }
  Json get(const std::string& target, int want_status = 200) {
    const Response r = http_get(api->port(), target);
    EXPECT_EQ(r.status, want_status) << target << ": " << r.body;
    return Json::parse(r.body, nullptr, false);
  }
};

TEST_F(HttpApiTest, DocumentsRenderOnDemandOncePerMaxAge) {
  start(4);
  EXPECT_EQ(renders, 0) << "nothing is rendered while nobody asks";
  EXPECT_EQ(get("/doc")["n"], 1);
  EXPECT_EQ(get("/doc")["n"], 1) << "served from the cache";
  EXPECT_EQ(get("/q")["query"], Json::object()) << "a query path without parameters is a plain document";
  api->invalidate();
  EXPECT_EQ(get("/doc")["n"], 3);
  EXPECT_EQ(get("/nope", 404)["error"], "not found");
}

TEST_F(HttpApiTest, QueryParametersReachTheRendererDecoded) {
  start(4);
  Json d = get("/q?limit=%31%30&after=7");
  EXPECT_EQ(d["path"], "/q");
  EXPECT_EQ(d["query"], (Json{{"after", "7"}, {"limit", "10"}}));
  EXPECT_EQ(get("/q?after=7&limit=10")["n"], d["n"]) << "same parameters, same cached document";
  EXPECT_NE(get("/q?limit=10")["n"], d["n"]);
}

TEST_F(HttpApiTest, BadParametersAre400WithAJsonError) {
  start(4);
  for (const char* target : {"/q?limit=0", "/q?offset=3", "/q?limit=1&limit=2", "/q?limit", "/doc?limit=1"}) {
    const Json e = get(target, 400);
    ASSERT_TRUE(e.is_object()) << target;
    EXPECT_TRUE(e["error"].is_string()) << target;
  }
  get("/nope?limit=1", 404);
  EXPECT_EQ(renders, 0) << "a rejected request never reaches the loop";
}

TEST_F(HttpApiTest, QueryDocumentCacheIsBoundedLeastRecentlyUsedFirst) {
  start(4);
  for (int i = 1; i <= 10; ++i) {
    get("/q?after=" + std::to_string(i));
    EXPECT_LE(api->cached_query_docs(), 4u);
  }
  EXPECT_EQ(api->cached_query_docs(), 4u);
  EXPECT_EQ(renders, 10);
  get("/q?after=7");  // cached: 7..10, now 7 is the most recent
  EXPECT_EQ(renders, 10);
  get("/q?after=1");  // dropped earlier: rendered again, and 8 (least recent) goes
  EXPECT_EQ(renders, 11);
  get("/q?after=7");
  get("/q?after=9");
  get("/q?after=10");
  EXPECT_EQ(renders, 11);
  get("/q?after=8");
  EXPECT_EQ(renders, 12);
  get("/doc");
  EXPECT_EQ(api->cached_query_docs(), 4u) << "plain documents do not count against the bound";
}

}  // namespace
}  // namespace aigw::controller
