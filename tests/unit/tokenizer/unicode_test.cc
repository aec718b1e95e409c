#include "common/tokenizer/unicode.h"

#include "tests/testing/test_util.h"

namespace rto::unicode {
namespace {

TEST(UnicodeTest, LossyReplacesEachMaximalInvalidSubpartOnce) {
  EXPECT_EQ(ToValidUtf8Lossy("abc"), "abc");
  EXPECT_EQ(ToValidUtf8Lossy("a\xF0\x90\x80z"), "a\uFFFDz");                    // truncated 4-byte sequence
  EXPECT_EQ(ToValidUtf8Lossy("\xC0\xAF"), "\uFFFD\uFFFD");                      // overlong lead, stray continuation
  EXPECT_EQ(ToValidUtf8Lossy("\xED\xA0\x80"), "\uFFFD\uFFFD\uFFFD");            // a surrogate
  EXPECT_EQ(ToValidUtf8Lossy("\xF4\x90\x80\x80"), "\uFFFD\uFFFD\uFFFD\uFFFD");  // above U+10FFFF
  EXPECT_EQ(ToValidUtf8Lossy("\xE2\x82"), "\uFFFD");                            // truncated at the end
  EXPECT_EQ(ToValidUtf8Lossy("\xff"), "\uFFFD");
  EXPECT_EQ(ToValidUtf8Lossy("é👍"), "é👍");
  EXPECT_TRUE(IsValidUtf8("héllo 👍 中文"));
  EXPECT_FALSE(IsValidUtf8("\xC3"));
}

TEST(UnicodeTest, DecodeUtf8NamesTheBadOffset) {
  auto ok = DecodeUtf8("aé👍");
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(*ok, (std::u32string{U'a', U'é', U'👍'}));
  EXPECT_THAT(DecodeUtf8("ab\xC3"), testing::StatusIs(absl::StatusCode::kInvalidArgument, "invalid UTF-8 at byte 2"));
}

TEST(UnicodeTest, NfcComposes) {
  EXPECT_EQ(NormalizeNfc("e\xCC\x81"), "\xC3\xA9");  // e + combining acute -> é
  EXPECT_EQ(NormalizeNfc("plain ascii"), "plain ascii");
  EXPECT_EQ(NormalizeNfc("\xff"), "\xff");  // invalid input passes through
}

TEST(UnicodeTest, ByteLevelAlphabetIsGpt2s) {
  EXPECT_EQ(ByteToCodePoint()[' '], 0x120u);   // 'Ġ'
  EXPECT_EQ(ByteToCodePoint()['\n'], 0x10Au);  // 'Ċ'
  EXPECT_EQ(ByteToCodePoint()['A'], static_cast<uint32_t>('A'));
  EXPECT_EQ(ByteToCodePoint()[0xAD], 0x143u);  // the soft hyphen is not printable
  for (int b = 0; b < 256; ++b) EXPECT_EQ(ByteOfCodePoint(ByteToCodePoint()[b]), b);
  EXPECT_EQ(ByteOfCodePoint(0x4E2D), -1);
}

}  // namespace
}  // namespace rto::unicode
