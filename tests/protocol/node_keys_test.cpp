#include "protocol/node_keys.h"

#include <gtest/gtest.h>

namespace aigw {
namespace {

ControlKey master() {
  ControlKey k{};
  for (size_t i = 0; i < k.size(); ++i) k[i] = uint8_t(i * 7 + 3);
  return k;
}

const uint32_t kController = make_sender_id(NodeRole::controller, 1);
const uint32_t kGateway = make_sender_id(NodeRole::gateway, 3);
const uint32_t kDevice = make_sender_id(NodeRole::device, 17);
const uint32_t kOtherDevice = make_sender_id(NodeRole::device, 18);
const uint32_t kGpu = make_sender_id(NodeRole::gpu, 2);

NodeKeys node(uint32_t self) {
  NodeKeys k(self);
  k.add_own(1, derive_node_key(master(), self));
  return k;
}

std::vector<uint8_t> seal(uint32_t sender, uint32_t key_id, const ControlKey& key, uint64_t counter = 10) {
  EnvelopeSealer s(sender, key_id, key, counter);
  std::vector<uint8_t> out;
  EXPECT_TRUE(s.seal(MessageType::heartbeat, std::string("body"), out));
  return out;
}

EnvelopeError open_with(const KeySource& keys, const std::vector<uint8_t>& d) {
  EnvelopeOpener o(keys);
  EnvelopeView v;
  return o.open(d.data(), d.size(), v);
}

TEST(NodeKeys, EachSenderGetsItsOwnKeyFromTheMaster) {
  EXPECT_EQ(derive_node_key(master(), kDevice), derive_node_key(master(), kDevice));
  EXPECT_NE(derive_node_key(master(), kDevice), derive_node_key(master(), kOtherDevice));
  EXPECT_NE(derive_node_key(master(), kDevice), master());
  // Same node number, other role: another key, so a role cannot be borrowed.
  EXPECT_NE(derive_node_key(master(), make_sender_id(NodeRole::gateway, 17)), derive_node_key(master(), kDevice));
}

TEST(NodeKeys, AKeyBoxOpensOnlyForItsRecipient) {
  const ControlKey secret = derive_pair_key(derive_node_key(master(), kGateway), kDevice);
  const std::string box = seal_key_box(derive_node_key(master(), kDevice), secret);
  EXPECT_EQ(box.size(), kKeyBoxSize);
  ControlKey out{};
  ASSERT_TRUE(open_key_box(derive_node_key(master(), kDevice), box, out));
  EXPECT_EQ(out, secret);
  EXPECT_FALSE(open_key_box(derive_node_key(master(), kOtherDevice), box, out));
  std::string bent = box;
  bent[30] ^= 1;
  EXPECT_FALSE(open_key_box(derive_node_key(master(), kDevice), bent, out));
  EXPECT_FALSE(open_key_box(derive_node_key(master(), kDevice), box.substr(1), out));
}

TEST(NodeKeys, OnlyTheControllerSpeaksUnderANodesOwnKey) {
  const NodeKeys device = node(kDevice);
  const ControlKey own = derive_node_key(master(), kDevice);
  EXPECT_EQ(open_with(device, seal(kController, 1, own)), EnvelopeError::ok);
  // Another device, with its own key, claiming to be the controller: the MAC fails.
  EXPECT_EQ(open_with(device, seal(kController, 1, derive_node_key(master(), kOtherDevice))), EnvelopeError::bad_mac);
  // Any sender id that is not the controller's is refused before the MAC.
  EXPECT_EQ(open_with(device, seal(kGateway, 1, own)), EnvelopeError::key_role);
  EXPECT_EQ(open_with(device, seal(kController, 2, own)), EnvelopeError::unknown_key);
}

TEST(NodeKeys, AGatewayAndItsPeerAgreeOnThePairKeyThePeerWasGiven) {
  const NodeKeys gateway = node(kGateway);
  NodeKeys device = node(kDevice);
  NodeKeys gpu = node(kGpu);
  // What the controller does: the gateway's pair key for each peer, boxed to the peer.
  const ControlKey gateway_key = derive_node_key(master(), kGateway);
  ASSERT_TRUE(device.learn_pair_key(kGateway, 1, 1,
                                    seal_key_box(derive_node_key(master(), kDevice), derive_pair_key(gateway_key, kDevice))));
  ASSERT_TRUE(gpu.learn_pair_key(kGateway, 1, 1,
                                 seal_key_box(derive_node_key(master(), kGpu), derive_pair_key(gateway_key, kGpu))));

  uint32_t key_id = 0;
  ControlKey k{};
  ASSERT_TRUE(gateway.pair_key_to(kDevice, key_id, k));  // gateway -> device NACK
  EXPECT_EQ(key_id, kPairKeyFlag | 1);
  EXPECT_EQ(open_with(device, seal(kGateway, key_id, k)), EnvelopeError::ok);
  ASSERT_TRUE(gpu.pair_key_to(kGateway, key_id, k));  // GPU -> gateway ack
  EXPECT_EQ(open_with(gateway, seal(kGpu, key_id, k)), EnvelopeError::ok);

  // The device's pair key cannot pass for the GPU server's, nor the GPU's for the device.
  ASSERT_TRUE(device.pair_key_to(kGateway, key_id, k));
  EXPECT_EQ(open_with(gateway, seal(kGpu, key_id, k)), EnvelopeError::bad_mac);
  EXPECT_EQ(open_with(gateway, seal(kDevice, key_id, k)), EnvelopeError::key_role) << "gateways take acks from GPUs only";
  // A device holding its pair key cannot speak as the gateway to another device.
  const NodeKeys other = node(kOtherDevice);
  EXPECT_EQ(open_with(other, seal(kGateway, key_id, k)), EnvelopeError::unknown_key);
}

TEST(NodeKeys, APairKeyBoxForAnotherNodeIsRefused) {
  NodeKeys device = node(kDevice);
  const ControlKey pair = derive_pair_key(derive_node_key(master(), kGateway), kOtherDevice);
  EXPECT_FALSE(device.learn_pair_key(kGateway, 1, 1, seal_key_box(derive_node_key(master(), kOtherDevice), pair)));
  EXPECT_FALSE(device.learn_pair_key(kDevice, 1, 1, seal_key_box(derive_node_key(master(), kDevice), pair)))
      << "pair keys name gateways only";
  uint32_t key_id = 0;
  ControlKey k{};
  EXPECT_FALSE(device.pair_key_to(kGateway, key_id, k));
}

TEST(NodeKeys, TheNewestPairGenerationSealsAndBothStillOpen) {
  NodeKeys device = node(kDevice);
  device.add_own(2, derive_node_key(master(), kDevice));
  for (uint32_t gen : {1u, 2u}) {
    const ControlKey pair = derive_pair_key(derive_node_key(master(), kGateway), kDevice + gen);  // distinct keys
    ASSERT_TRUE(device.learn_pair_key(kGateway, gen, 1, seal_key_box(derive_node_key(master(), kDevice), pair)));
  }
  uint32_t key_id = 0;
  ControlKey k{};
  ASSERT_TRUE(device.pair_key_to(kGateway, key_id, k));
  EXPECT_EQ(key_id, kPairKeyFlag | 2);
  EXPECT_EQ(open_with(device, seal(kGateway, kPairKeyFlag | 1,
                                  derive_pair_key(derive_node_key(master(), kGateway), kDevice + 1))),
            EnvelopeError::ok);
}

}  // namespace
}  // namespace aigw
