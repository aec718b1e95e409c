// Every message a role's server or client decodes from the wire: bytes to the protobuf message
// (as gRPC does) to the role interface's plain data (wire.h, which validates dtypes, shapes and
// lengths). What decodes must encode and decode again to the same message.
#include <google/protobuf/util/field_comparator.h>
#include <google/protobuf/util/message_differencer.h>

#include "common/rpc/wire.h"

namespace {

using google::protobuf::util::MessageDifferencer;

// Decodes `bytes` as M, converts it, and checks that what converted survives a round trip.
template <typename M, typename Decode, typename Encode>
void RoundTrip(const uint8_t* data, size_t size, Decode decode, Encode encode) {
  M message;
  if (!message.ParseFromArray(data, static_cast<int>(size))) return;
  auto plain = decode(message);
  if (!plain.ok()) return;
  M again;
  encode(*plain, &again);
  auto twice = decode(again);
  if (!twice.ok()) __builtin_trap();
  M third;
  encode(*twice, &third);
  google::protobuf::util::DefaultFieldComparator comparator;
  comparator.set_treat_nan_as_equal(true);
  MessageDifferencer differencer;
  differencer.set_field_comparator(&comparator);
  if (!differencer.Compare(again, third)) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  namespace v1 = rto::v1;
  namespace wire = rto::wire;
  const uint8_t* body = data + 1;
  const size_t n = size - 1;
  switch (data[0] % 8) {
    case 0:
      RoundTrip<v1::TrajectoryBatch>(
          body, n, [](const v1::TrajectoryBatch& m) { return wire::FromProto(m); },
          [](const std::vector<rto::Trajectory>& b, v1::TrajectoryBatch* m) { wire::ToProto(b, m); });
      break;
    case 1:
      RoundTrip<v1::GenerateRequest>(
          body, n, [](const v1::GenerateRequest& m) { return wire::FromProto(m); },
          [](const rto::RolloutRequest& r, v1::GenerateRequest* m) { wire::ToProto(r, m); });
      break;
    case 2:
      RoundTrip<v1::ScoreResponse>(
          body, n, [](const v1::ScoreResponse& m) { return wire::FromProto(m); },
          [](const rto::ScoreResult& r, v1::ScoreResponse* m) { wire::ToProto(r, m); });
      break;
    case 3:
      RoundTrip<v1::ValueExperience>(
          body, n, [](const v1::ValueExperience& m) { return wire::FromProto(m); },
          [](const rto::ValueExperience& e, v1::ValueExperience* m) { wire::ToProto(e, 0, m); });
      break;
    case 4:
      RoundTrip<v1::PolicyEvaluation>(
          body, n, [](const v1::PolicyEvaluation& m) { return wire::FromProto(m); },
          [](const rto::PolicyEvaluation& e, v1::PolicyEvaluation* m) { wire::ToProto(e, m); });
      break;
    case 5:
      RoundTrip<v1::PolicyExperience>(
          body, n, [](const v1::PolicyExperience& m) { return wire::FromProto(m); },
          [](const rto::PolicyExperience& e, v1::PolicyExperience* m) { wire::ToProto(e, 0, m); });
      break;
    case 6:
      RoundTrip<v1::TokenValues>(
          body, n, [](const v1::TokenValues& m) { return wire::FromProto(m, "values"); },
          [](const rto::TokenValues& v, v1::TokenValues* m) { wire::ToProto(v, m); });
      break;
    default: {
      // The weight sync request and group spec: plain fields, converted without validation here
      // (the weight group validates them when it forms).
      v1::SyncWeightsRequest request;
      if (request.ParseFromArray(body, static_cast<int>(n))) (void)wire::FromProto(request);
      break;
    }
  }
  return 0;
}
