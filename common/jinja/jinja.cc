#include "common/jinja/jinja.h"

#include <exception>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "common/jinja/ast.h"
#include "common/jinja/parse.h"
#include "common/jinja/render.h"
#include "common/util/status_macros.h"

namespace rto::jinja {
namespace {

absl::StatusOr<Value> FromJson(const nlohmann::ordered_json& j, int depth, const std::string& path) {
  if (depth > kMaxValueDepth) {
    return absl::InvalidArgumentError(
        absl::StrCat("context value at ", path, " nests deeper than ", kMaxValueDepth, " levels"));
  }
  switch (j.type()) {
    case nlohmann::ordered_json::value_t::null: return Value::None();
    case nlohmann::ordered_json::value_t::boolean: return Value::Bool(j.get<bool>());
    case nlohmann::ordered_json::value_t::number_integer: return Value::Int(j.get<int64_t>());
    case nlohmann::ordered_json::value_t::number_unsigned: {
      const uint64_t u = j.get<uint64_t>();
      if (u > static_cast<uint64_t>(INT64_MAX)) {
        return absl::InvalidArgumentError(absl::StrCat("context value at ", path, " is an integer beyond 64 bits"));
      }
      return Value::Int(static_cast<int64_t>(u));
    }
    case nlohmann::ordered_json::value_t::number_float: return Value::Float(j.get<double>());
    case nlohmann::ordered_json::value_t::string: return Value::Str(j.get<std::string>());
    case nlohmann::ordered_json::value_t::array: {
      std::vector<Value> items;
      items.reserve(j.size());
      for (size_t i = 0; i < j.size(); ++i) {
        RTO_ASSIGN_OR_RETURN(Value v, FromJson(j[i], depth + 1, absl::StrCat(path, "[", i, "]")));
        items.push_back(std::move(v));
      }
      return Value::List(std::move(items));
    }
    case nlohmann::ordered_json::value_t::object: {
      DictData d;
      for (const auto& [k, v] : j.items()) {
        RTO_ASSIGN_OR_RETURN(Value x, FromJson(v, depth + 1, absl::StrCat(path, ".", k)));
        d.Set(Value::Str(k), std::move(x));
      }
      return Value::Dict(std::move(d));
    }
    default: return absl::InvalidArgumentError(absl::StrCat("context value at ", path, " is not JSON text (binary?)"));
  }
}

absl::StatusOr<std::string> RenderImpl(const TemplateBody& body, const nlohmann::ordered_json& context,
                                       const RenderOptions& options) {
  if (!context.is_object() && !context.is_null()) {
    return absl::InvalidArgumentError("the template context must be a JSON object");
  }
  std::unordered_map<std::string, Value> vars;
  if (context.is_object()) {
    for (const auto& [k, v] : context.items()) {
      RTO_ASSIGN_OR_RETURN(Value x, FromJson(v, 1, k));
      vars[k] = std::move(x);
    }
  }
  Renderer r(options, std::move(vars));
  std::string out;
  RTO_RETURN_IF_ERROR(r.Run(body, &out));
  return out;
}

}  // namespace

absl::StatusOr<Template> Template::Parse(absl::string_view source) {
  try {
    RTO_ASSIGN_OR_RETURN(std::unique_ptr<TemplateBody> body, ParseTemplate(source));
    std::shared_ptr<TemplateBody> t = std::move(body);
    FoldConstants(t->body);
    return Template(std::move(t));
  } catch (const std::exception& e) {
    return absl::ResourceExhaustedError(absl::StrCat("parsing the template failed: ", e.what()));
  }
}

absl::StatusOr<std::string> Template::Render(const nlohmann::ordered_json& context,
                                             const RenderOptions& options) const {
  try {
    return RenderImpl(*body_, context, options);
  } catch (const std::exception& e) {
    return absl::ResourceExhaustedError(absl::StrCat("rendering the template failed: ", e.what()));
  }
}

}  // namespace rto::jinja
