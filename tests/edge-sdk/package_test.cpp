// Packaging: `meson install` into a temporary DESTDIR, then the example program is
// compiled from source against the installed SDK through pkg-config alone and run;
// the shared library must export the C ABI and nothing else.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "tests/common/shell_command.h"

namespace {

std::string env(const char* name) {
  const char* v = std::getenv(name);
  return v != nullptr ? v : "";
}

// Runs a shell command, returning its exit status and (merged) output.
int run(const std::string& cmd, std::string& output) {
  const aigw::test::CommandResult r = aigw::test::run_command(cmd);
  output = r.output;
  return r.exit_code;
}

class Package : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/aigw-edge-pkg-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    destdir_ = tmpl;
    root_ = destdir_ + env("AIGW_PREFIX");
    libdir_ = root_ + "/" + env("AIGW_LIBDIR");
  }
  void TearDown() override {
    std::string out;
    run("rm -rf '" + destdir_ + "'", out);
  }
  std::string destdir_, root_, libdir_;
};

TEST_F(Package, ExampleBuildsAgainstTheInstalledLibraryThroughPkgConfig) {
  std::string out;
  ASSERT_EQ(run("'" + env("AIGW_MESON") + "' install -C '" + env("AIGW_BUILD_ROOT") +
                    "' --no-rebuild --quiet --tags edge-sdk,devel --destdir '" + destdir_ + "'",
                out), 0) << out;
  const std::string pcdir = libdir_ + "/pkgconfig";
  ASSERT_EQ(run("test -f '" + pcdir + "/aigw-edge.pc' && test -f '" + root_ +
                    "/include/aigw/edge.h' && test -f '" + root_ + "/include/aigw/edge.hpp'", out), 0)
      << "installed files missing under " << root_;
  ASSERT_EQ(run("ls '" + libdir_ + "'/libaigw-edge.a '" + libdir_ + "'/libaigw-edge.so", out), 0) << out;

  // Only pkg-config tells the compiler where the SDK is (the sysroot maps the installed
  // prefix into the DESTDIR).
  const std::string pc = "PKG_CONFIG_PATH='" + pcdir + "' PKG_CONFIG_SYSROOT_DIR='" + destdir_ + "' ";
  const std::string exe = destdir_ + "/aigw-edge-stream";
  ASSERT_EQ(run(pc + env("AIGW_CXX") + " -std=c++17 -Wall -Werror '" + env("AIGW_EXAMPLE") +
                    "' $(" + pc + "pkg-config --cflags --libs aigw-edge) -o '" + exe + "'", out), 0)
      << out;
  ASSERT_EQ(run("LD_LIBRARY_PATH='" + libdir_ + "' '" + exe + "' --help", out), 0) << out;
  EXPECT_NE(out.find("usage: aigw-edge-stream"), std::string::npos) << out;
  // Usage errors exit 64 (sysexits EX_USAGE).
  EXPECT_EQ(run("LD_LIBRARY_PATH='" + libdir_ + "' '" + exe + "' --device-id 1", out), 64) << out;
  // The binary really uses the installed shared library.
  ASSERT_EQ(run("LD_LIBRARY_PATH='" + libdir_ + "' ldd '" + exe + "'", out), 0) << out;
  EXPECT_NE(out.find(libdir_ + "/libaigw-edge.so"), std::string::npos) << out;
}

TEST_F(Package, CHeaderIsPlainC99) {
  std::string out;
  ASSERT_EQ(run("'" + env("AIGW_MESON") + "' install -C '" + env("AIGW_BUILD_ROOT") +
                    "' --no-rebuild --quiet --tags edge-sdk,devel --destdir '" + destdir_ + "'",
                out), 0) << out;
  // A C application: options, error names and the planner through the C ABI only.
  const std::string src = destdir_ + "/app.c";
  FILE* f = fopen(src.c_str(), "w");
  ASSERT_NE(f, nullptr);
  fputs("#include <aigw/edge.h>\n"
        "#include <stdio.h>\n"
        "int main(void) {\n"
        "  aigw_layer_profile layers[2] = {{5, 1, 10}, {5, 1, 10}};\n"
        "  aigw_plan_request rq = {sizeof rq, layers, 2, 8000, 8e6, 100, AIGW_PLAN_MIN_BYTES};\n"
        "  aigw_plan_result r = {sizeof r, 0, 0, 0, 0, 0, 0};\n"
        "  aigw_edge_options o;\n"
        "  aigw_edge* e = 0;\n"
        "  aigw_edge_options_init(&o);\n"
        "  if (aigw_edge_create(&o, &e) != AIGW_ERR_INVALID_ARG) return 1;\n"
        "  if (aigw_plan_split(&rq, &r) != AIGW_OK) return 2;\n"
        "  printf(\"split=%u %s\\n\", (unsigned)r.split_layer, aigw_strerror(AIGW_ERR_BUSY));\n"
        "  return 0;\n"
        "}\n", f);
  fclose(f);
  const std::string pc = "PKG_CONFIG_PATH='" + libdir_ + "/pkgconfig' PKG_CONFIG_SYSROOT_DIR='" +
                         destdir_ + "' ";
  const std::string exe = destdir_ + "/app";
  ASSERT_EQ(run(pc + "cc -std=c99 -pedantic -Wall -Wextra -Werror '" + src + "' $(" + pc +
                    "pkg-config --cflags --libs aigw-edge) -o '" + exe + "'", out), 0) << out;
  ASSERT_EQ(run("LD_LIBRARY_PATH='" + libdir_ + "' '" + exe + "'", out), 0) << out;
  EXPECT_EQ(out, "split=2 retransmit store full\n");

  // The same program against the static library: `pkg-config --static` must name
  // everything libaigw-edge.a needs (the C++ runtime included).
  const std::string exe_static = destdir_ + "/app_static";
  ASSERT_EQ(run(pc + "cc -std=c99 '" + src + "' $(" + pc + "pkg-config --cflags aigw-edge) '" +
                    libdir_ + "/libaigw-edge.a' -Wl,--as-needed $(" + pc +
                    "pkg-config --static --libs aigw-edge) -o '" + exe_static + "'", out), 0)
      << out;
  ASSERT_EQ(run("ldd '" + exe_static + "'", out), 0) << out;
  EXPECT_EQ(out.find("libaigw-edge"), std::string::npos) << out;
  ASSERT_EQ(run("'" + exe_static + "'", out), 0) << out;
  EXPECT_EQ(out, "split=2 retransmit store full\n");
}

TEST_F(Package, SharedLibraryExportsOnlyTheCAbi) {
  std::string out;
  ASSERT_EQ(run("nm -D --defined-only '" + env("AIGW_SHARED_LIB") + "'", out), 0) << out;
  size_t exported = 0;
  size_t pos = 0;
  while (pos < out.size()) {
    const size_t end = out.find('\n', pos);
    const std::string line = out.substr(pos, end - pos);
    pos = end == std::string::npos ? out.size() : end + 1;
    const size_t sp = line.rfind(' ');
    if (sp == std::string::npos) continue;
    const std::string type = line.substr(sp - 1, 1);
    const std::string name = line.substr(sp + 1);
    if (type != "T") continue;
    EXPECT_EQ(name.rfind("aigw_", 0), 0u) << "unexpected export " << name;
    ++exported;
  }
  EXPECT_GE(exported, 15u);
}

}  // namespace
