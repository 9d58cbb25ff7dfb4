#include "json_schema.hpp"

#include <cmath>
#include <set>

namespace rot13::test {

using nlohmann::json;

namespace {

bool has_type(const json& value, const std::string& type) {
    if (type == "object") return value.is_object();
    if (type == "array") return value.is_array();
    if (type == "string") return value.is_string();
    if (type == "boolean") return value.is_boolean();
    if (type == "null") return value.is_null();
    if (type == "number") return value.is_number();
    if (type == "integer")
        return value.is_number_integer() ||
               (value.is_number_float() && std::floor(value.get<double>()) == value.get<double>());
    return false;
}

class validator {
public:
    explicit validator(const json& root) : root_(root) {}

    std::vector<std::string> errors;

    void check(const json& schema, const json& value, const std::string& where) {
        if (schema.is_boolean()) {
            if (!schema.get<bool>()) fail(where, "no value is allowed here");
            return;
        }
        static const std::set<std::string> annotations = {"$schema",     "$id",  "$defs", "title",
                                                          "description", "then", "else"};
        for (const auto& [key, arg] : schema.items()) {
            if (annotations.count(key)) continue;
            if (key == "$ref")
                check_ref(arg, value, where);
            else if (key == "type")
                check_type(arg, value, where);
            else if (key == "enum") {
                bool found = false;
                for (const auto& option : arg) found = found || option == value;
                if (!found) fail(where, "not one of " + arg.dump() + ": " + shown(value));
            } else if (key == "const") {
                if (arg != value) fail(where, "expected " + arg.dump() + ", got " + shown(value));
            } else if (key == "minimum") {
                if (value.is_number() && value.get<double>() < arg.get<double>())
                    fail(where, "below the minimum " + arg.dump() + ": " + shown(value));
            } else if (key == "minItems") {
                if (value.is_array() && value.size() < arg.get<std::size_t>())
                    fail(where, "fewer than " + arg.dump() + " items");
            } else if (key == "required") {
                if (value.is_object())
                    for (const auto& name : arg)
                        if (!value.contains(name.get<std::string>()))
                            fail(where, "missing key \"" + name.get<std::string>() + "\"");
            } else if (key == "properties") {
                if (value.is_object())
                    for (const auto& [name, sub] : arg.items())
                        if (value.contains(name)) check(sub, value[name], where + "/" + name);
            } else if (key == "additionalProperties") {
                if (!value.is_object()) continue;
                const json properties = schema.value("properties", json::object());
                for (const auto& [name, sub] : value.items()) {
                    if (properties.contains(name)) continue;
                    if (arg.is_boolean() && !arg.get<bool>())
                        fail(where, "unexpected key \"" + name + "\"");
                    else
                        check(arg, sub, where + "/" + name);
                }
            } else if (key == "items") {
                if (value.is_array())
                    for (std::size_t i = 0; i < value.size(); ++i)
                        check(arg, value[i], where + "/" + std::to_string(i));
            } else if (key == "allOf") {
                for (const auto& sub : arg) check(sub, value, where);
            } else if (key == "anyOf") {
                std::vector<std::string> first_errors;
                bool any = false;
                for (const auto& sub : arg) {
                    auto sub_errors = try_check(sub, value, where);
                    if (sub_errors.empty())
                        any = true;
                    else if (first_errors.empty())
                        first_errors = sub_errors;
                }
                if (!any) {
                    fail(where, "matches none of anyOf, e.g.:");
                    errors.insert(errors.end(), first_errors.begin(), first_errors.end());
                }
            } else if (key == "if") {
                if (try_check(arg, value, where).empty()) {
                    if (schema.contains("then")) check(schema["then"], value, where);
                } else if (schema.contains("else")) {
                    check(schema["else"], value, where);
                }
            } else {
                fail(where, "the schema uses the unsupported keyword \"" + key + "\"");
            }
        }
    }

private:
    const json& root_;

    void fail(const std::string& where, const std::string& what) {
        errors.push_back((where.empty() ? "/" : where) + ": " + what);
    }

    static std::string shown(const json& value) {
        std::string text = value.dump();
        return text.size() > 60 ? text.substr(0, 57) + "..." : text;
    }

    std::vector<std::string> try_check(const json& schema, const json& value, const std::string& where) {
        validator sub(root_);
        sub.check(schema, value, where);
        return sub.errors;
    }

    void check_ref(const json& ref, const json& value, const std::string& where) {
        std::string target = ref.get<std::string>();
        if (target.rfind("#", 0) != 0) {
            fail(where, "unsupported $ref " + target);
            return;
        }
        check(root_.at(json::json_pointer(target.substr(1))), value, where);
    }

    void check_type(const json& arg, const json& value, const std::string& where) {
        std::vector<std::string> types;
        if (arg.is_string())
            types.push_back(arg.get<std::string>());
        else
            for (const auto& t : arg) types.push_back(t.get<std::string>());
        for (const auto& t : types)
            if (has_type(value, t)) return;
        fail(where,
             "expected type " + arg.dump() + ", got " + std::string(value.type_name()) + " " + shown(value));
    }
};

}  // namespace

std::vector<std::string> validate_schema(const json& schema, const json& instance) {
    validator v(schema);
    v.check(schema, instance, "");
    return v.errors;
}

}  // namespace rot13::test
