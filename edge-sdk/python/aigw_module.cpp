// Python bindings of both ends (module `aigw`), over the C ABI of libaigw-edge and
// libaigw-server: a Device whose send() takes any buffer-protocol object without
// copying it, and a Server that yields verified units as buffer-protocol objects
// (memoryview(unit), numpy.frombuffer(unit)) over the library's own unit buffer.
// Every blocking call releases the GIL.
#include <pybind11/pybind11.h>
#include <pybind11/eval.h>
#include <pybind11/stl.h>

#include <chrono>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "aigw/edge.h"
#include "aigw/edge_crypto.h"
#include "aigw/server.h"

namespace py = pybind11;

namespace {

py::object g_error;  // aigw.Error, defined in Python below

[[noreturn]] void raise(int code, const std::string& what) {
  const std::string msg = what + ": " + aigw_strerror(code);
  PyErr_SetObject(g_error.ptr(), py::make_tuple(code, msg).ptr());
  throw py::error_already_set();
}

void check(int rc, const char* what) {
  if (rc != AIGW_OK) raise(rc, what);
}

std::string key_bytes(const py::bytes& b, const char* what) {
  std::string k = b;
  if (k.size() != 32) throw py::value_error(std::string(what) + " must be 32 bytes");
  return k;
}

// --------------------------------------------------------------------------- device

class Device {
 public:
  Device(const std::string& controller, uint32_t device_id, const py::bytes& key, uint32_t key_id,
         uint32_t max_payload, uint32_t store_units, uint32_t store_ttl_ms,
         const std::string& log_level, std::optional<std::string> control_bind, std::optional<std::string> data_bind,
         std::optional<std::string> advertise_address) {
    key_ = key_bytes(key, "key");
    controller_ = controller;
    aigw_edge_options o;
    aigw_edge_options_init(&o);
    o.controller = controller_.c_str();
    o.device_id = device_id;
    o.key_id = key_id;
    o.key = reinterpret_cast<const uint8_t*>(key_.data());
    o.mode = AIGW_MODE_THREAD;  // Python has no event loop to hand the descriptor to
    o.max_payload = max_payload;
    o.store_units = store_units;
    o.store_ttl_ms = store_ttl_ms;
    o.log_level = log_level_of(log_level);
    if (control_bind) o.control_bind = control_bind->c_str();
    if (data_bind) o.data_bind = data_bind->c_str();
    if (advertise_address) o.advertise_address = advertise_address->c_str();
    int rc;
    {
      py::gil_scoped_release nogil;
      rc = aigw_edge_create(&o, &edge_);
    }
    check(rc, "aigw_edge_create");
  }
  ~Device() { close(); }

  static int log_level_of(const std::string& l) {
    if (l == "debug") return AIGW_LOG_DEBUG;
    if (l == "info") return AIGW_LOG_INFO;
    if (l == "warn") return AIGW_LOG_WARN;
    if (l == "error") return AIGW_LOG_ERROR;
    if (l == "off") return AIGW_LOG_OFF;
    throw py::value_error("log_level: debug, info, warn, error or off");
  }

  void close() {
    if (edge_ == nullptr) return;
    aigw_edge* e = edge_;
    edge_ = nullptr;
    py::gil_scoped_release nogil;
    aigw_edge_destroy(e);
  }

  aigw_edge* handle() {
    if (edge_ == nullptr) raise(AIGW_ERR_STATE, "device is closed");
    return edge_;
  }

  py::dict open_stream(uint32_t unit_bytes, uint32_t period_ms, const std::string& model,
                       std::optional<py::bytes> payload_key, double pace_bytes_per_s) {
    aigw_stream_profile p;
    aigw_stream_profile_init(&p);
    p.unit_bytes = unit_bytes;
    p.period_ms = period_ms;
    p.model = model.c_str();
    p.pace_bytes_per_s = pace_bytes_per_s;
    std::string pk;
    if (payload_key) {
      pk = key_bytes(*payload_key, "payload_key");
      p.payload_key = reinterpret_cast<const uint8_t*>(pk.data());
    }
    aigw_stream_info info{};
    info.size = sizeof info;
    aigw_edge* e = handle();
    int rc;
    {
      py::gil_scoped_release nogil;
      rc = aigw_edge_open_stream(e, &p, &info);
    }
    check(rc, "aigw_edge_open_stream");
    py::dict d;
    d["stream_id"] = info.stream_id;
    d["gateway_id"] = info.gateway_id;
    d["gateway_address"] = std::string(info.gateway_address);
    d["gateway_port"] = info.gateway_port;
    d["gpu_id"] = info.gpu_id;
    d["first_unit_seq"] = info.first_unit_seq;
    return d;
  }

  // The buffer is read where it lies: the only copy is the library's own, into its
  // retransmit store (as for a C caller).
  void send(uint32_t stream_id, const py::object& buffer, int timeout_ms) {
    Py_buffer view;
    if (PyObject_GetBuffer(buffer.ptr(), &view, PyBUF_C_CONTIGUOUS) != 0) throw py::error_already_set();
    aigw_edge* e = edge_;
    int rc = AIGW_ERR_STATE;
    if (e != nullptr) {
      py::gil_scoped_release nogil;
      const auto limit = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
      for (;;) {
        rc = aigw_edge_send_unit(e, stream_id, view.buf, static_cast<size_t>(view.len));
        if (rc != AIGW_ERR_BUSY || std::chrono::steady_clock::now() >= limit) break;
        std::this_thread::sleep_for(std::chrono::microseconds(500));  // the pacer drains the store
      }
    }
    PyBuffer_Release(&view);
    check(rc, "aigw_edge_send_unit");
  }

  void close_stream(uint32_t stream_id) {
    aigw_edge* e = handle();
    int rc;
    {
      py::gil_scoped_release nogil;
      rc = aigw_edge_close_stream(e, stream_id);
    }
    check(rc, "aigw_edge_close_stream");
  }

  py::dict stream_stats(uint32_t stream_id) {
    aigw_stream_stats s{};
    s.size = sizeof s;
    check(aigw_edge_stream_stats(handle(), stream_id, &s), "aigw_edge_stream_stats");
    py::dict d;
    d["units_sent"] = s.units_sent;
    d["fragments_sent"] = s.fragments_sent;
    d["fragments_resent"] = s.fragments_resent;
    d["bytes_sent"] = s.bytes_sent;
    d["nacks_received"] = s.nacks_received;
    d["nacks_unanswerable"] = s.nacks_unanswerable;
    d["units_expired"] = s.units_expired;
    d["units_evicted"] = s.units_evicted;
    d["migrations"] = s.migrations;
    d["next_unit_seq"] = s.next_unit_seq;
    d["gateway_id"] = s.gateway_id;
    return d;
  }

 private:
  aigw_edge* edge_ = nullptr;
  std::string key_;
  std::string controller_;
};

// --------------------------------------------------------------------------- server

// Owns the aigw_server; units keep it alive so their buffers stay valid until released.
struct ServerHandle {
  aigw_server* server = nullptr;
  ~ServerHandle() {
    if (server != nullptr) aigw_server_destroy(server);
  }
};

class Unit {
 public:
  Unit(std::shared_ptr<ServerHandle> h, const aigw_unit& u)
      : h_(std::move(h)), u_(u), model_(u.model != nullptr ? u.model : "") {}
  ~Unit() { release_quiet(); }
  Unit(const Unit&) = delete;
  Unit& operator=(const Unit&) = delete;

  void release() {
    if (!held()) return;
    const int rc = aigw_server_release(h_->server, u_.token);
    u_.data = nullptr;
    check(rc, "aigw_server_release");
  }
  bool held() const { return u_.data != nullptr && h_->server != nullptr; }
  const aigw_unit& raw() const {
    if (!held()) raise(AIGW_ERR_STATE, "unit was released");
    return u_;
  }
  uint32_t stream_id() const { return u_.stream_id; }
  uint32_t unit_seq() const { return u_.unit_seq; }
  const std::string& model() const { return model_; }
  size_t length() const { return u_.length; }
  uint32_t flags() const { return u_.flags; }
  uint32_t nack_rounds() const { return u_.nack_rounds; }
  std::string gateway() const { return std::string(u_.gateway_address) + ":" + std::to_string(u_.gateway_port); }

 private:
  void release_quiet() {
    if (held()) aigw_server_release(h_->server, u_.token);
    u_.data = nullptr;
  }
  std::shared_ptr<ServerHandle> h_;
  aigw_unit u_;
  std::string model_;  // copied: valid after the server is gone
};

class Server {
 public:
  Server(const std::string& controller, uint32_t gpu_id, const py::bytes& key, std::vector<std::string> models,
         uint32_t key_id, const std::string& data_bind, std::optional<std::string> advertise,
         std::optional<py::bytes> payload_key, double capacity_units_per_s, uint32_t period_ms,
         size_t memory_budget_bytes, uint32_t max_held_units, uint32_t max_unit_bytes, const std::string& log_level)
      : models_(std::move(models)) {
    key_ = key_bytes(key, "key");
    aigw_server_options o;
    aigw_server_options_init(&o);
    o.controller = controller.c_str();
    o.gpu_id = gpu_id;
    o.key_id = key_id;
    o.key = reinterpret_cast<const uint8_t*>(key_.data());
    std::vector<const char*> names;
    for (const auto& m : models_) names.push_back(m.c_str());
    o.models = names.data();
    o.model_count = names.size();
    o.data_bind = data_bind.c_str();
    if (advertise) o.advertise = advertise->c_str();
    std::string pk;
    if (payload_key) {
      pk = key_bytes(*payload_key, "payload_key");
      o.payload_key = reinterpret_cast<const uint8_t*>(pk.data());
    }
    o.capacity_units_per_s = capacity_units_per_s;
    o.period_ms = period_ms;
    o.memory_budget_bytes = memory_budget_bytes;
    o.max_held_units = max_held_units;
    o.max_unit_bytes = max_unit_bytes;
    o.mode = AIGW_MODE_THREAD;
    o.log_level = Device::log_level_of(log_level);
    h_ = std::make_shared<ServerHandle>();
    int rc;
    {
      py::gil_scoped_release nogil;
      rc = aigw_server_create(&o, &h_->server);
    }
    check(rc, "aigw_server_create");
  }
  ~Server() { close(); }

  void close() {
    if (!h_ || h_->server == nullptr) return;
    aigw_server* s = h_->server;
    h_->server = nullptr;  // units still alive see a closed server and release nothing
    py::gil_scoped_release nogil;
    aigw_server_destroy(s);
  }

  aigw_server* handle() const {
    if (!h_ || h_->server == nullptr) raise(AIGW_ERR_STATE, "server is closed");
    return h_->server;
  }

  std::string data_address() const {
    char buf[AIGW_ADDRESS_CHARS + 8];
    check(aigw_server_data_address(handle(), buf, sizeof buf), "aigw_server_data_address");
    return buf;
  }

  std::unique_ptr<Unit> next_unit(int timeout_ms) {
    aigw_server* s = handle();
    aigw_unit u{};
    u.size = sizeof u;
    int rc;
    {
      py::gil_scoped_release nogil;
      rc = aigw_server_next_unit(s, &u, timeout_ms);
    }
    if (rc == AIGW_ERR_TIMEOUT) return nullptr;
    check(rc, "aigw_server_next_unit");
    return std::make_unique<Unit>(h_, u);
  }

  void set_stream_key(uint32_t stream_id, std::optional<py::bytes> key) {
    std::string k;
    if (key) k = key_bytes(*key, "key");
    check(aigw_server_set_stream_key(handle(), stream_id, key ? reinterpret_cast<const uint8_t*>(k.data()) : nullptr),
          "aigw_server_set_stream_key");
  }

  void report_load(double load) { check(aigw_server_report_load(handle(), load, nullptr, 0), "aigw_server_report_load"); }

  py::dict counters() const {
    aigw_server_counters c{};
    c.size = sizeof c;
    check(aigw_server_get_counters(handle(), &c), "aigw_server_get_counters");
    py::dict d;
    d["datagrams"] = c.datagrams;
    d["malformed"] = c.malformed;
    d["units_completed"] = c.units_completed;
    d["units_verified"] = c.units_verified;
    d["units_corrupt"] = c.units_corrupt;
    d["units_auth_failed"] = c.units_auth_failed;
    d["units_lost"] = c.units_lost;
    d["units_refused_held"] = c.units_refused_held;
    d["units_held"] = c.units_held;
    d["bytes_held"] = c.bytes_held;
    d["acks_sent"] = c.acks_sent;
    d["nacks_sent"] = c.nacks_sent;
    d["syncs_sent"] = c.syncs_sent;
    d["last_load"] = c.last_load;
    d["control_rejected"] = c.control_rejected;
    d["pair_keys_learned"] = c.pair_keys_learned;
    d["no_pair_key"] = c.no_pair_key;
    return d;
  }

 private:
  std::vector<std::string> models_;
  std::string key_;
  std::shared_ptr<ServerHandle> h_;
};

// The split-point planner over (edge_ms, cloud_ms, output_bytes) per layer.
py::dict plan_split(const std::vector<std::tuple<double, double, uint64_t>>& layers, uint64_t input_bytes,
                    double uplink_bps, double latency_target_ms, const std::string& objective) {
  std::vector<aigw_layer_profile> l;
  for (const auto& [e, c, d] : layers) l.push_back({e, c, d});
  aigw_plan_request r{};
  r.size = sizeof r;
  r.layers = l.data();
  r.layer_count = static_cast<uint32_t>(l.size());
  r.input_bytes = input_bytes;
  r.uplink_bps = uplink_bps;
  r.latency_target_ms = latency_target_ms;
  if (objective == "min_device_time") {
    r.objective = AIGW_PLAN_MIN_DEVICE_TIME;
  } else if (objective == "min_bytes") {
    r.objective = AIGW_PLAN_MIN_BYTES;
  } else {
    throw py::value_error("objective: 'min_device_time' or 'min_bytes'");
  }
  aigw_plan_result out{};
  out.size = sizeof out;
  check(aigw_plan_split(&r, &out), "aigw_plan_split");
  py::dict d;
  d["split_layer"] = out.split_layer;
  d["latency_ms"] = out.latency_ms;
  d["device_ms"] = out.device_ms;
  d["transfer_ms"] = out.transfer_ms;
  d["cloud_ms"] = out.cloud_ms;
  d["transfer_bytes"] = out.transfer_bytes;
  return d;
}

const char* kErrorClass = R"(
class Error(Exception):
    """An aigw library call failed. ``code`` is the library's (negative) error code,
    one of the ``aigw.ERR_*`` constants; ``str(e)`` names the call and the error."""

    def __init__(self, code, message):
        super().__init__(message)
        self.code = code
)";

const char* kUnitsMethod = R"(
def _units(self, timeout_ms=-1, count=-1):
    """Yields verified units until ``count`` came (-1: no limit) or none came within
    ``timeout_ms``. Release each (``with unit:``) when done with it."""
    n = 0
    while count < 0 or n < count:
        u = self.next_unit(timeout_ms)
        if u is None:
            return
        n += 1
        yield u

Server.units = _units
del _units
)";

py::bytes node_key(py::bytes master, const std::string& role, uint32_t node) {
  const std::string m = master;
  if (m.size() != 32) throw py::value_error("master must be 32 bytes");
  uint8_t out[32];
  check(aigw_derive_node_key(reinterpret_cast<const uint8_t*>(m.data()), role.c_str(), node, out), "aigw_derive_node_key");
  return py::bytes(reinterpret_cast<const char*>(out), sizeof out);
}

void add_constants(py::module_& m) {
  const std::pair<const char*, int> codes[] = {
      {"ERR_INVALID_ARG", AIGW_ERR_INVALID_ARG}, {"ERR_STRUCT_SIZE", AIGW_ERR_STRUCT_SIZE},
      {"ERR_NO_MEMORY", AIGW_ERR_NO_MEMORY},     {"ERR_STATE", AIGW_ERR_STATE},
      {"ERR_UNKNOWN_STREAM", AIGW_ERR_UNKNOWN_STREAM}, {"ERR_TIMEOUT", AIGW_ERR_TIMEOUT},
      {"ERR_REJECTED_CAPACITY", AIGW_ERR_REJECTED_CAPACITY}, {"ERR_REJECTED_NO_GPU", AIGW_ERR_REJECTED_NO_GPU},
      {"ERR_REJECTED_INVALID", AIGW_ERR_REJECTED_INVALID}, {"ERR_REJECTED_NO_GATEWAY", AIGW_ERR_REJECTED_NO_GATEWAY},
      {"ERR_IO", AIGW_ERR_IO},                   {"ERR_TOO_LARGE", AIGW_ERR_TOO_LARGE},
      {"ERR_BUSY", AIGW_ERR_BUSY},               {"ERR_INFEASIBLE", AIGW_ERR_INFEASIBLE},
      {"ERR_AUTH", AIGW_ERR_AUTH},               {"ERR_DIGEST", AIGW_ERR_DIGEST},
      {"ERR_BUFFER", AIGW_ERR_BUFFER},           {"ERR_CLOSED", AIGW_ERR_CLOSED},
      {"ERR_CRYPTO", AIGW_ERR_CRYPTO}};
  for (const auto& [name, code] : codes) m.attr(name) = code;
  m.attr("UNIT_DECRYPTED") = int(AIGW_UNIT_DECRYPTED);
  m.attr("UNIT_SEALED") = int(AIGW_UNIT_SEALED);
  m.attr("UNIT_RECOVERED") = int(AIGW_UNIT_RECOVERED);
}

void add_functions(py::module_& m) {
  m.def("strerror", &aigw_strerror, py::arg("code"), "Name of a library error code.");
  m.def("node_key", &node_key, py::arg("master"), py::arg("role"), py::arg("node"),
        "The control key a node (role 'gateway', 'device' or 'gpu', and its id) holds, derived\n"
        "from the cluster master key, as `aigwctl key derive` prints it. For test clusters and\n"
        "provisioning tools: a device is given only its own key.");
  m.def("plan_split", &plan_split, py::arg("layers"), py::arg("input_bytes"), py::arg("uplink_bps"),
        py::arg("latency_target_ms"), py::arg("objective") = "min_device_time",
        "The split-point planner (AMCA, docs/sdk.md): layers is a list of (edge_ms, cloud_ms,\n"
        "output_bytes) for layers 1..N. Returns a dict with split_layer k (layers 1..k run on the\n"
        "device), latency_ms, device_ms, transfer_ms, cloud_ms, transfer_bytes. Raises aigw.Error\n"
        "(code ERR_INFEASIBLE) when no split meets the target.");
}

void add_device(py::module_& m) {
  py::class_<Device>(m, "Device",
                     "One device handle (libaigw-edge, thread mode): admission, paced sending, NACK answers,\n"
                     "migrations and heartbeats run on the handle's own thread. Use as a context manager.")
      .def(py::init<const std::string&, uint32_t, const py::bytes&, uint32_t, uint32_t, uint32_t,
                    uint32_t, const std::string&, std::optional<std::string>, std::optional<std::string>,
                    std::optional<std::string>>(),
           py::arg("controller"), py::arg("device_id"), py::arg("key"), py::arg("key_id") = 1,
           py::arg("max_payload") = 0, py::arg("store_units") = 0,
           py::arg("store_ttl_ms") = 0, py::arg("log_level") = "warn", py::arg("control_bind") = py::none(),
           py::arg("data_bind") = py::none(), py::arg("advertise_address") = py::none(),
           "Creates the handle. controller: 'host:port' of the controller's bypass address; key: the\n"
           "32-byte control key; the other arguments are those of aigw_edge_options (docs/sdk.md).\n"
           "Raises aigw.Error.")
      .def("open_stream", &Device::open_stream, py::arg("unit_bytes"), py::arg("period_ms"), py::arg("model") = "",
           py::arg("payload_key") = py::none(), py::arg("pace_bytes_per_s") = 0.0,
           "Asks the controller to admit a stream; blocks until admitted. Returns a dict with stream_id,\n"
           "gateway_id, gateway_address, gateway_port, gpu_id, first_unit_seq. payload_key (32 bytes):\n"
           "units are encrypted end to end.")
      .def("send", &Device::send, py::arg("stream_id"), py::arg("buffer"), py::arg("timeout_ms") = 5000,
           "Sends one unit: any C-contiguous buffer-protocol object (numpy array, bytes, memoryview),\n"
           "read in place without a copy. Waits up to timeout_ms while the retransmit store is full.")
      .def("close_stream", &Device::close_stream, py::arg("stream_id"), "Ends a stream (StreamClose).")
      .def("stream_stats", &Device::stream_stats, py::arg("stream_id"), "The stream's statistics as a dict.")
      .def("close", &Device::close, "Closes every stream and frees the handle.")
      .def("__enter__", [](Device& d) -> Device& { return d; }, py::return_value_policy::reference)
      .def("__exit__", [](Device& d, py::args) { d.close(); });
}

void add_unit(py::module_& m) {
  py::class_<Unit>(m, "Unit", py::buffer_protocol(),
                   "A verified unit, held by the server until released (release(), the end of a `with`\n"
                   "block, or garbage collection). Exposes its bytes through the buffer protocol:\n"
                   "memoryview(unit) and numpy.frombuffer(unit, dtype) share the library's buffer.\n"
                   "Views must not be used after the unit is released.")
      .def_buffer([](Unit& u) -> py::buffer_info {
        const aigw_unit& r = u.raw();
        return py::buffer_info(r.data, 1, py::format_descriptor<uint8_t>::format(), 1, {static_cast<ssize_t>(r.length)},
                               {1}, false);
      })
      .def_property_readonly("stream_id", &Unit::stream_id)
      .def_property_readonly("unit_seq", &Unit::unit_seq)
      .def_property_readonly("model", &Unit::model, "The model the stream is served by.")
      .def_property_readonly("flags", &Unit::flags, "aigw.UNIT_DECRYPTED | UNIT_SEALED | UNIT_RECOVERED bits.")
      .def_property_readonly("nack_rounds", &Unit::nack_rounds)
      .def_property_readonly("gateway", &Unit::gateway, "'host:port' of the gateway egress that sent it.")
      .def_property_readonly("held", &Unit::held)
      .def("__len__", &Unit::length)
      .def("numpy", [](py::object self, py::object dtype) {
             return py::module_::import("numpy").attr("frombuffer")(self, dtype);
           }, py::arg("dtype") = "uint8", "A numpy array over the unit's bytes (no copy).")
      .def("release", &Unit::release, "Gives the buffer back to the server.")
      .def("__enter__", [](py::object self) { return self; })
      .def("__exit__", [](Unit& u, py::args) { u.release(); });
}

// Server.units() is a Python generator, added to the class once it exists.
void add_server(py::module_& m) {
  py::class_<Server>(m, "Server",
                     "A GPU-server handle (libaigw-server, thread mode): registers with the controller,\n"
                     "reassembles, verifies, NACKs and acknowledges units, reports load. Use as a context\n"
                     "manager; iterate with units() or call next_unit().")
      .def(py::init<const std::string&, uint32_t, const py::bytes&, std::vector<std::string>, uint32_t,
                    const std::string&, std::optional<std::string>, std::optional<py::bytes>, double, uint32_t,
                    size_t, uint32_t, uint32_t, const std::string&>(),
           py::arg("controller"), py::arg("gpu_id"), py::arg("key"), py::arg("models"), py::arg("key_id") = 1,
           py::arg("data_bind") = "127.0.0.1:0", py::arg("advertise") = py::none(),
           py::arg("payload_key") = py::none(), py::arg("capacity_units_per_s") = 0.0, py::arg("period_ms") = 0,
           py::arg("memory_budget_bytes") = 0, py::arg("max_held_units") = 0, py::arg("max_unit_bytes") = 0,
           py::arg("log_level") = "warn", "Creates the handle and registers with the controller. Raises aigw.Error.")
      .def_property_readonly("data_address", &Server::data_address, "The bound data address 'host:port'.")
      .def("next_unit", &Server::next_unit, py::arg("timeout_ms") = -1,
           "The next verified unit, or None after timeout_ms (-1: wait without limit).")
      .def("set_stream_key", &Server::set_stream_key, py::arg("stream_id"), py::arg("key"),
           "The 32-byte key that opens one stream's encrypted units (None: the default payload_key).")
      .def("report_load", &Server::report_load, py::arg("load"), "The application's busy fraction, 0..1.")
      .def("counters", &Server::counters, "Handle-wide counters as a dict.")
      .def("close", &Server::close, "Leaves the controller and frees the handle (held units become invalid).")
      .def("__enter__", [](Server& s) -> Server& { return s; }, py::return_value_policy::reference)
      .def("__exit__", [](Server& s, py::args) { s.close(); });
  py::exec(kUnitsMethod, m.attr("__dict__"));
}

}  // namespace

PYBIND11_MODULE(aigw, m) {
  m.doc() =
      "aigw: stream AI data units from devices through the aigw gateway cluster to GPU servers.\n\n"
      "Device (edge SDK) sends units; Server (server SDK) receives them verified, without copies.";
  py::exec(kErrorClass, m.attr("__dict__"));
  g_error = m.attr("Error");
  m.attr("__version__") = aigw_edge_version();

  add_constants(m);
  add_functions(m);
  add_device(m);
  add_unit(m);
  add_server(m);
}
