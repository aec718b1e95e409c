#include "common/safetensors/safetensors.h"

#include <cstring>

#include "tests/testing/test_util.h"

namespace rto::safetensors {
namespace {

using rto::testing::IsOk;
using rto::testing::StatusIs;
using rto::testing::TempDir;

// The raw bytes of a safetensors file with the given header text and data section.
std::string RawFile(const std::string& header, const std::string& data, uint64_t declared_len) {
  std::string out(8, '\0');
  std::memcpy(out.data(), &declared_len, 8);
  return out + header + data;
}
std::string RawFile(const std::string& header, const std::string& data) { return RawFile(header, data, header.size()); }

TEST(SafetensorsTest, WriteThenOpenRoundTripsNamesDtypesShapesAndBytes) {
  TempDir tmp;
  std::vector<float> a = {1.5f, -2.0f, 3.25f, 0.0f, 7.0f, 8.0f};
  std::vector<uint16_t> b = {0x3f80, 0xc000, 0x0001};  // bf16 bit patterns
  std::vector<int64_t> c = {42};
  const std::string path = tmp.Join("t.safetensors");
  ASSERT_THAT(Write(path,
                    {{"a", DType::kF32, {2, 3}, a.data()},
                     {"b.bf16", DType::kBF16, {3}, b.data()},
                     {"scalar", DType::kI64, {}, c.data()}},
                    {{"format", "pt"}}),
              IsOk());
  auto file = File::Open(path);
  ASSERT_THAT(file, IsOk());
  EXPECT_EQ((*file)->metadata().at("format"), "pt");
  ASSERT_EQ((*file)->tensors().size(), 3u);
  const TensorInfo* ta = (*file)->Find("a");
  ASSERT_NE(ta, nullptr);
  EXPECT_EQ(ta->dtype, DType::kF32);
  EXPECT_EQ(ta->shape, (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(std::memcmp((*file)->Data(*ta), a.data(), 24), 0);
  // The header is padded so data starts 8-byte aligned.
  EXPECT_EQ(reinterpret_cast<uintptr_t>((*file)->Data(*ta)) % 8, 0u);
  const TensorInfo* tb = (*file)->Find("b.bf16");
  EXPECT_EQ(std::memcmp((*file)->Data(*tb), b.data(), 6), 0);
  const TensorInfo* tc = (*file)->Find("scalar");
  EXPECT_TRUE(tc->shape.empty());
  EXPECT_EQ(tc->num_bytes(), 8u);
  EXPECT_EQ((*file)->Find("missing"), nullptr);
}

TEST(SafetensorsTest, ZeroSizedTensorsAndEmptyFileAreValid) {
  TempDir tmp;
  ASSERT_THAT(Write(tmp.Join("e.safetensors"), {{"empty", DType::kF32, {0, 4}, nullptr}}), IsOk());
  auto file = File::Open(tmp.Join("e.safetensors"));
  ASSERT_THAT(file, IsOk());
  EXPECT_EQ((*file)->Find("empty")->num_bytes(), 0u);
}

TEST(SafetensorsTest, WriterRejectsDuplicateNames) {
  TempDir tmp;
  float x = 1;
  EXPECT_THAT(Write(tmp.Join("d"), {{"x", DType::kF32, {1}, &x}, {"x", DType::kF32, {1}, &x}}),
              StatusIs(absl::StatusCode::kInvalidArgument, "duplicate"));
}

struct BadCase {
  std::string label;
  std::string bytes;
  std::string expected;  // a substring of the error message
};

class MalformedTest : public ::testing::TestWithParam<BadCase> {};

TEST_P(MalformedTest, IsRejectedWithItsOwnError) {
  TempDir tmp;
  const std::string path = tmp.Join("bad.safetensors");
  testing::WriteFile(path, GetParam().bytes);
  auto file = File::Open(path);
  EXPECT_THAT(file, StatusIs(absl::StatusCode::kInvalidArgument, GetParam().expected));
  if (!file.ok()) {
    EXPECT_NE(file.status().message().find(path), std::string::npos) << "error must name the file";
  }
}

const std::string kData8(8, '\x01');
const std::string kOk = R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})";

INSTANTIATE_TEST_SUITE_P(
    Corpus, MalformedTest,
    ::testing::Values(
        BadCase{"short", "abc", "shorter than the 8-byte header length"},
        BadCase{"len_past_end", RawFile(kOk, kData8, 1000), "runs past the end"},
        BadCase{"len_huge", RawFile(kOk, kData8, uint64_t{1} << 40), "exceeds the limit"},
        BadCase{"not_object", RawFile("[1,2,3]", ""), "does not start with '{'"},
        BadCase{"bad_json", RawFile(R"({"w": {"dtype": )", ""), "not valid JSON"},
        BadCase{"duplicate",
                RawFile(R"({"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},)"
                        R"("w":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})",
                        kData8),
                "tensor 'w' appears twice"},
        BadCase{"dtype_unknown", RawFile(R"({"w":{"dtype":"F8","shape":[2],"data_offsets":[0,8]}})", kData8),
                "unsupported dtype 'F8'"},
        BadCase{"dtype_missing", RawFile(R"({"w":{"shape":[2],"data_offsets":[0,8]}})", kData8),
                "missing string 'dtype'"},
        BadCase{"shape_negative", RawFile(R"({"w":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}})", kData8),
                "not a non-negative integer"},
        BadCase{"shape_overflow",
                RawFile(R"({"w":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,8]}})", kData8),
                "overflows"},
        BadCase{"begin_after_end", RawFile(R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[8,0]}})", kData8),
                "begin > end"},
        BadCase{"end_past_data", RawFile(R"({"w":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}})", kData8),
                "past the 8-byte data section"},
        BadCase{"size_mismatch", RawFile(R"({"w":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", kData8),
                "holds 8 bytes but dtype F32 and its shape need 12"},
        BadCase{"offsets_not_pair", RawFile(R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[0]}})", kData8),
                "'data_offsets' is not a pair"},
        BadCase{"overlap",
                RawFile(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                        R"("b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})",
                        kData8),
                "overlaps"},
        BadCase{"hole", RawFile(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})", kData8),
                "unused bytes [0, 4)"},
        BadCase{"trailing", RawFile(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})", kData8),
                "data section is 8 bytes but the tensors cover 4"},
        BadCase{"metadata_not_string", RawFile(R"({"__metadata__":{"format":1}})", ""),
                "__metadata__ value of 'format'"},
        BadCase{"entry_not_object", RawFile(R"({"w":[1]})", ""), "entry is not an object"}),
    [](const ::testing::TestParamInfo<BadCase>& info) { return info.param.label; });

TEST(SafetensorsTest, ControlCaseOfTheCorpusLoads) {
  TempDir tmp;
  testing::WriteFile(tmp.Join("ok"), RawFile(kOk, kData8));
  auto file = File::Open(tmp.Join("ok"));
  ASSERT_THAT(file, IsOk());
  EXPECT_EQ((*file)->tensors().size(), 1u);
}

}  // namespace
}  // namespace rto::safetensors
