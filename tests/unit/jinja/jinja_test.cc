// The Jinja interpreter against Python jinja2 as transformers configures it: the focused cases of
// tests/fixtures/jinja/cases.json (scripts/make_jinja_cases.py), the semantics probes and every
// golden rendering of real chat templates in tests/fixtures/chat_templates, and the sandbox's
// limits, which Python cannot produce (it would run out of memory or time instead).
#include "common/jinja/jinja.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <ctime>
#include <filesystem>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"
#include "tests/testing/test_util.h"

namespace rto::jinja {
namespace {

using ::rto::testing::IsOk;
using ::rto::testing::ReadFile;
using ::rto::testing::SourceDir;
using ::rto::testing::StatusIs;
using json = nlohmann::ordered_json;

// strftime_now as a clock fixed at `at` (local fields), like the fixtures' Python side.
RenderOptions FixedClock(int year, int month, int day, int hour, int minute, int second) {
  RenderOptions options;
  options.strftime_now = [=](absl::string_view format) {
    std::tm tm{};
    tm.tm_year = year - 1900, tm.tm_mon = month - 1, tm.tm_mday = day;
    tm.tm_hour = hour, tm.tm_min = minute, tm.tm_sec = second;
    const std::time_t t = timegm(&tm);
    gmtime_r(&t, &tm);  // fills the weekday and the day of the year
    char buf[256];
    const size_t n = std::strftime(buf, sizeof(buf), std::string(format).c_str(), &tm);
    return std::string(buf, n);
  };
  return options;
}

absl::StatusOr<std::string> RenderText(absl::string_view source, const json& context = json::object(),
                                       const RenderOptions& options = {}) {
  absl::StatusOr<Template> t = Template::Parse(source);
  if (!t.ok()) return t.status();
  return t->Render(context, options);
}

json LoadJson(const std::string& relative) { return json::parse(ReadFile(SourceDir() + "/" + relative)); }

// Checks one rendering against Python's: the same text, or an error at the same stage (a parse
// error naming jinja2's line, a render error naming its exception and message). Returns whether
// it matched; a mismatch is also a test failure.
bool MatchesPython(const std::string& name, const std::string& source, const json& context, const json& expected,
                   const RenderOptions& options) {
  absl::StatusOr<Template> t = Template::Parse(source);
  auto fail = [&](const std::string& why) {
    ADD_FAILURE() << name << ": " << why;
    return false;
  };
  const bool has_text = expected.contains("output") || expected.contains("text");
  const std::string stage = expected.value("error_stage", "render");
  if (!has_text && stage == "parse") {
    if (t.ok()) return fail(absl::StrCat("parsed, but jinja2 refused it: ", expected["error"].get<std::string>()));
    const std::string message(t.status().message());
    const bool python_line = !expected["error_line"].is_null() && expected["error_type"] != "SyntaxError";
    const std::string want = python_line ? absl::StrCat("line ", expected["error_line"].get<int>(), ",") : "line ";
    if (message.rfind(want, 0) != 0) return fail(absl::StrCat("parse error without '", want, "': ", message));
    return true;
  }
  if (!t.ok()) return fail(absl::StrCat("jinja2 parsed it, we did not: ", t.status().ToString()));
  absl::StatusOr<std::string> out = t->Render(context, options);
  if (has_text) {
    const std::string want = expected.contains("output") ? expected["output"] : expected["text"];
    if (!out.ok()) return fail(absl::StrCat("render failed: ", out.status().ToString(), "\nwanted: ", want));
    if (*out != want) return fail(absl::StrCat("\n got: ", json(*out).dump(), "\nwant: ", json(want).dump()));
    return true;
  }
  const std::string error = expected["error"];
  const std::string type = expected.value("error_type", "");
  if (out.ok()) return fail(absl::StrCat("rendered ", json(*out).dump(), " but jinja2 raised ", type, ": ", error));
  const std::string message(out.status().message());
  if (out.status().code() != absl::StatusCode::kInvalidArgument) return fail(out.status().ToString());
  if (type == "TemplateError" || expected.value("raised_by", "") == "raise_exception") {
    if (message != absl::StrCat("template raised: ", error))
      return fail(absl::StrCat("raised ", message, " want ", error));
    return true;
  }
  // Python names its own functions in argument errors ("sync_do_join() got ..."); compare after "() ".
  const size_t call = error.find("() ");
  const std::string tail = call != std::string::npos && error.find(' ') > call ? error.substr(call + 3) : error;
  if (type != "RecursionError" &&
      (message.find(absl::StrCat(type, ": ")) == std::string::npos || message.find(tail) == std::string::npos)) {
    return fail(absl::StrCat("error '", message, "' does not name ", type, ": ", error));
  }
  return true;
}

TEST(JinjaCases, EqualPythonJinja2) {
  const json cases = LoadJson("tests/fixtures/jinja/cases.json");
  ASSERT_GE(cases.size(), 150u);
  const RenderOptions clock = FixedClock(2024, 7, 26, 13, 45, 9);
  int passed = 0;
  for (const json& c : cases) passed += MatchesPython(c["name"], c["template"], c["context"], c, clock);
  std::printf("jinja cases: %d/%zu pass\n", passed, cases.size());
}

TEST(JinjaProbes, EqualTransformers) {
  const std::string path = "tests/fixtures/chat_templates/probes.json";
  if (!std::filesystem::exists(SourceDir() + "/" + path)) GTEST_SKIP() << path << " not there yet";
  const json probes = LoadJson(path);
  int passed = 0;
  const RenderOptions clock = FixedClock(2026, 1, 15, 12, 0, 0);
  for (const json& p : probes["probes"])
    passed += MatchesPython(p["title"], p["template"], probes["context"], p, clock);
  std::printf("chat-template probes: %d/%zu pass\n", passed, probes["probes"].size());
}

// transformers' _alias_reasoning_fields: {"thinking": r, **message, "reasoning_content": r}.
json AliasReasoning(const json& messages) {
  json out = json::array();
  for (const json& m : messages) {
    json reasoning;
    for (const char* key : {"reasoning_content", "thinking", "reasoning"}) {
      if (m.contains(key) && !m[key].is_null()) {
        reasoning = m[key];
        break;
      }
    }
    if (reasoning.is_null()) {
      out.push_back(m);
      continue;
    }
    json aliased = json::object();
    aliased["thinking"] = reasoning;
    for (const auto& [k, v] : m.items()) aliased[k] = v;
    aliased["reasoning_content"] = reasoning;
    out.push_back(aliased);
  }
  return out;
}

// The context render_jinja_template builds: messages, tools, documents and add_generation_prompt
// always, the special tokens when the tokenizer has them, then the extra variables.
json GoldenContext(const json& e) {
  json ctx = json::object();
  ctx["messages"] = AliasReasoning(e["messages"]);
  ctx["tools"] = e.contains("tools") ? e["tools"] : json();
  ctx["documents"] = e.contains("documents") ? e["documents"] : json();
  ctx["add_generation_prompt"] = e.value("add_generation_prompt", false);
  for (const char* token : {"bos_token", "eos_token"}) {
    if (e.contains(token) && !e[token].is_null()) ctx[token] = e[token];
  }
  if (e.contains("extra_context")) {
    for (const auto& [k, v] : e["extra_context"].items()) ctx[k] = v;
  }
  return ctx;
}

TEST(JinjaChatTemplates, EqualTransformersGoldens) {
  const std::string dir = "tests/fixtures/chat_templates";
  const json golden = LoadJson(dir + "/golden.json");
  const RenderOptions clock = FixedClock(2026, 1, 15, 12, 0, 0);
  int passed = 0;
  for (const json& e : golden["entries"]) {
    const std::string name = e["template"];
    const std::string source = ReadFile(SourceDir() + "/" + dir + "/templates/" + name + ".jinja");
    passed += MatchesPython(absl::StrCat(name, "/", e["case"].get<std::string>()), source, GoldenContext(e), e, clock);
  }
  std::printf("chat-template goldens: %d/%zu pass\n", passed, golden["entries"].size());
}

// ---- API ----

TEST(JinjaApi, TemplateIsReusableAndCopyable) {
  absl::StatusOr<Template> t = Template::Parse("{{ a }}-{{ b|default('none') }}");
  ASSERT_THAT(t, IsOk());
  Template copy = *t;
  EXPECT_THAT(t->Render({{"a", 1}}), ::rto::testing::IsOkAndHolds(std::string("1-none")));
  EXPECT_THAT(copy.Render({{"a", "x"}, {"b", 2}}), ::rto::testing::IsOkAndHolds(std::string("x-2")));
  EXPECT_THAT(t->Render(nullptr), ::rto::testing::IsOkAndHolds(std::string("-none")));
}

TEST(JinjaApi, ContextMustBeAnObjectOfRepresentableValues) {
  absl::StatusOr<Template> t = Template::Parse("{{ x }}");
  ASSERT_THAT(t, IsOk());
  EXPECT_THAT(t->Render(json::array({1})), StatusIs(absl::StatusCode::kInvalidArgument, "JSON object"));
  EXPECT_THAT(t->Render({{"x", std::numeric_limits<uint64_t>::max()}}),
              StatusIs(absl::StatusCode::kInvalidArgument, "beyond 64 bits"));
  json deep = 1;
  for (int i = 0; i < 600; ++i) deep = json::array({deep});
  EXPECT_THAT(t->Render({{"x", deep}}), StatusIs(absl::StatusCode::kInvalidArgument, "nests deeper"));
}

TEST(JinjaApi, ParseErrorsNameLineAndColumn) {
  EXPECT_THAT(Template::Parse("a\nb {{ x + }}").status(),
              StatusIs(absl::StatusCode::kInvalidArgument, "line 2, column 10: unexpected 'end of print statement'"));
  EXPECT_THAT(
      Template::Parse("{% for x in y %}").status(),
      StatusIs(absl::StatusCode::kInvalidArgument, "Jinja was looking for the following tags: 'endfor' or 'else'"));
  EXPECT_THAT(Template::Parse("{{ x|nosuchfilter }}").status(),
              StatusIs(absl::StatusCode::kInvalidArgument, "line 1, column 6: No filter named 'nosuchfilter'."));
  EXPECT_THAT(Template::Parse("{% include 'x.j2' %}").status(),
              StatusIs(absl::StatusCode::kInvalidArgument, "'include' tag is not supported"));
  EXPECT_THAT(Template::Parse("{% for x in y recursive %}{% endfor %}").status(),
              StatusIs(absl::StatusCode::kInvalidArgument, "recursive for loops are not supported"));
}

TEST(JinjaApi, RuntimeErrorsNameLineAndType) {
  EXPECT_THAT(RenderText("line1\n{% if true %}\n  {{ 1 + 'a' }}\n{% endif %}"),
              StatusIs(absl::StatusCode::kInvalidArgument, "line 3: TypeError: unsupported operand type(s) for +"));
  EXPECT_THAT(RenderText("{% macro m() %}\n{{ x.y }}{% endmacro %}\n{{ m() }}"),
              StatusIs(absl::StatusCode::kInvalidArgument, "line 2: UndefinedError: 'x' is undefined"));
  EXPECT_THAT(RenderText("{% if true %}{{ x|pprint }}{% endif %}"),
              StatusIs(absl::StatusCode::kInvalidArgument, "'pprint' filter is not supported"));
  EXPECT_THAT(RenderText("{{ raise_exception('no ' ~ 1) }}"),
              StatusIs(absl::StatusCode::kInvalidArgument, "template raised: no 1"));
  EXPECT_THAT(RenderText("{{ 2 ** 64 }}"), StatusIs(absl::StatusCode::kInvalidArgument, "OverflowError"));
}

TEST(JinjaApi, ConcurrentRendersShareATemplate) {
  absl::StatusOr<Template> t = Template::Parse(
      "{% set ns = namespace(n=0) %}{% for m in messages %}{% set ns.n = ns.n + m|length %}{{ m|upper }}{% endfor %}"
      "{{ ns.n }}");
  ASSERT_THAT(t, IsOk());
  std::vector<std::thread> threads;
  std::atomic<int> good{0};
  for (int k = 0; k < 4; ++k) {
    threads.emplace_back([&, k] {
      const json ctx = {{"messages", {"a" + std::to_string(k), "bc"}}};
      for (int i = 0; i < 200; ++i) good += t->Render(ctx).value_or("") == absl::StrCat("A", k, "BC4");
    });
  }
  for (std::thread& th : threads) th.join();
  EXPECT_EQ(good.load(), 800);
}

TEST(JinjaApi, DefaultClockIsTheCurrentYear) {
  absl::StatusOr<std::string> year = RenderText("{{ strftime_now('%Y') }}");
  ASSERT_THAT(year, IsOk());
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  localtime_r(&now, &tm);
  EXPECT_EQ(*year, std::to_string(1900 + tm.tm_year));
}

// ---- the sandbox's limits ----

RenderOptions Limits(size_t output, int64_t loops, int calls, int64_t work = 20000000) {
  RenderOptions o;
  o.limits.max_output_bytes = output;
  o.limits.max_loop_iterations = loops;
  o.limits.max_call_depth = calls;
  o.limits.max_work = work;
  return o;
}

TEST(JinjaLimits, NestedLoopsStopAtTheIterationBudget) {
  EXPECT_THAT(RenderText("{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}"),
              StatusIs(absl::StatusCode::kInvalidArgument, "more than 100000 loop iterations"));
  EXPECT_THAT(RenderText("{% for i in range(10) %}{% for j in range(10) %}{% endfor %}{% endfor %}", {},
                         Limits(1 << 20, 50, 64)),
              StatusIs(absl::StatusCode::kInvalidArgument, "RenderLimits::max_loop_iterations"));
  EXPECT_THAT(RenderText("{% for i in range(10) %}{% for j in range(10) %}{% endfor %}{% endfor %}", {},
                         Limits(1 << 20, 110, 64)),
              IsOk());
}

TEST(JinjaLimits, OutputAndStringsAreBounded) {
  EXPECT_THAT(RenderText("{% for i in range(100000) %}{{ 'x' * 1000 }}{% endfor %}"),
              StatusIs(absl::StatusCode::kInvalidArgument, "the output grew past 1048576 bytes"));
  EXPECT_THAT(RenderText("{{ 'ab' * 1000000000000 }}"),
              StatusIs(absl::StatusCode::kInvalidArgument, "max_output_bytes"));
  EXPECT_THAT(RenderText("{{ ([1] * 100000000)|length }}"), StatusIs(absl::StatusCode::kInvalidArgument, "a list of"));
  EXPECT_THAT(RenderText("{% set s = 'x' * 2000 %}{{ s.replace('', s)|length }}"),
              StatusIs(absl::StatusCode::kInvalidArgument, "max_output_bytes"));
  EXPECT_THAT(RenderText("{{ 'a'|center(100000000000) }}"),
              StatusIs(absl::StatusCode::kInvalidArgument, "max_output_bytes"));
  EXPECT_THAT(RenderText("{{ '%9999999999d' % 1 }}"), StatusIs(absl::StatusCode::kInvalidArgument, "Error"));
  EXPECT_THAT(
      RenderText("{% set ns = namespace(s='ab') %}{% for i in range(40) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}"),
      StatusIs(absl::StatusCode::kInvalidArgument, "max_output_bytes"));
  EXPECT_THAT(RenderText("{{ x * 100 }}", {{"x", "x"}}, Limits(50, 100, 64)),
              StatusIs(absl::StatusCode::kInvalidArgument, "exceeds the limit of 50"));
}

TEST(JinjaLimits, RecursionStopsAtTheCallDepth) {
  EXPECT_THAT(RenderText("{% macro m(n) %}{{ m(n + 1) }}{% endmacro %}{{ m(0) }}"),
              StatusIs(absl::StatusCode::kInvalidArgument, "macro calls nest deeper than 64"));
  EXPECT_THAT(RenderText("{% macro m(n) %}{% if n > 0 %}{{ m(n - 1) }}{% endif %}{{ n }}{% endmacro %}{{ m(10) }}", {},
                         Limits(1 << 20, 100, 11)),
              ::rto::testing::IsOkAndHolds(std::string("012345678910")));
  // Two calls per level: 2^60 calls without a work budget.
  EXPECT_THAT(
      RenderText("{% macro m(n) %}{% if n > 0 %}{{ m(n - 1) }}{{ m(n - 1) }}{% endif %}{% endmacro %}{{ m(60) }}", {},
                 Limits(1 << 20, 100, 64, 1000000)),
      StatusIs(absl::StatusCode::kInvalidArgument, "RenderLimits::max_work"));
  EXPECT_THAT(RenderText("{% macro m() %}{{ m() }}{% endmacro %}{{ m() }}", {}, Limits(1 << 20, 100, 1000000)),
              StatusIs(absl::StatusCode::kInvalidArgument, "nest deeper than 256"));
}

TEST(JinjaLimits, NativeRecursionIsBounded) {
  // Each macro level evaluates a 300-deep expression before recursing: stack depth, not call count.
  std::string deep = "m(n)";
  for (int i = 0; i < 300; ++i) deep += " + 1";
  EXPECT_THAT(RenderText("{% macro m(n) %}{{ " + deep + " }}{% endmacro %}{{ m(1) }}", {}, Limits(1 << 20, 100, 256)),
              StatusIs(absl::StatusCode::kInvalidArgument, "too deeply"));
  std::string blocks, ends;
  for (int i = 0; i < 100; ++i) blocks += "{% if true %}", ends += "{% endif %}";
  EXPECT_THAT(RenderText("{% macro m(n) %}" + blocks + "{{ m(n) }}" + ends + "{% endmacro %}{{ m(1) }}", {},
                         Limits(1 << 20, 100, 256)),
              StatusIs(absl::StatusCode::kInvalidArgument, "too deeply"));
}

TEST(JinjaLimits, WorkBudgetBoundsLoopsOfBigFilters) {
  EXPECT_THAT(RenderText("{% for i in range(100000) %}{{ range(100000)|join|length }}{% endfor %}", {},
                         Limits(1 << 30, 100000, 64)),
              StatusIs(absl::StatusCode::kInvalidArgument, "max_work"));
  EXPECT_THAT(RenderText("{% for i in range(30) %}{{ i }}{% endfor %}", {}, Limits(1 << 20, 1000, 64, 50)),
              StatusIs(absl::StatusCode::kInvalidArgument, "more than 50 steps"));
}

TEST(JinjaLimits, DeepValuesAndTemplatesFailCleanly) {
  EXPECT_THAT(RenderText("{% set ns = namespace(x=1) %}{% for i in range(2000) %}{% set ns.x = [ns.x] %}{% endfor %}"),
              StatusIs(absl::StatusCode::kInvalidArgument, "nested deeper than"));
  // A list of lists of the same list, 40 levels: 2^40 leaves to print or compare.
  const std::string doubling =
      "{% set ns = namespace(a=[1], b=[1]) %}{% for i in range(40) %}{% set ns.a = [ns.a, ns.a] %}"
      "{% set ns.b = [ns.b, ns.b] %}{% endfor %}";
  EXPECT_THAT(RenderText(doubling + "{{ ns.a == ns.b }}"), StatusIs(absl::StatusCode::kInvalidArgument, "max_work"));
  EXPECT_THAT(RenderText(doubling + "{{ ns.a|string|length }}"), StatusIs(absl::StatusCode::kInvalidArgument, "max"));
  EXPECT_THAT(RenderText(doubling + "{{ ns.a|tojson|length }}"), StatusIs(absl::StatusCode::kInvalidArgument, "max"));
  EXPECT_THAT(Template::Parse("{{ " + std::string(5000, '(') + "1" + std::string(5000, ')') + " }}").status(),
              StatusIs(absl::StatusCode::kInvalidArgument, "nests too deeply"));
  std::string chain = "{{ 1";
  for (int i = 0; i < 100000; ++i) chain += " + 1";
  EXPECT_THAT(Template::Parse(chain + " }}").status(),
              StatusIs(absl::StatusCode::kInvalidArgument, "nests too deeply"));
  std::string blocks;
  for (int i = 0; i < 2000; ++i) blocks += "{% if true %}";
  EXPECT_THAT(Template::Parse(blocks).status(), StatusIs(absl::StatusCode::kInvalidArgument, "nests too deeply"));
}

TEST(JinjaLimits, ImmutableSandbox) {
  const json ctx = {{"l", {1, 2}}, {"d", {{"a", 1}}}};
  for (const char* t : {"{{ l.append(3) }}", "{{ l.extend([3]) }}", "{{ l.sort() }}", "{{ d.update({'b': 2}) }}",
                        "{{ d.setdefault('b', 2) }}", "{{ d.clear() }}", "{{ ''.__class__.__mro__ }}",
                        "{{ range.__globals__['os'] }}", "{{ namespace.__init__() }}", "{{ l.__len__() }}"}) {
    SCOPED_TRACE(t);
    absl::StatusOr<std::string> out = RenderText(t, ctx);
    EXPECT_FALSE(out.ok()) << *out;
  }
  EXPECT_THAT(RenderText("{{ l }}{{ d }}", ctx), ::rto::testing::IsOkAndHolds(std::string("[1, 2]{'a': 1}")));
  // As in jinja2, an unsafe attribute is an Undefined: it prints as "" and fails when used.
  EXPECT_THAT(RenderText("[{{ l.append }}][{{ range.__globals__ }}]", ctx),
              ::rto::testing::IsOkAndHolds(std::string("[][]")));
}

TEST(JinjaLimits, RandomInputNeverCrashes) {
  std::mt19937 rng(7);
  const std::string alphabet = "{}%#-+()[]'\"|.,:=~*/ \nabcxyz019_ifendforsetmacroin";
  for (int n = 0; n < 3000; ++n) {
    std::string source;
    const int len = static_cast<int>(rng() % 40);
    for (int i = 0; i < len; ++i) source += alphabet[rng() % alphabet.size()];
    absl::StatusOr<Template> t = Template::Parse(source);
    if (t.ok()) (void)t->Render({{"x", {1, "a"}}, {"y", {{"k", nullptr}}}}, Limits(1 << 16, 1000, 8, 100000));
  }
}

}  // namespace
}  // namespace rto::jinja
