// `rto plot RUN_DIR [--out FILE.svg] [--keys KEY,KEY]`: the run's curves from its metrics.jsonl
// as one SVG, a panel per metric against the step. By default the main curves that the run has
// (RL: RM score train and eval, DPO token reward, KL, entropy, response length; SFT, RM, DPO:
// loss, accuracy, reward margin), else every metric. Written to RUN_DIR/curves.svg by default.
#include <algorithm>
#include <cmath>
#include <iostream>
#include <map>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "common/util/args.h"
#include "common/util/file.h"
#include "common/util/status_macros.h"
#include "nlohmann/json.hpp"
#include "services/rto/commands.h"

namespace rto {
namespace {

using Curve = std::vector<std::pair<double, double>>;  // (step, value), finite values only

constexpr const char* kMainKeys[] = {
    "reward/rm_score", "eval/rm_score", "reward/dpo_sequence", "kl/ref", "policy/entropy", "response/length", "loss",
    "accuracy",        "reward_margin"};

absl::StatusOr<std::map<std::string, Curve>> ReadCurves(const std::string& path) {
  RTO_ASSIGN_OR_RETURN(const std::string text, ReadFileToString(path));
  std::map<std::string, Curve> curves;
  int64_t line_number = 0;
  for (absl::string_view line : absl::StrSplit(text, '\n', absl::SkipWhitespace())) {
    ++line_number;
    const nlohmann::json j = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (!j.is_object() || !j.contains("step") || !j["step"].is_number()) {
      return absl::InvalidArgumentError(absl::StrCat(path, ":", line_number, ": not a metrics line with a step"));
    }
    const double step = j["step"].get<double>();
    for (const auto& [key, value] : j.items()) {
      if (key != "step" && value.is_number() && std::isfinite(value.get<double>())) {
        curves[key].emplace_back(step, value.get<double>());
      }
    }
  }
  if (curves.empty()) return absl::InvalidArgumentError(absl::StrCat(path, ": no metrics to plot"));
  return curves;
}

std::string Escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '<')
      out += "&lt;";
    else if (c == '>')
      out += "&gt;";
    else if (c == '&')
      out += "&amp;";
    else
      out += c;
  }
  return out;
}

// One panel of the grid at (x0, y0): axes, the curve, the key and the value range.
std::string Panel(const std::string& key, const Curve& c, double x0, double y0, double w, double h) {
  double lo = c[0].second, hi = c[0].second;
  for (const auto& point : c) {
    lo = std::min(lo, point.second);
    hi = std::max(hi, point.second);
  }
  if (hi == lo) hi = lo + 1;
  const double first = c.front().first, last = std::max(c.back().first, first + 1);
  const double left = x0 + 50, right = x0 + w - 10, top = y0 + 25, bottom = y0 + h - 25;
  auto X = [&](double s) { return left + (s - first) / (last - first) * (right - left); };
  auto Y = [&](double v) { return bottom - (v - lo) / (hi - lo) * (bottom - top); };
  std::string svg = absl::StrFormat(
      "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" font-weight=\"bold\">%s</text>\n"
      "<polyline points=\"%.1f,%.1f %.1f,%.1f %.1f,%.1f\" fill=\"none\" stroke=\"black\"/>\n"
      "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">%.4g</text>\n"
      "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">%.4g</text>\n"
      "<text x=\"%.1f\" y=\"%.1f\">step %g</text><text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">%g</text>\n",
      x0 + w / 2, y0 + 15, Escape(key), left, top, left, bottom, right, bottom, left - 3, top + 4, hi, left - 3, bottom,
      lo, left, bottom + 15, first, right, bottom + 15, c.back().first);
  std::string points;
  for (const auto& [s, v] : c) absl::StrAppendFormat(&points, "%.1f,%.1f ", X(s), Y(v));
  absl::StrAppendFormat(&svg, "<polyline class=\"curve\" points=\"%s\" fill=\"none\" stroke=\"#1f77b4\"/>\n", points);
  return svg;
}

absl::Status Plot(const std::vector<std::string>& argv) {
  RTO_ASSIGN_OR_RETURN(Args args, Args::Parse(argv, {"out", "keys"}));
  if (args.positionals().size() != 1) return absl::InvalidArgumentError("expected `rto plot RUN_DIR`");
  const std::string run = args.positionals()[0];
  RTO_ASSIGN_OR_RETURN(const auto curves, ReadCurves(run + "/metrics.jsonl"));
  std::vector<std::string> keys;
  if (args.Has("keys")) {
    for (absl::string_view k : absl::StrSplit(args.GetString("keys", ""), ',', absl::SkipEmpty())) {
      if (!curves.count(std::string(k))) {
        return absl::InvalidArgumentError(absl::StrCat(run, "/metrics.jsonl has no metric '", k, "'"));
      }
      keys.emplace_back(k);
    }
  } else {
    for (const char* k : kMainKeys) {
      if (curves.count(k)) keys.emplace_back(k);
    }
    if (keys.empty()) {
      for (const auto& [k, c] : curves) keys.push_back(k);
    }
  }
  const int columns = std::min<int>(3, static_cast<int>(keys.size()));
  const int rows = (static_cast<int>(keys.size()) + columns - 1) / columns;
  const double w = 360, h = 240;
  std::string svg = absl::StrFormat(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\" font-family=\"sans-serif\" "
      "font-size=\"11\">\n<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n",
      w * columns, h * rows);
  for (size_t i = 0; i < keys.size(); ++i) {
    svg += Panel(keys[i], curves.at(keys[i]), w * static_cast<double>(i % columns),
                 h * static_cast<double>(i / columns), w, h);
  }
  svg += "</svg>\n";
  const std::string out = args.GetString("out", run + "/curves.svg");
  RTO_RETURN_IF_ERROR(WriteFileAtomically(out, svg));
  std::cout << "wrote " << out << " (" << keys.size() << " curves)\n";
  return absl::OkStatus();
}

}  // namespace

int PlotCommand(const std::vector<std::string>& args) { return Report("plot", Plot(args)); }

}  // namespace rto
