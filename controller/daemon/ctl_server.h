// The local operator socket: a unix stream socket on the daemon's libev loop that
// takes one JSON request line per connection and answers with one JSON line
// (ctl_commands.h). \threadbound to the loop.
#pragma once

#include <ev.h>

#include <functional>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

namespace aigw::controller {

class CtlServer {
 public:
  using Handler = std::function<nlohmann::json(const nlohmann::json&)>;

  /// Binds `path` (an existing socket file is replaced), mode 0660.
  static std::unique_ptr<CtlServer> create(struct ev_loop* loop, const std::string& path, Handler handler,
                                           std::string& error);
  ~CtlServer();
  CtlServer(const CtlServer&) = delete;
  CtlServer& operator=(const CtlServer&) = delete;

 private:
  struct Conn;
  CtlServer(struct ev_loop* loop, int fd, std::string path, Handler handler);
  static void on_accept(struct ev_loop* loop, ev_io* w, int revents);
  static void on_conn(struct ev_loop* loop, ev_io* w, int revents);
  void close_conn(Conn* c);

  struct ev_loop* loop_;
  int fd_;
  std::string path_;
  Handler handler_;
  ev_io accept_watcher_;
  std::vector<std::unique_ptr<Conn>> conns_;
};

}  // namespace aigw::controller
