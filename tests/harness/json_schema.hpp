// A small JSON Schema validator for the keywords docs/results.schema.json uses (draft
// 2020-12): type, properties, required, additionalProperties, items, enum, const, minimum,
// minItems, $ref (to "#/..."), anyOf, allOf, if/then/else, plus the annotations $schema,
// $id, $defs, title and description. Any other keyword is reported as an error, so the
// schema cannot quietly use something that is not checked.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace rot13::test {

// One message per violation, each starting with the JSON pointer of the instance
// ("/runs/3/server/exit: expected type string, got number"). Empty: valid.
std::vector<std::string> validate_schema(const nlohmann::json& schema, const nlohmann::json& instance);

}  // namespace rot13::test
