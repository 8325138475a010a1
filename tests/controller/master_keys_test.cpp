// MasterKeys: the controller's side of the per-node keys, including rotation from one
// master generation to the next while both are live.
#include "controller/core/master_keys.h"

#include <gtest/gtest.h>

namespace aigw::controller {
namespace {

ControlKey master(uint8_t fill) {
  ControlKey k{};
  k.fill(fill);
  return k;
}

const uint32_t kGateway = make_sender_id(NodeRole::gateway, 3);
const uint32_t kDevice = make_sender_id(NodeRole::device, 17);

constexpr uint8_t kAllRoles = 0xFF;
constexpr uint8_t kDevicesOnly = 1u << uint32_t(NodeRole::device);

TEST(MasterKeys, EachSenderIsCheckedUnderItsOwnDerivedKey) {
  MasterKeys keys;
  keys.add(1, master(1), kAllRoles);
  ControlKey k{};
  ASSERT_EQ(keys.key_for(1, kDevice, k), KeyLookup::found);
  EXPECT_EQ(k, derive_node_key(master(1), kDevice));
  EXPECT_EQ(keys.key_for(2, kDevice, k), KeyLookup::unknown_key);
  EXPECT_EQ(keys.key_for(1, make_sender_id(NodeRole::controller, 1), k), KeyLookup::key_role)
      << "nobody speaks as the controller to the controller";
  EXPECT_EQ(keys.key_for(1, 17, k), KeyLookup::key_role) << "an id without a role";
}

TEST(MasterKeys, AMasterLimitedToDevicesDerivesNoGatewayKey) {
  MasterKeys keys;
  keys.add(2, master(2), kDevicesOnly);
  ControlKey k{};
  EXPECT_EQ(keys.key_for(2, kDevice, k), KeyLookup::found);
  EXPECT_EQ(keys.key_for(2, kGateway, k), KeyLookup::key_role);
}

TEST(MasterKeys, DuringRotationEachNodeIsAnsweredInTheGenerationItSpeaks) {
  MasterKeys keys;
  keys.add(1, master(1), kAllRoles);
  keys.add(2, master(2), kAllRoles);
  keys.set_default_generation(1);
  EXPECT_EQ(keys.generation_for(kDevice), 1u) << "not heard yet: the default";
  keys.heard(kDevice, 2);  // re-provisioned with its generation-2 key
  keys.heard(kGateway, 1);
  EXPECT_EQ(keys.generation_for(kDevice), 2u);
  EXPECT_EQ(keys.generation_for(kGateway), 1u);
  // The gateway's pair key for the device comes from the gateway's generation and is
  // boxed to the device's.
  uint32_t pair_id = 0;
  std::string box;
  ASSERT_TRUE(keys.pair_key_box(kGateway, kDevice, pair_id, box));
  EXPECT_EQ(pair_id, 1u);
  ControlKey pair{};
  ASSERT_TRUE(open_key_box(derive_node_key(master(2), kDevice), box, pair));
  EXPECT_EQ(pair, derive_pair_key(derive_node_key(master(1), kGateway), kDevice));
  EXPECT_FALSE(open_key_box(derive_node_key(master(1), kDevice), box, pair));
}

TEST(MasterKeys, ARemovedGenerationFallsBackToTheDefault) {
  MasterKeys keys;
  keys.add(2, master(2), kAllRoles);
  keys.set_default_generation(2);
  keys.heard(kDevice, 1);  // it last spoke generation 1, which is no longer configured
  EXPECT_EQ(keys.generation_for(kDevice), 2u);
  ControlKey k{};
  EXPECT_FALSE(keys.node_key(1, kDevice, k));
  EXPECT_TRUE(keys.node_key(2, kDevice, k));
}

}  // namespace
}  // namespace aigw::controller
